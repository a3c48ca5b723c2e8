//! A load run of an export: fills a fresh embedded store with `KEFU_EXPORT_CONVERSATIONS` conversations of
//! `KEFU_EXPORT_MESSAGES` messages each (default 1,000 × 100), exports them as CSV (a row per message) through
//! the same code the `export` consumer runs, and prints the rows per second and the process's peak memory
//! during the export, which shows that memory stays flat while rows grow.
//!
//! Two measures of memory, both taken over the export alone:
//! - the peak resident set (`VmHWM`, reset through `/proc/self/clear_refs` just before the export) against the
//!   resident set just before it;
//! - the peak of live heap bytes, counted by this program's global allocator, against the live bytes before.
//!
//! The store's page cache is capped at `KEFU_EXPORT_CACHE_MB` (default 32; `0` for redb's default of 1 GiB):
//! the cache keeps every page read up to its cap, which would otherwise hide the exporter's own flat line behind
//! the cache's growth.
//!
//! `cargo run -p kefu-app --example export_load` (an unoptimised build: the numbers are a floor).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use kefu_app::audit::{AuditEntry, Outcome};
use kefu_app::conversations::{ConversationRecord, MessageRecord};
use kefu_app::exports::{self, ExportSpec};
use kefu_app::plumbing::record::Record;
use kefu_domain::export::{ExportFormat, ExportKind};
use kefu_domain::ids::ExportId;
use kefu_domain::routing::Priority;
use kefu_domain::{Author, ConversationId, ConversationStatus, CustomerId, TenantId};
use kefu_ports::table::TxOp;

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A `/proc/self/status` line's number (KiB), or 0.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Starts a new high-water mark for both measures (the resident peak through `clear_refs`, Linux ≥ 4.0).
fn reset_peaks() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let (conversations, per) = (env("KEFU_EXPORT_CONVERSATIONS", 1000), env("KEFU_EXPORT_MESSAGES", 100));
    let cache = match env("KEFU_EXPORT_CACHE_MB", 32) {
        0 => None,
        mb => Some(mb << 20),
    };
    let e = kefu_app::testing::EmbeddedApp::with_cache(Arc::new(kefu_ports::SystemClock), cache);
    let app = e.app.clone();
    let t = TenantId::generate();
    let start = Instant::now();
    let base = app.now() - jiff::SignedDuration::from_hours(24);
    for i in 0..conversations {
        let c = ConversationId::generate();
        let at = base + jiff::SignedDuration::from_secs(i as i64);
        let mut conv = ConversationRecord::started(&t, &c, &CustomerId::generate(), None, Priority::Normal, None, at);
        conv.status = ConversationStatus::Closed;
        let mut ops = vec![TxOp::Put { item: conv.to_item(), condition: None }];
        for j in 0..per {
            let m = MessageRecord {
                message_id: kefu_app::conversations::next_message_id(at + jiff::SignedDuration::from_millis(j as i64)),
                conversation_id: c.clone(),
                tenant_id: t.clone(),
                author: if j % 2 == 0 { Author::Visitor } else { Author::Agent },
                author_id: None,
                content: format!("message {j} of conversation {i}: 你好, I would like to return order #{i}{j}"),
                internal: false,
                created_at: at,
                recalled_at: None,
                recalled_by: None,
                attachments: Vec::new(),
            };
            ops.push(TxOp::Put { item: m.to_item(), condition: None });
            if ops.len() == 100 {
                app.table.transact(std::mem::take(&mut ops)).await.expect("write");
            }
        }
        if !ops.is_empty() {
            app.table.transact(ops).await.expect("write");
        }
    }
    let filled = start.elapsed();
    let spec = ExportSpec {
        kind: ExportKind::Conversations,
        format: ExportFormat::Csv,
        since: None,
        until: None,
        masked: true,
    };
    let id = ExportId::generate();
    exports::create(
        &app,
        &t,
        id.clone(),
        "ag_load".into(),
        spec,
        AuditEntry::new(&t, "export.create", Outcome::Success),
        None,
    )
    .await
    .expect("create");
    let (rss_before, heap_before) = (status_kib("VmRSS:"), LIVE.load(Ordering::Relaxed));
    reset_peaks();
    let start = Instant::now();
    exports::write::run(&app, &t, &id).await.expect("run");
    let took = start.elapsed();
    let (rss_peak, heap_peak) = (status_kib("VmHWM:"), PEAK.load(Ordering::Relaxed));
    let record = exports::load(&app, &t, &id).await.expect("load").expect("export");
    let path = e.dir.path().join("blobs").join(record.blob_key.as_deref().expect("done"));
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    println!(
        "{}",
        serde_json::json!({
            "conversations": conversations, "messages": conversations * per, "fill_seconds": filled.as_secs_f64(),
            "status": record.status.as_str(), "rows": record.rows, "export_seconds": took.as_secs_f64(),
            "rows_per_second": (record.rows as f64 / took.as_secs_f64()).round(), "file_bytes": size,
            "cache_mib": cache.map(|b| b >> 20), "rss_kib_before_export": rss_before,
            "peak_rss_kib_during_export": rss_peak, "heap_kib_before_export": heap_before >> 10,
            "peak_heap_kib_during_export": heap_peak >> 10,
        })
    );
}
