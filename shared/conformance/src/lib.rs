//! One conformance suite per port. Every adapter runs the same cases, so the embedded store and AWS cannot
//! drift apart in the semantics the application relies on.
//!
//! Each suite is a set of async functions taking the port under test, and a macro that turns them into one
//! `#[tokio::test]` per case for an adapter crate. The factory given to the macro returns `Option<...>`: `None`
//! skips the case (used by the AWS adapters when no emulator is configured outside CI).

pub mod blob;
pub mod queue;
pub mod table;
pub mod topic;

/// A unique prefix so cases sharing one store never see each other's data.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{nanos:x}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Expands to one test per case of a suite: `suite_tests!(table, factory, [case, ...])`.
#[doc(hidden)]
#[macro_export]
macro_rules! __suite_tests {
    ($suite:ident, $factory:path, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(subject) = $factory().await else {
                    eprintln!("skipped: no backend for {}", stringify!($case));
                    return;
                };
                $crate::$suite::$case(subject).await;
            }
        )*
    };
}

/// The table suite: `table_tests!(factory)` where `async fn factory() -> Option<Arc<dyn Table>>`.
#[macro_export]
macro_rules! table_tests {
    ($factory:path) => {
        $crate::__suite_tests!(
            table,
            $factory,
            [
                put_get_and_replace,
                conditional_put,
                update_semantics,
                version_checks,
                conditional_delete,
                query_ranges_and_order,
                query_pagination,
                secondary_indexes,
                transactions_all_or_nothing,
                transaction_limits,
                ttl_hides_expired_items,
                concurrent_conditional_updates,
                bad_input_is_rejected,
                stats_count_alike,
            ]
        );
    };
}

/// The queue suite: `queue_tests!(factory)` where `async fn factory() -> Option<queue::QueueUnderTest>`.
#[macro_export]
macro_rules! queue_tests {
    ($factory:path) => {
        $crate::__suite_tests!(
            queue,
            $factory,
            [
                send_receive_delete,
                visibility_timeout_redelivers,
                change_visibility,
                batches,
                dead_letter_after_max_receives,
                stale_receipts,
                delayed_send,
                delete_batch,
            ]
        );
    };
}

/// The topic suite: `topic_tests!(factory)` where `async fn factory() -> Option<topic::TopicUnderTest>`.
#[macro_export]
macro_rules! topic_tests {
    ($factory:path) => {
        $crate::__suite_tests!(topic, $factory, [fan_out_by_filter_policy]);
    };
}

/// The blob suite: `blob_tests!(factory)` where `async fn factory() -> Option<Arc<dyn BlobStore>>`.
#[macro_export]
macro_rules! blob_tests {
    ($factory:path) => {
        $crate::__suite_tests!(
            blob,
            $factory,
            [put_get_list_delete, invalid_keys, uploads_in_parts, presigned_uploads]
        );
    };
}
