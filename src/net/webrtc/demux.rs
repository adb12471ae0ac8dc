//! Routing datagrams on the one shared UDP port to the peer they belong to.
//!
//! 1. A STUN Binding request names its receiver: the `USERNAME` attribute starts with the
//!    local ICE ufrag, which the server chose for that peer. Such a request routes to its
//!    peer, and its source address is remembered for that peer.
//! 2. Everything else (DTLS, SCTP inside DTLS, STUN responses) routes by source address.
//!
//! A peer keeps at most [`MAX_ADDRS_PER_PEER`] addresses (ICE may check several before one is
//! nominated); the oldest is forgotten past that. An address claimed by a STUN request for
//! another peer moves to that peer. Removing a peer removes its ufrag and every address.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::stun;

/// Addresses remembered per peer.
pub(crate) const MAX_ADDRS_PER_PEER: usize = 4;

/// Where a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<K> {
    /// To this peer.
    Peer(K),
    /// A Binding request for a ufrag no peer has.
    UnknownUfrag,
    /// Not STUN, from an address no peer has used.
    UnknownSource,
}

/// The routing tables.
#[derive(Debug)]
pub(crate) struct Demux<K> {
    by_ufrag: HashMap<Vec<u8>, K>,
    by_addr: HashMap<SocketAddr, K>,
    addrs_of: HashMap<K, Vec<SocketAddr>>,
}

impl<K> Default for Demux<K> {
    fn default() -> Self {
        Self {
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            addrs_of: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + std::hash::Hash> Demux<K> {
    /// Registers a peer by its local ufrag. Returns false (and changes nothing) when the ufrag
    /// is taken.
    pub(crate) fn insert(&mut self, ufrag: &str, key: K) -> bool {
        if self.by_ufrag.contains_key(ufrag.as_bytes()) {
            return false;
        }
        self.by_ufrag.insert(ufrag.as_bytes().to_vec(), key);
        self.addrs_of.entry(key).or_default();
        true
    }

    /// Forgets a peer: its ufrag and every address it used.
    pub(crate) fn remove(&mut self, key: K) {
        self.by_ufrag.retain(|_, k| *k != key);
        if let Some(addrs) = self.addrs_of.remove(&key) {
            for a in addrs {
                if self.by_addr.get(&a) == Some(&key) {
                    self.by_addr.remove(&a);
                }
            }
        }
    }

    /// Routes one datagram from `source`, learning `source` when a Binding request names a
    /// known peer.
    pub(crate) fn route(&mut self, source: SocketAddr, datagram: &[u8]) -> Route<K> {
        if let Some(ufrag) = stun::local_ufrag(datagram) {
            let Some(&key) = self.by_ufrag.get(ufrag) else {
                return Route::UnknownUfrag;
            };
            self.learn(source, key);
            return Route::Peer(key);
        }
        match self.by_addr.get(&source) {
            Some(&k) => Route::Peer(k),
            None => Route::UnknownSource,
        }
    }

    fn learn(&mut self, source: SocketAddr, key: K) {
        match self.by_addr.insert(source, key) {
            Some(old) if old == key => return,
            Some(old) => {
                if let Some(v) = self.addrs_of.get_mut(&old) {
                    v.retain(|a| *a != source);
                }
            }
            None => {}
        }
        let addrs = self.addrs_of.entry(key).or_default();
        addrs.push(source);
        if addrs.len() > MAX_ADDRS_PER_PEER {
            let oldest = addrs.remove(0);
            if self.by_addr.get(&oldest) == Some(&key) {
                self.by_addr.remove(&oldest);
            }
        }
    }

    /// Peers registered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.addrs_of.len()
    }

    /// Addresses remembered, over all peers.
    #[cfg(test)]
    pub(crate) fn addr_count(&self) -> usize {
        self.by_addr.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::webrtc::stun::binding_request;
    use proptest::prelude::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn stun_first_then_by_address() {
        let mut d = Demux::default();
        assert!(d.insert("aaaa", 1u64));
        assert!(d.insert("bbbb", 2u64));
        assert!(!d.insert("aaaa", 3u64), "ufrags are unique");
        let dtls = [22u8, 254, 253, 0, 0];
        assert_eq!(d.route(addr(1000), &dtls), Route::UnknownSource);
        assert_eq!(
            d.route(addr(1000), &binding_request(b"aaaa:zz", &[])),
            Route::Peer(1)
        );
        assert_eq!(d.route(addr(1000), &dtls), Route::Peer(1));
        assert_eq!(
            d.route(addr(2000), &binding_request(b"cccc:zz", &[])),
            Route::UnknownUfrag
        );
        // The address moves when another peer's request claims it.
        assert_eq!(
            d.route(addr(1000), &binding_request(b"bbbb:zz", &[])),
            Route::Peer(2)
        );
        assert_eq!(d.route(addr(1000), &dtls), Route::Peer(2));
        d.remove(2);
        assert_eq!(d.route(addr(1000), &dtls), Route::UnknownSource);
        assert_eq!(d.len(), 1);
        d.remove(1);
        assert_eq!((d.len(), d.addr_count()), (0, 0));
    }

    #[test]
    fn a_peer_remembers_a_bounded_number_of_addresses() {
        let mut d = Demux::default();
        d.insert("u", 7u64);
        for p in 0..20 {
            d.route(addr(3000 + p), &binding_request(b"u:x", &[]));
        }
        assert_eq!(d.addr_count(), MAX_ADDRS_PER_PEER);
        assert_eq!(d.route(addr(3019), &[0x80, 0]), Route::Peer(7));
        assert_eq!(d.route(addr(3000), &[0x80, 0]), Route::UnknownSource);
    }

    proptest! {
        /// Any sequence of datagrams, peers added and removed: no panic, tables stay bounded
        /// and consistent, and a removed peer is never routed to.
        #[test]
        fn random_traffic_keeps_the_tables_consistent(
            ops in proptest::collection::vec(
                (0u8..4, 0u64..6, 0u16..12, proptest::collection::vec(any::<u8>(), 0..64)),
                0..200,
            )
        ) {
            let mut d = Demux::default();
            let mut live = std::collections::HashSet::new();
            for (op, key, port, bytes) in ops {
                let ufrag = format!("u{key}");
                match op {
                    0 => { if d.insert(&ufrag, key) { live.insert(key); } }
                    1 => { d.remove(key); live.remove(&key); }
                    2 => {
                        let req = binding_request(format!("{ufrag}:r").as_bytes(), &[]);
                        let r = d.route(addr(port), &req);
                        if live.contains(&key) {
                            prop_assert_eq!(r, Route::Peer(key));
                        } else {
                            prop_assert_eq!(r, Route::UnknownUfrag);
                        }
                    }
                    _ => {
                        if let Route::Peer(k) = d.route(addr(port), &bytes) {
                            prop_assert!(live.contains(&k));
                        }
                    }
                }
                prop_assert!(d.addr_count() <= live.len() * MAX_ADDRS_PER_PEER);
            }
        }
    }
}
