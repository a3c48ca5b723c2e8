//! A small in-process memo of values derived from stored items (a tenant's compiled rule set), each valid for
//! one version of its source: a reader reads the source's version (one `GetItem`) and gets the value built for
//! that version, or builds it again. Nothing is ever served for a version other than the one just read, so a
//! change in another process (another Lambda, another `kefu serve` replica) applies to the very next read.
//!
//! Bounded: past [`MAX_ENTRIES`] the value used least recently goes (`lru`), so a process serving many visitors
//! keeps what it uses often (a tenant's rule set, its agents' session checks) rather than starting afresh.

use std::any::Any;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;

/// The most values kept at once: a visitor's token is one, an agent's session one, a tenant's rule set one; at
/// a few hundred bytes each, a few megabytes in all.
pub const MAX_ENTRIES: usize = 16_384;

type Entry = (u64, Arc<dyn Any + Send + Sync>);

/// The one version of a source that never changes once written ([`Memo::keep`]).
const UNCHANGING: u64 = 0;

/// Derived values by key and source version.
pub struct Memo {
    entries: Mutex<LruCache<String, Entry>>,
}

impl Default for Memo {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo").field("entries", &self.len()).finish()
    }
}

impl Memo {
    /// A memo keeping at most `capacity` values (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self { entries: Mutex::new(LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN))) }
    }

    fn entries(&self) -> MutexGuard<'_, LruCache<String, Entry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value kept under `key` for `version`, if it is one of type `T`.
    pub fn get<T: Any + Send + Sync>(&self, key: &str, version: u64) -> Option<Arc<T>> {
        let mut entries = self.entries();
        let (v, value) = entries.get(key)?;
        if *v != version {
            return None;
        }
        value.clone().downcast::<T>().ok()
    }

    /// The value kept under `key`, whatever its version, with that version: for what never changes between
    /// versions (the tenant a session belongs to), never to serve the value itself.
    pub fn latest<T: Any + Send + Sync>(&self, key: &str) -> Option<(u64, Arc<T>)> {
        let mut entries = self.entries();
        let (v, value) = entries.get(key)?;
        Some((*v, value.clone().downcast::<T>().ok()?))
    }

    /// Keeps `value` under `key` for `version` (replacing what the key had; when full, dropping the value used
    /// least recently).
    pub fn put<T: Any + Send + Sync>(&self, key: String, version: u64, value: Arc<T>) {
        self.entries().put(key, (version, value));
    }

    /// The value kept under `key` by [`Memo::keep`], for a source that never changes once written (a visitor
    /// token's item, a tenant's zone), so there is no version to read.
    pub fn kept<T: Any + Send + Sync>(&self, key: &str) -> Option<Arc<T>> {
        self.get(key, UNCHANGING)
    }

    /// Keeps `value`, derived from a source that never changes once written, under `key` (see [`Memo::kept`]).
    pub fn keep<T: Any + Send + Sync>(&self, key: String, value: Arc<T>) {
        self.put(key, UNCHANGING, value);
    }

    /// How many values it keeps.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether it keeps none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_served_only_for_its_version_and_type() {
        let memo = Memo::default();
        assert!(memo.get::<String>("rules#t1", 1).is_none());
        memo.put("rules#t1".into(), 1, Arc::new("one".to_owned()));
        assert_eq!(memo.get::<String>("rules#t1", 1).as_deref().map(String::as_str), Some("one"));
        assert!(memo.get::<String>("rules#t1", 2).is_none(), "another version is built again");
        assert!(memo.get::<u32>("rules#t1", 1).is_none(), "another type is never served");
        memo.put("rules#t1".into(), 2, Arc::new("two".to_owned()));
        assert!(memo.get::<String>("rules#t1", 1).is_none());
        assert_eq!(memo.latest::<String>("rules#t1").map(|(v, s)| (v, s.as_str().to_owned())), Some((2, "two".into())));
        assert!(memo.latest::<u32>("rules#t1").is_none(), "nor through latest");
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn past_its_bound_it_drops_the_value_used_least_recently() {
        let memo = Memo::with_capacity(3);
        for i in 0..3usize {
            memo.put(format!("k{i}"), 0, Arc::new(i));
        }
        memo.put("k0".into(), 1, Arc::new(0usize));
        assert_eq!(memo.len(), 3, "replacing a key keeps the rest");
        assert!(memo.get::<usize>("k1", 0).is_some(), "k1 used: k2 is now the least recent");
        memo.put("new".into(), 0, Arc::new(1usize));
        assert_eq!(memo.len(), 3);
        assert!(memo.get::<usize>("k2", 0).is_none(), "the least recently used went");
        for key in ["k0", "k1", "new"] {
            assert!(memo.latest::<usize>(key).is_some(), "{key} kept");
        }
        assert_eq!(Memo::default().entries().cap().get(), MAX_ENTRIES);
    }
}
