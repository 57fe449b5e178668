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
    assert!(text.starts_with("{\n  \"format\": \"agora-archive\",\n  \"version\": 1,"));
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
