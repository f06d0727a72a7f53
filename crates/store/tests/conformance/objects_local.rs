//! The local object store's own guarantees: nothing outside its root is ever listed, read or
//! written through a symlink, and files being written are never listed.

use std::os::unix::fs::symlink;

use bytes::Bytes;
use teamlabel_core::error::codes;
use teamlabel_core::objects::{ObjectPath, ObjectStore};
use teamlabel_store::objects::LocalObjectStore;

fn setup() -> (tempfile::TempDir, LocalObjectStore, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("sub")).unwrap();
    std::fs::write(outside.join("secret.txt"), b"secret").unwrap();
    std::fs::write(outside.join("sub/deep.txt"), b"deep").unwrap();
    let store = LocalObjectStore::new(dir.path().join("buckets")).unwrap();
    (dir, store, outside)
}

fn path(p: &str) -> ObjectPath {
    ObjectPath::parse("path", p).unwrap()
}

#[tokio::test]
async fn symlinks_in_a_bucket_are_neither_listed_nor_followed() {
    let (_dir, store, outside) = setup();
    store
        .put(&path("/bkt/in/a.jpg"), Bytes::from_static(b"a"))
        .await
        .unwrap();
    let bucket = store.root().join("bkt");
    symlink(outside.join("secret.txt"), bucket.join("in/link.txt")).unwrap();
    symlink(&outside, bucket.join("linkdir")).unwrap();
    symlink(outside.join("sub"), bucket.join("in/sublink")).unwrap();

    let listed = store.list(&path("/bkt/"), None, 100).await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|m| m.path.key()).collect();
    assert_eq!(keys, ["in/a.jpg"]);

    for p in [
        "/bkt/in/link.txt",
        "/bkt/linkdir/secret.txt",
        "/bkt/in/sublink/deep.txt",
    ] {
        let p = path(p);
        assert_eq!(
            store.get(&p, 100).await.unwrap_err().code,
            codes::STORAGE_FORBIDDEN,
            "{p}"
        );
        assert_eq!(store.head(&p).await.unwrap_err().code, codes::STORAGE_FORBIDDEN, "{p}");
        assert!(store.read(&p).await.is_err(), "{p}");
    }
    let e = store.list(&path("/bkt/linkdir/"), None, 10).await.unwrap_err();
    assert_eq!(e.code, codes::STORAGE_FORBIDDEN);
    // Writing through a linked folder is refused, and nothing lands outside.
    let e = store
        .put(&path("/bkt/linkdir/planted.txt"), Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(e.code, codes::STORAGE_FORBIDDEN);
    assert!(store.writer(&path("/bkt/linkdir/w.txt")).await.is_err());
    assert!(!outside.join("planted.txt").exists());
    // Deleting a folder removes links, never what they point at.
    store.delete(&path("/bkt/in/")).await.unwrap();
    assert!(outside.join("secret.txt").exists() && outside.join("sub/deep.txt").exists());
    assert!(store.list(&path("/bkt/in/"), None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_symlinked_bucket_folder_is_refused() {
    let (_dir, store, outside) = setup();
    symlink(&outside, store.root().join("evil")).unwrap();
    let e = store.list(&path("/evil/"), None, 10).await.unwrap_err();
    assert_eq!(e.code, codes::STORAGE_FORBIDDEN);
    assert!(
        e.message.contains("/evil/") && !e.message.contains("outside"),
        "{}",
        e.message
    );
    for p in ["/evil/secret.txt", "/evil/sub/deep.txt"] {
        let e = store.get(&path(p), 100).await.unwrap_err();
        assert_eq!(e.code, codes::STORAGE_FORBIDDEN, "{p}");
    }
    let e = store
        .put(&path("/evil/x.txt"), Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(e.code, codes::STORAGE_FORBIDDEN);
    let e = store.delete(&path("/evil/")).await.unwrap_err();
    assert_eq!(e.code, codes::STORAGE_FORBIDDEN);
    assert!(!outside.join("x.txt").exists() && outside.join("secret.txt").exists());
}

#[tokio::test]
async fn files_being_written_are_not_listed_and_writes_are_whole() {
    let (_dir, store, _outside) = setup();
    store
        .put(&path("/bkt/d/done.txt"), Bytes::from_static(b"1"))
        .await
        .unwrap();
    let mut w = store.writer(&path("/bkt/d/pending.txt")).await.unwrap();
    w.write(Bytes::from_static(b"partial")).await.unwrap();
    // A temporary file left by a crash, and one of a writer still running.
    std::fs::write(store.root().join("bkt/d/.teamlabel-tmp-0123"), b"junk").unwrap();
    let listed = store.list(&path("/bkt/"), None, 100).await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|m| m.path.key()).collect();
    assert_eq!(keys, ["d/done.txt"]);
    let tmp = path("/bkt/d/.teamlabel-tmp-0123");
    assert_eq!(store.get(&tmp, 100).await.unwrap_err().code, codes::FILE_NOT_FOUND);
    let e = store.put(&tmp, Bytes::from_static(b"x")).await.unwrap_err();
    assert_eq!(e.code, codes::INVALID_PATH);
    w.finish().await.unwrap();
    let listed = store.list(&path("/bkt/d/"), None, 100).await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|m| m.path.key()).collect();
    assert_eq!(keys, ["d/done.txt", "d/pending.txt"]);
    // A dropped writer leaves no temporary file.
    let mut w = store.writer(&path("/bkt/d/dropped.txt")).await.unwrap();
    w.write(Bytes::from_static(b"x")).await.unwrap();
    drop(w);
    let names: Vec<String> = std::fs::read_dir(store.root().join("bkt/d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".teamlabel-tmp-") && n != ".teamlabel-tmp-0123")
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[tokio::test]
async fn a_missing_bucket_folder_is_created_by_writes_only() {
    let (_dir, store, _outside) = setup();
    let p = path("/fresh/a/b.txt");
    assert_eq!(store.get(&p, 10).await.unwrap_err().code, codes::BUCKET_NOT_FOUND);
    assert_eq!(
        store.list(&path("/fresh/"), None, 10).await.unwrap_err().code,
        codes::BUCKET_NOT_FOUND
    );
    assert!(!store.root().join("fresh").exists());
    store.put(&p, Bytes::from_static(b"b")).await.unwrap();
    assert_eq!(store.get(&p, 10).await.unwrap(), b"b");
    // Deleting the last object leaves no empty folders behind, but the bucket stays.
    store.delete(&p).await.unwrap();
    assert!(!store.root().join("fresh/a").exists() && store.root().join("fresh").is_dir());
}

#[tokio::test]
async fn a_listing_of_a_large_folder_in_small_pages_sees_every_key_once() {
    let (_dir, store, _outside) = setup();
    let mut expected = Vec::new();
    for i in 0..60 {
        let key = if i % 3 == 0 {
            format!("f/{i:03}/x")
        } else {
            format!("f/{i:03}")
        };
        store.put(&path(&format!("/bkt/{key}")), Bytes::new()).await.unwrap();
        expected.push(key);
    }
    // Empty folders between them take no place in a page.
    for i in 0..10 {
        std::fs::create_dir_all(store.root().join(format!("bkt/f/{i:03}-empty"))).unwrap();
    }
    expected.sort();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list(&path("/bkt/f/"), after.as_deref(), 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.path.key().to_string());
        seen.extend(page.iter().map(|m| m.path.key().to_string()));
    }
    assert_eq!(seen, expected);
}

/// Names that are no valid key (a backslash, a control character) are left out, folders with
/// them too, and pages around them still hold every valid key once.
#[tokio::test]
async fn names_that_are_no_valid_key_are_left_out_of_every_page() {
    let (_dir, store, _outside) = setup();
    let folder = store.root().join("bkt/g");
    std::fs::create_dir_all(folder.join("bad\\dir")).unwrap();
    std::fs::write(folder.join("bad\\dir/inside.png"), b"x").unwrap();
    for name in ["a\\b.png", "c\u{1}.png", "0.png", "b.png", "d.png", "z.png"] {
        std::fs::write(folder.join(name), b"x").unwrap();
    }
    for limit in [1, 2, 10] {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list(&path("/bkt/g/"), after.as_deref(), limit).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.path.key().to_string());
            seen.extend(page.iter().map(|m| m.path.key().to_string()));
        }
        assert_eq!(seen, ["g/0.png", "g/b.png", "g/d.png", "g/z.png"], "pages of {limit}");
    }
}
