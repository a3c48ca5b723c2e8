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
