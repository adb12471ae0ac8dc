//! The server's shared-UDP-port demultiplexer and its STUN pre-parser, the first code to read
//! a datagram from the network, compiled in here from the server's own source files.
//!
//! Input: records `[op][source][len][datagram bytes…]`. Ops register and remove peers by
//! ufrag and route datagrams from a handful of source addresses. Nothing may panic, the
//! pre-parser's answers must agree with each other, and every route must be explained by them.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;

// `demux.rs` reaches the parser as `super::stun`: both sit at this crate's root.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../src/net/webrtc/stun.rs"]
mod stun;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../src/net/webrtc/demux.rs"]
mod demux;

use demux::{Demux, Route};

/// Peers are keyed 0..PEERS with ufrags `uf0`, `uf1`, …
const PEERS: u8 = 6;

fuzz_target!(|data: &[u8]| {
    let mut demux: Demux<u8> = Demux::default();
    for k in 0..PEERS / 2 {
        assert!(demux.insert(&format!("uf{k}"), k));
    }
    let mut rest = data;
    while rest.len() >= 3 {
        let (op, src, len) = (rest[0], rest[1], usize::from(rest[2]));
        rest = &rest[3..];
        let (datagram, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        let source = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + src % 8)),
            5000 + u16::from(src % 3),
        );
        let key = src % PEERS;
        match op % 8 {
            0 => demux.remove(key),
            1 => {
                let _ = demux.insert(&format!("uf{key}"), key);
            }
            _ => {
                let username = stun::binding_username(datagram);
                let ufrag = stun::local_ufrag(datagram);
                if username.is_some() {
                    assert!(stun::looks_like_stun(datagram));
                }
                if let Some(u) = ufrag {
                    assert!(!u.is_empty());
                    assert!(username.is_some_and(|name| name.starts_with(u)));
                }
                match demux.route(source, datagram) {
                    Route::Peer(k) => assert!(k < PEERS),
                    Route::UnknownUfrag => assert!(ufrag.is_some()),
                    Route::UnknownSource => assert!(ufrag.is_none()),
                }
            }
        }
    }
});
