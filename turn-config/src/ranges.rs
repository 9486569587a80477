//! Peer addresses a relay must never reach: the special-purpose ranges of
//! [RFC 6890](https://www.rfc-editor.org/rfc/rfc6890) (private, loopback,
//! link-local, CGNAT, benchmarking, reserved, ...) and the relay's own
//! addresses. Without this a TURN relay is a door into the operator's
//! network (e.g. `169.254.169.254`, the cloud metadata service).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address block in CIDR form (`10.0.0.0/8`, `fc00::/7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

/// Why a range did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or a CIDR block such as 10.0.0.0/8 or fc00::/7")]
pub struct BadRange(pub String);

impl IpRange {
    /// The block of `prefix` leading bits of `addr` (host bits are cleared).
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then(|| Self { network: mask(addr, prefix), prefix })
    }

    /// One address.
    pub fn single(addr: IpAddr) -> Self {
        Self { network: addr, prefix: if addr.is_ipv4() { 32 } else { 128 } }
    }

    /// Whether `addr` is in the block. IPv4-mapped IPv6 addresses
    /// (`::ffff:10.0.0.1`) are also checked as the IPv4 address they carry.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) if self.network.is_ipv4() => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            a => a,
        };
        addr.is_ipv4() == self.network.is_ipv4() && mask(addr, self.prefix) == self.network
    }

    /// First and last address, for coturn's `ip-ip` range syntax.
    pub fn first_last(&self) -> (IpAddr, IpAddr) {
        match self.network {
            IpAddr::V4(n) => {
                let host = u32::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
                (self.network, IpAddr::V4(Ipv4Addr::from(u32::from(n) | host)))
            }
            IpAddr::V6(n) => {
                let host = u128::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
                (self.network, IpAddr::V6(Ipv6Addr::from(u128::from(n) | host)))
            }
        }
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

impl FromStr for IpRange {
    type Err = BadRange;

    fn from_str(s: &str) -> Result<Self, BadRange> {
        let bad = || BadRange(s.to_owned());
        match s.trim().split_once('/') {
            None => s.trim().parse::<IpAddr>().map(Self::single).map_err(|_| bad()),
            Some((a, p)) => {
                let addr: IpAddr = a.parse().map_err(|_| bad())?;
                let prefix: u8 = p.parse().map_err(|_| bad())?;
                Self::new(addr, prefix).ok_or_else(bad)
            }
        }
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl<'de> serde::Deserialize<'de> for IpRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The special-purpose blocks no relay may send to (issue 5), loopback first.
pub const DENIED_BY_DEFAULT: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "240.0.0.0/4",
    "::/128",
    "fc00::/7",
    "fe80::/10",
    "::ffff:0:0/96",
    "64:ff9b::/96",
];

/// Multicast: coturn's `no-multicast-peers`; the embedded relay denies it too.
pub const MULTICAST: &[&str] = &["224.0.0.0/4", "ff00::/8"];

/// Decides which peer addresses a relay may exchange packets with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFilter {
    denied: Vec<IpRange>,
}

impl PeerFilter {
    /// The default denials, minus loopback when `allow_loopback` (tests only),
    /// plus `relay_ips` (the relay's own addresses) and `extra` blocks.
    pub fn new(allow_loopback: bool, relay_ips: &[IpAddr], extra: &[IpRange]) -> Self {
        let mut denied: Vec<IpRange> = DENIED_BY_DEFAULT
            .iter()
            .chain(MULTICAST)
            // The constants above are valid CIDR blocks (checked by a test).
            .map(|s| s.parse().expect("built-in ranges parse"))
            .filter(|r: &IpRange| {
                !(allow_loopback
                    && (*r == "127.0.0.0/8".parse().unwrap() || *r == "::1/128".parse().unwrap()))
            })
            .collect();
        denied.extend(relay_ips.iter().copied().map(IpRange::single));
        denied.extend_from_slice(extra);
        Self { denied }
    }

    /// Whether the relay may send to (and receive from) `addr`.
    pub fn allows(&self, addr: IpAddr) -> bool {
        !self.denied.iter().any(|r| r.contains(addr))
    }

    /// Every denied block, for coturn's `denied-peer-ip` lines.
    pub fn denied(&self) -> &[IpRange] {
        &self.denied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn built_in_ranges_parse_and_have_clean_networks() {
        for s in DENIED_BY_DEFAULT.iter().chain(MULTICAST) {
            let r: IpRange = s.parse().unwrap();
            assert_eq!(r.to_string().parse::<IpRange>().unwrap(), r, "{s} round-trips");
            assert_eq!(
                r.first_last().0,
                s.split('/').next().unwrap().parse::<IpAddr>().unwrap(),
                "{s} is its network"
            );
        }
    }

    #[test]
    fn the_default_filter_denies_every_probe_target_of_issue_5() {
        let f = PeerFilter::new(false, &[ip("203.0.113.7")], &[]);
        for denied in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.0.8",
            "198.19.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "fd00::1",
            "fe80::1",
            "64:ff9b::808:808",
            "ff02::1",
            "203.0.113.7",
        ] {
            assert!(!f.allows(ip(denied)), "{denied} must be denied");
        }
        for allowed in ["8.8.8.8", "172.32.0.1", "192.169.0.1", "2001:4860:4860::8888", "203.0.113.8"] {
            assert!(f.allows(ip(allowed)), "{allowed} is a public address");
        }
    }

    #[test]
    fn loopback_can_be_allowed_for_tests_and_extra_blocks_added() {
        let f = PeerFilter::new(true, &[], &["198.51.100.0/24".parse().unwrap()]);
        assert!(f.allows(ip("127.0.0.1")) && f.allows(ip("::1")));
        assert!(!f.allows(ip("10.0.0.1")), "only loopback is lifted");
        assert!(!f.allows(ip("198.51.100.9")));
    }

    #[test]
    fn ranges_give_first_and_last_addresses() {
        let r: IpRange = "172.16.0.0/12".parse().unwrap();
        assert_eq!(r.first_last(), (ip("172.16.0.0"), ip("172.31.255.255")));
        let r: IpRange = "fc00::/7".parse().unwrap();
        assert_eq!(r.first_last(), (ip("fc00::"), ip("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!("10.0.0.0/33".parse::<IpRange>().is_err());
        assert!("ten".parse::<IpRange>().is_err());
        assert_eq!("10.9.8.7/8".parse::<IpRange>().unwrap().to_string(), "10.0.0.0/8");
    }
}
