//! `kefu tls-front`: a TLS endpoint in front of a plain-HTTP server (moto, for `scripts/probe-lambdas.sh`), so
//! that a function's AWS calls pay a real TLS handshake as they do in Lambda. It makes a certificate authority
//! and a server certificate for `127.0.0.1` and `localhost` at start; the authority's certificate goes to a file
//! for the clients to trust (`SSL_CERT_FILE`).
//!
//! Each request is forwarded on a new connection to the upstream, and its answer comes back without the
//! upstream's `Connection: close` (moto's server sends it on every answer). The client's TLS connection so stays
//! open between requests, as with AWS: one handshake per connection, not per request. A plain byte copy would
//! pass the `close` on and make every request pay a handshake.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The certificates of a front: the authority clients trust, and the server's configuration.
pub struct FrontCerts {
    /// The authority's certificate, PEM (what the clients trust).
    pub ca_pem: String,
    /// The server side: the server certificate (signed by the authority) and its key, on aws-lc.
    pub server: Arc<ServerConfig>,
}

/// Makes a fresh authority (ECDSA P-256) and a server certificate it signs, valid for `127.0.0.1` and
/// `localhost`. The keys live only in this process.
pub fn make_certs() -> Result<FrontCerts, BoxError> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(DnType::CommonName, "Kefu probe CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    leaf.distinguished_name.push(DnType::CommonName, "Kefu probe endpoint");
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf.signed_by(&leaf_key, &ca)?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(FrontCerts { ca_pem: ca.pem(), server: Arc::new(server) })
}

/// A running front.
pub struct TlsFront {
    /// Where it accepts TLS connections.
    pub addr: SocketAddr,
    /// The authority's certificate, PEM.
    pub ca_pem: String,
    connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Accepts TLS on `listen` (port 0: any free port) and forwards each request to `upstream`.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> Result<Self, BoxError> {
        let certs = make_certs()?;
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(accept_loop(listener, TlsAcceptor::from(certs.server), upstream, connections.clone()));
        Ok(Self { addr, ca_pem: certs.ca_pem, connections, task })
    }

    /// How many TLS handshakes completed so far.
    pub fn handshakes(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Stops accepting (connections in progress are dropped with the runtime).
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, upstream: SocketAddr, count: Arc<AtomicU64>) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "tls-front: accept failed");
                continue;
            }
        };
        let (acceptor, count) = (acceptor.clone(), count.clone());
        tokio::spawn(async move {
            if let Err(e) = serve(tcp, peer, acceptor, upstream, &count).await {
                tracing::debug!(%peer, error = %e, "tls-front: connection ended");
            }
        });
    }
}

/// One client connection: the TLS handshake, then HTTP/1.1 requests until the client closes it.
async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    upstream: SocketAddr,
    count: &AtomicU64,
) -> Result<(), BoxError> {
    tcp.set_nodelay(true)?;
    let started = Instant::now();
    let tls = acceptor.accept(tcp).await?;
    let n = count.fetch_add(1, Ordering::Relaxed) + 1;
    let (_, session) = tls.get_ref();
    tracing::info!(
        %peer,
        connection = n,
        handshake_us = started.elapsed().as_micros() as u64,
        version = session.protocol_version().map_or_else(String::new, |v| format!("{v:?}")),
        group = session.negotiated_key_exchange_group().map_or_else(String::new, |g| format!("{:?}", g.name())),
        "tls-front: handshake"
    );
    let service = hyper::service::service_fn(move |req| forward(req, upstream));
    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await?;
    Ok(())
}

/// One request, on a new upstream connection; its answer without the upstream's `Connection` header.
async fn forward(req: Request<Incoming>, upstream: SocketAddr) -> Result<Response<Incoming>, BoxError> {
    let tcp = TcpStream::connect(upstream).await?;
    tcp.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    let mut answer = sender.send_request(req).await?;
    answer.headers_mut().remove(hyper::header::CONNECTION);
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A tiny HTTP/1.1 server that, like moto's, answers one request per connection with `body` and
    /// `Connection: close`, then closes; it counts the connections it accepted.
    async fn http_server(body: &'static str) -> (SocketAddr, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while request_len(&buf).is_none() {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        (addr, accepted, task)
    }

    /// The length of the first whole request in `buf` (headers and a `content-length` body), if it is all there.
    fn request_len(buf: &[u8]) -> Option<usize> {
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let body = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        (buf.len() >= end + body).then_some(end + body)
    }

    fn client_config(ca_pem: &str) -> rustls::ClientConfig {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.expect("PEM")).expect("a valid authority");
        }
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth()
    }

    /// Two requests over one TLS connection (one handshake) reach the upstream, which closes its connection
    /// after each answer.
    #[tokio::test]
    async fn forwards_https_to_the_plain_upstream_and_keeps_the_client_connection() {
        let (upstream, accepted, server) = http_server(r#"{"ok":true}"#).await;
        let front = TlsFront::start("127.0.0.1:0".parse().expect("addr"), upstream).await.expect("front");
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(&front.ca_pem)));
        let tcp = TcpStream::connect(front.addr).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        let mut tls = connector.connect(name, tcp).await.expect("the front's certificate chains to its authority");
        let mut answers = String::new();
        for _ in 0..2 {
            tls.write_all(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.expect("send");
            let mut chunk = [0u8; 4096];
            let before = answers.matches(r#"{"ok":true}"#).count();
            while answers.matches(r#"{"ok":true}"#).count() == before {
                let n = tls.read(&mut chunk).await.expect("read");
                assert!(n > 0, "the front closed the connection early: {answers}");
                answers.push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        }
        assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 2, "{answers}");
        assert!(!answers.to_ascii_lowercase().contains("connection: close"), "{answers}");
        assert_eq!(front.handshakes(), 1);
        assert_eq!(accepted.load(Ordering::Relaxed), 2);
        front.stop();
        server.abort();
    }

    /// A client that trusts other roots refuses the front's certificate.
    #[tokio::test]
    async fn a_client_without_the_authority_refuses_the_front() {
        let (upstream, _, server) = http_server("{}").await;
        let front = TlsFront::start("127.0.0.1:0".parse().expect("addr"), upstream).await.expect("front");
        let other = make_certs().expect("another authority");
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(&other.ca_pem)));
        let tcp = TcpStream::connect(front.addr).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
        assert!(connector.connect(name, tcp).await.is_err(), "an unknown authority must be refused");
        assert_eq!(front.handshakes(), 0);
        front.stop();
        server.abort();
    }

    /// The SDK's own HTTPS stack (rustls on aws-lc, cipher suites restricted as the SDK does) trusting the
    /// authority's PEM, as the functions do through `SSL_CERT_FILE`, makes a DynamoDB call through the front.
    #[tokio::test]
    async fn the_sdk_client_calls_dynamodb_through_the_front() {
        use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
        let (upstream, _, server) = http_server(r#"{"TableNames":["kefu"]}"#).await;
        let front = TlsFront::start("127.0.0.1:0".parse().expect("addr"), upstream).await.expect("front");
        let trust = TrustStore::empty().with_pem_certificate(front.ca_pem.as_bytes());
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
            .tls_context(TlsContext::builder().with_trust_store(trust).build().expect("context"))
            .build_https();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .endpoint_url(format!("https://{}", front.addr))
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        for _ in 0..2 {
            let out = client.list_tables().send().await.expect("the call goes through the front");
            assert_eq!(out.table_names(), ["kefu".to_owned()]);
        }
        assert_eq!(front.handshakes(), 1, "the second call reuses the connection");
        front.stop();
        server.abort();
    }
}
