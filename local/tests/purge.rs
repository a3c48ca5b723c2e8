//! `kefu serve`'s minute purge of expired items goes a slice at a time, so the hot path's writes interleave
//! with it; every expired item still goes, live ones stay.

use std::sync::Arc;

use kefu_embedded::EmbeddedStore;
use kefu_local::{PURGE_SLICE, purge_in_slices};
use kefu_ports::table::{Query, Table};
use kefu_ports::{Clock, ManualClock};
use serde_json::json;

#[tokio::test]
async fn every_expired_item_goes_in_slices_and_live_ones_stay() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new("2026-11-25T00:00:00Z".parse().unwrap()));
    let store = EmbeddedStore::open(&dir.path().join("kefu.redb"), clock.clone()).unwrap();
    let table = store.table();
    let now = clock.now().as_second();
    let expired = PURGE_SLICE * 2 + 17;
    for i in 0..expired + 5 {
        let ttl = if i < expired { now + 10 } else { now + 10_000 };
        let item = json!({"pk": "rate", "sk": format!("w{i:05}"), "ttl": ttl}).as_object().unwrap().clone();
        table.put(item, None).await.unwrap();
    }
    clock.advance(jiff::SignedDuration::from_secs(60));
    assert_eq!(purge_in_slices(&table).await.unwrap(), expired);
    assert_eq!(purge_in_slices(&table).await.unwrap(), 0, "nothing left to purge");
    clock.set("2000-01-01T00:00:00Z".parse().unwrap());
    assert_eq!(table.query(Query::partition("rate")).await.unwrap().items.len(), 5, "the live items stay");
}
