//! The async runtime of the `kefu` binary, and how many worker threads it gets.

/// tokio's own variable for the runtime's worker threads; when set, it decides.
pub const WORKERS_VAR: &str = "TOKIO_WORKER_THREADS";

/// How many worker threads the runtime gets. `TOKIO_WORKER_THREADS` (`tokio_var`, tokio's own variable), when
/// set, decides for every command. Otherwise a process that serves on the embedded store (`serves_embedded`)
/// gets one fewer than its `cores`, at least one: the store's writer thread lives outside the runtime and
/// keeps a core busy under load (group commits, `fdatasync`), and with a worker for every core as well, the
/// workers and the writer take turns on the cores, and the workers' parking, waking and stealing between
/// themselves cost more than the extra worker brings (on two cores at 2,000 messages/s, one worker served the
/// same load with 10–16 % less CPU at the same median latency; docs/performance.md). Anything else gets a
/// worker per core, as tokio would.
pub fn workers(cores: usize, serves_embedded: bool, tokio_var: Option<&str>) -> Result<usize, String> {
    if let Some(v) = tokio_var.map(str::trim).filter(|v| !v.is_empty()) {
        return match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{WORKERS_VAR}={v}: expected a whole number above 0")),
        };
    }
    let cores = cores.max(1);
    Ok(if serves_embedded { (cores - 1).max(1) } else { cores })
}

/// A multi-threaded runtime with every driver on and `workers` worker threads.
pub fn build(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()
}

/// The runtime for this process, with [`workers`] from its cores and `TOKIO_WORKER_THREADS`;
/// `serves_embedded`: it serves on the embedded store.
pub fn build_for(serves_embedded: bool) -> Result<tokio::runtime::Runtime, String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let n = workers(cores, serves_embedded, std::env::var(WORKERS_VAR).ok().as_deref())?;
    build(n).map_err(|e| format!("cannot start the async runtime: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_on_the_embedded_store_leaves_its_writer_a_core() {
        assert_eq!(workers(2, true, None), Ok(1));
        assert_eq!(workers(8, true, None), Ok(7));
        assert_eq!(workers(1, true, None), Ok(1), "never fewer than one worker");
        assert_eq!(workers(0, true, None), Ok(1));
    }

    #[test]
    fn anything_else_gets_a_worker_per_core() {
        assert_eq!(workers(2, false, None), Ok(2));
        assert_eq!(workers(0, false, None), Ok(1));
    }

    #[test]
    fn tokios_variable_decides_when_set() {
        assert_eq!(workers(2, true, Some("2")), Ok(2));
        assert_eq!(workers(8, false, Some(" 3 ")), Ok(3));
        assert_eq!(workers(2, true, Some("  ")), Ok(1), "an empty variable is unset");
        assert_eq!(workers(2, true, Some("0")), Err("TOKIO_WORKER_THREADS=0: expected a whole number above 0".into()));
        assert!(workers(2, true, Some("two")).is_err());
    }

    #[test]
    fn a_built_runtime_has_the_workers_asked_for() {
        let rt = build(1).expect("runtime");
        assert_eq!(rt.metrics().num_workers(), 1);
        let n = rt.block_on(async { tokio::runtime::Handle::current().metrics().num_workers() });
        assert_eq!(n, 1);
    }
}
