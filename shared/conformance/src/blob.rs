//! Blob store conformance.

use std::sync::Arc;

use bytes::Bytes;
use kefu_ports::{BlobError, BlobStore};

/// Round trip, replace, prefix listing and deletion.
pub async fn put_get_list_delete(b: Arc<dyn BlobStore>) {
    let p = crate::unique("blob");
    b.put(&format!("{p}/a/1.jsonl"), Bytes::from_static(b"one"), "application/x-ndjson").await.unwrap();
    b.put(&format!("{p}/a/2.jsonl"), Bytes::from_static(b"two"), "application/x-ndjson").await.unwrap();
    b.put(&format!("{p}/b/3.csv"), Bytes::from_static(b"three"), "text/csv").await.unwrap();
    b.put(&format!("{p}/a/1.jsonl"), Bytes::from_static(b"uno"), "application/x-ndjson").await.unwrap();
    assert_eq!(b.get(&format!("{p}/a/1.jsonl")).await.unwrap().as_deref(), Some(&b"uno"[..]));
    assert_eq!(b.get(&format!("{p}/missing")).await.unwrap(), None);
    assert_eq!(b.list(&format!("{p}/a/")).await.unwrap(), vec![format!("{p}/a/1.jsonl"), format!("{p}/a/2.jsonl")]);
    assert_eq!(b.list(&format!("{p}/")).await.unwrap().len(), 3);
    b.delete(&format!("{p}/a/1.jsonl")).await.unwrap();
    b.delete(&format!("{p}/a/1.jsonl")).await.unwrap();
    assert_eq!(b.get(&format!("{p}/a/1.jsonl")).await.unwrap(), None);
    assert_eq!(b.list(&format!("{p}/a/")).await.unwrap(), vec![format!("{p}/a/2.jsonl")]);
}

/// Keys that could escape a directory or mean nothing are refused the same way everywhere.
pub async fn invalid_keys(b: Arc<dyn BlobStore>) {
    for key in ["", "/abs", "a/../b", "a//b", "a/./b"] {
        let r = b.put(key, Bytes::from_static(b"x"), "text/plain").await;
        assert!(matches!(r, Err(BlobError::InvalidKey(_))), "{key:?} should be refused, got {r:?}");
    }
}

/// An object written in parts reads back as the parts joined, appears only once completed, and an aborted
/// upload leaves nothing; a signed link, when the store gives one, reads the object.
pub async fn uploads_in_parts(b: Arc<dyn BlobStore>) {
    let p = crate::unique("blob");
    let key = format!("{p}/export.csv");
    let first = Bytes::from(vec![b'a'; kefu_ports::blob::MIN_PART_BYTES]);
    let id = b.start_upload(&key, "text/csv").await.unwrap();
    let t1 = b.upload_part(&key, &id, 1, first.clone()).await.unwrap();
    let t2 = b.upload_part(&key, &id, 2, Bytes::from_static(b"tail\n")).await.unwrap();
    assert_eq!(b.get(&key).await.unwrap(), None, "not visible before completion");
    assert!(b.list(&format!("{p}/")).await.unwrap().is_empty(), "parts are not listed");
    b.complete_upload(&key, &id, &[t1, t2]).await.unwrap();
    let got = b.get(&key).await.unwrap().unwrap();
    assert_eq!(got.len(), first.len() + 5);
    assert!(got.starts_with(&first) && got.ends_with(b"tail\n"));
    assert_eq!(b.list(&format!("{p}/")).await.unwrap(), vec![key.clone()]);

    let dropped = format!("{p}/dropped.csv");
    let id = b.start_upload(&dropped, "text/csv").await.unwrap();
    b.upload_part(&dropped, &id, 1, Bytes::from_static(b"x")).await.unwrap();
    b.abort_upload(&dropped, &id).await.unwrap();
    b.abort_upload(&dropped, &id).await.unwrap();
    assert_eq!(b.get(&dropped).await.unwrap(), None);
    assert_eq!(b.list(&format!("{p}/")).await.unwrap(), vec![key.clone()], "an aborted upload leaves nothing");

    if let Some(url) = b.presign_get(&key, std::time::Duration::from_secs(900)).await.unwrap() {
        assert!(url.starts_with("http"), "{url}");
        assert!(url.contains("X-Amz-Expires=900"), "the link lives 15 minutes: {url}");
    }
}

/// A presigned upload, when the store gives one, takes exactly the declared bytes through a plain HTTP `PUT`
/// with the headers it names, and the object then reads back; a key that could escape is refused everywhere.
pub async fn presigned_uploads(b: Arc<dyn BlobStore>) {
    let p = crate::unique("blob");
    let key = format!("{p}/pending/shot.png");
    let body = b"\x89PNG\r\n\x1a\nrest of the picture".to_vec();
    let life = std::time::Duration::from_secs(900);
    let r = b.presign_put("a/../b", "image/png", 3, life).await;
    assert!(matches!(r, Err(BlobError::InvalidKey(_))), "{r:?}");
    let Some(put) = b.presign_put(&key, "image/png", body.len() as u64, life).await.unwrap() else {
        return;
    };
    assert!(put.url.starts_with("http"), "{}", put.url);
    assert!(put.url.contains("X-Amz-Expires=900"), "the link lives 15 minutes: {}", put.url);
    assert!(put.headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("content-type") && v == "image/png"), "{put:?}");
    let client = reqwest::Client::new();
    let mut req = client.put(&put.url).body(body.clone());
    for (name, value) in &put.headers {
        req = req.header(name, value);
    }
    let res = req.send().await.unwrap();
    assert!(res.status().is_success(), "{}: {}", res.status(), res.text().await.unwrap_or_default());
    assert_eq!(b.get(&key).await.unwrap().as_deref(), Some(&body[..]));
}
