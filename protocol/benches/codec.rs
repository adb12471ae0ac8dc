//! Snapshot codec benchmarks on the "arena" schema (`pos: vec2`, `heading: f32`, `hp: u8`).
//!
//! Worlds of 100, 1,000 and 10,000 players are generated with a fixed-seed splitmix64
//! (`rand_xoshiro`). Each bench's throughput is in entities (`Throughput::Elements`); time per
//! entity is the time per iteration divided by the world size:
//!
//! - `full_encode` / `full_decode`: a full snapshot of the world;
//! - `delta_all_*`: every player moved by one tick of movement (200 units/s at 30 Hz);
//! - `delta_none_*`: nothing changed (header-only frame; the encoder still diffs every entity);
//! - `delta_10pct_*`: about one player in ten moved.
//!
//! Scratch space and output buffers are reused across iterations, as the server does.
//!
//! Run with `cargo bench -p tickwire-protocol --bench codec`.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use glam::Vec2;
use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use tickwire_protocol::testkit::frames::encode_snapshot_frame;
use tickwire_protocol::{
    DecodeScratch, EncodeScratch, Layout, Schema, Snapshot, decode_snapshot, encode_snapshot,
};

const SIZES: [usize; 3] = [100, 1_000, 10_000];

/// Speed of a moving player, units per second.
const SPEED: f32 = 200.0;
/// Server tick rate, Hz.
const TICK_RATE: f32 = 30.0;

/// Uniform in `[0, 1)`, from the top 24 bits of the next output.
fn unit(rng: &mut SplitMix64) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32
}

/// Uniform in `[lo, hi)`.
fn range(rng: &mut SplitMix64, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * unit(rng)
}

fn arena() -> Layout {
    let schema = Schema::builder("arena")
        .kind("player", |k| {
            k.vec2("pos", 0.0, 4000.0, 1.0 / 16.0)
                .f32("heading", -180.0, 180.0, 0.5)
                .uint("hp", 8)
        })
        .build()
        .expect("arena schema is valid");
    Layout::new(&schema).expect("arena schema compiles")
}

#[derive(Clone, Copy)]
struct Player {
    id: u32,
    pos: Vec2,
    heading: f32,
    hp: i64,
}

fn players(n: usize, rng: &mut SplitMix64) -> Vec<Player> {
    let mut id = 0u32;
    (0..n)
        .map(|_| {
            // Ids ascend with small gaps, as after some despawns.
            id += 1 + (rng.next_u64() % 3) as u32;
            Player {
                id,
                pos: Vec2::new(range(rng, 100.0, 3900.0), range(rng, 100.0, 3900.0)),
                heading: range(rng, -180.0, 180.0),
                hp: (rng.next_u64() % 256) as i64,
            }
        })
        .collect()
}

/// Moves each player with probability `fraction` by one tick of movement along its heading.
fn step(players: &[Player], fraction: f32, rng: &mut SplitMix64) -> Vec<Player> {
    let dist = SPEED / TICK_RATE;
    players
        .iter()
        .map(|p| {
            let mut p = *p;
            if unit(rng) < fraction {
                let (s, c) = p.heading.to_radians().sin_cos();
                p.pos += Vec2::new(c, s) * dist;
            }
            p
        })
        .collect()
}

fn snapshot(layout: &Layout, tick: u32, players: &[Player]) -> Snapshot {
    let kind = &layout.kinds[0];
    let (pos, heading, hp) = (&kind.fields[0], &kind.fields[1], &kind.fields[2]);
    let mut s = Snapshot::new(layout);
    s.tick = tick;
    for p in players {
        let w = s.push(layout, p.id, 0).expect("ids ascend");
        pos.set_vec2(w, p.pos).expect("finite");
        heading.set_f32(w, p.heading).expect("finite");
        hp.set_int(w, p.hp).expect("int field");
    }
    s
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn group<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    g
}

fn bench_encode(
    g: &mut Group<'_>,
    layout: &Layout,
    n: usize,
    cur: &Snapshot,
    base: Option<&Snapshot>,
) {
    let mut scratch = EncodeScratch::default();
    let mut out = Vec::new();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(n.to_string(), |b| {
        b.iter(|| {
            out.clear();
            encode_snapshot(
                layout,
                black_box(cur),
                black_box(base),
                Some(7),
                &mut scratch,
                &mut out,
            );
            black_box(out.len())
        });
    });
}

fn bench_decode(
    g: &mut Group<'_>,
    layout: &Layout,
    n: usize,
    frame: &[u8],
    base: Option<&Snapshot>,
    expected: &Snapshot,
) {
    let mut scratch = DecodeScratch::default();
    let mut out = Snapshot::new(layout);
    decode_snapshot(layout, frame, |_| base, &mut scratch, &mut out).expect("frame decodes");
    assert_eq!(
        &out, expected,
        "decoded snapshot differs from the encoded one"
    );
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(n.to_string(), |b| {
        b.iter(|| {
            decode_snapshot(layout, black_box(frame), |_| base, &mut scratch, &mut out)
                .expect("frame decodes");
            black_box(out.len())
        });
    });
}

struct World {
    n: usize,
    base: Snapshot,
    /// Every player moved.
    all: Snapshot,
    /// Nothing changed (same words, next tick).
    none: Snapshot,
    /// About 10% of players moved.
    tenth: Snapshot,
}

/// Which entities changed between the baseline and the current snapshot.
#[derive(Clone, Copy)]
enum Changed {
    All,
    None,
    Tenth,
}

impl World {
    fn cur(&self, changed: Changed) -> &Snapshot {
        match changed {
            Changed::All => &self.all,
            Changed::None => &self.none,
            Changed::Tenth => &self.tenth,
        }
    }
}

/// Number of entities whose words differ between `a` and `b` (same ids in both).
fn changed_count(a: &Snapshot, b: &Snapshot) -> usize {
    a.iter().zip(b.iter()).filter(|(x, y)| x.2 != y.2).count()
}

fn worlds(layout: &Layout) -> Vec<World> {
    SIZES
        .iter()
        .map(|&n| {
            let mut rng = SplitMix64::seed_from_u64(0x7469_636b_7769_7265 ^ n as u64);
            let ps = players(n, &mut rng);
            let w = World {
                n,
                base: snapshot(layout, 100, &ps),
                all: snapshot(layout, 101, &step(&ps, 1.0, &mut rng)),
                none: snapshot(layout, 101, &ps),
                tenth: snapshot(layout, 101, &step(&ps, 0.1, &mut rng)),
            };
            assert_eq!(changed_count(&w.base, &w.all), n);
            assert_eq!(changed_count(&w.base, &w.none), 0);
            let tenth = changed_count(&w.base, &w.tenth);
            assert!(tenth > n / 20 && tenth < n / 5, "{tenth} of {n} changed");
            w
        })
        .collect()
}

fn codec(c: &mut Criterion) {
    let layout = arena();
    let worlds = worlds(&layout);

    let mut g = group(c, "full_encode");
    for w in &worlds {
        bench_encode(&mut g, &layout, w.n, &w.base, None);
    }
    g.finish();

    let mut g = group(c, "full_decode");
    for w in &worlds {
        let frame = encode_snapshot_frame(&layout, &w.base, None, Some(7));
        bench_decode(&mut g, &layout, w.n, &frame, None, &w.base);
    }
    g.finish();

    for (name, changed) in [
        ("delta_all", Changed::All),
        ("delta_none", Changed::None),
        ("delta_10pct", Changed::Tenth),
    ] {
        let mut g = group(c, &format!("{name}_encode"));
        for w in &worlds {
            bench_encode(&mut g, &layout, w.n, w.cur(changed), Some(&w.base));
        }
        g.finish();

        let mut g = group(c, &format!("{name}_decode"));
        for w in &worlds {
            let frame = encode_snapshot_frame(&layout, w.cur(changed), Some(&w.base), Some(7));
            bench_decode(&mut g, &layout, w.n, &frame, Some(&w.base), w.cur(changed));
        }
        g.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
