//! What the page and the sample bytes may do: the policy the page is served with, and an SVG with
//! a script that runs nothing.

use serde_json::json;
use teamlabel_client::Method;

use super::*;
use crate::browser::Browser;

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_and_sample_bytes_can_run_nothing() {
    let t = spawn("sqlite").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("http://{}/ui/", t.addr)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let etag = page.headers()["etag"].clone();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<script type=\"module\" src=\"/ui/app.js\"></script>") && !html.contains("<script>"),
        "no inline script"
    );
    let again = http.get(format!("http://{}/ui/app.js", t.addr)).send().await.unwrap();
    assert_eq!(again.headers()["content-type"], "text/javascript; charset=utf-8");
    let cached = http
        .get(format!("http://{}/ui/", t.addr))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
    // A browser at the root is sent to the page; a Keystone client still gets the versions.
    let browser = http
        .get(format!("http://{}/", t.addr))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            browser.status().as_u16(),
            browser.headers()["location"].to_str().unwrap()
        ),
        (303, "/ui/")
    );
    let keystone = http
        .get(format!("http://{}/", t.addr))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(keystone.status().as_u16(), 300);

    // Sample bytes: for the task's members only, inert wherever they are opened.
    let (ds, task, _) = task_for_ann(&t).await;
    let listed = expect(
        &t,
        "samples",
        &t.get(&format!("/datasets/{ds}/data-annotations/samples")).await,
        200,
    );
    let sample = listed["samples"][0]["sample_id"].as_str().unwrap().to_string();
    let ann = token(&t, ANN).await;
    for path in [
        format!("{task}/data-annotations/samples/{sample}/file"),
        format!("/datasets/{ds}/data-annotations/samples/{sample}/file"),
    ] {
        let who = if path.contains("workforce-tasks") {
            &ann
        } else {
            &t.token
        };
        let a = call(&t, who, Method::GET, &path, None).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert_eq!(a.headers["content-type"], "image/png", "{path}");
        assert_eq!(a.headers["x-content-type-options"], "nosniff", "{path}");
        let policy = a.headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("sandbox") && policy.contains("default-src 'none'"),
            "{path}: {policy}"
        );
    }
    let a = call(
        &t,
        &ann,
        Method::GET,
        &format!("/datasets/{ds}/data-annotations/samples/{sample}/file"),
        None,
    )
    .await;
    assert_eq!(a.status, 403, "the dataset's file route stays the owner's: {}", a.body);
    let a = call(
        &t,
        &ann,
        Method::GET,
        &format!("{task}/data-annotations/samples/{}/file", "0".repeat(32)),
        None,
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.body);
}

#[tokio::test]
async fn an_uploaded_svg_with_a_script_shows_nothing_and_runs_nothing() {
    let Some(b) = Browser::start("svg").await else { return };
    let t = spawn("sqlite").await;
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" onload="window.top.__pwned = 1"><script>window.top.__pwned = 2; top.document.title = 'pwned'</script><rect width="10" height="10"/></svg>"#;
    let (ds, _) = one_sample(
        &t,
        900,
        json!([{"name": "car", "type": 1}]),
        "evil.svg",
        svg.as_bytes(),
        0,
    )
    .await;
    started_task(&t, &ds, &[(ANN, 0)], 1).await;

    open_task_until(&b, &t, ANN, "window.__teamlabel && window.__teamlabel.copy").await;
    // The bytes arrive as application/octet-stream with nosniff: the picture stays empty.
    b.wait("the picture tried", "document.getElementById('picture').complete")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let seen = b
        .eval(
            "return [window.__pwned === undefined, document.title, document.getElementById('picture').naturalWidth];",
            json!([]),
        )
        .await;
    assert_eq!(seen, json!([true, "teamlabel", 0]), "the SVG's script must not run");
}
