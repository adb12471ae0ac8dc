//! Rough cost of each target per input (release build, no sanitizer).
use std::time::Instant;

use tickwire_protocol_fuzz::sessions::{ClientHarness, ClientStart, ServerHarness, ServerStart};

fn time(name: &str, n: u32, mut f: impl FnMut()) {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{name}: {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}

fn main() {
    let seeds = tickwire_protocol_fuzz::seeds::seeds();
    for (target, f) in [
        (
            "client_frame",
            tickwire_protocol_fuzz::client_frame as fn(&[u8]),
        ),
        ("snapshot", tickwire_protocol_fuzz::snapshot),
        ("server_frame", tickwire_protocol_fuzz::server_frame),
        ("schema", tickwire_protocol_fuzz::schema),
        ("round_trip", tickwire_protocol_fuzz::round_trip),
    ] {
        let s: Vec<_> = seeds.iter().filter(|s| s.target == target).collect();
        time(&format!("{target} per seed"), 20, || {
            for seed in &s {
                f(&seed.bytes);
            }
        });
    }
    for start in ServerStart::ALL {
        time(&format!("server {start:?}"), 100, || {
            std::hint::black_box(ServerHarness::new(start));
        });
    }
    for start in ClientStart::ALL {
        time(&format!("client {start:?}"), 100, || {
            std::hint::black_box(ClientHarness::new(start));
        });
    }
    let schema = tickwire_protocol_fuzz::fixture::test_schema();
    time("Layout::new", 100, || {
        std::hint::black_box(tickwire_protocol::Layout::new(&schema).unwrap());
    });
}
