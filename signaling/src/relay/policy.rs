//! Which peer addresses the embedded relay exchanges packets with: the
//! [`PeerFilter`] (special-purpose ranges, `turn.relay_ips`,
//! `turn.denied_peers`), and the relay's own public address only on its
//! relayed ports — so two relayed candidates on this relay reach each other,
//! but nothing else listening on the relay host does.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;

use tandem_turn_config::PeerFilter;

/// The embedded relay's peer rules.
#[derive(Debug, Clone)]
pub struct PeerPolicy {
    filter: PeerFilter,
    own_ip: IpAddr,
    relay_ports: RangeInclusive<u16>,
    /// Off only in loopback tests, where the relay's own address is also the peers'.
    own_port_rule: bool,
}

impl PeerPolicy {
    /// `allow_loopback` is the tests-only `turn.allow_loopback_peers`.
    pub fn new(
        filter: PeerFilter,
        own_ip: IpAddr,
        relay_ports: RangeInclusive<u16>,
        allow_loopback: bool,
    ) -> Self {
        let own_port_rule = !(allow_loopback && own_ip.is_loopback());
        Self { filter, own_ip, relay_ports, own_port_rule }
    }

    /// Whether a permission (or channel) towards `ip` may be installed.
    /// Ports are checked per packet ([`PeerPolicy::allows_packet`]).
    pub fn allows_permission(&self, ip: IpAddr) -> bool {
        ip == self.own_ip || self.filter.allows(ip)
    }

    /// Whether a relayed socket may send to (or accept from) `addr`: our own
    /// address only on relayed ports (another allocation), not the listener
    /// or other services on the host.
    pub fn allows_packet(&self, addr: SocketAddr) -> bool {
        if addr.ip() == self.own_ip && self.own_port_rule {
            return self.relay_ports.contains(&addr.port());
        }
        self.allows_permission(addr.ip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(own: &str, allow_loopback: bool) -> PeerPolicy {
        PeerPolicy::new(
            PeerFilter::new(allow_loopback, &[], &[]),
            own.parse().unwrap(),
            49152..=65535,
            allow_loopback,
        )
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn own_public_address_only_on_relayed_ports() {
        let p = policy("203.0.113.5", false);
        assert!(p.allows_permission("203.0.113.5".parse().unwrap()), "relay to relay");
        assert!(p.allows_packet(addr("203.0.113.5:50000")), "another allocation's relayed port");
        assert!(!p.allows_packet(addr("203.0.113.5:3478")), "not the TURN listener");
        assert!(!p.allows_packet(addr("203.0.113.5:53")), "not other services on the host");
        assert!(p.allows_packet(addr("8.8.8.8:53")));
        assert!(!p.allows_packet(addr("10.0.0.1:50000")), "special-purpose ranges whatever the port");
        assert!(!p.allows_permission("169.254.169.254".parse().unwrap()));
    }

    #[test]
    fn a_private_own_address_is_reachable_on_relayed_ports_only() {
        let p = policy("10.0.0.7", false);
        assert!(p.allows_permission("10.0.0.7".parse().unwrap()));
        assert!(p.allows_packet(addr("10.0.0.7:60000")));
        assert!(!p.allows_packet(addr("10.0.0.7:22")));
        assert!(!p.allows_permission("10.0.0.8".parse().unwrap()), "the rest of 10/8 stays denied");
    }

    #[test]
    fn loopback_allowed_for_tests_lifts_the_port_rule_on_loopback_only() {
        let p = policy("127.0.0.1", true);
        // The test relay's own address is loopback, like the test's peers.
        assert!(p.allows_packet(addr("127.0.0.1:40000")), "a test peer on an ephemeral port");
        assert!(p.allows_permission("127.0.0.1".parse().unwrap()));
        let strict = policy("127.0.0.1", false);
        assert!(!strict.allows_packet(addr("127.0.0.1:40000")), "without the test flag, only relayed ports");
        assert!(!strict.allows_permission("127.0.0.2".parse().unwrap()));
    }
}
