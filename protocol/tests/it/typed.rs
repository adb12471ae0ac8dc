//! Typed declarations against the builder: the derives give the same schema, hash and bytes,
//! and typed values survive words → snapshot frame → words within quantization; out-of-range
//! values are clamped and counted.

use glam::{EulerRot, Quat, Vec2, Vec3};
use proptest::prelude::*;
use tickwire_protocol::typed::{Entity, FieldEnum, Fields, Input, RoomState};
use tickwire_protocol::{
    DecodeScratch, EncodeScratch, KindLayout, Layout, Schema, Snapshot, ValueError,
    decode_snapshot, encode_snapshot,
};

use crate::random_bytes::config;

#[derive(FieldEnum, Clone, Copy, Debug, PartialEq)]
enum Team {
    Red,
    Green,
    #[tw(name = "BLUE")]
    Blue,
}

#[derive(Entity, Clone, Debug, PartialEq)]
struct Ship {
    #[tw(range(-10.0, 10.0), precision = 0.01)]
    heat: f32,
    #[tw(range(-5, 1000))]
    hp: i16,
    alive: bool,
    team: Team,
    #[tw(position, range(0.0, 4000.0), precision = 1.0 / 16.0)]
    pos: Vec2,
    #[tw(range(-50.0, 50.0), precision = 0.01)]
    vel: Vec3,
    #[tw(bits = 10)]
    rot: Quat,
    #[tw(max_len = 12)]
    name: String,
}

#[derive(Entity, Clone, Debug, PartialEq)]
struct Rock {
    #[tw(position, range(0.0, 4000.0), precision = 1.0 / 16.0, delta_bits = 0)]
    pos: Vec2,
    #[tw(bits = 3)]
    size: u8,
    #[tw(range(7, 7))]
    fixed: i64,
    #[tw(range(-1.0, 1.0), precision = 1.0e-9)]
    spin: f32,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[tw(name = "probe")]
struct SurveyDrone {
    #[tw(range(0, 3))]
    mode: u64,
    #[tw(position, range(-100.0, 100.0), precision = 0.5, delta_bits = 3)]
    at: Vec3,
    #[tw(bits = 32)]
    serial: u32,
}

#[derive(RoomState, Clone, Debug, PartialEq)]
struct Score {
    #[tw(bits = 16)]
    round: u32,
    #[tw(range(-1000, 1000), delta_bits = 0)]
    balance: i32,
    leader: Team,
    #[tw(max_len = 20)]
    motd: String,
    full: u8,
    wide: i32,
}

#[derive(Input, Clone, Debug, PartialEq)]
struct Controls {
    #[tw(range(-1.0, 1.0), precision = 1.0 / 64.0)]
    turn: f32,
    fire: bool,
    #[tw(bits = 4)]
    slot: u8,
    #[tw(range(-1.0, 1.0), precision = 0.01)]
    aim: Vec2,
}

fn typed_schema() -> Schema {
    Schema::typed::<Score, Controls>("every")
        .kind::<Ship>()
        .kind::<Rock>()
        .kind::<SurveyDrone>()
        .build()
        .unwrap()
}

fn built_schema() -> Schema {
    Schema::builder("every")
        .kind("ship", |k| {
            k.f32("heat", -10.0, 10.0, 0.01)
                .int("hp", -5, 1000)
                .bool("alive")
                .enumeration("team", &["red", "green", "BLUE"])
                .vec2("pos", 0.0, 4000.0, 1.0 / 16.0)
                .vec3("vel", -50.0, 50.0, 0.01)
                .quat("rot", 10)
                .string("name", 12)
        })
        .kind("rock", |k| {
            k.vec2("pos", 0.0, 4000.0, 1.0 / 16.0)
                .delta_bits(0)
                .uint("size", 3)
                .int("fixed", 7, 7)
                .f32("spin", -1.0, 1.0, 1.0e-9)
        })
        .kind("probe", |k| {
            k.int("mode", 0, 3)
                .vec3("at", -100.0, 100.0, 0.5)
                .delta_bits(3)
                .uint("serial", 32)
        })
        .room(|r| {
            r.uint("round", 16)
                .int("balance", -1000, 1000)
                .delta_bits(0)
                .enumeration("leader", &["red", "green", "BLUE"])
                .string("motd", 20)
                .int("full", 0, 255)
                .int("wide", i64::from(i32::MIN), i64::from(i32::MAX))
        })
        .input(|i| {
            i.f32("turn", -1.0, 1.0, 1.0 / 64.0)
                .bool("fire")
                .uint("slot", 4)
                .vec2("aim", -1.0, 1.0, 0.01)
        })
        .build()
        .unwrap()
}

#[test]
fn derives_give_the_builder_schema() {
    let (typed, built) = (typed_schema(), built_schema());
    assert_eq!(typed, built);
    assert_eq!(typed.to_bytes(), built.to_bytes());
    assert_eq!(typed.protocol_hash(), built.protocol_hash());
    assert_eq!(Ship::NAME, "ship");
    assert_eq!(Team::VARIANTS, ["red", "green", "BLUE"]);
    assert_eq!(Ship::field_defs(), built.kinds[0].fields);
}

fn ship() -> Ship {
    Ship {
        heat: 3.3333,
        hp: 999,
        alive: true,
        team: Team::Blue,
        pos: Vec2::new(12.3, 3999.9),
        vel: Vec3::new(-0.5, 0.25, 49.999),
        rot: Quat::from_euler(EulerRot::XYZ, 0.3, -1.2, 2.0),
        name: "héllo".to_owned(),
    }
}

fn encode(layout: &Layout, s: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    encode_snapshot(
        layout,
        s,
        None,
        None,
        &mut EncodeScratch::default(),
        &mut out,
    );
    out
}

#[test]
fn typed_writes_encode_to_the_bytes_of_index_writes() {
    let layout = Layout::new(&typed_schema()).unwrap();
    let s = ship();
    let score = Score {
        round: 7,
        balance: -12,
        leader: Team::Green,
        motd: "gl hf".to_owned(),
        full: 200,
        wide: -70_000,
    };

    let mut typed = Snapshot::new(&layout);
    typed.clear(&layout, 5);
    assert_eq!(score.write_words(&layout.room, typed.room_mut()), Ok(0));
    let words = typed.push(&layout, 1, 0).unwrap();
    assert_eq!(s.write_words(&layout.kinds[0], words), Ok(0));

    let mut indexed = Snapshot::new(&layout);
    indexed.clear(&layout, 5);
    let room = &layout.room.fields;
    let w = indexed.room_mut();
    room[0].set_int(w, 7).unwrap();
    room[1].set_int(w, -12).unwrap();
    room[2].set_int(w, 1).unwrap();
    room[3].set_str(w, "gl hf").unwrap();
    room[4].set_int(w, 200).unwrap();
    room[5].set_int(w, -70_000).unwrap();
    let f = &layout.kinds[0].fields;
    let w = indexed.push(&layout, 1, 0).unwrap();
    f[0].set_f32(w, s.heat).unwrap();
    f[1].set_int(w, i64::from(s.hp)).unwrap();
    f[2].set_bool(w, s.alive).unwrap();
    f[3].set_int(w, 2).unwrap();
    f[4].set_vec2(w, s.pos).unwrap();
    f[5].set_vec3(w, s.vel).unwrap();
    f[6].set_quat(w, s.rot).unwrap();
    f[7].set_str(w, &s.name).unwrap();

    assert_eq!(typed, indexed);
    assert_eq!(encode(&layout, &typed), encode(&layout, &indexed));
}

#[test]
fn out_of_range_values_are_clamped_and_counted() {
    let layout = Layout::new(&typed_schema()).unwrap();
    let kind = &layout.kinds[0];
    let mut w = vec![0; kind.words];
    let wild = Ship {
        heat: 50.0,
        hp: -300,
        vel: Vec3::new(0.0, 1e6, 0.0),
        name: "ééééééé".to_owned(),
        ..ship()
    };
    assert_eq!(wild.write_words(kind, &mut w), Ok(4));
    let back = Ship::read_words(kind, &w).unwrap();
    assert_eq!(back.heat, 10.0);
    assert_eq!(back.hp, -5);
    assert_eq!(back.vel.y, 50.0);
    assert_eq!(
        back.name, "éééééé",
        "cut at the last character boundary within 12 bytes"
    );

    let input = &layout.input;
    let mut w = vec![0; input.words];
    let c = Controls {
        turn: -2.0,
        fire: true,
        slot: 16,
        aim: Vec2::new(1.0, -1.0),
    };
    assert_eq!(c.write_words(input, &mut w), Ok(2));
    assert_eq!(
        Controls::read_words(input, &w).unwrap(),
        Controls {
            turn: -1.0,
            slot: 15,
            ..c
        }
    );
}

#[test]
fn values_without_a_quantized_form_and_foreign_layouts_are_errors() {
    let layout = Layout::new(&typed_schema()).unwrap();
    let kind = &layout.kinds[0];
    let mut w = vec![0; kind.words];
    let nan = Ship {
        heat: f32::NAN,
        ..ship()
    };
    assert_eq!(nan.write_words(kind, &mut w), Err(ValueError::NotFinite));
    let no_rotation = Ship {
        rot: Quat::from_xyzw(0.0, 0.0, 0.0, 0.0),
        ..ship()
    };
    assert_eq!(
        no_rotation.write_words(kind, &mut w),
        Err(ValueError::NotFinite)
    );
    assert_eq!(
        Rock::read_words(kind, &w),
        Err(ValueError::WrongType),
        "another kind's layout"
    );
    assert_eq!(
        ship().write_words(kind, &mut w[..kind.words - 1]),
        Err(ValueError::WrongType),
        "too few words"
    );
}

/// `a` and `b` differ by at most `tolerance` plus the f32 rounding of the dequantized value
/// (which dominates for steps finer than an ulp, like `spin`'s).
fn within(what: &str, a: f32, b: f32, tolerance: f32) -> Result<(), TestCaseError> {
    let rounding = f32::EPSILON * a.abs().max(b.abs());
    prop_assert!((a - b).abs() <= tolerance + rounding, "{what}: {a} vs {b}");
    Ok(())
}

fn within_all(what: &str, a: &[f32], b: &[f32], tolerance: f32) -> Result<(), TestCaseError> {
    a.iter()
        .zip(b)
        .try_for_each(|(&a, &b)| within(what, a, b, tolerance))
}

fn assert_ship_close(kind: &KindLayout, a: &Ship, b: &Ship) -> Result<(), TestCaseError> {
    let tol = |i: usize| kind.fields[i].tolerance();
    within("heat", a.heat, b.heat, tol(0))?;
    prop_assert_eq!(a.hp, b.hp);
    prop_assert_eq!(a.alive, b.alive);
    prop_assert_eq!(a.team, b.team);
    within_all("pos", &a.pos.to_array(), &b.pos.to_array(), tol(4))?;
    within_all("vel", &a.vel.to_array(), &b.vel.to_array(), tol(5))?;
    // q and -q are the same rotation.
    let q = a.rot.normalize();
    let q = if q.dot(b.rot) < 0.0 { -q } else { q };
    let diff = (glam::Vec4::from(q) - glam::Vec4::from(b.rot))
        .abs()
        .max_element();
    prop_assert!(diff <= tol(6), "rot {:?} vs {:?}", q, b.rot);
    prop_assert_eq!(&a.name, &b.name);
    Ok(())
}

fn any_ship() -> impl Strategy<Value = Ship> {
    (
        -10.0f32..=10.0,
        -5i16..=1000,
        any::<bool>(),
        0u32..3,
        (0.0f32..=4000.0, 0.0f32..=4000.0),
        (-50.0f32..=50.0, -50.0f32..=50.0, -50.0f32..=50.0),
        (-3.1f32..3.1, -1.5f32..1.5, -3.1f32..3.1),
        "[a-zé ]{0,6}",
    )
        .prop_map(|(heat, hp, alive, team, pos, vel, rot, name)| Ship {
            heat,
            hp,
            alive,
            team: Team::from_index(team).unwrap(),
            pos: Vec2::new(pos.0, pos.1),
            vel: Vec3::new(vel.0, vel.1, vel.2),
            rot: Quat::from_euler(EulerRot::XYZ, rot.0, rot.1, rot.2),
            name,
        })
}

fn any_rock() -> impl Strategy<Value = Rock> {
    ((0.0f32..=4000.0, 0.0f32..=4000.0), 0u8..8, -1.0f32..=1.0).prop_map(|(pos, size, spin)| Rock {
        pos: Vec2::new(pos.0, pos.1),
        size,
        fixed: 7,
        spin,
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn typed_values_round_trip_through_a_snapshot_frame(
        ships in prop::collection::vec(any_ship(), 0..6),
        rocks in prop::collection::vec(any_rock(), 0..6),
    ) {
        let layout = Layout::new(&typed_schema()).unwrap();
        let mut cur = Snapshot::new(&layout);
        cur.clear(&layout, 40);
        let mut id = 1;
        for s in &ships {
            let w = cur.push(&layout, id, 0).unwrap();
            prop_assert_eq!(s.write_words(&layout.kinds[0], w), Ok(0));
            id += 1;
        }
        for r in &rocks {
            let w = cur.push(&layout, id, 1).unwrap();
            prop_assert_eq!(r.write_words(&layout.kinds[1], w), Ok(0));
            id += 1;
        }
        let frame = encode(&layout, &cur);
        let mut back = Snapshot::default();
        decode_snapshot(&layout, &frame, |_| None, &mut DecodeScratch::default(), &mut back)
            .unwrap();
        prop_assert_eq!(&back, &cur);

        let mut entities = back.iter();
        for s in &ships {
            let (_, kind, w) = entities.next().unwrap();
            prop_assert_eq!(kind, 0);
            let got = Ship::read_words(&layout.kinds[0], w).unwrap();
            assert_ship_close(&layout.kinds[0], s, &got)?;
            prop_assert_eq!(got.position(), got.pos);
        }
        for r in &rocks {
            let (_, kind, w) = entities.next().unwrap();
            prop_assert_eq!(kind, 1);
            let got = Rock::read_words(&layout.kinds[1], w).unwrap();
            let tol = |i: usize| layout.kinds[1].fields[i].tolerance();
            within_all("pos", &got.pos.to_array(), &r.pos.to_array(), tol(0))?;
            prop_assert_eq!(got.size, r.size);
            prop_assert_eq!(got.fixed, 7);
            within("spin", got.spin, r.spin, tol(3))?;
        }
    }
}
