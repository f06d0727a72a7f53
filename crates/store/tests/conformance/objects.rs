//! The object store port: the same cases on the local store and on S3 (when
//! `TEST_S3_ENDPOINT` is set), and the same errors, to the byte, from both. The local store's
//! own guarantees (symlinks, temporary files) are in `objects_local`.

use bytes::Bytes;
use futures_util::StreamExt;
use teamlabel_core::blobs::{sha256_hex, BlobStore};
use teamlabel_core::error::{codes, Error, ErrorKind};
use teamlabel_core::objects::ObjectPath;
use teamlabel_store::ObjectBlobStore;

use crate::common::objects::*;

/// `n` bytes that differ from one offset to the next, so a misplaced chunk shows.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 ^ (i / 4096) as u8).collect()
}

fn keys(listed: &[teamlabel_core::objects::ObjectMeta]) -> Vec<&str> {
    listed.iter().map(|m| m.path.key()).collect()
}

#[tokio::test]
async fn put_get_and_head_round_trip_and_replace() {
    for b in object_backends().await {
        let s = &b.store;
        let p = b.path("in/a.jpg");
        assert_eq!(s.head(&p).await.unwrap(), None, "{}", b.name);
        s.put(&p, Bytes::from_static(b"first")).await.unwrap();
        assert_eq!(s.get(&p, 100).await.unwrap(), b"first", "{}", b.name);
        s.put(&p, Bytes::from_static(b"second!")).await.unwrap();
        assert_eq!(s.get(&p, 7).await.unwrap(), b"second!", "{}", b.name);
        let meta = s.head(&p).await.unwrap().expect("stored");
        assert_eq!((meta.path, meta.size), (p.clone(), 7), "{}", b.name);
        s.put(&b.path("empty"), Bytes::new()).await.unwrap();
        assert_eq!(s.get(&b.path("empty"), 0).await.unwrap(), b"", "{}", b.name);
        // A directory is no object.
        assert_eq!(s.head(&b.path("in/")).await.unwrap(), None, "{}", b.name);
        let e = s.put(&b.path("in/"), Bytes::new()).await.unwrap_err();
        assert_eq!(e.code, codes::INVALID_PATH, "{}", b.name);
    }
}

#[tokio::test]
async fn lists_in_key_order_across_nested_folders_with_after_and_limit() {
    let mut stored = vec![
        "a.txt",
        "a/b",
        "a/c/d",
        "a/c/e.json",
        "a0",
        "bb",
        "b/x/y/z",
        "b-1",
        "c/d.jpg",
        "é.txt",
    ];
    stored.sort();
    for b in object_backends().await {
        let s = &b.store;
        for k in &stored {
            s.put(&b.path(k), Bytes::from(vec![b'x'; k.len()])).await.unwrap();
        }
        let root = b.path("");
        let all = s.list(&root, None, 100).await.unwrap();
        assert_eq!(keys(&all), stored, "{}", b.name);
        assert_eq!(
            all.iter().find(|m| m.path.key() == "a/c/d").unwrap().size,
            5,
            "{}",
            b.name
        );

        // Pages of two, each after the last key of the one before.
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = s.list(&root, after.as_deref(), 2).await.unwrap();
            assert!(page.len() <= 2, "{}", b.name);
            let Some(last) = page.last() else { break };
            after = Some(last.path.key().to_string());
            paged.extend(page.iter().map(|m| m.path.key().to_string()));
        }
        assert_eq!(paged, stored, "{}", b.name);

        // Inside a folder, after a key deep inside it or not in the store at all.
        let a = s.list(&b.path("a"), None, 100).await.unwrap();
        assert_eq!(keys(&a), ["a/b", "a/c/d", "a/c/e.json"], "{}", b.name);
        let after_b = s.list(&b.path("a/"), Some("a/b"), 100).await.unwrap();
        assert_eq!(keys(&after_b), ["a/c/d", "a/c/e.json"], "{}", b.name);
        let after_dir = s.list(&root, Some("a/"), 3).await.unwrap();
        assert_eq!(keys(&after_dir), ["a/b", "a/c/d", "a/c/e.json"], "{}", b.name);
        let after_gap = s.list(&root, Some("a/c/dz"), 2).await.unwrap();
        assert_eq!(keys(&after_gap), ["a/c/e.json", "a0"], "{}", b.name);
        let after_all = s.list(&root, Some("ÿ"), 10).await.unwrap();
        assert!(after_all.is_empty(), "{}", b.name);
        assert!(s.list(&root, None, 0).await.unwrap().is_empty(), "{}", b.name);
        assert!(
            s.list(&b.path("nothing/"), None, 10).await.unwrap().is_empty(),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn reads_a_large_object_as_a_stream() {
    let bytes = pattern(5 * 1024 * 1024 + 17);
    for b in object_backends().await {
        let p = b.path("big/manifest.json");
        b.store.put(&p, Bytes::from(bytes.clone())).await.unwrap();
        let mut stream = b.store.read(&p).await.unwrap();
        let mut read = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            read.extend_from_slice(&chunk.unwrap());
            chunks += 1;
        }
        assert!(chunks > 1, "{}: one chunk of {} bytes", b.name, read.len());
        assert!(read == bytes, "{}: {} bytes read", b.name, read.len());
    }
}

#[tokio::test]
async fn a_writer_shows_its_object_only_once_finished_and_leaves_nothing_when_aborted() {
    let chunk = pattern(64 * 1024);
    let count = 180; // 11.25 MiB: three parts
    for b in object_backends().await {
        let s = &b.store;
        let p = b.path("out/V001/V001.manifest");
        let mut w = s.writer(&p).await.unwrap();
        for _ in 0..count {
            w.write(Bytes::from(chunk.clone())).await.unwrap();
        }
        assert_eq!(s.head(&p).await.unwrap(), None, "{}: visible before finish", b.name);
        assert!(
            s.list(&b.path("out/"), None, 10).await.unwrap().is_empty(),
            "{}",
            b.name
        );
        w.finish().await.unwrap();
        let got = s.get(&p, u64::MAX).await.unwrap();
        assert_eq!(got.len(), chunk.len() * count, "{}", b.name);
        assert!(got.chunks(chunk.len()).all(|c| c == chunk), "{}", b.name);

        let q = b.path("out/V002/aborted");
        let mut w = s.writer(&q).await.unwrap();
        for _ in 0..100 {
            w.write(Bytes::from(chunk.clone())).await.unwrap();
        }
        w.abort().await.unwrap();
        assert_eq!(s.head(&q).await.unwrap(), None, "{}", b.name);
        let listed = s.list(&b.path("out/"), None, 10).await.unwrap();
        assert_eq!(keys(&listed), ["out/V001/V001.manifest"], "{}", b.name);

        // A small object written in one part.
        let r = b.path("out/small");
        let mut w = s.writer(&r).await.unwrap();
        w.write(Bytes::from_static(b"tiny")).await.unwrap();
        w.finish().await.unwrap();
        assert_eq!(s.get(&r, 4).await.unwrap(), b"tiny", "{}", b.name);
    }
}

#[tokio::test]
async fn delete_removes_a_prefix_or_one_object() {
    for b in object_backends().await {
        let s = &b.store;
        for k in ["d/1", "d/2/3", "d/2/4", "d2", "dx/5", "e"] {
            s.put(&b.path(k), Bytes::from_static(b"x")).await.unwrap();
        }
        s.delete(&b.path("d/")).await.unwrap();
        let left = s.list(&b.path(""), None, 100).await.unwrap();
        assert_eq!(keys(&left), ["d2", "dx/5", "e"], "{}", b.name);
        // Without a trailing slash: the object, or everything under it as a folder.
        s.delete(&b.path("dx")).await.unwrap();
        s.delete(&b.path("e")).await.unwrap();
        s.delete(&b.path("missing/object")).await.unwrap();
        s.delete(&b.path("missing/")).await.unwrap();
        let left = s.list(&b.path(""), None, 100).await.unwrap();
        assert_eq!(keys(&left), ["d2"], "{}", b.name);
        s.delete(&b.path("")).await.unwrap();
        assert!(s.list(&b.path(""), None, 100).await.unwrap().is_empty(), "{}", b.name);
        // The bucket stays.
        s.put(&b.path("again"), Bytes::from_static(b"y")).await.unwrap();
    }
}

/// Every error, with the bucket's name made the same, for comparing backends.
async fn errors_of(b: &ObjectBackend, missing_bucket: &str) -> Vec<(String, ErrorKind, &'static str, String)> {
    let s = &b.store;
    s.put(&b.path("big"), Bytes::from(vec![0u8; 1000])).await.unwrap();
    let gone = ObjectPath::new(missing_bucket, "a/b.jpg").unwrap();
    let mut out: Vec<(&str, Error)> = vec![
        ("get over max_bytes", s.get(&b.path("big"), 999).await.unwrap_err()),
        (
            "get missing object",
            s.get(&b.path("no/such.jpg"), 10).await.unwrap_err(),
        ),
        ("get a folder", s.get(&b.path("no/"), 10).await.unwrap_err()),
        ("get missing bucket", s.get(&gone, 10).await.unwrap_err()),
        ("head missing bucket", s.head(&gone).await.unwrap_err()),
        (
            "list missing bucket",
            s.list(&gone.as_dir(), None, 10).await.unwrap_err(),
        ),
        ("delete missing bucket", s.delete(&gone).await.unwrap_err()),
    ];
    match s.read(&b.path("no/such.jpg")).await {
        Err(e) => out.push(("read missing object", e)),
        Ok(_) => panic!("{}: read of a missing object", b.name),
    }
    match s.read(&gone).await {
        Err(e) => out.push(("read missing bucket", e)),
        Ok(_) => panic!("{}: read in a missing bucket", b.name),
    }
    out.into_iter()
        .map(|(what, e)| {
            let message = e.message.replace(&b.bucket, "BUCKET");
            (what.to_string(), e.kind, e.code, message)
        })
        .collect()
}

#[tokio::test]
async fn errors_are_the_same_on_every_backend() {
    let missing = fresh_bucket();
    let mut seen = Vec::new();
    for b in object_backends().await {
        let errors = errors_of(&b, &missing).await;
        let code_of = |what: &str| errors.iter().find(|e| e.0 == what).unwrap().2;
        assert_eq!(code_of("get over max_bytes"), codes::FILE_TOO_LARGE, "{}", b.name);
        assert_eq!(code_of("get missing object"), codes::FILE_NOT_FOUND, "{}", b.name);
        assert_eq!(code_of("read missing object"), codes::FILE_NOT_FOUND, "{}", b.name);
        for what in ["get", "head", "list", "delete", "read"] {
            assert_eq!(
                code_of(&format!("{what} missing bucket")),
                codes::BUCKET_NOT_FOUND,
                "{}: {what}",
                b.name
            );
        }
        assert!(
            errors.iter().all(|e| e.1 == ErrorKind::BadRequest),
            "{}: {errors:?}",
            b.name
        );
        seen.push((b.name, errors));
    }
    for (name, errors) in &seen[1..] {
        assert_eq!(errors, &seen[0].1, "{name} differs from {}", seen[0].0);
    }
}

#[tokio::test]
async fn sample_bytes_round_trip_through_the_object_store() {
    for b in object_backends().await {
        let blobs = ObjectBlobStore::new(b.store.clone(), b.path("blobs/"));
        let bytes = pattern(300_000);
        let sha = blobs.put(&bytes).await.unwrap();
        assert_eq!(sha, sha256_hex(&bytes), "{}", b.name);
        assert_eq!(blobs.put(&bytes).await.unwrap(), sha, "{}", b.name);
        let listed = b.store.list(&b.path("blobs/"), None, 10).await.unwrap();
        assert_eq!(keys(&listed), [format!("blobs/{sha}")], "{}", b.name);
        assert!(blobs.get(&sha).await.unwrap().unwrap() == bytes, "{}", b.name);
        blobs.remove(&sha).await.unwrap();
        assert_eq!(blobs.get(&sha).await.unwrap(), None, "{}", b.name);
        blobs.remove(&sha).await.unwrap();
        assert_eq!(blobs.get("not-a-sha").await.unwrap(), None, "{}", b.name);

        // A blob store whose bucket is gone fails as a fault of the server.
        let gone = ObjectBlobStore::new(b.store.clone(), ObjectPath::new(&fresh_bucket(), "blobs/").unwrap());
        let e = gone.get(&sha).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Internal, "{}: {e}", b.name);
    }
}
