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
use tickwire::sim::LocalRoom;

/// xorshift64 in [-1, 1).
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

/// A room of `clients` arena players, each moving in a random direction.
struct Scenario {
    room: LocalRoom,
    conns: Vec<u64>,
    rng: Rng,
    words: Vec<u32>,
}

impl Scenario {
    fn new(clients: usize, view_radius: Option<f32>, encode_threads: usize) -> Self {
        let config = Config {
            view_radius,
            encode_threads,
            ..Config::default()
        };
        let room = LocalRoom::new(&ArenaFactory, &config).expect("arena schema");
        let words = vec![0u32; room.layout().input.words];
        let mut s = Self {
            room,
            conns: Vec::new(),
            rng: Rng(0x2545_f491_4f6c_dd1d),
            words,
        };
        for _ in 0..clients {
            let conn = s.room.connect();
            s.conns.push(conn);
            s.steer(conn);
        }
        // Past the first full snapshots: every client has acknowledged, deltas from here on.
        for _ in 0..5 {
            s.step();
        }
        s
    }

    fn steer(&mut self, conn: u64) {
        let input = &self.room.layout().input;
        input.fields[DX]
            .set_f32(&mut self.words, self.rng.unit())
            .unwrap();
        input.fields[DY]
            .set_f32(&mut self.words, self.rng.unit())
            .unwrap();
        let words = self.words.clone();
        self.room.input(conn, &words);
    }

    /// One tick as the bots play it: about 3% of players turn (0.04 per input at 20 Hz, 30
    /// ticks/s), then the tick, then every client's ack.
    fn step(&mut self) {
        for i in 0..self.conns.len() {
            if self.rng.unit() < -0.94 {
                self.steer(self.conns[i]);
            }
        }
        self.room.tick();
        self.room.ack_all();
    }
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
        let mut s = Scenario::new(clients, radius, threads);
        g.throughput(Throughput::Elements(clients as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                s.step();
                black_box(&s.room);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ticks);
criterion_main!(benches);
