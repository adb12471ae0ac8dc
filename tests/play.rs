//! The browser demo is served: `/play`, its bundle, and the link from the status page.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{start, test_config, within};

async fn get(url: &str, path: &str) -> String {
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host:port");
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read");
    String::from_utf8(out).expect("utf-8 response")
}

#[tokio::test]
async fn serves_the_demo_page_and_bundle() {
    let server = start(test_config()).await;
    let page = within("/play", get(&server.url, "/play")).await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("text/html"));
    assert!(page.contains("src=\"/play/demo.js\""));
    let js = within("/play/demo.js", get(&server.url, "/play/demo.js")).await;
    assert!(js.starts_with("HTTP/1.1 200"));
    assert!(js.contains("text/javascript"));
    assert!(js.len() > 10_000, "bundle of {} bytes", js.len());
    let status = within("/", get(&server.url, "/")).await;
    assert!(status.contains("href=/play"));
}
