//! Golden vectors: fixed frames, with their decoded content, for other implementations of the
//! protocol (the TypeScript SDK) to test their decoders against.
//!
//! The vectors live in `protocol/golden/` (see the README there). This test regenerates every
//! file in memory, compares it byte for byte with the checked-in copy, and decodes every
//! checked-in frame with the Rust decoders to check it matches its `.json` expectation.
//!
//! After an intended wire change, regenerate with
//! `TICKWIRE_UPDATE_GOLDEN=1 cargo test -p tickwire-protocol --test it golden` and review the
//! diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;

use glam::{Quat, Vec2, Vec3};
use serde_json::{Value as Json, json};
use tickwire_protocol::layout::FieldCodec;
use tickwire_protocol::message::{Hello, Pong, ResumeRequest, ResumeToken, Signal, Welcome};
use tickwire_protocol::{
    ClientMessage, CloseCode, CloseReason, DecodeScratch, EncodeScratch, FieldDef, InputPacket,
    KindLayout, Layout, Schema, ServerMessage, Snapshot, SnapshotHeader, WIRE_VERSION,
    decode_snapshot, encode_snapshot,
};

const UPDATE_ENV: &str = "TICKWIRE_UPDATE_GOLDEN";
const REGENERATE: &str =
    "TICKWIRE_UPDATE_GOLDEN=1 cargo test -p tickwire-protocol --test it golden";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

// ---------------------------------------------------------------------------------------------
// The golden schema
// ---------------------------------------------------------------------------------------------

/// Every field type appears in the entity kinds, in the room and in the input. Four kinds make
/// kind ids 2 bits wide; `board` has 36 fields so its change masks are wider than 32 bits.
fn golden_schema() -> Schema {
    Schema::builder("golden")
        .kind("player", |k| {
            k.vec2("pos", -512.0, 512.0, 1.0 / 16.0)
                .vec3("vel", -64.0, 64.0, 1.0 / 32.0)
                .f32("heading", -180.0, 180.0, 0.5)
                .quat("aim", 12)
                .int("hp", 0, 200)
                .int("armor", -50, 50)
                .bool("alive")
                .enumeration("team", &["red", "blue", "green"])
                .enumeration("mode", &["solo"])
                .string("name", 16)
                .f32("heat", 0.1, 0.7, 0.01)
                .delta_bits(3)
        })
        .kind("projectile", |k| {
            k.vec2("pos", -512.0, 512.0, 1.0 / 16.0)
                .uint("owner", 16)
                .uint("ttl", 6)
        })
        .kind("pickup", |k| {
            k.vec2("pos", -512.0, 512.0, 0.5)
                .enumeration("item", &["health", "ammo", "shield", "speed", "mega"])
        })
        .kind("board", |k| {
            (0..36).fold(k, |k, i| k.uint(&format!("c{i:02}"), 3))
        })
        .room(|r| {
            r.uint("round", 16)
                .f32("clock", 0.0, 600.0, 0.1)
                .enumeration("phase", &["warmup", "live", "overtime", "ended"])
                .bool("paused")
                .uint("seed", 32)
                .int("epoch", 5_000_000_000, 5_001_000_000)
                .string("motd", 40)
                .vec2("wind", -10.0, 10.0, 0.05)
                .vec3("gravity", -20.0, 20.0, 0.01)
                .quat("sun", 8)
        })
        .input(|i| {
            i.vec2("move", -1.0, 1.0, 1.0 / 128.0)
                .quat("look", 10)
                .f32("yaw", -180.0, 180.0, 0.25)
                .bool("fire")
                .enumeration("weapon", &["pistol", "rifle", "rocket"])
                .int("jump_power", -8, 7)
                .string("chat", 32)
                .vec3("accel", -4.0, 4.0, 1.0 / 64.0)
        })
        .build()
        .expect("the golden schema compiles")
}

/// A field value to store.
#[derive(Debug, Clone)]
enum V {
    F(f32),
    I(i64),
    B(bool),
    E(&'static str),
    V2(f32, f32),
    V3(f32, f32, f32),
    Q([f32; 4]),
    S(&'static str),
}

// Unit quaternions (x, y, z, w) exact enough that normalizing does not move a quantized value;
// between them the dropped component is each of x, y, z and w, once negative.
const Q_IDENTITY: [f32; 4] = [0.0, 0.0, 0.0, 1.0];
const Q_X: [f32; 4] = [0.8, 0.0, 0.6, 0.0];
const Q_NEG_Y: [f32; 4] = [0.0, -0.8, 0.0, 0.6];
const Q_TIE: [f32; 4] = [0.5, 0.5, 0.5, 0.5];
const Q_NEG_Z: [f32; 4] = [0.36, 0.48, -0.8, 0.0];

#[derive(Debug, Clone, Copy)]
enum Section {
    Kind(u16),
    Room,
    Input,
}

fn section(layout: &Layout, s: Section) -> (&KindLayout, &[FieldDef]) {
    let schema = layout.schema();
    match s {
        Section::Kind(k) => (
            &layout.kinds[usize::from(k)],
            &schema.kinds[usize::from(k)].fields,
        ),
        Section::Room => (&layout.room, &schema.room),
        Section::Input => (&layout.input, &schema.input),
    }
}

fn put(layout: &Layout, s: Section, words: &mut [u32], name: &str, v: &V) {
    let (kl, defs) = section(layout, s);
    let i = kl
        .field(name)
        .unwrap_or_else(|| panic!("no field {name} in {}", kl.name));
    let f = &kl.fields[i];
    let r = match v {
        V::F(x) => f.set_f32(words, *x),
        V::I(x) => f.set_int(words, *x),
        V::B(x) => f.set_bool(words, *x),
        V::E(variant) => {
            let tickwire_protocol::FieldType::Enum { variants } = &defs[i].ty else {
                panic!("{name} is not an enum");
            };
            let idx = variants
                .iter()
                .position(|v| v == variant)
                .unwrap_or_else(|| panic!("no variant {variant} in {name}"));
            f.set_int(words, idx as i64)
        }
        V::V2(x, y) => f.set_vec2(words, Vec2::new(*x, *y)),
        V::V3(x, y, z) => f.set_vec3(words, Vec3::new(*x, *y, *z)),
        V::Q([x, y, z, w]) => f.set_quat(words, Quat::from_xyzw(*x, *y, *z, *w)),
        V::S(x) => f.set_str(words, x),
    };
    r.unwrap_or_else(|e| panic!("setting {name} to {v:?}: {e}"));
}

// ---------------------------------------------------------------------------------------------
// Worlds
// ---------------------------------------------------------------------------------------------

/// Field values by field name.
type Fields = Vec<(&'static str, V)>;

/// A world described by field values; unset fields stay at quantized 0.
#[derive(Debug, Clone, Default)]
struct World {
    room: Fields,
    /// Kind name and fields, by entity id.
    entities: BTreeMap<u32, (&'static str, Fields)>,
}

impl World {
    fn room(&mut self, name: &'static str, v: V) -> &mut Self {
        self.room.retain(|(n, _)| *n != name);
        self.room.push((name, v));
        self
    }

    fn add(&mut self, id: u32, kind: &'static str, fields: Fields) -> &mut Self {
        self.entities.insert(id, (kind, fields));
        self
    }

    fn set(&mut self, id: u32, name: &'static str, v: V) -> &mut Self {
        let fields = &mut self.entities.get_mut(&id).expect("entity exists").1;
        fields.retain(|(n, _)| *n != name);
        fields.push((name, v));
        self
    }

    fn remove(&mut self, id: u32) -> &mut Self {
        self.entities.remove(&id).expect("entity exists");
        self
    }

    fn build(&self, layout: &Layout, tick: u32) -> Snapshot {
        let mut s = Snapshot::new(layout);
        s.clear(layout, tick);
        for (name, v) in &self.room {
            put(layout, Section::Room, s.room_mut(), name, v);
        }
        for (&id, (kind, fields)) in &self.entities {
            let k = layout.kind_id(kind).expect("kind exists");
            let words = s.push(layout, id, k).expect("ids increase");
            for (name, v) in fields {
                put(layout, Section::Kind(k), words, name, v);
            }
        }
        s
    }
}

fn world_basic() -> World {
    let mut w = World::default();
    w.room("round", V::I(3))
        .room("clock", V::F(123.4))
        .room("phase", V::E("live"))
        .room("paused", V::B(false))
        .room("seed", V::I(0xdead_beef))
        .room("epoch", V::I(5_000_123_456))
        .room("motd", V::S("Grüße, 世界! 🎮"))
        .room("wind", V::V2(1.25, -3.5))
        .room("gravity", V::V3(0.0, -9.81, 0.5))
        .room("sun", V::Q(Q_TIE));
    w.add(
        3,
        "player",
        vec![
            ("pos", V::V2(10.5, -20.25)),
            ("vel", V::V3(1.0, 0.0, -2.5)),
            ("heading", V::F(90.0)),
            ("aim", V::Q(Q_IDENTITY)),
            ("hp", V::I(150)),
            ("armor", V::I(-7)),
            ("alive", V::B(true)),
            ("team", V::E("blue")),
            ("mode", V::E("solo")),
            ("name", V::S("Ann")),
            ("heat", V::F(0.35)),
        ],
    )
    .add(
        4,
        "player",
        vec![
            ("pos", V::V2(-100.0, 200.0)),
            ("vel", V::V3(0.0, 0.0, 0.0)),
            ("heading", V::F(-45.5)),
            ("aim", V::Q(Q_X)),
            ("hp", V::I(200)),
            ("armor", V::I(50)),
            ("alive", V::B(true)),
            ("team", V::E("red")),
            ("name", V::S("Björk")),
            ("heat", V::F(0.1)),
        ],
    )
    .add(
        10,
        "projectile",
        vec![
            ("pos", V::V2(0.0, 0.0)),
            ("owner", V::I(3)),
            ("ttl", V::I(40)),
        ],
    )
    .add(
        11,
        "projectile",
        vec![
            ("pos", V::V2(5.0, 5.0)),
            ("owner", V::I(4)),
            ("ttl", V::I(63)),
        ],
    )
    .add(
        20,
        "pickup",
        vec![("pos", V::V2(100.5, -100.5)), ("item", V::E("shield"))],
    )
    .add(21, "board", Vec::new())
    .add(
        40,
        "player",
        vec![
            ("pos", V::V2(511.9, -512.0)),
            ("vel", V::V3(0.0, 0.0, 0.0)),
            ("heading", V::F(180.0)),
            ("aim", V::Q(Q_NEG_Y)),
            ("hp", V::I(0)),
            ("armor", V::I(-50)),
            ("alive", V::B(false)),
            ("team", V::E("green")),
            ("name", V::S("")),
            ("heat", V::F(0.7)),
        ],
    );
    for i in 0..36u32 {
        let name: &'static str = Box::leak(format!("c{i:02}").into_boxed_str());
        w.set(21, name, V::I(i64::from(i % 8)));
    }
    w
}

/// `basic` a few ticks later: five of seven entities moved a little.
fn world_moved() -> World {
    let mut w = world_basic();
    w.set(3, "pos", V::V2(11.0, -19.75))
        .set(3, "heading", V::F(91.0))
        .set(4, "pos", V::V2(-99.5, 200.5))
        .set(4, "heading", V::F(-44.5))
        .set(10, "pos", V::V2(0.5, 0.25))
        .set(10, "ttl", V::I(39))
        .set(11, "pos", V::V2(5.5, 5.25))
        .set(11, "ttl", V::I(62))
        .set(21, "c01", V::I(7))
        .set(21, "c34", V::I(0));
    w
}

/// `moved` with creations, removals, a kind change, room changes, and changes that fit the
/// delta width and that do not.
fn world_mixed() -> World {
    let mut w = world_moved();
    w.room("round", V::I(4))
        .room("clock", V::F(124.0))
        .room("phase", V::E("overtime"))
        .room("seed", V::I(0x00c0_ffee))
        .room("epoch", V::I(5_000_123_000))
        .room("motd", V::S("Final round"));
    w.set(3, "pos", V::V2(400.0, -19.5))
        .set(3, "hp", V::I(149))
        .set(3, "name", V::S("Ann the Bold"))
        .set(3, "team", V::E("red"))
        .set(3, "aim", V::Q(Q_NEG_Z))
        .set(3, "heat", V::F(0.36));
    w.remove(4).remove(10).remove(11);
    w.add(
        11,
        "pickup",
        vec![("pos", V::V2(5.5, 5.25)), ("item", V::E("mega"))],
    );
    w.set(20, "item", V::E("speed"));
    w.set(40, "vel", V::V3(0.5, -0.25, 0.0))
        .set(40, "armor", V::I(-49));
    w.add(
        2,
        "pickup",
        vec![("pos", V::V2(-1.0, -1.0)), ("item", V::E("ammo"))],
    )
    .add(
        12,
        "projectile",
        vec![
            ("pos", V::V2(6.0, 6.0)),
            ("owner", V::I(3)),
            ("ttl", V::I(10)),
        ],
    )
    .add(
        50,
        "player",
        vec![
            ("pos", V::V2(-0.0625, 0.0625)),
            ("vel", V::V3(-64.0, 64.0, 0.03125)),
            ("heading", V::F(-180.0)),
            ("aim", V::Q(Q_IDENTITY)),
            ("hp", V::I(100)),
            ("alive", V::B(true)),
            ("team", V::E("red")),
            ("name", V::S("Zoë")),
            ("heat", V::F(0.5)),
        ],
    )
    .add(
        1000,
        "projectile",
        vec![
            ("pos", V::V2(-512.0, 511.9375)),
            ("owner", V::I(65535)),
            ("ttl", V::I(1)),
        ],
    );
    w
}

/// Forty entities: enough that a delta touching three of them uses sparse mode.
fn world_crowd() -> World {
    let mut w = World::default();
    w.room("round", V::I(9)).room("phase", V::E("warmup"));
    for id in 100..140u32 {
        if id == 120 {
            w.add(
                id,
                "player",
                vec![
                    ("pos", V::V2(0.0, 0.0)),
                    ("aim", V::Q(Q_TIE)),
                    ("hp", V::I(100)),
                    ("alive", V::B(true)),
                    ("name", V::S("Crowd")),
                ],
            );
        } else {
            let i = id as f32;
            w.add(
                id,
                "projectile",
                vec![
                    ("pos", V::V2(i * 3.0 - 200.0, i * 2.0 - 100.0)),
                    ("owner", V::I(i64::from(id))),
                    ("ttl", V::I(i64::from(id % 64))),
                ],
            );
        }
    }
    w
}

fn world_crowd_sparse() -> World {
    let mut w = world_crowd();
    w.remove(101)
        .set(105, "pos", V::V2(115.0625, 110.0))
        .set(120, "hp", V::I(99))
        .remove(131)
        .add(
            140,
            "projectile",
            vec![
                ("pos", V::V2(1.0, 2.0)),
                ("owner", V::I(120)),
                ("ttl", V::I(30)),
            ],
        );
    w
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Case {
    name: String,
    frame: &'static str,
    bin: Vec<u8>,
    json: Json,
}

struct Golden {
    layout: Layout,
    cases: Vec<Case>,
}

fn pretty(v: &Json) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).expect("json");
    s.push('\n');
    s.into_bytes()
}

fn snapshot_flags(frame: &[u8]) -> u8 {
    frame.get(1).map_or(0, |b| b & 0x0f)
}

fn snapshot_json(
    layout: &Layout,
    description: &Json,
    frame: &[u8],
    header: &SnapshotHeader,
    baseline_case: Option<&str>,
    world: &Snapshot,
) -> Json {
    json!({
        "frame": "snapshot",
        "description": description,
        "flags": snapshot_flags(frame),
        "tick": header.tick,
        "baseline": header.baseline,
        "baseline_case": baseline_case,
        "last_input_seq": header.last_input_seq,
        "world": serde_json::to_value(world.to_plain(layout)).expect("json"),
    })
}

fn field_values(kl: &KindLayout, defs: &[FieldDef], words: &[u32]) -> Json {
    let pairs: Vec<Json> = kl
        .fields
        .iter()
        .zip(defs)
        .map(|(f, d)| {
            json!([
                f.name,
                serde_json::to_value(f.value(d, words)).expect("json")
            ])
        })
        .collect();
    Json::Array(pairs)
}

fn input_json(layout: &Layout, description: &Json, p: &InputPacket) -> Json {
    let (kl, defs) = section(layout, Section::Input);
    let inputs: Vec<Json> = p
        .iter()
        .map(|i| {
            json!({
                "seq": i.seq,
                "tick": i.tick,
                "fields": field_values(kl, defs, i.words),
            })
        })
        .collect();
    json!({
        "frame": "input",
        "description": description,
        "ack": p.ack,
        "newest_seq": if p.is_empty() { Json::Null } else { json!(p.newest_seq) },
        "inputs": inputs,
    })
}

/// A control message of one direction, as the golden cases write and read it.
trait Control: serde::Serialize {
    /// `direction` in the case's JSON.
    const DIRECTION: &'static str;

    /// The variant's index: postcard's first byte after the frame type.
    fn variant_index(&self) -> u32;

    fn encode_frame(&self, out: &mut Vec<u8>);
}

impl Control for ClientMessage {
    const DIRECTION: &'static str = "client_to_server";

    fn variant_index(&self) -> u32 {
        match self {
            ClientMessage::Hello(_) => 0,
            ClientMessage::Ping { .. } => 1,
            ClientMessage::Signal(_) => 2,
            ClientMessage::Event { .. } => 3,
            ClientMessage::Leave => 4,
        }
    }

    fn encode_frame(&self, out: &mut Vec<u8>) {
        self.encode(out);
    }
}

impl Control for ServerMessage {
    const DIRECTION: &'static str = "server_to_client";

    fn variant_index(&self) -> u32 {
        match self {
            ServerMessage::Welcome(_) => 0,
            ServerMessage::Pong(_) => 1,
            ServerMessage::Signal(_) => 2,
            ServerMessage::Event { .. } => 3,
            ServerMessage::Close(_) => 4,
        }
    }

    fn encode_frame(&self, out: &mut Vec<u8>) {
        self.encode(out);
    }
}

/// A control message as serde's JSON (externally tagged enums), with the `u64` fields as
/// decimal strings so that JavaScript's `JSON.parse` keeps them exact.
fn message_json<M: Control>(description: &Json, msg: &M) -> Json {
    let mut m = serde_json::to_value(msg).expect("json");
    for path in [
        "/Hello/protocol_hash",
        "/Ping/client_time_us",
        "/Pong/client_time_us",
    ] {
        if let Some(v) = m.pointer_mut(path)
            && let Some(n) = v.as_u64()
        {
            *v = Json::String(n.to_string());
        }
    }
    json!({
        "frame": "control",
        "direction": M::DIRECTION,
        "description": description,
        "variant_index": msg.variant_index(),
        "message": m,
    })
}

/// The case of a control message: its frame and its JSON.
fn control_case<M: Control>(name: &str, msg: &M, description: &str) -> Case {
    let mut bin = Vec::new();
    msg.encode_frame(&mut bin);
    Case {
        name: name.to_owned(),
        frame: "control",
        json: message_json(&json!(description), msg),
        bin,
    }
}

const TOKEN: ResumeToken = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

fn generate() -> Golden {
    let schema = golden_schema();
    let layout = Layout::new(&schema).expect("layout");
    let mut cases = Vec::new();
    let mut worlds: BTreeMap<String, Snapshot> = BTreeMap::new();
    let mut enc = EncodeScratch::default();

    // Snapshots: (name, world, tick, baseline case, last_input_seq, description).
    type SnapshotCase = (
        &'static str,
        World,
        u32,
        Option<&'static str>,
        Option<u32>,
        &'static str,
    );
    let snapshots: Vec<SnapshotCase> = vec![
        (
            "snapshot_full_basic",
            world_basic(),
            100,
            None,
            Some(41),
            "Full snapshot: room fields of every type, 7 entities of 4 kinds (players with \
             every field type, an empty and a multi-byte string, a 36-field board).",
        ),
        (
            "snapshot_delta_mask",
            world_moved(),
            103,
            Some("snapshot_full_basic"),
            Some(44),
            "Delta against snapshot_full_basic, update section in mask mode: 5 of 7 entities \
             changed. Players 3 and 4 (pos, heading) and projectiles 10 and 11 (pos, ttl) \
             all have change mask 0b101, so entities after the first use the 'same mask' \
             bit, across kinds; pos and heading are delta-coded, ttl has no delta width; the \
             board's mask (36 bits) has bits 1 and 34 set.",
        ),
        (
            "snapshot_delta_mixed",
            world_mixed(),
            106,
            Some("snapshot_delta_mask"),
            Some(47),
            "Delta against snapshot_delta_mask: room changes (delta-coded, full-coded, enum, \
             string); player 3 pos too far for its delta width (full-coded), hp delta-coded, \
             name, team, aim and heat changed; 4 and 10 removed; 11 changes kind (removed, \
             then created as a pickup); 20 changed (enum); 40 changed vel (delta-coded, \
             negative component) and armor (no delta width); 2, 11, 12, 50 and 1000 created.",
        ),
        (
            "snapshot_delta_unchanged",
            world_mixed(),
            108,
            Some("snapshot_delta_mixed"),
            Some(47),
            "Delta against snapshot_delta_mixed (2 ticks back) with nothing changed: header \
             only, no flags.",
        ),
        (
            "snapshot_full_crowd",
            world_crowd(),
            5000,
            None,
            None,
            "Full snapshot of 40 entities (ids 100 to 139, one player), no input applied yet.",
        ),
        (
            "snapshot_delta_sparse",
            world_crowd_sparse(),
            5002,
            Some("snapshot_full_crowd"),
            Some(0),
            "Delta against snapshot_full_crowd, update section in sparse mode: 101 removed \
             (the first entry, so its empty mask is sent with the 'same mask' bit: the \
             previous mask starts at 0), 105 moved, 120 changed hp, 131 removed (baseline \
             indices 1, 5, 20, 31); 140 created. Last input sequence 0.",
        ),
        // Tick 9 (an 8-bit uvar) puts the frame's end 2 bits into its last byte. The encoder
        // also writes a creation count of 0 after the room fields of an empty full snapshot,
        // which the decoder does not read: those 4 zero bits must land in the padding for the
        // frame to decode (and for the bytes not to depend on that quirk).
        (
            "snapshot_full_empty",
            World::default(),
            9,
            None,
            None,
            "Full snapshot at tick 9 of an empty world with every room field at quantized \
             value 0: flags FULL only, no creation section.",
        ),
    ];

    for (name, world, tick, base_case, seq, description) in snapshots {
        let snap = world.build(&layout, tick);
        let base = base_case.map(|b| &worlds[b]);
        let mut bin = Vec::new();
        encode_snapshot(&layout, &snap, base, seq, &mut enc, &mut bin);
        let header = SnapshotHeader {
            tick,
            baseline: base.map(|b| b.tick),
            last_input_seq: seq,
        };
        let json = snapshot_json(
            &layout,
            &json!(description),
            &bin,
            &header,
            base_case,
            &snap,
        );
        cases.push(Case {
            name: name.to_owned(),
            frame: "snapshot",
            bin,
            json,
        });
        worlds.insert(name.to_owned(), snap);
    }

    // Input packets.
    let input = |fields: Fields| {
        let mut w = vec![0u32; layout.input.words];
        for (n, v) in &fields {
            put(&layout, Section::Input, &mut w, n, v);
        }
        w
    };
    // Inputs: (name, ack, newest_seq, (tick, words) newest first, description).
    type InputCase = (
        &'static str,
        Option<u32>,
        u32,
        Vec<(u32, Vec<u32>)>,
        &'static str,
    );
    let inputs: Vec<InputCase> = vec![
        (
            "input_first",
            None,
            0,
            vec![(
                101,
                input(vec![
                    ("move", V::V2(0.5, -0.25)),
                    ("look", V::Q(Q_IDENTITY)),
                    ("yaw", V::F(12.5)),
                    ("fire", V::B(true)),
                    ("weapon", V::E("rifle")),
                    ("jump_power", V::I(-8)),
                    ("chat", V::S("hi")),
                    ("accel", V::V3(0.0, 0.0, 0.0)),
                ]),
            )],
            "First input (sequence 0) before any snapshot was decoded: no ack.",
        ),
        (
            "input_redundant",
            Some(103),
            42,
            vec![
                (
                    110,
                    input(vec![
                        ("move", V::V2(1.0, 0.0)),
                        ("look", V::Q(Q_NEG_Z)),
                        ("yaw", V::F(-179.75)),
                        ("fire", V::B(false)),
                        ("weapon", V::E("rocket")),
                        ("jump_power", V::I(7)),
                        ("chat", V::S("gg ✓")),
                        ("accel", V::V3(-4.0, 4.0, 0.015625)),
                    ]),
                ),
                (
                    109,
                    input(vec![
                        ("move", V::V2(0.75, -1.0)),
                        ("look", V::Q(Q_X)),
                        ("yaw", V::F(0.0)),
                        ("fire", V::B(true)),
                        ("weapon", V::E("pistol")),
                        ("jump_power", V::I(0)),
                        ("accel", V::V3(1.5, -0.5, 0.0)),
                    ]),
                ),
                (
                    109,
                    input(vec![
                        ("move", V::V2(0.3, 0.3)),
                        ("look", V::Q(Q_NEG_Y)),
                        ("yaw", V::F(33.3)),
                        ("fire", V::B(true)),
                        ("weapon", V::E("rifle")),
                        ("jump_power", V::I(-1)),
                        ("chat", V::S("a")),
                    ]),
                ),
                (
                    106,
                    input(vec![
                        ("move", V::V2(-1.0, 1.0)),
                        ("look", V::Q(Q_TIE)),
                        ("yaw", V::F(180.0)),
                        ("chat", V::S("first of four")),
                    ]),
                ),
            ],
            "Four inputs, sequences 42 (newest, tick 110) down to 39 (tick 106); two share \
             tick 109 (tick gap 0); ack 103.",
        ),
        (
            "input_ack_only",
            Some(106),
            0,
            Vec::new(),
            "Ack-only packet: ack 106, no inputs.",
        ),
        (
            "input_full_packet",
            Some(5002),
            1_000_000,
            (0..8u32)
                .map(|k| {
                    let yaw = 10.0 * k as f32;
                    (
                        5010 - 2 * k,
                        input(vec![
                            ("move", V::V2(0.0, 1.0)),
                            ("look", V::Q(Q_IDENTITY)),
                            ("yaw", V::F(yaw)),
                            ("weapon", V::E("rocket")),
                            ("jump_power", V::I(i64::from(k) - 4)),
                        ]),
                    )
                })
                .collect(),
            "The most inputs a packet may carry (8): sequences 1000000 down to 999993, ticks \
             5010 down to 4996 in steps of 2; ack 5002.",
        ),
    ];
    for (name, ack, newest_seq, items, description) in inputs {
        let mut p = InputPacket::default();
        p.clear(layout.input.words);
        p.ack = ack;
        p.newest_seq = newest_seq;
        for (tick, words) in &items {
            assert!(p.push_older(*tick, words));
        }
        let mut bin = Vec::new();
        p.encode(&layout, &mut bin);
        cases.push(Case {
            name: name.to_owned(),
            frame: "input",
            json: input_json(&layout, &json!(description), &p),
            bin,
        });
    }

    // Control messages, client to server.
    let hash = layout.protocol_hash();
    let client: Vec<(&str, ClientMessage, &str)> = vec![
        (
            "client_hello",
            ClientMessage::Hello(Hello {
                wire_version: WIRE_VERSION,
                protocol_hash: Some(hash),
                room: "lobby".into(),
                auth_token: String::new(),
                resume: None,
            }),
            "Hello from a client built for the golden schema (its protocol hash), no resume.",
        ),
        (
            "client_hello_resume",
            ClientMessage::Hello(Hello {
                wire_version: WIRE_VERSION,
                protocol_hash: Some(hash),
                room: "arena-7".into(),
                auth_token: "token-é".into(),
                resume: Some(ResumeRequest {
                    token: TOKEN,
                    last_tick: Some(106),
                }),
            }),
            "Hello asking to resume a session, holding tick 106.",
        ),
        (
            "client_hello_generic_resume",
            ClientMessage::Hello(Hello {
                wire_version: WIRE_VERSION,
                protocol_hash: None,
                room: String::new(),
                auth_token: String::new(),
                resume: Some(ResumeRequest {
                    token: TOKEN,
                    last_tick: None,
                }),
            }),
            "Hello from a generic client (no protocol hash) resuming without any decoded tick.",
        ),
        (
            "client_ping",
            ClientMessage::Ping {
                client_time_us: 1_700_000_123_456_789,
            },
            "Clock ping.",
        ),
        (
            "client_signal_offer",
            ClientMessage::Signal(Signal::Offer {
                sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n".into(),
            }),
            "WebRTC offer.",
        ),
        (
            "client_signal_answer",
            ClientMessage::Signal(Signal::Answer {
                sdp: "v=0\r\n".into(),
            }),
            "WebRTC answer.",
        ),
        (
            "client_signal_candidate",
            ClientMessage::Signal(Signal::Candidate {
                candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host".into(),
                mid: Some("0".into()),
            }),
            "ICE candidate with a media stream id.",
        ),
        (
            "client_signal_candidate_no_mid",
            ClientMessage::Signal(Signal::Candidate {
                candidate: "candidate:2 1 udp 1 198.51.100.7 9 typ srflx".into(),
                mid: None,
            }),
            "ICE candidate without a media stream id.",
        ),
        (
            "client_signal_end_of_candidates",
            ClientMessage::Signal(Signal::EndOfCandidates),
            "End of ICE candidates.",
        ),
        (
            "client_signal_abandon",
            ClientMessage::Signal(Signal::Abandon),
            "Giving up on WebRTC.",
        ),
        (
            "client_event",
            ClientMessage::Event {
                payload: (0..130u32).map(|i| (i * 7) as u8).collect(),
            },
            "Game event with a 130-byte payload (two-byte length varint).",
        ),
        ("client_leave", ClientMessage::Leave, "Leaving on purpose."),
    ];
    for (name, msg, description) in client {
        cases.push(control_case(name, &msg, description));
    }

    // Control messages, server to client.
    let server: Vec<(&str, ServerMessage, &str)> = vec![
        (
            "server_welcome",
            ServerMessage::Welcome(Welcome {
                client_id: 7,
                player: Some(3),
                tick_rate: 30,
                tick: 100,
                tick_fraction: 32768,
                schema: schema.clone(),
                resume_token: TOKEN,
                resumed: false,
            }),
            "Welcome carrying the golden schema; the client controls entity 3.",
        ),
        (
            "server_welcome_resumed",
            ServerMessage::Welcome(Welcome {
                client_id: 300,
                player: None,
                tick_rate: 60,
                tick: 70_000,
                tick_fraction: 0,
                schema: schema.clone(),
                resume_token: TOKEN,
                resumed: true,
            }),
            "Welcome continuing an earlier session, no player entity.",
        ),
        (
            "server_pong",
            ServerMessage::Pong(Pong {
                client_time_us: 1_700_000_123_456_789,
                tick: 5000,
                tick_fraction: 12345,
            }),
            "Answer to client_ping.",
        ),
        (
            "server_signal_answer",
            ServerMessage::Signal(Signal::Answer {
                sdp: "v=0\r\n".into(),
            }),
            "WebRTC answer from the server.",
        ),
        (
            "server_event",
            ServerMessage::Event {
                payload: b"round over".to_vec(),
            },
            "Game event from the server.",
        ),
        (
            "server_close",
            ServerMessage::Close(CloseReason::new(
                CloseCode::PROTOCOL_MISMATCH,
                "client protocol hash differs",
            )),
            "Close with code 1 (protocol_mismatch).",
        ),
        (
            "server_close_unknown_code",
            ServerMessage::Close(CloseReason::new(CloseCode(300), "")),
            "Close with a code this version does not name (300, two-byte varint) and an \
             empty message.",
        ),
    ];
    for (name, msg, description) in server {
        cases.push(control_case(name, &msg, description));
    }

    Golden { layout, cases }
}

fn layout_json(layout: &Layout) -> Json {
    let kind = |kl: &KindLayout| {
        let fields: Vec<Json> = kl
            .fields
            .iter()
            .map(|f| {
                let codec = match f.codec {
                    FieldCodec::Numeric {
                        bits,
                        max,
                        comps,
                        delta_bits,
                        ..
                    } => json!({
                        "type": "numeric",
                        "bits": bits,
                        "max": max,
                        "components": comps,
                        "delta_bits": delta_bits,
                    }),
                    FieldCodec::Quat { bits } => json!({"type": "quat", "bits": bits}),
                    FieldCodec::Str { max_len, len_bits } => {
                        json!({"type": "string", "max_len": max_len, "len_bits": len_bits})
                    }
                };
                json!({"name": f.name, "codec": codec})
            })
            .collect();
        json!({"name": kl.name, "fields": fields})
    };
    json!({
        "kind_bits": layout.kind_bits,
        "kinds": layout.kinds.iter().map(kind).collect::<Vec<_>>(),
        "room": kind(&layout.room),
        "input": kind(&layout.input),
    })
}

/// Every generated file, by name.
fn files(g: &Golden) -> BTreeMap<String, Vec<u8>> {
    let schema = g.layout.schema();
    let mut out = BTreeMap::new();
    out.insert("schema.bin".to_owned(), schema.to_bytes());
    out.insert(
        "schema.json".to_owned(),
        pretty(&serde_json::to_value(schema).expect("json")),
    );
    let hash = g.layout.protocol_hash();
    let manifest = json!({
        "wire_version": WIRE_VERSION,
        "protocol_hash": format!("{hash:016x}"),
        "protocol_hash_decimal": hash.to_string(),
        "layout": layout_json(&g.layout),
        "cases": g.cases.iter().map(|c| {
            let mut m = json!({"name": c.name, "frame": c.frame});
            if let Some(b) = c.json.get("baseline_case").filter(|b| !b.is_null()) {
                m["baseline_case"] = b.clone();
            }
            if let Some(d) = c.json.get("direction") {
                m["direction"] = d.clone();
            }
            m
        }).collect::<Vec<_>>(),
    });
    out.insert("manifest.json".to_owned(), pretty(&manifest));
    for c in &g.cases {
        out.insert(format!("{}.bin", c.name), c.bin.clone());
        out.insert(format!("{}.json", c.name), pretty(&c.json));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// With `TICKWIRE_UPDATE_GOLDEN=1`, rewrites the vectors (once per test run, before any test
/// reads them) and removes vectors no longer generated.
fn update_if_asked() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if !std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1") {
            return;
        }
        let expected = files(&generate());
        let dir = golden_dir();
        std::fs::create_dir_all(&dir).expect("create protocol/golden");
        for entry in std::fs::read_dir(&dir).expect("read protocol/golden") {
            let path = entry.expect("dir entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if is_generated(name) && !expected.contains_key(name) {
                std::fs::remove_file(&path).expect("remove stale vector");
            }
        }
        for (name, bytes) in &expected {
            let path = dir.join(name);
            if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                std::fs::write(&path, bytes).expect("write vector");
            }
        }
    });
}

fn is_generated(name: &str) -> bool {
    name.ends_with(".bin") || name.ends_with(".json")
}

#[test]
fn golden_vectors_are_up_to_date() {
    update_if_asked();
    let expected = files(&generate());
    let dir = golden_dir();

    let mut problems = String::new();
    for (name, bytes) in &expected {
        match std::fs::read(dir.join(name)) {
            Ok(on_disk) if on_disk == *bytes => {}
            Ok(on_disk) => {
                let _ = writeln!(
                    problems,
                    "  {name}: differs (checked in {} bytes, generated {} bytes, first \
                     difference at byte {})",
                    on_disk.len(),
                    bytes.len(),
                    first_difference(&on_disk, bytes)
                );
            }
            Err(e) => {
                let _ = writeln!(problems, "  {name}: cannot read checked-in file: {e}");
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_generated(&name) && !expected.contains_key(&name) {
                let _ = writeln!(problems, "  {name}: checked in but no longer generated");
            }
        }
    }
    assert!(
        problems.is_empty(),
        "golden vectors in {} do not match what the protocol code produces:\n{problems}\
         If the wire format changed on purpose, regenerate them with\n  {REGENERATE}\n\
         and review the diff (the TypeScript SDK tests decode these files).",
        dir.display()
    );
}

#[test]
fn golden_generation_round_trips_in_memory() {
    // The worlds put into the encoder come back out of the decoder unchanged.
    let g = generate();
    let mut decoded: BTreeMap<&str, Snapshot> = BTreeMap::new();
    let mut scratch = DecodeScratch::default();
    for c in g.cases.iter().filter(|c| c.frame == "snapshot") {
        let base = c.json["baseline_case"].as_str().map(|b| &decoded[b]);
        let mut out = Snapshot::default();
        decode_snapshot(&g.layout, &c.bin, |_| base, &mut scratch, &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let world = serde_json::to_value(out.to_plain(&g.layout)).expect("json");
        assert_eq!(world, c.json["world"], "{}", c.name);
        decoded.insert(&c.name, out);
    }
    // Every float written is an f32 value (as an f64, exactly).
    fn check_floats(name: &str, v: &Json) {
        match v {
            Json::Number(n) if n.is_f64() => {
                let f = n.as_f64().expect("f64");
                assert_eq!(f64::from(f as f32), f, "{name}: {f} is not an f32");
            }
            Json::Array(a) => a.iter().for_each(|x| check_floats(name, x)),
            Json::Object(o) => o.values().for_each(|x| check_floats(name, x)),
            _ => {}
        }
    }
    for c in &g.cases {
        check_floats(&c.name, &c.json);
    }
    // The cases exercise what their descriptions claim.
    let flags = |name: &str| {
        let c = g.cases.iter().find(|c| c.name == name).expect("case");
        snapshot_flags(&c.bin)
    };
    assert_eq!(flags("snapshot_full_basic"), 1 | 8);
    assert_eq!(flags("snapshot_full_empty"), 1);
    assert_eq!(flags("snapshot_delta_mask"), 4);
    assert_eq!(flags("snapshot_delta_mixed"), 2 | 4 | 8);
    assert_eq!(flags("snapshot_delta_unchanged"), 0);
    assert_eq!(flags("snapshot_delta_sparse"), 4 | 8);
    assert_eq!(g.layout.kind_bits, 2);
}

/// Decodes every checked-in frame with the Rust decoders and compares with its `.json`.
#[test]
fn golden_files_decode_to_their_expectations() {
    update_if_asked();
    let dir = golden_dir();
    let read = |name: &str| {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| {
            panic!("cannot read golden/{name} ({e}); generate the vectors with\n  {REGENERATE}")
        })
    };
    let parse = |name: &str| -> Json {
        serde_json::from_slice(&read(name)).unwrap_or_else(|e| panic!("golden/{name}: {e}"))
    };

    let schema: Schema = postcard::from_bytes(&read("schema.bin")).expect("schema.bin decodes");
    let from_json: Schema =
        serde_json::from_value(parse("schema.json")).expect("schema.json decodes");
    assert_eq!(schema, from_json, "schema.bin and schema.json disagree");
    assert_eq!(
        schema,
        golden_schema(),
        "schema.bin is not the golden schema"
    );
    let layout = Layout::new(&schema).expect("golden schema compiles");
    let manifest = parse("manifest.json");
    assert_eq!(
        manifest["protocol_hash"],
        json!(format!("{:016x}", layout.protocol_hash()))
    );

    let mut decoded: BTreeMap<String, Snapshot> = BTreeMap::new();
    let mut scratch = DecodeScratch::default();
    let cases = manifest["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let bin = read(&format!("{name}.bin"));
        let expected_text = read(&format!("{name}.json"));
        let expected = parse(&format!("{name}.json"));
        let description = &expected["description"];
        let actual = match case["frame"].as_str() {
            Some("snapshot") => {
                let base_case = expected["baseline_case"].as_str();
                let base = base_case.map(|b| {
                    decoded
                        .get(b)
                        .unwrap_or_else(|| panic!("{name}: baseline {b} not decoded before it"))
                });
                let mut out = Snapshot::default();
                let header = decode_snapshot(&layout, &bin, |_| base, &mut scratch, &mut out)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let json = snapshot_json(&layout, description, &bin, &header, base_case, &out);
                decoded.insert(name.to_owned(), out);
                json
            }
            Some("input") => {
                let mut p = InputPacket::default();
                p.decode(&layout, &bin)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                input_json(&layout, description, &p)
            }
            Some("control") => match expected["direction"].as_str() {
                Some("client_to_server") => {
                    let m = ClientMessage::decode(&bin).unwrap_or_else(|e| panic!("{name}: {e}"));
                    message_json(description, &m)
                }
                Some("server_to_client") => {
                    let m = ServerMessage::decode(&bin).unwrap_or_else(|e| panic!("{name}: {e}"));
                    message_json(description, &m)
                }
                other => panic!("{name}: bad direction {other:?}"),
            },
            other => panic!("{name}: bad frame {other:?}"),
        };
        // Compared as text: floats are written as the shortest decimal of the exact f32
        // value, which serde_json's default float parser may not read back to the same f64.
        let actual_text = pretty(&actual);
        assert!(
            actual_text == expected_text,
            "golden/{name}.bin does not decode to golden/{name}.json; decoded:\n{}",
            String::from_utf8_lossy(&actual_text)
        );
        if case["frame"] == "control" {
            // The variant index is postcard's first byte after the frame type (all < 128).
            assert_eq!(
                Some(&bin[1]),
                expected["variant_index"].as_u64().map(|v| v as u8).as_ref()
            );
        }
    }
}
