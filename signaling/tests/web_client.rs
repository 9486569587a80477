//! The web client is served by the signaling server: the dashboard at `/`,
//! the customer's join page at `/join.html` and at `/join/{number}`, where
//! invite links point.

mod common;

use common::*;

async fn get(server: &TestServer, path: &str) -> (u16, String, String) {
    let r = reqwest::get(server.http(path)).await.unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ctype, r.text().await.unwrap())
}

#[tokio::test]
async fn dashboard_and_join_page_are_served() {
    let server = TestServer::start().await;

    let (status, ctype, body) = get(&server, "/").await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains(r#"src="/js/dashboard.js""#), "dashboard page");

    let join_page = std::fs::read_to_string(server.config.web_root.join("join.html")).unwrap();
    for path in ["/join.html", "/join/571700568", "/join/anything"] {
        let (status, ctype, body) = get(&server, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
        assert_eq!(body, join_page, "{path} serves the join page");
    }
    assert!(join_page.contains(r#"src="/js/customer.js""#));

    // Deeper paths are not the join page; modules load with a JavaScript type.
    assert_eq!(get(&server, "/join/571700568/x").await.0, 404);
    let (status, ctype, _) = get(&server, "/js/customer.js").await;
    assert_eq!(status, 200);
    assert!(ctype.contains("javascript"), "{ctype}");
}
