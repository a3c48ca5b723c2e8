//! Blocks: a customer or an IP range the tenant refuses. Until a block expires, every widget request of a
//! blocked visitor answers 403 `blocked`, stores nothing and notifies nobody (`/v1/blocks`, `customers.edit`).
//!
//! An IP range must be narrow enough to name an abuser rather than a country: at least a /8 for IPv4 and a
//! /32 for IPv6 (the size of an ISP's allocation; a single subscriber usually gets a /48 to a /64). A broader
//! range (`0.0.0.0/0`, `::/0`) would shut the widget for everyone, which is what turning the widget off is for.
//! IPv4-mapped IPv6 addresses (`::ffff:203.0.113.9`) are the IPv4 address they carry, in ranges and in requests,
//! so one block covers a visitor whatever socket it came through.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};
use jiff::Timestamp;

use crate::ValidationError;
use crate::ids::CustomerId;
use crate::text::bounded_text;

pub use crate::ids::BlockId;

/// The shortest IPv4 prefix a block takes (a /8: 16 million addresses).
pub const MIN_V4_PREFIX: u8 = 8;
/// The shortest IPv6 prefix a block takes (a /32: an ISP's allocation).
pub const MIN_V6_PREFIX: u8 = 32;
/// The most characters of a block's reason.
pub const REASON_MAX_CHARS: usize = 500;

/// Who a block refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockTarget {
    /// One customer, whatever IP it comes from.
    Customer(CustomerId),
    /// Every visitor from a range of addresses (a single address is a /32 or /128).
    Ip(IpNet),
}

/// A block: who, why, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Who is refused.
    pub target: BlockTarget,
    /// Why, for the team (1..=500 characters, one line).
    pub reason: String,
    /// When the block lapses by itself; `None` holds until it is lifted.
    pub expires_at: Option<Timestamp>,
}

/// An address as blocks compare it: an IPv4-mapped IPv6 address is its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Parses an IP range for a block, sent as `field` (usually `ip_cidr`): a CIDR or a bare address, host bits
/// cleared (`203.0.113.9/24` is `203.0.113.0/24`), IPv4-mapped IPv6 ranges of /96 or longer made IPv4, and
/// ranges broader than [`MIN_V4_PREFIX`] / [`MIN_V6_PREFIX`] refused.
pub fn parse_ip_range(s: &str, field: &str) -> Result<IpNet, ValidationError> {
    let t = s.trim();
    let net = (t.len() <= 64)
        .then(|| t.parse::<IpNet>().ok().or_else(|| t.parse::<IpAddr>().ok().map(IpNet::from)))
        .flatten()
        .ok_or_else(|| ValidationError::new(field, "is not an IPv4 or IPv6 address or CIDR"))?
        .trunc();
    let net = match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(Ipv4Net::new(v4, v6.prefix_len() - 96).expect("96..=128 minus 96 is 0..=32")),
            None => net,
        },
        _ => net,
    };
    let (min, family) = match net {
        IpNet::V4(_) => (MIN_V4_PREFIX, "IPv4"),
        IpNet::V6(_) => (MIN_V6_PREFIX, "IPv6"),
    };
    if net.prefix_len() < min {
        return Err(ValidationError::new(
            field,
            format!("is too broad: an {family} block must be a /{min} or narrower, or it shuts out whole networks"),
        ));
    }
    Ok(net)
}

impl BlockTarget {
    /// The `customer_id` of the API's block shape, for a customer block.
    pub fn customer_id(&self) -> Option<&CustomerId> {
        match self {
            BlockTarget::Customer(c) => Some(c),
            BlockTarget::Ip(_) => None,
        }
    }

    /// The `ip_cidr` of the API's block shape (canonical, e.g. `203.0.113.0/24`), for an IP block.
    pub fn ip_cidr(&self) -> Option<String> {
        match self {
            BlockTarget::Ip(net) => Some(net.to_string()),
            BlockTarget::Customer(_) => None,
        }
    }
}

impl Block {
    /// Checks a new block (`POST /v1/blocks`): exactly one of `customer_id` and `ip_cidr`, a reason, and an
    /// `expires_at` after `now` when given (a block that has already lapsed would do nothing).
    pub fn parse(
        customer_id: Option<&str>,
        ip_cidr: Option<&str>,
        reason: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Self, ValidationError> {
        let target = match (customer_id, ip_cidr) {
            (Some(c), None) => BlockTarget::Customer(
                CustomerId::parse(c.trim())
                    .ok_or_else(|| ValidationError::new("customer_id", "is not a customer id"))?,
            ),
            (None, Some(ip)) => BlockTarget::Ip(parse_ip_range(ip, "ip_cidr")?),
            (Some(_), Some(_)) => {
                return Err(ValidationError::new("ip_cidr", "give customer_id or ip_cidr, not both"));
            }
            (None, None) => return Err(ValidationError::new("customer_id", "give customer_id or ip_cidr")),
        };
        let reason = bounded_text(reason, "reason", 1, REASON_MAX_CHARS, false)?;
        if expires_at.is_some_and(|e| e <= now) {
            return Err(ValidationError::new("expires_at", "must be in the future"));
        }
        Ok(Self { target, reason, expires_at })
    }

    /// Whether the block still holds at `now` (it lapses at `expires_at`).
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }

    /// Whether the block refuses a request from `customer` (when the request names one) at `ip` (when known),
    /// at `now`. An IPv4-mapped address is compared as the IPv4 address it carries, so only IPv4 ranges match
    /// it (an IPv6 range such as `::/64` that happens to span the mapped space does not block every IPv4
    /// visitor).
    pub fn matches(&self, customer: Option<&CustomerId>, ip: Option<IpAddr>, now: Timestamp) -> bool {
        self.is_active(now)
            && match &self.target {
                BlockTarget::Customer(c) => customer == Some(c),
                BlockTarget::Ip(net) => ip.is_some_and(|ip| net.contains(&canonical(ip))),
            }
    }
}

/// The first of `blocks` that refuses this request, if any: what every widget endpoint asks before it stores
/// or notifies anything.
pub fn blocked_by<'a>(
    blocks: &'a [Block],
    customer: Option<&CustomerId>,
    ip: Option<IpAddr>,
    now: Timestamp,
) -> Option<&'a Block> {
    blocks.iter().find(|b| b.matches(customer, ip, now))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn ranges_are_parsed_narrowed_and_bounded() {
        assert_eq!(parse_ip_range(" 203.0.113.9/24 ", "ip_cidr").unwrap().to_string(), "203.0.113.0/24");
        assert_eq!(parse_ip_range("203.0.113.9", "ip_cidr").unwrap().to_string(), "203.0.113.9/32");
        assert_eq!(parse_ip_range("2001:db8::1", "ip_cidr").unwrap().to_string(), "2001:db8::1/128");
        assert_eq!(parse_ip_range("::ffff:10.1.2.3/120", "ip_cidr").unwrap().to_string(), "10.1.2.0/24");
        assert_eq!(parse_ip_range("10.0.0.0/8", "ip_cidr").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_ip_range("2001:db8::/32", "ip_cidr").unwrap().to_string(), "2001:db8::/32");
        for bad in ["0.0.0.0/0", "10.0.0.0/7", "::/0", "2001:db8::/31", "::ffff:0.0.0.0/96", "nope", "10.0.0.0/33", ""]
        {
            assert_eq!(parse_ip_range(bad, "ip_cidr").unwrap_err().field, "ip_cidr", "{bad:?}");
        }
        assert!(parse_ip_range("0.0.0.0/0", "ip_cidr").unwrap_err().message.contains("too broad"));
    }

    #[test]
    fn new_blocks_name_one_target_a_reason_and_a_future_expiry() {
        let c = CustomerId::generate();
        let b = Block::parse(Some(c.as_str()), None, " spam ", None, now()).unwrap();
        assert_eq!((b.target, b.reason.as_str()), (BlockTarget::Customer(c.clone()), "spam"));
        let field = |r: Result<Block, ValidationError>| r.unwrap_err().field;
        assert_eq!(field(Block::parse(None, None, "spam", None, now())), "customer_id");
        assert_eq!(field(Block::parse(Some(c.as_str()), Some("10.0.0.1"), "spam", None, now())), "ip_cidr");
        assert_eq!(field(Block::parse(Some("cu_nope"), None, "spam", None, now())), "customer_id");
        assert_eq!(field(Block::parse(None, Some("::/0"), "spam", None, now())), "ip_cidr");
        assert_eq!(field(Block::parse(None, Some("10.0.0.1"), "  ", None, now())), "reason");
        assert_eq!(field(Block::parse(None, Some("10.0.0.1"), "spam", Some(now()), now())), "expires_at");
    }

    #[test]
    fn matching_by_customer_ip_and_time() {
        let c = CustomerId::generate();
        let later = now() + jiff::SignedDuration::from_hours(1);
        let by_customer = Block::parse(Some(c.as_str()), None, "abuse", Some(later), now()).unwrap();
        assert!(by_customer.matches(Some(&c), None, now()));
        assert!(!by_customer.matches(Some(&CustomerId::generate()), ip("10.0.0.1"), now()));
        assert!(!by_customer.matches(None, None, now()));
        assert!(!by_customer.matches(Some(&c), None, later), "lapses at expires_at");

        let by_ip = Block::parse(None, Some("203.0.113.0/24"), "abuse", None, now()).unwrap();
        assert!(by_ip.matches(None, ip("203.0.113.200"), now()));
        assert!(by_ip.matches(Some(&c), ip("::ffff:203.0.113.7"), now()), "mapped IPv6 is the IPv4 address");
        assert!(!by_ip.matches(None, ip("203.0.114.1"), now()));
        assert!(!by_ip.matches(None, None, now()));
        assert!(!by_ip.matches(None, ip("2001:db8::1"), now()));

        let v6 = Block::parse(None, Some("2001:db8:1::/48"), "abuse", None, now()).unwrap();
        assert!(v6.matches(None, ip("2001:db8:1:ffff::1"), now()));
        assert!(!v6.matches(None, ip("2001:db8:2::1"), now()));
        let low = Block::parse(None, Some("::/64"), "abuse", None, now()).unwrap();
        assert!(low.matches(None, ip("::1"), now()));
        assert!(!low.matches(None, ip("::ffff:198.51.100.1"), now()), "IPv4 visitors are matched by IPv4 ranges");

        let blocks = [by_customer, by_ip];
        assert_eq!(blocked_by(&blocks, None, ip("203.0.113.1"), now()).map(|b| b.reason.as_str()), Some("abuse"));
        assert!(blocked_by(&blocks, None, ip("198.51.100.1"), now()).is_none());
        assert_eq!(blocks[1].target.ip_cidr().as_deref(), Some("203.0.113.0/24"));
        assert_eq!(blocks[0].target.customer_id(), Some(&c));
        assert!(blocks[0].target.ip_cidr().is_none() && blocks[1].target.customer_id().is_none());
        assert!(BlockId::generate().as_str().starts_with("bl_"));
    }

    proptest! {
        #[test]
        fn a_v4_range_matches_exactly_its_members(net in any::<u32>(), len in MIN_V4_PREFIX..=32, probe in any::<u32>(), near in any::<u32>()) {
            let b = Block::parse(None, Some(&format!("{}/{len}", Ipv4Addr::from(net))), "r", None, now()).unwrap();
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            // A random address, and one that shares the range's prefix (a member).
            for a in [probe, (net & mask) | (near & !mask)] {
                let member = a & mask == net & mask;
                prop_assert_eq!(b.matches(None, Some(IpAddr::V4(Ipv4Addr::from(a))), now()), member);
                let mapped = IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped());
                prop_assert_eq!(b.matches(None, Some(mapped), now()), member);
            }
        }

        #[test]
        fn a_v6_range_matches_exactly_its_members(net in any::<u128>(), len in MIN_V6_PREFIX..=128, probe in any::<u128>(), near in any::<u128>()) {
            let net_ip = Ipv6Addr::from(net);
            prop_assume!(net_ip.to_ipv4_mapped().is_none());
            let b = Block::parse(None, Some(&format!("{net_ip}/{len}")), "r", None, now()).unwrap();
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            for a in [probe, (net & mask) | (near & !mask)] {
                if Ipv6Addr::from(a).to_ipv4_mapped().is_some() {
                    continue; // compared as IPv4 (see `matches`)
                }
                let member = a & mask == net & mask;
                prop_assert_eq!(b.matches(None, Some(IpAddr::V6(Ipv6Addr::from(a))), now()), member);
            }
        }

        #[test]
        fn too_broad_ranges_are_refused(net in any::<u32>(), len4 in 0u8..MIN_V4_PREFIX, net6 in any::<u128>(), len6 in 0u8..MIN_V6_PREFIX) {
            let v4 = format!("{}/{len4}", Ipv4Addr::from(net));
            prop_assert!(parse_ip_range(&v4, "ip_cidr").is_err());
            let v6 = format!("{}/{len6}", Ipv6Addr::from(net6));
            prop_assert!(parse_ip_range(&v6, "ip_cidr").is_err());
        }
    }
}
