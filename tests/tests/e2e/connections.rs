//! Connection exhaustion (issue 8, item 3): a bounded flood of idle TCP connections is refused at the caps
//! (or, at the total cap, gives up its idle places to newcomers) while `/v1/health` keeps answering, idle and
//! slow-header connections are closed, and the places they held come back. Loopback has a whole /8, so other client addresses are 127.0.0.x.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use kefu_e2e::{TestApp, embedded_config, eventually, spawn_with};
use kefu_local::listener::ConnectionLimits;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Generous: the machine may be busy, and only the eventual behaviour is asserted.
const WAIT: Duration = Duration::from_secs(30);

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

async fn server(limits: ConnectionLimits) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = kefu_local::ServeConfig { connections: limits, ..embedded_config(dir.path()) };
    (spawn_with(config).await, dir)
}

/// A TCP connection to `to` from the loopback address `from`.
async fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    try_connect_from(from, to).await.expect("connects")
}

/// A TCP connection to `to` from `from`; `None` when the server reset it before the handshake was through
/// (on loopback a refusal can arrive that fast).
async fn try_connect_from(from: IpAddr, to: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    match socket.connect(to).await {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
        Err(e) => panic!("connect: {e}"),
    }
}

/// How many of `streams` the server has closed (or reset before they were through).
async fn count_closed(streams: &mut [Option<TcpStream>]) -> usize {
    let mut closed = 0;
    for stream in streams {
        let gone = match stream {
            None => true,
            Some(s) => closed_within(s, Duration::from_millis(1)).await,
        };
        closed += usize::from(gone);
    }
    closed
}

/// `GET /v1/health` from the loopback address `from`, on a fresh connection.
async fn health_from(t: &TestApp, from: IpAddr) -> Option<StatusCode> {
    let client = reqwest::Client::builder().local_address(from).timeout(Duration::from_secs(10)).build().unwrap();
    client.get(format!("{}/v1/health", t.base)).send().await.ok().map(|r| r.status())
}

/// Whether the server has closed `stream` (end of file or a reset), waiting up to `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_is_refused_at_the_caps_while_health_answers() {
    let limits = ConnectionLimits {
        max_connections: 200,
        max_per_ip: 50,
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(600),
        ..ConnectionLimits::default()
    };
    let (mut t, _dir) = server(limits).await;
    let addr = t.server.as_ref().unwrap().addr;
    let counts = t.server.as_ref().unwrap().connections.clone();

    // 300 idle connections (not a byte sent) from one address: 50 are kept, 250 closed at once.
    let mut flood = Vec::new();
    for _ in 0..300 {
        flood.push(try_connect_from(loopback(1), addr).await);
    }
    assert!(
        eventually(WAIT, || async { counts.refused() >= 250 }).await,
        "the connections over the per-address cap are refused (refused {})",
        counts.refused()
    );
    assert_eq!(counts.open_from(loopback(1)), 50, "one address holds at most its cap");
    // The refused ones were closed before any byte: their client side sees it (the kept 50 stay open).
    let mut closed = count_closed(&mut flood).await;
    for _ in 0..300 {
        if closed >= 250 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        closed = count_closed(&mut flood).await;
    }
    assert!(closed >= 250, "refused connections are closed at once, {closed} seen closed");
    assert_eq!(health_from(&t, loopback(2)).await, Some(StatusCode::OK), "health answers another client");

    // Four more addresses bring 200 more: the total holds at its cap, the newcomers taking the places of the
    // longest-idle connections of the biggest clients, so a client arriving while it is full still gets in.
    let mut more = Vec::new();
    for last in 3..=6 {
        for _ in 0..50 {
            more.push(try_connect_from(loopback(last), addr).await);
        }
    }
    assert!(eventually(WAIT, || async { counts.open() == 200 }).await, "the total cap holds ({})", counts.open());
    assert_eq!(health_from(&t, loopback(2)).await, Some(StatusCode::OK), "health answers at the total cap");
    assert!(eventually(WAIT, || async { counts.open() <= 200 }).await, "and the total is back within its cap");
    let newcomers_in = [3, 4, 5, 6].iter().all(|last| counts.open_from(loopback(*last)) > 0);
    assert!(newcomers_in, "every newcomer address got places");

    // The flood goes away: every place comes back and the first address is served again.
    drop(flood);
    drop(more);
    assert!(eventually(WAIT, || async { counts.open() == 0 }).await, "closed connections free their places");
    assert_eq!(health_from(&t, loopback(1)).await, Some(StatusCode::OK));
    t.stop().await;
}

#[tokio::test]
async fn connections_that_send_nothing_or_stop_after_a_request_are_closed_when_idle() {
    let limits = ConnectionLimits {
        max_connections: 100,
        max_per_ip: 100,
        header_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    };
    let (mut t, _dir) = server(limits).await;
    let addr = t.server.as_ref().unwrap().addr;
    let counts = t.server.as_ref().unwrap().connections.clone();

    let mut silent = connect_from(loopback(1), addr).await;
    assert!(closed_within(&mut silent, WAIT).await, "a connection that never sends a byte is closed");

    let mut kept_alive = connect_from(loopback(1), addr).await;
    kept_alive.write_all(b"GET /v1/health HTTP/1.1\r\nHost: kefu\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = kept_alive.read(&mut answer).await.unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..n]));
    assert!(closed_within(&mut kept_alive, WAIT).await, "a keep-alive connection with no next request is closed");
    assert!(eventually(WAIT, || async { counts.open() == 0 }).await);
    t.stop().await;
}

#[tokio::test]
async fn headers_sent_slowly_are_cut_off_at_the_header_timeout() {
    let limits = ConnectionLimits {
        max_connections: 100,
        max_per_ip: 100,
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(600),
        ..ConnectionLimits::default()
    };
    let (mut t, _dir) = server(limits).await;
    let addr = t.server.as_ref().unwrap().addr;
    let mut slow = connect_from(loopback(1), addr).await;
    slow.write_all(b"GET /v1/health HTTP/1.1\r\nHost: kefu\r\n").await.unwrap();
    // A header byte every 100 ms keeps the connection busy (so the idle timeout never applies), yet the
    // request's headers never end: the header timeout closes it.
    let mut cut = false;
    for _ in 0..(WAIT.as_millis() / 100) {
        if slow.write_all(b"X").await.is_err() || closed_within(&mut slow, Duration::from_millis(100)).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "a request whose headers never end is cut off");
    assert_eq!(health_from(&t, loopback(1)).await, Some(StatusCode::OK));
    t.stop().await;
}

#[tokio::test]
async fn websockets_leave_a_quarter_of_the_places_to_http() {
    let limits = ConnectionLimits { max_connections: 8, max_per_ip: 100, ..ConnectionLimits::default() };
    let (mut t, _dir) = server(limits).await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let token = t.login(created["tenant_id"].as_str().unwrap(), "li@acme.test", kefu_e2e::ADMIN_PASSWORD).await;
    let mut sockets = Vec::new();
    for _ in 0..6 {
        sockets.push(t.websocket(&token).await);
    }
    let (ticket, url) = t.ticket(&token).await;
    assert_eq!(kefu_e2e::ws_connect(&url, &ticket).await.err(), Some(503), "three quarters of 8 are sockets");
    assert_eq!(health_from(&t, loopback(2)).await, Some(StatusCode::OK), "HTTP keeps its quarter");
    for ws in sockets {
        ws.close().await;
    }
    t.stop().await;
}

#[tokio::test]
async fn a_websocket_whose_client_sends_nothing_is_closed() {
    let limits = ConnectionLimits { websocket_idle_timeout: Duration::from_secs(1), ..ConnectionLimits::default() };
    let (mut t, _dir) = server(limits).await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = kefu_domain::TenantId::parse(created["tenant_id"].as_str().unwrap()).unwrap();
    let admin = kefu_domain::AgentId::parse(created["admin_id"].as_str().unwrap()).unwrap();
    let token = t.login(tenant.as_str(), "li@acme.test", kefu_e2e::ADMIN_PASSWORD).await;
    let mut ws = t.websocket(&token).await;
    assert_eq!(ws.next_frame(WAIT).await, None, "closed after a second without a message");
    let forgotten = eventually(WAIT, || async {
        kefu_app::realtime::agent_connections(t.app(), &tenant, &admin).await.unwrap().is_empty()
    })
    .await;
    assert!(forgotten, "its record is removed");
    t.stop().await;
}
