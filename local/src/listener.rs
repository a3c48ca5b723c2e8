//! The HTTP listener of `kefu serve`, driving hyper directly so that a flood of connections cannot take the
//! server down: a cap on open connections in total and per client address (a refused connection is closed
//! at once, before any byte is read), a deadline for a request's headers, and an idle timeout for connections
//! that carry no request. When the total cap is reached, a new client does not wait for idle timeouts: the
//! client holding the most connections gives up its longest-idle one (no request in flight) for it, so a
//! flood of idle connections cannot lock others out. Upgraded connections (WebSockets) keep their place
//! under the caps until they close and are never given up.
//! At start the process's soft limit on open files is raised to the hard limit, and the total cap is kept
//! below it, so the store and outgoing calls always find a descriptor.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// How far past the total cap connections may be while the idle ones given up for newcomers finish closing.
const EVICTION_SLACK: usize = 64;

/// Descriptors kept free for the store, the log, outgoing HTTP calls and the like: the total cap on
/// connections stays this far below the process's limit on open files.
pub const FD_RESERVE: u64 = 256;

/// The limits on connections (`KEFU_MAX_CONNECTIONS`, `KEFU_MAX_CONNECTIONS_PER_IP`,
/// `KEFU_HEADER_TIMEOUT_SECS`, `KEFU_IDLE_TIMEOUT_SECS`, `KEFU_WS_IDLE_TIMEOUT_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections in total (WebSockets included); more are closed at once. Lowered at start to what
    /// the open-file limit allows.
    pub max_connections: usize,
    /// Open connections from one client address (an IPv6 client's whole /64); more are closed at once.
    pub max_per_ip: usize,
    /// How long a client may take to send a request's headers once it has started.
    pub header_timeout: Duration,
    /// How long a connection may stay open with no request in flight and no byte either way.
    pub idle_timeout: Duration,
    /// How long a WebSocket may stay open without a message from its client (API Gateway's idle timeout is
    /// 10 minutes; clients ping to stay).
    pub websocket_idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            max_per_ip: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            websocket_idle_timeout: Duration::from_secs(600),
        }
    }
}

impl ConnectionLimits {
    /// The limits from the environment; an unset variable keeps its default, a malformed one is an error.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The limits from `lookup` (a variable's value by name).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let d = Self::default();
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(format!("{name}={v}: expected a whole number above 0")),
                },
            }
        };
        let count =
            |name: &str, default: usize| number(name, default as u64).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        Ok(Self {
            max_connections: count("KEFU_MAX_CONNECTIONS", d.max_connections)?,
            max_per_ip: count("KEFU_MAX_CONNECTIONS_PER_IP", d.max_per_ip)?,
            header_timeout: Duration::from_secs(number("KEFU_HEADER_TIMEOUT_SECS", d.header_timeout.as_secs())?),
            idle_timeout: Duration::from_secs(number("KEFU_IDLE_TIMEOUT_SECS", d.idle_timeout.as_secs())?),
            websocket_idle_timeout: Duration::from_secs(number(
                "KEFU_WS_IDLE_TIMEOUT_SECS",
                d.websocket_idle_timeout.as_secs(),
            )?),
        })
    }

    /// These limits with the total cap lowered to what `open_files` (the process's limit) leaves after
    /// [`FD_RESERVE`].
    pub fn within_open_files(mut self, open_files: u64) -> Self {
        let budget = usize::try_from(open_files.saturating_sub(FD_RESERVE).max(16)).unwrap_or(usize::MAX);
        if self.max_connections > budget {
            tracing::warn!(
                configured = self.max_connections,
                allowed = budget,
                open_files,
                "KEFU_MAX_CONNECTIONS lowered to fit the open-file limit"
            );
            self.max_connections = budget;
        }
        self
    }
}

/// Raises the process's soft limit on open files to its hard limit; answers the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => {
            tracing::info!(open_files = n, "open-file limit");
            n
        }
        Err(e) => {
            let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024));
            tracing::warn!(error = %e, open_files = soft, "open-file limit not raised");
            soft
        }
    }
}

/// What the per-address cap counts by: an IPv4 address, or an IPv6 /64 (one client usually holds a whole
/// /64, so counting single addresses would not limit it). IPv4-mapped IPv6 counts as IPv4.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// The open connections, in total and per client address.
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, Client>,
}

/// One client address's open connections.
#[derive(Debug, Default)]
struct Client {
    open: usize,
    /// Its connections (some may have closed since; pruned as the list is walked).
    connections: Vec<Weak<Connection>>,
}

impl Counts {
    /// Asks the longest-idle connection of the client holding the most to close, so a newcomer can have its
    /// place; `false` when that client has none to give (all busy or upgraded).
    fn evict_one(&mut self) -> bool {
        let Some((_, client)) = self.per_ip.iter_mut().max_by_key(|(_, c)| c.open) else { return false };
        client.connections.retain(|w| w.strong_count() > 0);
        let victim =
            client.connections.iter().filter_map(Weak::upgrade).filter(|c| c.evictable()).max_by_key(|c| c.quiet_for());
        match victim {
            Some(c) => {
                c.evict();
                true
            }
            None => false,
        }
    }
}

/// Admits connections under the caps and counts them until they close.
#[derive(Debug)]
pub struct Admissions {
    limits: ConnectionLimits,
    counts: Mutex<Counts>,
    refused: AtomicU64,
}

impl Admissions {
    /// No connection yet, under `limits`.
    pub fn new(limits: ConnectionLimits) -> Self {
        Self { limits, counts: Mutex::default(), refused: AtomicU64::new(0) }
    }

    /// The limits in force.
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// A place for a connection from `ip`, or `None` when a cap is reached (the refusal is counted). At the
    /// total cap, an idle connection of the client holding the most is asked to close for it.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<(Admission, Arc<Connection>)> {
        let key = client_key(ip);
        let mut counts = self.counts.lock().expect("admissions lock");
        let from_ip = counts.per_ip.get(&key).map_or(0, |c| c.open);
        let max = self.limits.max_connections;
        let admitted = from_ip < self.limits.max_per_ip
            && (counts.total < max || (counts.total < max + EVICTION_SLACK && counts.evict_one()));
        if !admitted {
            drop(counts);
            let n = self.refused.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(client = %key, refused = n + 1, "connection refused: connection cap reached");
            }
            return None;
        }
        let connection = Arc::new(Connection::new());
        counts.total += 1;
        let client = counts.per_ip.entry(key).or_default();
        client.open += 1;
        if client.connections.len() >= 2 * client.open + 8 {
            client.connections.retain(|w| w.strong_count() > 0);
        }
        client.connections.push(Arc::downgrade(&connection));
        Some((Admission { admissions: self.clone(), key }, connection))
    }

    /// Open connections in total.
    pub fn open(&self) -> usize {
        self.counts.lock().expect("admissions lock").total
    }

    /// Open connections from `ip` (its /64 for IPv6).
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.counts.lock().expect("admissions lock").per_ip.get(&client_key(ip)).map_or(0, |c| c.open)
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// One admitted connection's place; given back when dropped (with the connection's socket).
#[derive(Debug)]
struct Admission {
    admissions: Arc<Admissions>,
    key: IpAddr,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = self.admissions.counts.lock().expect("admissions lock");
        counts.total = counts.total.saturating_sub(1);
        if let Some(client) = counts.per_ip.get_mut(&self.key) {
            client.open = client.open.saturating_sub(1);
            if client.open == 0 {
                counts.per_ip.remove(&self.key);
            }
        }
    }
}

/// One connection's state: when it last moved a byte, how many of its requests are in flight, whether it is
/// still served as HTTP (not upgraded), and the signal that asks it to close.
#[derive(Debug)]
struct Connection {
    started: Instant,
    last_byte_ms: AtomicU64,
    /// When the first byte of a request's head arrived (ms since `started`, plus one; 0 when none is pending).
    head_since_ms: AtomicU64,
    in_flight: AtomicUsize,
    http: AtomicBool,
    evicted: AtomicBool,
    close: Notify,
}

impl Connection {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_byte_ms: AtomicU64::new(0),
            head_since_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            http: AtomicBool::new(true),
            evicted: AtomicBool::new(false),
            close: Notify::new(),
        }
    }

    /// Whether it may be asked to close for a newcomer: served as HTTP, nothing in flight, not asked yet.
    fn evictable(&self) -> bool {
        self.http.load(Ordering::Acquire) && self.idle() && !self.evicted.load(Ordering::Acquire)
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.close.notify_one();
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn touch(&self) {
        self.last_byte_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Bytes arrived: with no request in flight they start a request's head, whose clock starts now.
    fn received(&self) {
        let now = self.now_ms();
        self.last_byte_ms.store(now, Ordering::Relaxed);
        if self.idle() {
            let _ = self.head_since_ms.compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// How long the pending request head has been arriving, if one is.
    fn head_pending_for(&self) -> Option<Duration> {
        match self.head_since_ms.load(Ordering::Acquire) {
            0 => None,
            since => Some(Duration::from_millis(self.now_ms().saturating_sub(since - 1))),
        }
    }

    /// How long since the last byte (or the connection's start).
    fn quiet_for(&self) -> Duration {
        self.started.elapsed().saturating_sub(Duration::from_millis(self.last_byte_ms.load(Ordering::Relaxed)))
    }

    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }
}

/// A request in flight, from its headers until its response body is dropped.
struct InFlight(Arc<Connection>);

impl InFlight {
    fn enter(activity: &Arc<Connection>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_since_ms.store(0, Ordering::Release);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
    }
}

/// The accepted socket, noting each byte it moves and holding the connection's place under the caps for as
/// long as it is open (an upgraded WebSocket takes it along).
struct Tracked {
    stream: TcpStream,
    activity: Arc<Connection>,
    _admission: Admission,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.received();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accept errors that concern one connection only (the next accept may succeed at once).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` under the admissions' limits until `stop` turns true; then stops accepting,
/// lets requests in flight finish (idle connections close at once) and returns when every connection is done.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    admissions: Arc<Admissions>,
    mut stop: watch::Receiver<bool>,
) {
    let limits = admissions.limits();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The header deadline is kept here (see `connection`), not by hyper, whose timer also runs while a
    // keep-alive connection waits for its next request and so would cut the idle timeout short.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors or memory: wait a little rather than spin; connections that close free some.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some((admission, state)) = admissions.admit(peer.ip()) else {
            // Closed at once: a reset frees the socket without a FIN handshake or TIME_WAIT.
            let _ = stream.set_zero_linger();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = Tracked { stream, activity: state, _admission: admission };
        connections.spawn(connection(builder.clone(), io, peer, router.clone(), limits, stop.clone()));
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Serves one connection: requests (and an upgrade) through `router`, closed when idle past the limit.
async fn connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    io: Tracked,
    peer: SocketAddr,
    router: axum::Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = io.activity.clone();
    let io = TokioIo::new(io);
    let in_service = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let in_flight = InFlight::enter(&in_service);
        let router = router.clone();
        async move {
            let response = router.oneshot(req).await?;
            // The request stays in flight until its response body is done, so a slow download is not idle.
            Ok::<_, std::convert::Infallible>(response.map(move |body| {
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _still = &in_flight;
                    frame
                }))
            }))
        }
    });
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let period =
        (limits.idle_timeout.min(limits.header_timeout) / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut check = tokio::time::interval(period);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                // Over, or upgraded: a WebSocket keeps the socket (and its place) but is no longer HTTP's.
                activity.http.store(false, Ordering::Release);
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = activity.close.notified() => {
                if activity.idle() {
                    tracing::debug!(%peer, "idle connection closed for a newcomer");
                    return;
                }
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = check.tick() => {
                // Nothing in flight and (the server is stopping, a request's head is taking too long, or silent
                // too long): close by dropping.
                let slow_head = activity.head_pending_for().is_some_and(|d| d >= limits.header_timeout);
                if activity.idle() && (stopping || slow_head || activity.quiet_for() >= limits.idle_timeout) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn caps_hold_in_total_and_per_address_and_places_come_back() {
        let limits = ConnectionLimits { max_connections: 3, max_per_ip: 2, ..ConnectionLimits::default() };
        let admissions = Arc::new(Admissions::new(limits));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let (a, a_state) = admissions.admit(one).expect("first");
        let (_b, b_state) = admissions.admit(one).expect("second");
        assert!(admissions.admit(one).is_none(), "a third from one address is refused");
        let (_c, c_state) = admissions.admit(two).expect("another address");
        assert_eq!((admissions.open(), admissions.open_from(one), admissions.refused()), (3, 2, 1));

        // At the total cap, every connection busy: a newcomer is refused.
        let busy: Vec<InFlight> = [&a_state, &b_state, &c_state].iter().map(|s| InFlight::enter(s)).collect();
        assert!(admissions.admit("192.0.2.3".parse().unwrap()).is_none(), "the total cap");
        assert_eq!(admissions.refused(), 2);
        drop(busy);

        // Idle ones: the client holding the most gives one up for the newcomer.
        let (_d, _) = admissions.admit("192.0.2.3".parse().unwrap()).expect("an idle place is given up");
        assert!(a_state.evicted.load(Ordering::Acquire) ^ b_state.evicted.load(Ordering::Acquire));
        assert!(!c_state.evicted.load(Ordering::Acquire), "not the client with fewer connections");

        drop(a);
        assert_eq!((admissions.open(), admissions.open_from(one)), (3, 1), "a closed connection frees its place");
    }

    #[test]
    fn a_request_head_is_timed_from_its_first_byte_until_the_request_starts() {
        let c = Arc::new(Connection::new());
        assert_eq!(c.head_pending_for(), None, "a silent connection is only idle");
        c.received();
        assert!(c.head_pending_for().is_some(), "bytes with nothing in flight start a head");
        let request = InFlight::enter(&c);
        assert_eq!(c.head_pending_for(), None, "the head is complete once the request starts");
        c.received();
        assert_eq!(c.head_pending_for(), None, "a body's bytes are not a head");
        drop(request);
        assert_eq!(c.head_pending_for(), None, "a keep-alive connection waits under the idle timeout");
        c.received();
        assert!(c.head_pending_for().is_some(), "the next request's head");
    }

    #[test]
    fn limits_come_from_the_environment_and_fit_the_file_limit() {
        let vars = |name: &str| match name {
            "KEFU_MAX_CONNECTIONS" => Some("5000".to_owned()),
            "KEFU_IDLE_TIMEOUT_SECS" => Some("30".to_owned()),
            _ => None,
        };
        let limits = ConnectionLimits::from_lookup(vars).unwrap();
        assert_eq!(limits.max_connections, 5000);
        assert_eq!(limits.idle_timeout, Duration::from_secs(30));
        assert_eq!(limits.max_per_ip, ConnectionLimits::default().max_per_ip);
        assert_eq!(limits.within_open_files(1024).max_connections, 1024 - FD_RESERVE as usize);
        assert!(ConnectionLimits::from_lookup(|_| Some("0".into())).is_err());
        assert!(ConnectionLimits::from_lookup(|_| Some("many".into())).is_err());
    }
}
