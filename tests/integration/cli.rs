//! The binary itself: `config example`, export/import through files, and start-up errors.

use std::process::Command;

fn agora() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agora"))
}

#[test]
fn config_example_prints_the_documented_file() {
    let out = agora()
        .args(["config", "example"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), agora::config::EXAMPLE);
}

#[test]
fn unknown_database_schemes_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = agora()
        .args(["export", "x.json", "--database", "mysql://localhost/agora"])
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"mysql\"") && err.contains("sqlite://"),
        "{err}"
    );
}

#[test]
fn import_and_export_through_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let demo = dir.path().join("demo.json");
    std::fs::write(&demo, agora::services::archive::DEMO).unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = agora()
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(&["import", demo.to_str().unwrap_or_default()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("imported 15 users, 25 threads and 87 posts"),
        "{err}"
    );
    let (ok, err) = run(&["import", demo.to_str().unwrap_or_default()]);
    assert!(!ok && err.contains("not empty"), "{err}");
    let first = dir.path().join("first.json");
    let (ok, err) = run(&["export", first.to_str().unwrap_or_default()]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&first).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.starts_with("{\n  \"format\": \"agora-archive\",\n  \"version\": 6,"));
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        text.replacen("\"author\": \"javery\"", "\"author\": \"nobody\"", 1),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let other = dir.path().join("other");
    let out = agora()
        .args(["import", broken.to_str().unwrap_or_default(), "--data"])
        .arg(&other)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no user named \"nobody\""),
        "{err}"
    );
}

/// A real server process: it serves the demo, and on SIGTERM it finishes, writes the views it
/// buffered and exits cleanly.
#[test]
fn serve_flushes_views_on_sigterm() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut node = crate::util::Node::serve(&[], dir.path());
    // Three views of thread 7 (412 in the demo).
    for _ in 0..3 {
        let (status, _) =
            node.get("/thread/7/nwconnection-udp-receivemessage-fires-once-and-then-never-again");
        assert_eq!(status, 200);
    }
    let exit = node.terminate();
    assert!(exit.success(), "exit status {exit}");
    assert!(node.log().contains("shutting down"), "{}", node.log());
    // The views reached the database: an export shows them.
    let out = agora()
        .args(["export", "out.json", "--data"])
        .arg(dir.path())
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = agora::services::archive::parse(
        &std::fs::read_to_string(dir.path().join("out.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let thread = archive
        .threads
        .iter()
        .find(|t| t.id == 7)
        .unwrap_or_else(|| panic!("thread 7"));
    assert_eq!(thread.views, 415);
}

/// The benchmark's generator and harness still run, on a tiny corpus (the benchmark itself is
/// not part of the tests). Needs python3 and wrk, which `.ci/run` installs.
#[test]
fn generator_and_benchmark_harness_run_on_a_tiny_corpus() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // The generator: deterministic counts, a valid forum.
    let data = dir.path().join("gen");
    let out = agora()
        .args([
            "generate",
            "--threads",
            "120",
            "--replies-per-thread",
            "2",
            "--seed",
            "7",
            "--data",
        ])
        .arg(&data)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("generated 24 users, 120 threads"), "{err}");
    let again = agora()
        .args(["generate", "--threads", "120", "--data"])
        .arg(&data)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty")
    );

    if Command::new("wrk").arg("--version").output().is_err()
        || Command::new("python3").arg("--version").output().is_err()
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "!!! wrk or python3 is missing: the benchmark harness smoke test was SKIPPED"
        );
        return;
    }
    let harness = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/run");
    let out = Command::new("python3")
        .arg(harness)
        .args([
            "--sizes",
            "tiny",
            "--duration",
            "1",
            "--runs",
            "1",
            "--connections",
            "2",
            "--bin",
            env!("CARGO_BIN_EXE_agora"),
        ])
        .args([
            "--port",
            &(20_000 + std::process::id() % 20_000).to_string(),
        ])
        .arg("--corpora")
        .arg(dir.path().join("corpora"))
        .arg("--results")
        .arg(dir.path().join("results"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        table,
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "| listing page 1 |",
        "| megathread page",
        "| conditional (304) |",
        "cold start",
    ] {
        assert!(table.contains(row), "no {row:?} in\n{table}");
    }
    let results: Vec<_> = std::fs::read_dir(dir.path().join("results"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(results.len(), 1);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results[0].path()).unwrap_or_default())
            .unwrap_or_default();
    let pages = &json["results"][0]["pages"];
    assert!(
        pages["listing page 1"]["rps"].as_f64().unwrap_or(0.0) > 0.0,
        "{json}"
    );
    assert_eq!(pages["listing page 1"]["non_2xx"], 0, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_role_at_the_command_line_is_audited() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = agora()
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "user",
        "create",
        "quinn",
        "--email",
        "quinn@example.test",
        "--password",
        "a long enough password",
    ]);
    run(&["user", "set-role", "quinn", "moderator"]);
    let config = crate::util::config_for(&data);
    let store = agora_store::Store::open(
        &config.database().unwrap_or_else(|e| panic!("{e}")),
        config.store_options(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let page = store
        .audit_log(agora_store::Cursor::Start, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let entry = page
        .rows
        .iter()
        .find(|e| e.action == "user.role")
        .unwrap_or_else(|| panic!("no audit entry for the role change"));
    assert!(
        entry.details.contains("member → moderator"),
        "{}",
        entry.details
    );
    assert!(entry.details.contains("command line"), "{}", entry.details);
}
