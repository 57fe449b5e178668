//! Snapshots of what clients see: JSON of the main reads and one listing row's HTML. Ids and
//! times come from the fixed demo archive, so nothing needs redacting but the view count
//! buffer's effect (none here: snapshots are taken before any flush).

use crate::util::{TestApp, both, texts};

both!(
    async fn json_snapshots(b: Backend) {
        let app = TestApp::demo(b).await;
        insta::assert_json_snapshot!("areas", app.ok("/api/v1/areas").await.json());
        insta::assert_json_snapshot!(
            "testing_listing",
            app.ok("/api/v1/topics/developer-tools-services/testing/threads")
                .await
                .json()
        );
        insta::assert_json_snapshot!("thread_7", app.ok("/api/v1/threads/7").await.json());
        insta::assert_json_snapshot!(
            "revisions_22",
            app.ok("/api/v1/posts/76/revisions").await.json()
        );
    }
);

both!(
    async fn listing_row_snapshot(b: Backend) {
        let app = TestApp::demo(b).await;
        let page = app
            .ok("/topics/developer-tools-services/testing?sortBy=newest&sortOrder=asc")
            .await;
        let html = page.html();
        let selector = scraper::Selector::parse("tbody tr").unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<String> = html.select(&selector).map(|row| row.html()).collect();
        // The relative activity depends on today's date; the snapshot keeps everything else.
        let row = rows[1].clone();
        let activity = texts(&html, "tbody tr td.activity time")[1].clone();
        insta::assert_snapshot!(
            "testing_row",
            row.replace(&format!(">{activity}<"), ">[relative]<")
        );
    }
);
