//! One room tick of the arena on the shard thread, without a network: inputs, game step,
//! world, interest, and every client's delta snapshot encoded and queued.
//!
//! `cargo bench --bench tick`. Scenarios: 100 clients who all see each other, and 1,000
//! clients with a 600-unit view radius (the load scenarios of `benches/load.sh`), each on one
//! encode thread and on the default number.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tickwire::Config;
use tickwire::arena::{ArenaFactory, DX, DY};
use tickwire::server::LocalRoom;

fn room(clients: usize, view_radius: Option<f32>, encode_threads: usize) -> LocalRoom {
    let config = Config {
        view_radius,
        encode_threads,
        ..Config::default()
    };
    let mut room = LocalRoom::new(&ArenaFactory, &config).expect("arena schema");
    let layout = room.layout().clone();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut unit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    for _ in 0..clients {
        let conn = room.connect();
        let mut w = vec![0u32; layout.input.words];
        layout.input.fields[DX].set_f32(&mut w, unit()).unwrap();
        layout.input.fields[DY].set_f32(&mut w, unit()).unwrap();
        room.input(conn, &w);
    }
    // Past the first full snapshots: every client has acknowledged, deltas from here on.
    for _ in 0..5 {
        room.tick();
        room.ack_all();
    }
    room
}

fn ticks(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let default_threads = Config::default().encode_threads;
    let cases = [
        ("100_clients_all_visible_1_thread", 100, None, 1),
        ("1000_clients_radius_600_1_thread", 1000, Some(600.0), 1),
        (
            "1000_clients_radius_600_default_threads",
            1000,
            Some(600.0),
            default_threads,
        ),
    ];
    for (name, clients, radius, threads) in cases {
        let mut r = room(clients, radius, threads);
        g.throughput(Throughput::Elements(clients as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                r.tick();
                r.ack_all();
                black_box(&r);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ticks);
criterion_main!(benches);
