//! Slow and idle clients against the server's accept loop (`teamlabel_server::listen`), over
//! raw TCP: headers that trickle are cut off, a kept-alive connection that stays idle is
//! closed, a body that trickles is answered 408 with the error body, and connections over the
//! cap wait until one ends.

use std::time::{Duration, Instant};

use axum::routing::{get, post};
use serde_json::Value;
use teamlabel_server::extract::Json;
use teamlabel_server::ConnLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server with a route that reads a JSON body and one that reads none, under `limits`.
async fn server(limits: ConnLimits) -> String {
    let router = axum::Router::new()
        .route("/echo", post(|Json(v): Json<Value>| async move { axum::Json(v) }))
        .route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(teamlabel_server::listen::serve(
        listener,
        router,
        std::future::pending(),
        limits,
    ));
    addr
}

fn limits(header: u64, body: u64, max_connections: usize) -> ConnLimits {
    ConnLimits {
        header_timeout: Duration::from_secs(header),
        body_timeout: Duration::from_secs(body),
        max_connections,
    }
}

/// Reads until the server closes the connection (or `within` passes): what it sent.
async fn read_to_close(c: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn trickling_headers_are_cut_off_and_an_idle_connection_is_closed() {
    let addr = server(limits(1, 30, 16)).await;

    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let answer = read_to_close(&mut slow, Duration::from_secs(10)).await;
    let waited = started.elapsed();
    assert!(answer.is_some(), "a client stuck in its headers was not cut off");
    assert!(waited >= Duration::from_millis(900), "cut off after {waited:?}");
    assert!(!answer.unwrap().contains(" 200 "), "no request was answered");

    // A whole request is answered; the connection is then kept for the next one, idle, only
    // as long as the header timeout.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    assert_eq!(
        read_to_close(&mut idle, Duration::from_secs(10)).await.as_deref(),
        Some(""),
        "the idle connection was closed without a word"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_trickling_body_is_answered_408_with_the_error_body() {
    let addr = server(limits(30, 1, 16)).await;
    let mut c = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    c.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"a\":",
    )
    .await
    .unwrap();
    let answer = read_to_close(&mut c, Duration::from_secs(10))
        .await
        .expect("an answer, then the close");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "answered after {:?}",
        started.elapsed()
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error_code"], "ModelArts.4693", "{body}");

    // A body sent at once is read as ever.
    let mut c = TcpStream::connect(&addr).await.unwrap();
    c.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{\"a\":1}\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut c, Duration::from_secs(10)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("{\"a\":1}"), "{answer}");
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_ends() {
    let addr = server(limits(30, 30, 2)).await;
    let first = TcpStream::connect(&addr).await.unwrap();
    let _second = TcpStream::connect(&addr).await.unwrap();
    // Both slots are taken (by connections that say nothing): the third is not served...
    let mut third = TcpStream::connect(&addr).await.unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the third connection was served while two held the slots"
    );
    // ...until one of the two ends.
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}
