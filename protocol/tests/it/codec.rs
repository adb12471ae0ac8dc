//! Snapshot codec: sizes, and decode(encode(x)) == x over random worlds and baselines.

use glam::Vec2;
use tickwire_protocol::bits::uvar_bits;
use tickwire_protocol::testkit::frames::encode_snapshot_frame;
use tickwire_protocol::{
    DecodeError, DecodeScratch, EncodeScratch, Layout, Schema, Snapshot, decode_snapshot,
    encode_snapshot,
};

use crate::util::{Rng, TestWorld, arena_layout, assert_within_quantization};

fn snapshot_of(layout: &Layout, world: &TestWorld, tick: u32) -> Snapshot {
    let mut s = Snapshot::new(layout);
    s.clear(layout, tick);
    world.fill(layout, &mut s);
    s
}

fn decode(layout: &Layout, frame: &[u8], base: Option<&Snapshot>) -> Result<Snapshot, DecodeError> {
    let mut out = Snapshot::default();
    decode_snapshot(
        layout,
        frame,
        |_| base,
        &mut DecodeScratch::default(),
        &mut out,
    )?;
    Ok(out)
}

/// Bytes of a frame holding only the header: type byte, flags, tick, baseline distance and
/// input sequence.
fn header_len(tick: u32, back: u32, seq: Option<u32>) -> usize {
    let bits = 4 + uvar_bits(tick) + uvar_bits(back) + uvar_bits(seq.map_or(0, |s| s + 1));
    1 + bits.div_ceil(8)
}

fn world_of(n: usize, seed: u64) -> TestWorld {
    let mut rng = Rng::new(seed);
    let mut w = TestWorld::default();
    for _ in 0..n {
        w.spawn(&mut rng);
    }
    w
}

#[test]
fn unchanged_world_costs_only_the_header() {
    let layout = arena_layout();
    let world = world_of(100, 1);
    let base = snapshot_of(&layout, &world, 1000);
    let cur = snapshot_of(&layout, &world, 1001);
    let frame = encode_snapshot_frame(&layout, &cur, Some(&base), Some(500));
    assert_eq!(
        frame.len(),
        header_len(1001, 1, Some(500)),
        "frame {frame:02x?}"
    );
    assert_eq!(decode(&layout, &frame, Some(&base)).unwrap(), cur);
}

#[test]
fn one_moving_entity_of_100_costs_at_most_8_bytes() {
    let layout = arena_layout();
    let mut world = world_of(100, 2);
    let base = snapshot_of(&layout, &world, 1000);
    world.steer(37, Vec2::new(1.0, 0.3));
    world.step(1.0 / 30.0);
    world.steer(37, Vec2::ZERO);
    let moved = snapshot_of(&layout, &world, 1001);
    let frame = encode_snapshot_frame(&layout, &moved, Some(&base), Some(500));
    let payload = frame.len() - header_len(1001, 1, Some(500));
    assert!(payload <= 8, "delta payload is {payload} bytes");
    assert_eq!(decode(&layout, &frame, Some(&base)).unwrap(), moved);

    // The heading stays while it keeps moving straight: the next tick changes only position.
    let base2 = moved;
    world.steer(37, Vec2::new(1.0, 0.3));
    world.step(1.0 / 30.0);
    let cur = snapshot_of(&layout, &world, 1002);
    let frame = encode_snapshot_frame(&layout, &cur, Some(&base2), Some(500));
    let payload = frame.len() - header_len(1002, 1, Some(500));
    assert!(
        payload <= 6,
        "position-only delta payload is {payload} bytes"
    );
}

/// Steers players `0..players` in directions drawn from `rng`.
fn steer_randomly(world: &mut TestWorld, players: u32, rng: &mut Rng) {
    for id in 0..players {
        world.steer(id, Vec2::new(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)));
    }
}

#[test]
fn every_entity_moving_costs_under_three_bytes_each() {
    // The arena at full motion: 100 players each moving one tick at 200 units/s.
    let layout = arena_layout();
    let mut world = world_of(100, 3);
    let mut rng = Rng::new(33);
    steer_randomly(&mut world, 100, &mut rng);
    world.step(1.0 / 30.0);
    let base = snapshot_of(&layout, &world, 10);
    world.step(1.0 / 30.0);
    let cur = snapshot_of(&layout, &world, 11);
    let frame = encode_snapshot_frame(&layout, &cur, Some(&base), Some(5));
    let payload = frame.len() - header_len(11, 1, Some(5));
    assert!(
        payload <= 100 * 5 / 2,
        "payload {payload} bytes for 100 moving entities"
    );
    assert_eq!(decode(&layout, &frame, Some(&base)).unwrap(), cur);
    // A full snapshot of the same fits a datagram.
    let full = encode_snapshot_frame(&layout, &cur, None, Some(5));
    assert!(full.len() <= 1200, "full snapshot {} bytes", full.len());
}

#[test]
fn sparse_and_mask_modes_pick_the_smaller() {
    let layout = arena_layout();
    let world = world_of(1000, 4);
    let base = snapshot_of(&layout, &world, 1);
    // Removing 2 of 1000 entities: sparse indices beat a 1000-bit mask.
    let mut fewer = world.clone();
    fewer.despawn(10);
    fewer.despawn(900);
    let cur = snapshot_of(&layout, &fewer, 2);
    let frame = encode_snapshot_frame(&layout, &cur, Some(&base), None);
    assert!(
        frame.len() < 20,
        "sparse removal of 2 is {} bytes",
        frame.len()
    );
    assert_eq!(decode(&layout, &frame, Some(&base)).unwrap(), cur);
    // Removing every other entity: the mask (1 bit each, plus a mask bit) wins.
    let mut half = world.clone();
    for id in (0..1000).step_by(2) {
        half.despawn(id);
    }
    let cur = snapshot_of(&layout, &half, 2);
    let frame = encode_snapshot_frame(&layout, &cur, Some(&base), None);
    assert!(
        frame.len() <= 8 + 1000 / 8 + 500 / 8 + 2,
        "mask-mode removal is {} bytes",
        frame.len()
    );
    assert_eq!(decode(&layout, &frame, Some(&base)).unwrap(), cur);
}

/// A schema with every field type and two kinds.
fn rich_layout() -> Layout {
    let s = Schema::builder("rich")
        .kind("ship", |k| {
            k.vec3("pos", -500.0, 500.0, 0.01)
                .quat("rot", 12)
                .f32("speed", 0.0, 100.0, 0.1)
                .int("ammo", -10, 5000)
                .bool("alive")
                .enumeration("team", &["red", "blue", "green"])
                .string("name", 12)
        })
        .kind("pickup", |k| {
            k.vec2("pos", -500.0, 500.0, 0.5).uint("value", 4)
        })
        .room(|r| {
            r.uint("round", 16)
                .string("map", 8)
                .f32("clock", 0.0, 600.0, 0.01)
        })
        .input(|i| i.bool("fire"))
        .build()
        .unwrap();
    Layout::new(&s).unwrap()
}

fn random_rich(layout: &Layout, rng: &mut Rng, tick: u32, ids: &[u32]) -> Snapshot {
    let names = ["", "a", "zed", "Ωmega", "twelve bytes"];
    let mut s = Snapshot::new(layout);
    s.clear(layout, tick);
    let room = &layout.room.fields;
    room[0].set_int(s.room_mut(), rng.below(3) as i64).unwrap();
    room[1]
        .set_str(s.room_mut(), ["dust", "port"][rng.below(2) as usize])
        .unwrap();
    room[2]
        .set_f32(s.room_mut(), rng.range(0.0, 600.0))
        .unwrap();
    for &id in ids {
        let kind = (id % 3 == 0) as u16;
        let f = &layout.kinds[usize::from(kind)].fields;
        let w = s.push(layout, id, kind).unwrap();
        // Small changes most of the time so delta coding is exercised; jumps sometimes.
        let jitter = if rng.chance(0.5) { 0.05 } else { 500.0 };
        let c = (id as f32 * 7.0) % 400.0 - 200.0;
        if kind == 0 {
            f[0].set_vec3(w, glam::Vec3::new(c + rng.range(-jitter, jitter), c, -c))
                .unwrap();
            let q = glam::Quat::from_euler(glam::EulerRot::XYZ, rng.range(-3.0, 3.0), 0.5, 0.1);
            f[1].set_quat(
                w,
                if rng.chance(0.7) {
                    glam::Quat::IDENTITY
                } else {
                    q
                },
            )
            .unwrap();
            f[2].set_f32(w, rng.range(0.0, 100.0)).unwrap();
            f[3].set_int(w, rng.below(5011) as i64 - 10).unwrap();
            f[4].set_bool(w, rng.chance(0.9)).unwrap();
            f[5].set_int(w, rng.below(3) as i64).unwrap();
            f[6].set_str(w, names[rng.below(names.len() as u64) as usize])
                .unwrap();
        } else {
            f[0].set_vec2(w, Vec2::new(c, c + rng.range(-jitter, jitter)))
                .unwrap();
            f[1].set_int(w, rng.below(16) as i64).unwrap();
        }
    }
    s
}

#[test]
fn random_delta_chains_round_trip() {
    let layout = rich_layout();
    let mut rng = Rng::new(77);
    let mut ids: Vec<u32> = (0..60).map(|i| i * 3 + 1).collect();
    let mut sent: Vec<Snapshot> = Vec::new();
    let mut held: Vec<Snapshot> = Vec::new();
    let mut enc = EncodeScratch::default();
    let mut dec = DecodeScratch::default();
    for tick in 1..400u32 {
        // Churn ids: remove some, add some (new ids may land between existing ones).
        ids.retain(|_| !rng.chance(0.05));
        for _ in 0..rng.below(4) {
            ids.push(rng.below(2000) as u32);
        }
        ids.sort_unstable();
        ids.dedup();
        let cur = random_rich(&layout, &mut rng, tick, &ids);
        let base_i = (!sent.is_empty() && rng.chance(0.9))
            .then(|| sent.len() - 1 - rng.below(sent.len().min(8) as u64) as usize);
        let base = base_i.map(|i| &sent[i]);
        let mut frame = Vec::new();
        encode_snapshot(&layout, &cur, base, Some(tick * 2), &mut enc, &mut frame);
        let mut out = Snapshot::default();
        let client_base = base_i.map(|i| &held[i]);
        let h = decode_snapshot(&layout, &frame, |_| client_base, &mut dec, &mut out).unwrap();
        assert_eq!(h.tick, tick);
        assert_eq!(h.baseline, base.map(|b| b.tick));
        assert_eq!(h.last_input_seq, Some(tick * 2));
        assert_eq!(out, cur, "tick {tick}");
        sent.push(cur);
        held.push(out);
    }
}

#[test]
fn a_delta_without_its_baseline_fails_cleanly() {
    let layout = arena_layout();
    let world = world_of(10, 5);
    let base = snapshot_of(&layout, &world, 1);
    let cur = snapshot_of(&layout, &world, 2);
    let frame = encode_snapshot_frame(&layout, &cur, Some(&base), None);
    assert_eq!(
        decode(&layout, &frame, None),
        Err(DecodeError::MissingBaseline(1))
    );
    let wrong = snapshot_of(&layout, &world, 0);
    assert_eq!(
        decode(&layout, &frame, Some(&wrong)),
        Err(DecodeError::MissingBaseline(1))
    );
}

#[test]
fn full_snapshot_decodes_within_quantization() {
    let layout = arena_layout();
    let world = world_of(300, 6);
    let cur = snapshot_of(&layout, &world, 9);
    let frame = encode_snapshot_frame(&layout, &cur, None, None);
    let out = decode(&layout, &frame, None).unwrap();
    assert_within_quantization(&layout, &world.players, &out);
}

#[test]
fn empty_worlds_round_trip_at_every_tick() {
    // Full snapshots of an empty world carry no creation section, whatever the header size.
    let layout = arena_layout();
    let empty = TestWorld::default();
    for tick in 0..200u32 {
        let cur = snapshot_of(&layout, &empty, tick);
        let frame = encode_snapshot_frame(&layout, &cur, None, Some(tick));
        assert_eq!(decode(&layout, &frame, None).unwrap(), cur, "tick {tick}");
    }
}

#[test]
fn shared_bodies_give_the_same_bytes_as_encoding_alone() {
    use tickwire_protocol::{SharedBodies, encode_snapshot_shared};
    let layout = arena_layout();
    let mut world = world_of(120, 9);
    let mut rng = Rng::new(99);
    steer_randomly(&mut world, 120, &mut rng);
    let mut history = Vec::new();
    for tick in 0..12u32 {
        world.step(1.0 / 30.0);
        if tick % 4 == 3 {
            world.despawn(tick);
            world.spawn(&mut rng);
        }
        history.push(snapshot_of(&layout, &world, tick));
    }
    let cur = history.last().unwrap();
    let mut shared = SharedBodies::default();
    let mut scratch = EncodeScratch::default();
    // Clients on different baselines (and none), with their own input sequences, in an order
    // that makes later ones reuse earlier bodies.
    let baselines = [
        Some(10),
        Some(10),
        Some(8),
        None,
        Some(10),
        Some(8),
        None,
        Some(3),
    ];
    for (client, b) in baselines.iter().enumerate() {
        let base = b.map(|t| &history[t]);
        let seq = Some(client as u32 * 7);
        let alone = encode_snapshot_frame(&layout, cur, base, seq);
        let mut together = Vec::new();
        encode_snapshot_shared(
            &layout,
            cur,
            base,
            seq,
            &mut scratch,
            &mut shared,
            &mut together,
        );
        assert_eq!(together, alone, "client {client} on baseline {b:?}");
        assert_eq!(decode(&layout, &together, base).unwrap(), *cur);
    }
    assert_eq!(shared.len(), 4, "one body per distinct baseline");
    // The next tick starts afresh.
    let next = snapshot_of(&layout, &world, 12);
    let mut out = Vec::new();
    encode_snapshot_shared(
        &layout,
        &next,
        Some(cur),
        None,
        &mut scratch,
        &mut shared,
        &mut out,
    );
    assert_eq!(shared.len(), 1);
    assert_eq!(out, encode_snapshot_frame(&layout, &next, Some(cur), None));
}
