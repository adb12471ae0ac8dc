//! The fixed test schema, deterministic worlds built from any layout, and the frame separator
//! used by multi-frame fuzz inputs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::rng::{mix, unit};
use crate::error::ValueError;
use crate::layout::{KindLayout, Layout};
use crate::schema::{FieldDef, FieldType, Schema};
use crate::snapshot::Snapshot;
use glam::{EulerRot, Quat, Vec2, Vec3};

/// First tick the prepared sessions write a snapshot for.
pub const START_TICK: u32 = 100;

/// Resume token the prepared server sessions hand out.
pub const RESUME_TOKEN: [u8; 16] = [0x5a; 16];

/// Client id the prepared server sessions accept with.
pub const CLIENT_ID: u32 = 7;

/// Entity the prepared client controls.
pub const PLAYER: u32 = 12;

/// Separator between the frames of a multi-frame input (`frame SEP frame SEP ...`). An input
/// without it is a single frame.
pub const SEP: [u8; 4] = [0xf1, 0xe2, 0xd3, 0xc4];

/// A schema with every field type in entities, the room and the input: floats (one of them
/// 32 bits wide), integers (one of zero width), bools, enums, vectors, quaternions and
/// strings; a kind with no field and a kind with more than 32 fields (64-bit change masks).
pub fn test_schema() -> Schema {
    Schema::builder("fuzz")
        .kind("ship", |k| {
            k.f32("heat", -10.0, 10.0, 0.01)
                .int("hp", -5, 1000)
                .bool("alive")
                .enumeration("team", &["red", "green", "blue"])
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
        .kind("marker", |k| k)
        .kind("wide", |k| {
            (0..40).fold(k, |k, i| {
                let name = format!("b{i}");
                match i % 4 {
                    0 => k.bool(&name),
                    1 => k.uint(&name, 5),
                    2 => k.enumeration(&name, &["a", "b", "c", "d", "e"]),
                    _ => k.f32(&name, 0.0, 1.0, 1.0 / 1024.0),
                }
            })
        })
        .room(|r| {
            r.uint("round", 16)
                .f32("clock", 0.0, 600.0, 0.1)
                .bool("overtime")
                .enumeration("phase", &["warmup", "play", "end"])
                .vec2("wind", -1.0, 1.0, 0.01)
                .vec3("gravity", -20.0, 20.0, 0.05)
                .quat("sun", 8)
                .string("motd", 32)
                .uint("score", 32)
        })
        .input(|i| {
            i.f32("throttle", -1.0, 1.0, 1.0 / 64.0)
                .int("weapon", 0, 9)
                .bool("fire")
                .enumeration("stance", &["stand", "crouch", "prone"])
                .vec2("aim", -1.0, 1.0, 1.0 / 256.0)
                .vec3("look", -1.0, 1.0, 1.0 / 128.0)
                .quat("orient", 12)
                .string("chat", 16)
        })
        .build()
        .expect("the fuzz test schema compiles")
}

/// The layout of [`test_schema`], compiled once.
pub fn layout() -> Arc<Layout> {
    static LAYOUT: OnceLock<Arc<Layout>> = OnceLock::new();
    LAYOUT
        .get_or_init(|| Arc::new(Layout::new(&test_schema()).expect("test layout")))
        .clone()
}

/// Splits a multi-frame input on [`SEP`].
pub fn split_frames(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i + SEP.len() <= data.len() {
        if data[i..i + SEP.len()] == SEP {
            out.push(&data[start..i]);
            i += SEP.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&data[start..]);
    out
}

/// Joins frames with [`SEP`] into one multi-frame input.
pub fn join_frames(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&SEP);
        }
        out.extend_from_slice(f);
    }
    out
}

/// A value in `[min, max]` at `t`; `seed % 8` of 0 and 1 pick the bounds exactly.
fn lerp(min: f32, max: f32, seed: u64, phase: u32) -> f32 {
    match seed % 8 {
        0 => min,
        1 => max,
        _ => {
            let t = (unit(seed) + f64::from(phase) * 0.001).fract();
            (f64::from(min) + (f64::from(max) - f64::from(min)) * t) as f32
        }
    }
}

fn string_of(seed: u64, phase: u32, max_len: usize) -> String {
    const PIECES: [&str; 7] = ["a", "Z", "0", " ", "é", "€", "😀"];
    let mut s = mix(seed.wrapping_add(u64::from(phase / 16)));
    let len = (s % (max_len as u64 + 1)) as usize;
    let mut out = String::new();
    loop {
        s = mix(s);
        let piece = PIECES[(s % PIECES.len() as u64) as usize];
        if out.len() + piece.len() > len {
            return out;
        }
        out.push_str(piece);
    }
}

/// Sets field `index` of `kind` (declared by `def`) to a value derived from `seed`; `phase`
/// moves the value a little (a tick's worth of change).
pub fn set_field(
    kind: &KindLayout,
    index: usize,
    def: &FieldDef,
    words: &mut [u32],
    seed: u64,
    phase: u32,
) -> Result<(), ValueError> {
    let f = &kind.fields[index];
    let s = |k: u64| mix(seed ^ k);
    match &def.ty {
        FieldType::F32 { min, max, .. } => f.set_f32(words, lerp(*min, *max, seed, phase)),
        FieldType::Vec2 { min, max, .. } => f.set_vec2(
            words,
            Vec2::new(lerp(*min, *max, seed, phase), lerp(*min, *max, s(1), phase)),
        ),
        FieldType::Vec3 { min, max, .. } => f.set_vec3(
            words,
            Vec3::new(
                lerp(*min, *max, seed, phase),
                lerp(*min, *max, s(1), phase),
                lerp(*min, *max, s(2), phase),
            ),
        ),
        FieldType::Int { min, max, .. } => {
            let span = (i128::from(*max) - i128::from(*min)).max(0) as u128 + 1;
            let off = (u128::from(seed) + u128::from(phase)) % span;
            f.set_int(words, (i128::from(*min) + off as i128) as i64)
        }
        FieldType::Bool => f.set_bool(words, seed.wrapping_add(u64::from(phase / 8)) & 1 == 1),
        FieldType::Enum { variants } => {
            let n = variants.len().max(1) as u64;
            f.set_int(words, (seed.wrapping_add(u64::from(phase / 4)) % n) as i64)
        }
        FieldType::Quat { .. } => {
            let p = f64::from(phase) * 0.01;
            let angle = |k: u64| ((unit(s(k)) * 2.0 - 1.0) * std::f64::consts::PI + p) as f32;
            f.set_quat(
                words,
                Quat::from_euler(EulerRot::XYZ, angle(3), angle(4), angle(5)),
            )
        }
        FieldType::Str { max_len } => {
            f.set_str(words, &string_of(seed, phase, usize::from(*max_len)))
        }
    }
}

/// Sets every field of `kind` from `seed` and `phase`.
pub fn fill_fields(
    kind: &KindLayout,
    defs: &[FieldDef],
    words: &mut [u32],
    seed: u64,
    phase: u32,
) -> Result<(), ValueError> {
    for (i, def) in defs.iter().enumerate() {
        set_field(kind, i, def, words, mix(seed ^ ((i as u64) << 40)), phase)?;
    }
    Ok(())
}

/// The world of `layout` at `tick`: room fields that change every few ticks and up to 16
/// entities of every kind, some of them despawned at some ticks, a third of them still, the
/// others moving a little each tick. Deterministic: the same tick gives the same snapshot.
pub fn world_at(layout: &Layout, tick: u32) -> Result<Snapshot, ValueError> {
    let schema = layout.schema();
    let mut s = Snapshot::new(layout);
    s.clear(layout, tick);
    fill_fields(&layout.room, &schema.room, s.room_mut(), 0x0123, tick / 3)?;
    let kinds = layout.kinds.len();
    if kinds == 0 {
        return Ok(s);
    }
    for i in 0..16u32 {
        if i.wrapping_add(tick) % 7 == 3 {
            continue;
        }
        let id = i * 5 + 2;
        let kind = i as usize % kinds;
        let words = s
            .push(layout, id, kind as u16)
            .expect("ids are pushed in increasing order");
        let phase = if i % 3 == 0 { 0 } else { tick };
        fill_fields(
            &layout.kinds[kind],
            &schema.kinds[kind].fields,
            words,
            u64::from(id),
            phase,
        )?;
    }
    Ok(s)
}

/// [`world_at`] of the test layout, which always succeeds. Memoized: the targets ask for the
/// same few ticks many times per input.
pub fn test_world(tick: u32) -> Snapshot {
    thread_local! {
        static WORLDS: RefCell<HashMap<u32, Snapshot>> = RefCell::new(HashMap::new());
    }
    WORLDS.with(|worlds| {
        let mut worlds = worlds.borrow_mut();
        if worlds.len() >= 256 {
            worlds.clear();
        }
        worlds
            .entry(tick)
            .or_insert_with(|| {
                world_at(&layout(), tick).expect("test world values fit the test schema")
            })
            .clone()
    })
}

/// `make()` memoized by `key` (per thread): frames the prepared sessions are fed every run.
pub fn memo(key: String, make: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    thread_local! {
        static FRAMES: RefCell<HashMap<String, Vec<u8>>> = RefCell::new(HashMap::new());
    }
    FRAMES.with(|frames| {
        let mut frames = frames.borrow_mut();
        if frames.len() >= 256 {
            frames.clear();
        }
        frames.entry(key).or_insert_with(make).clone()
    })
}

/// Valid input words for the input of `layout`, derived from `seed`.
pub fn input_words(layout: &Layout, seed: u64) -> Result<Vec<u32>, ValueError> {
    let mut words = vec![0; layout.input.words];
    fill_fields(&layout.input, &layout.schema().input, &mut words, seed, 0)?;
    Ok(words)
}
