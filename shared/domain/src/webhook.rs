//! Webhooks: how a delivery is signed, when a failed one is tried again, and which targets may receive one.
//!
//! - **Signature** (API.md): `X-Kefu-Signature: sha256=<hex HMAC-SHA256 of the body with the tenant's secret>`.
//!   [`sign`] makes it; [`verify`] checks one in constant time (what a receiver, or a test receiver, does).
//! - **Retries**: a 2xx answer is success ([`is_success`]); anything else, a timeout or a refused connection is
//!   tried again after [`retry_delay`], [`MAX_ATTEMPTS`] tries in all over more than half an hour. No single
//!   delay exceeds 15 minutes, the longest an SQS message can be delayed, so one queued message per retry
//!   suffices.
//! - **Targets** (no SSRF): [`WebhookUrl::parse`] accepts a URL when its scheme and literal host pass the
//!   [`WebhookPolicy`]; [`WebhookPolicy::check_resolved`] then judges the addresses the host name resolves to
//!   *at delivery time*, and the sender connects only to an address it approved (so a DNS answer that changes
//!   between the check and the connection cannot redirect it). [`classify`] names what kind of address an IP
//!   is; only [`AddressClass::Public`] is reachable in AWS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The header carrying the event's name.
pub const EVENT_HEADER: &str = "X-Kefu-Event";
/// The header carrying the delivery's id, the same on every retry (receivers deduplicate by it).
pub const DELIVERY_HEADER: &str = "X-Kefu-Delivery";
/// The header carrying [`sign`]'s signature.
pub const SIGNATURE_HEADER: &str = "X-Kefu-Signature";

type HmacSha256 = hmac::Hmac<sha2_v0_11::Sha256>;

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length (long keys are hashed first), so this cannot fail.
    <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// The `X-Kefu-Signature` value of `body` under `secret`: `sha256=` and 64 lower-case hex digits.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

/// Whether `header` is `body`'s signature under `secret`. The comparison takes the same time wherever the
/// first wrong byte is (the MAC's own constant-time check), so a forger learns nothing from timing.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_part) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(tag) = hex::decode(hex_part) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(body);
    m.verify_slice(&tag).is_ok()
}

/// The most tries of one delivery, the first included.
pub const MAX_ATTEMPTS: u32 = 7;

/// The wait after each failed try, before the next: exponential at first, then capped at 15 minutes (SQS's
/// longest `DelaySeconds`). Tries happen at 0 s, 30 s, 1 m 30 s, 3 m 30 s, 8 m 30 s, 18 m 30 s and 33 m 30 s.
const DELAYS_SECONDS: [u64; MAX_ATTEMPTS as usize - 1] = [30, 60, 120, 300, 600, 900];

/// How long to wait after try number `failed_attempt` (1 = the first) failed, or `None` when it was the last.
pub fn retry_delay(failed_attempt: u32) -> Option<Duration> {
    let i = usize::try_from(failed_attempt.checked_sub(1)?).ok()?;
    DELAYS_SECONDS.get(i).map(|s| Duration::from_secs(*s))
}

/// Whether an HTTP status means the receiver took the delivery (any 2xx).
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// What kind of address an IP is, for the SSRF check. Everything but `Public` is internal to some network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    /// Routable on the internet.
    Public,
    /// This host: 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16) and IPv6 unique-local (fc00::/7) or site-local (fec0::/10).
    Private,
    /// 169.254/16 and fe80::/10.
    LinkLocal,
    /// A cloud's instance metadata service: 169.254.169.254, fd00:ec2::254.
    Metadata,
    /// 0.0.0.0/8 and ::.
    Unspecified,
    /// 224/4 and ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// Carrier-grade NAT, 100.64/10.
    SharedCgnat,
    /// Documentation, benchmarking, IETF protocol, reserved and discard ranges; Teredo.
    Reserved,
}

/// The class of `ip`. IPv6 addresses that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`,
/// NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address inside: a target cannot reach
/// 127.0.0.1 by writing it as IPv6.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        AddressClass::Metadata
    } else if ip.is_broadcast() {
        AddressClass::Broadcast
    } else if a == 0 {
        AddressClass::Unspecified
    } else if a == 127 {
        AddressClass::Loopback
    } else if a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168) {
        AddressClass::Private
    } else if a == 169 && b == 254 {
        AddressClass::LinkLocal
    } else if a == 100 && (64..128).contains(&b) {
        AddressClass::SharedCgnat
    } else if (224..240).contains(&a) {
        AddressClass::Multicast
    } else if a >= 240
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return AddressClass::Metadata;
    }
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated but still parsed by resolvers).
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return classify_v4(embedded(s[6], s[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96: the gateway connects to the IPv4 address inside.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    // 6to4 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    if s[0] == 0x2002 {
        return classify_v4(embedded(s[1], s[2]));
    }
    match s[0] {
        x if x & 0xff00 == 0xff00 => AddressClass::Multicast,
        x if x & 0xfe00 == 0xfc00 => AddressClass::Private,
        x if x & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        x if x & 0xffc0 == 0xfec0 => AddressClass::Private,
        // Documentation 2001:db8::/32, Teredo 2001::/32, discard 100::/64, and everything outside the global
        // unicast block 2000::/3.
        0x2001 if s[1] == 0xdb8 || s[1] == 0 => AddressClass::Reserved,
        0x0100 if s[1..4] == [0, 0, 0] => AddressClass::Reserved,
        x if x & 0xe000 != 0x2000 => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

/// Which webhook targets a deployment allows: in AWS https to public addresses only ([`WebhookPolicy::AWS`]);
/// `kefu serve` also http and this machine ([`WebhookPolicy::LOCAL`]), for a receiver under development.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Whether `http://` targets are allowed (else `https://` only).
    pub allow_http: bool,
    /// Whether loopback targets (127.0.0.0/8, ::1, `localhost`) are allowed. No other internal address ever is.
    pub allow_loopback: bool,
}

impl WebhookPolicy {
    /// AWS: https to public addresses only.
    pub const AWS: Self = Self { allow_http: false, allow_loopback: false };
    /// `kefu serve`: http too, and this machine.
    pub const LOCAL: Self = Self { allow_http: true, allow_loopback: true };

    /// Whether a delivery may connect to `ip`; the refusal names the address's class.
    pub fn allows_ip(&self, ip: IpAddr) -> Result<(), AddressClass> {
        match classify(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Loopback if self.allow_loopback => Ok(()),
            other => Err(other),
        }
    }

    /// Judges every address a host name resolved to: all must be allowed (a name that resolves to one public
    /// and one private address is refused, since the connection might use either), and there must be one.
    /// Answers the addresses the sender may connect to.
    pub fn check_resolved<'a>(&self, addrs: &'a [IpAddr]) -> Result<&'a [IpAddr], RefusedTarget> {
        if addrs.is_empty() {
            return Err(RefusedTarget::Unresolved);
        }
        for ip in addrs {
            self.allows_ip(*ip).map_err(|class| RefusedTarget::Address { ip: *ip, class })?;
        }
        Ok(addrs)
    }
}

/// Why a delivery did not connect (kept in the delivery log's last answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedTarget {
    /// The host name resolved to no address.
    #[error("the host name resolved to no address")]
    Unresolved,
    /// The host resolved to an address the policy refuses.
    #[error("{ip} is not a public address ({class:?})")]
    Address {
        /// The refused address.
        ip: IpAddr,
        /// What kind of address it is.
        class: AddressClass,
    },
}

/// The longest webhook URL accepted.
pub const URL_MAX_CHARS: usize = 2048;

/// A webhook target that passed the static checks: http(s) as the policy allows, a host, no credentials, and a
/// literal IP host (in any spelling: `0x7f.1` is 127.0.0.1) the policy allows. Host names are checked again
/// when they are resolved, at each delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Checks a URL sent as `field` against `policy`.
    pub fn parse(s: &str, policy: WebhookPolicy, field: &str) -> Result<Self, ValidationError> {
        let err = |m: &str| ValidationError::new(field, m);
        if s.chars().count() > URL_MAX_CHARS {
            return Err(err(&format!("must be at most {URL_MAX_CHARS} characters")));
        }
        let url = url::Url::parse(s.trim()).map_err(|_| err("must be an absolute http(s) URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if policy.allow_http => {}
            "http" => return Err(err("must be https")),
            _ => return Err(err(if policy.allow_http { "must be http or https" } else { "must be https" })),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("must not carry a user name or password"));
        }
        let ip = match url.host() {
            None => return Err(err("must name a host")),
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.');
                if (d == "localhost" || d.ends_with(".localhost")) && !policy.allow_loopback {
                    return Err(err("must not point at this machine"));
                }
                None
            }
        };
        if let Some(ip) = ip {
            policy.allows_ip(ip).map_err(|_| err("must be a public address"))?;
        }
        Ok(Self(url))
    }

    /// The URL as text (normalised: lower-case host, IP literals in their usual form).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host to resolve (an IP literal comes back as text; IPv6 in brackets).
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// The port to connect to (the scheme's default when none is written).
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn signature_matches_a_known_hmac() {
        // RFC 4231 test case 2.
        let s = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(s, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &s));
        assert!(verify(b"Jefe", b"what do ya want for nothing?", &s.to_uppercase().replace("SHA256=", "sha256=")));
        assert!(!verify(b"jefe", b"what do ya want for nothing?", &s));
        assert!(!verify(b"Jefe", b"what do ya want for nothing!", &s));
        assert!(!verify(b"Jefe", b"what do ya want for nothing?", &s[7..]), "the prefix is required");
        assert!(!verify(b"Jefe", b"what do ya want for nothing?", "sha256=zz"));
        assert!(!verify(b"Jefe", b"what do ya want for nothing?", &s[..s.len() - 2]), "a truncated tag fails");
    }

    #[test]
    fn retries_back_off_for_more_than_ten_minutes() {
        let delays: Vec<Duration> = (1..).map_while(retry_delay).collect();
        assert!(delays.len() + 1 >= 5, "at least 5 tries");
        assert_eq!(delays.len() + 1, MAX_ATTEMPTS as usize);
        assert_eq!(retry_delay(MAX_ATTEMPTS), None, "the last try is final");
        assert_eq!(retry_delay(0), None);
        assert!(delays.windows(2).all(|w| w[0] < w[1]), "each wait is longer than the one before");
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(900)), "one SQS delay each");
        let span: Duration = delays.iter().sum();
        assert!(span >= Duration::from_secs(600), "tries span {span:?}");
        assert!(is_success(200) && is_success(204) && !is_success(301) && !is_success(500) && !is_success(199));
    }

    #[test]
    fn address_classes() {
        use AddressClass::*;
        let cases = [
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("192.168.1.1", Private),
            ("169.254.1.1", LinkLocal),
            ("169.254.169.254", Metadata),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("224.0.0.1", Multicast),
            ("255.255.255.255", Broadcast),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.1", Public),
            ("192.0.2.1", Reserved),
            ("240.0.0.1", Reserved),
            ("::", Unspecified),
            ("::1", Loopback),
            ("2606:4700:4700::1111", Public),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fe80::1", LinkLocal),
            ("fd00:ec2::254", Metadata),
            ("ff02::1", Multicast),
            ("2001:db8::1", Reserved),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:8.8.8.8", Public),
            ("64:ff9b::a00:1", Private),
            ("2002:c0a8:0101::1", Private),
        ];
        for (s, want) in cases {
            assert_eq!(classify(ip(s)), want, "{s}");
        }
    }

    #[test]
    fn policies() {
        assert!(WebhookPolicy::AWS.allows_ip(ip("8.8.8.8")).is_ok());
        assert_eq!(WebhookPolicy::AWS.allows_ip(ip("127.0.0.1")), Err(AddressClass::Loopback));
        assert!(WebhookPolicy::LOCAL.allows_ip(ip("127.0.0.1")).is_ok());
        assert!(WebhookPolicy::LOCAL.allows_ip(ip("::1")).is_ok());
        assert_eq!(WebhookPolicy::LOCAL.allows_ip(ip("169.254.169.254")), Err(AddressClass::Metadata));
        assert_eq!(WebhookPolicy::LOCAL.allows_ip(ip("192.168.0.1")), Err(AddressClass::Private));
        let mixed = [ip("8.8.8.8"), ip("10.0.0.1")];
        assert!(matches!(
            WebhookPolicy::AWS.check_resolved(&mixed),
            Err(RefusedTarget::Address { class: AddressClass::Private, .. })
        ));
        assert_eq!(WebhookPolicy::AWS.check_resolved(&[]), Err(RefusedTarget::Unresolved));
        assert_eq!(WebhookPolicy::AWS.check_resolved(&mixed[..1]).unwrap(), &mixed[..1]);
    }

    #[test]
    fn urls() {
        let aws = |s: &str| WebhookUrl::parse(s, WebhookPolicy::AWS, "url");
        let local = |s: &str| WebhookUrl::parse(s, WebhookPolicy::LOCAL, "url");
        let u = aws("https://Hooks.Example.com/kefu?x=1").unwrap();
        assert_eq!((u.host(), u.port(), u.as_str()), ("hooks.example.com", 443, "https://hooks.example.com/kefu?x=1"));
        assert_eq!(aws("https://example.com:8443/").unwrap().port(), 8443);
        assert_eq!(aws("http://example.com/").unwrap_err().field, "url");
        assert!(local("http://example.com/").is_ok());
        assert!(local("http://127.0.0.1:9000/hook").is_ok());
        assert!(local("http://localhost:9000/hook").is_ok());
        for bad in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://127.0.0.1/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://[::ffff:7f00:1]/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00:ec2::254]/",
            "https://10.0.0.1/",
            "https://localhost/",
            "https://api.localhost./",
            "not a url",
            "/relative",
        ] {
            assert!(aws(bad).is_err(), "{bad}");
        }
        assert!(local("http://169.254.169.254/").is_err(), "never the metadata service");
        assert!(local("http://192.168.1.1/").is_err(), "never the private network");
        assert!(aws(&format!("https://example.com/{}", "a".repeat(URL_MAX_CHARS))).is_err());
    }

    proptest! {
        #[test]
        fn a_signature_verifies_only_its_body(secret in proptest::collection::vec(any::<u8>(), 0..80),
                                              body in proptest::collection::vec(any::<u8>(), 0..300),
                                              flip in any::<prop::sample::Index>()) {
            let s = sign(&secret, &body);
            prop_assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
            prop_assert!(verify(&secret, &body, &s));
            if !body.is_empty() {
                let mut other = body.clone();
                other[flip.index(body.len())] ^= 1;
                prop_assert!(!verify(&secret, &other, &s));
            }
        }

        #[test]
        fn mapped_addresses_are_judged_like_their_ipv4(v4 in any::<u32>()) {
            let v4 = Ipv4Addr::from(v4);
            prop_assert_eq!(classify(IpAddr::V6(v4.to_ipv6_mapped())), classify(IpAddr::V4(v4)));
        }

        #[test]
        fn private_ipv4_blocks_are_never_public(host in any::<u32>()) {
            for (base, bits) in [(0x0a00_0000u32, 8), (0xac10_0000, 12), (0xc0a8_0000, 16), (0xa9fe_0000, 16),
                                 (0x7f00_0000, 8), (0x6440_0000, 10)] {
                let ip = Ipv4Addr::from(base | (host >> bits));
                prop_assert_ne!(classify(IpAddr::V4(ip)), AddressClass::Public);
            }
        }
    }
}
