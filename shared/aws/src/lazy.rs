//! SDK clients built on their first call, so a function builds only the clients it uses.

use std::sync::{Arc, OnceLock};

use aws_config::SdkConfig;

type Make<C> = fn(&SdkConfig) -> C;

/// An SDK client that is built from the shared [`SdkConfig`] the first time it is used, or one handed over
/// ready (`From<C>`). Every function's `App` holds a table, a topic, a mailer, a bucket and a push adapter, but
/// most functions call two of them: building the other clients at start only lengthened the cold start.
/// Clones share one client.
pub struct LazyClient<C>(Arc<Inner<C>>);

struct Inner<C> {
    client: OnceLock<C>,
    from: Option<(SdkConfig, Make<C>)>,
}

impl<C> LazyClient<C> {
    /// A client `make` builds from `sdk` on its first use.
    pub fn new(sdk: &SdkConfig, make: Make<C>) -> Self {
        Self(Arc::new(Inner { client: OnceLock::new(), from: Some((sdk.clone(), make)) }))
    }

    /// The client, built now if this is its first use.
    pub fn get(&self) -> &C {
        self.0.client.get_or_init(|| match &self.0.from {
            Some((sdk, make)) => make(sdk),
            None => unreachable!("a client handed over ready is always set"),
        })
    }

    /// Whether the client has been built yet.
    pub fn is_built(&self) -> bool {
        self.0.client.get().is_some()
    }
}

impl<C> From<C> for LazyClient<C> {
    fn from(client: C) -> Self {
        Self(Arc::new(Inner { client: OnceLock::from(client), from: None }))
    }
}

impl<C> Clone for LazyClient<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C> std::fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient").field("built", &self.is_built()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static BUILT: AtomicUsize = AtomicUsize::new(0);

    fn make(_: &SdkConfig) -> usize {
        BUILT.fetch_add(1, Ordering::SeqCst) + 100
    }

    #[test]
    fn a_client_is_built_once_on_first_use_and_shared_by_clones() {
        let sdk = SdkConfig::builder().build();
        let lazy = LazyClient::new(&sdk, make);
        let copy = lazy.clone();
        assert!(!lazy.is_built());
        assert_eq!(BUILT.load(Ordering::SeqCst), 0, "nothing is built up front");
        assert_eq!(*copy.get(), 100);
        assert_eq!((*lazy.get(), lazy.is_built()), (100, true));
        assert_eq!(BUILT.load(Ordering::SeqCst), 1, "once, for every clone");
        let ready = LazyClient::from(7usize);
        assert_eq!((ready.is_built(), *ready.get()), (true, 7));
    }
}
