//! Seed inputs of every target: valid frames (and frame sequences) first, then edge cases.
//! `examples/gen_corpus.rs` writes them to `corpus/<target>/`.

use tickwire_protocol::bits::BitWriter;
use tickwire_protocol::message::{CloseCode, CloseReason, ResumeRequest, Signal, Welcome};
use tickwire_protocol::{ClientMessage, FieldType, Layout, Schema, ServerMessage, Snapshot};

use crate::fixture::{
    CLIENT_ID, RESUME_TOKEN, START_TICK, join_frames, layout, test_schema, test_world, world_at,
};
use crate::frames::{
    encode_snapshot_frame, hello_frame, input_frame, snapshot_frame, welcome_frame,
};

/// One seed file.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Target directory under `corpus/`.
    pub target: &'static str,
    /// File name: `valid-*` for inputs every frame of which decodes, `edge-*` otherwise.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// Frames in the input (pieces between separators).
    pub frames: usize,
}

impl Seed {
    /// Whether every frame of the seed is meant to decode.
    pub fn is_valid(&self) -> bool {
        self.name.starts_with("valid-")
    }

    /// A seed of `target` holding `frames`, joined with the separator.
    fn of_frames(target: &'static str, name: &str, frames: &[Vec<u8>]) -> Self {
        Self {
            target,
            name: name.to_owned(),
            frames: frames.len(),
            bytes: join_frames(frames),
        }
    }

    /// A seed of `target` that is one input, not split into frames.
    fn single(target: &'static str, name: &str, bytes: Vec<u8>) -> Self {
        Self {
            target,
            name: name.to_owned(),
            frames: 1,
            bytes,
        }
    }
}

fn client(m: ClientMessage) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out);
    out
}

fn server(m: ServerMessage) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut out);
    out
}

/// A small schema unlike the test schema: one kind, no room, one input field.
pub fn arena_schema() -> Schema {
    Schema::builder("arena")
        .kind("player", |k| {
            k.vec2("pos", 0.0, 4000.0, 1.0 / 16.0)
                .f32("heading", -180.0, 180.0, 0.5)
                .uint("hp", 8)
        })
        .input(|i| i.f32("dx", -1.0, 1.0, 1.0 / 64.0))
        .build()
        .expect("arena schema")
}

fn welcome_with(schema: Schema, resumed: bool) -> Vec<u8> {
    server(ServerMessage::Welcome(Welcome {
        client_id: CLIENT_ID,
        player: None,
        tick_rate: 20,
        tick: START_TICK,
        tick_fraction: 0,
        schema,
        resume_token: RESUME_TOKEN,
        resumed,
    }))
}

fn seeds_client_frame(out: &mut Vec<Seed>) {
    let hash = layout().protocol_hash();
    let mut add = |name: &str, frames: Vec<Vec<u8>>| {
        out.push(Seed::of_frames("client_frame", name, &frames));
    };
    let resume = ResumeRequest {
        token: RESUME_TOKEN,
        last_tick: Some(START_TICK + 3),
    };
    add("valid-hello-pinned", vec![hello_frame(Some(hash), None)]);
    add("valid-hello-generic", vec![hello_frame(None, None)]);
    add(
        "valid-hello-resume",
        vec![hello_frame(Some(hash), Some(resume))],
    );
    add(
        "valid-ping",
        vec![client(ClientMessage::Ping {
            client_time_us: 123_456_789,
        })],
    );
    add(
        "valid-signal-offer",
        vec![client(ClientMessage::Signal(Signal::Offer {
            sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".into(),
        }))],
    );
    add(
        "valid-signal-candidate",
        vec![client(ClientMessage::Signal(Signal::Candidate {
            candidate: "candidate:1 1 udp 2130706431 10.0.0.1 9 typ host".into(),
            mid: Some("0".into()),
        }))],
    );
    add(
        "valid-signal-abandon",
        vec![client(ClientMessage::Signal(Signal::Abandon))],
    );
    add(
        "valid-event",
        vec![client(ClientMessage::Event {
            payload: (0..40).collect(),
        })],
    );
    add("valid-leave", vec![client(ClientMessage::Leave)]);
    add("valid-input-ack-only", vec![input_frame(Some(102), 0, &[])]);
    add("valid-input-one", vec![input_frame(Some(103), 0, &[106])]);
    add(
        "valid-input-redundant",
        vec![input_frame(Some(103), 9, &[110, 109, 109, 107])],
    );
    add(
        "valid-input-eight",
        vec![input_frame(
            None,
            20,
            &[140, 139, 138, 120, 110, 100, 99, 0],
        )],
    );
    add(
        "valid-session-hello-then-play",
        vec![
            hello_frame(Some(hash), None),
            client(ClientMessage::Ping { client_time_us: 5 }),
            input_frame(Some(100), 0, &[102]),
            input_frame(Some(101), 1, &[103, 102]),
            client(ClientMessage::Event {
                payload: vec![1, 2, 3],
            }),
            input_frame(Some(103), 3, &[106, 105, 104]),
            client(ClientMessage::Leave),
        ],
    );
    add(
        "valid-session-play",
        vec![
            input_frame(Some(101), 0, &[105]),
            input_frame(Some(103), 2, &[107, 106, 105]),
            client(ClientMessage::Signal(Signal::EndOfCandidates)),
            input_frame(Some(103), 6, &[120, 119]),
            input_frame(None, 7, &[121]),
        ],
    );

    add("edge-empty", vec![vec![]]);
    add("edge-control-type-only", vec![vec![0x01]]);
    add("edge-input-type-only", vec![vec![0x03]]);
    add("edge-snapshot-type", vec![vec![0x02, 0x00]]);
    add("edge-unknown-type", vec![vec![0xff, 0x00]]);
    add("edge-input-count-15", vec![vec![0x03, 0xf0]]);
    let mut trailing = hello_frame(None, None);
    trailing.push(0);
    add("edge-hello-trailing-byte", vec![trailing]);
    let mut old = hello_frame(None, None);
    old[2] = 0x7f; // wire version (postcard varint) 127
    add("edge-hello-other-wire-version", vec![old]);
    add(
        "edge-hello-room-too-long",
        vec![client(ClientMessage::Hello(
            tickwire_protocol::message::Hello {
                wire_version: tickwire_protocol::WIRE_VERSION,
                protocol_hash: None,
                room: "r".repeat(65),
                auth_token: String::new(),
                resume: None,
            },
        ))],
    );
    add(
        "edge-input-seq-below-count",
        vec![{
            // Four inputs, but the newest has sequence number 1.
            let mut f = vec![tickwire_protocol::FRAME_INPUT];
            let mut w = BitWriter::new(&mut f);
            w.write_uvar(0);
            w.write(4, 4);
            w.write_uvar(1);
            w.write_uvar(9);
            w.finish();
            f
        }],
    );
    add(
        "edge-second-hello",
        vec![hello_frame(Some(hash), None), hello_frame(Some(hash), None)],
    );
}

fn seeds_snapshot(out: &mut Vec<Seed>) {
    let layout = layout();
    let mut add = |name: &str, frames: Vec<Vec<u8>>| {
        out.push(Seed::of_frames("snapshot", name, &frames));
    };
    let t = START_TICK;
    add("valid-full-100", vec![snapshot_frame(t, None, None)]);
    // Empty worlds at two ticks whose uvars differ by a 4-bit group: the end of one of the
    // frames falls in the first half of a byte, the other in the second.
    for tick in [7, 8] {
        let mut empty = Snapshot::new(&layout);
        empty.tick = tick;
        add(
            &format!("valid-full-empty-{tick}"),
            vec![encode_snapshot_frame(&layout, &empty, None, None)],
        );
    }
    add(
        "valid-delta-101",
        vec![snapshot_frame(t + 1, Some(t), Some(0))],
    );
    add(
        "valid-delta-103",
        vec![snapshot_frame(t + 3, Some(t), Some(2))],
    );
    add(
        "valid-delta-130",
        vec![snapshot_frame(t + 30, Some(t), None)],
    );
    let mut same = test_world(t);
    same.tick = t + 1;
    add(
        "valid-delta-unchanged",
        vec![encode_snapshot_frame(&layout, &same, Some(&test_world(t)), None)],
    );
    add(
        "valid-session-deltas",
        vec![
            snapshot_frame(t + 1, Some(t), Some(0)),
            snapshot_frame(t + 2, Some(t + 1), Some(1)),
            snapshot_frame(t + 4, Some(t + 1), Some(3)),
            snapshot_frame(t + 5, None, Some(3)),
            snapshot_frame(t + 6, Some(t + 5), Some(4)),
        ],
    );
    add(
        "valid-session-reordered",
        vec![
            snapshot_frame(t + 2, Some(t), None),
            snapshot_frame(t + 1, Some(t), None),
            snapshot_frame(t + 3, Some(t + 2), None),
        ],
    );

    add("edge-type-only", vec![vec![0x02]]);
    add("edge-all-flags", vec![vec![0x02, 0x0f, 0x00, 0x00]]);
    let full = snapshot_frame(t, None, None);
    add("edge-full-truncated", vec![full[..full.len() / 2].to_vec()]);
    let mut trailing = full.clone();
    trailing.push(0);
    add("edge-full-trailing-byte", vec![trailing]);
    add(
        "edge-delta-missing-baseline",
        vec![snapshot_frame(t + 60, Some(t + 50), None)],
    );
    add("edge-control-frame", vec![welcome_frame(t, false)]);
}

fn seeds_server_frame(out: &mut Vec<Seed>) {
    let mut add = |name: &str, frames: Vec<Vec<u8>>| {
        out.push(Seed::of_frames("server_frame", name, &frames));
    };
    let t = START_TICK;
    add("valid-welcome", vec![welcome_frame(t, false)]);
    add("valid-welcome-resumed", vec![welcome_frame(t + 2, true)]);
    add(
        "valid-pong",
        vec![server(ServerMessage::Pong(
            tickwire_protocol::message::Pong {
                client_time_us: 1_000_000,
                tick: t + 1,
                tick_fraction: 0x8000,
            },
        ))],
    );
    add(
        "valid-signal-answer",
        vec![server(ServerMessage::Signal(Signal::Answer {
            sdp: "v=0\r\n".into(),
        }))],
    );
    add(
        "valid-event",
        vec![server(ServerMessage::Event {
            payload: vec![9; 17],
        })],
    );
    add(
        "valid-close-kicked",
        vec![server(ServerMessage::Close(CloseReason::new(
            CloseCode::KICKED,
            "bye",
        )))],
    );
    add(
        "valid-close-resume-failed",
        vec![server(ServerMessage::Close(CloseReason::new(
            CloseCode::RESUME_FAILED,
            "",
        )))],
    );
    add(
        "valid-close-unknown-code",
        vec![server(ServerMessage::Close(CloseReason::new(
            CloseCode(999),
            "from the future",
        )))],
    );
    add(
        "valid-session-welcome-snapshots",
        vec![
            welcome_frame(t, false),
            snapshot_frame(t, None, None),
            server(ServerMessage::Pong(tickwire_protocol::message::Pong {
                client_time_us: 1_000_000,
                tick: t,
                tick_fraction: 1,
            })),
            snapshot_frame(t + 1, Some(t), Some(0)),
            server(ServerMessage::Event { payload: vec![1] }),
            snapshot_frame(t + 3, Some(t + 1), Some(1)),
            server(ServerMessage::Close(CloseReason::new(
                CloseCode::SERVER_SHUTDOWN,
                "drain",
            ))),
        ],
    );
    add(
        "valid-session-resume",
        vec![
            welcome_frame(t + 2, true),
            snapshot_frame(t + 2, Some(t + 1), Some(1)),
            snapshot_frame(t + 3, Some(t + 2), Some(2)),
        ],
    );
    let arena = arena_schema();
    let arena_layout = Layout::new(&arena).expect("arena layout");
    let arena_world = world_at(&arena_layout, 5).expect("arena world");
    add(
        "valid-session-other-schema",
        vec![
            welcome_with(arena, false),
            encode_snapshot_frame(&arena_layout, &arena_world, None, None),
        ],
    );

    add("edge-empty", vec![vec![]]);
    add("edge-control-type-only", vec![vec![0x01]]);
    add(
        "edge-snapshot-before-welcome",
        vec![snapshot_frame(t, None, None)],
    );
    let mut bad = test_schema();
    bad.kinds[0].fields[0].ty = FieldType::F32 {
        min: f32::NAN,
        max: 1.0,
        precision: 0.1,
        delta_bits: 0,
    };
    add("edge-welcome-bad-schema", vec![welcome_with(bad, false)]);
    let w = welcome_frame(t, false);
    add("edge-welcome-truncated", vec![w[..w.len() - 3].to_vec()]);
    add(
        "edge-second-welcome",
        vec![welcome_frame(t, false), welcome_frame(t, false)],
    );
}

fn schema_seed(schema: &Schema, rest: &[u8]) -> Vec<u8> {
    let mut out = schema.to_bytes();
    out.extend_from_slice(rest);
    out
}

fn full_of(schema: &Schema) -> Vec<u8> {
    let layout = Layout::new(schema).expect("seed schema compiles");
    let world = world_at(&layout, 10).expect("seed world");
    encode_snapshot_frame(&layout, &world, None, None)
}

fn seeds_schema(out: &mut Vec<Seed>) {
    let mut add = |name: &str, bytes: Vec<u8>| out.push(Seed::single("schema", name, bytes));
    let test = test_schema();
    add("valid-test-schema", test.to_bytes());
    add(
        "valid-test-schema-full-snapshot",
        schema_seed(&test, &full_of(&test)),
    );
    add(
        "valid-test-schema-input",
        schema_seed(&test, &input_frame(Some(4), 2, &[10, 9, 9])),
    );
    let arena = arena_schema();
    add(
        "valid-arena-full-snapshot",
        schema_seed(&arena, &full_of(&arena)),
    );
    let empty = Schema::builder("empty").build().expect("empty schema");
    add(
        "valid-empty-full-snapshot",
        schema_seed(&empty, &full_of(&empty)),
    );
    let wide = Schema::builder("wide")
        .kind("k", |k| {
            (0..64).fold(k, |k, i| k.int(&format!("f{i}"), -1, i64::from(i)))
        })
        .room(|r| (0..64).fold(r, |r, i| r.string(&format!("s{i}"), 255)))
        .build()
        .expect("wide schema");
    add(
        "valid-wide-full-snapshot",
        schema_seed(&wide, &full_of(&wide)),
    );

    let mut bad = |name: &str, f: &dyn Fn(&mut Schema)| {
        let mut s = arena_schema();
        f(&mut s);
        assert!(Layout::new(&s).is_err(), "{name} compiles");
        add(name, s.to_bytes());
    };
    let ty = |s: &mut Schema, ty: FieldType| s.kinds[0].fields[0].ty = ty;
    bad("edge-nan-range", &|s| {
        ty(
            s,
            FieldType::F32 {
                min: f32::NAN,
                max: 1.0,
                precision: 0.5,
                delta_bits: 0,
            },
        )
    });
    bad("edge-float-too-wide", &|s| {
        ty(
            s,
            FieldType::Vec3 {
                min: -1.0e30,
                max: 1.0e30,
                precision: 1.0e-30,
                delta_bits: 0,
            },
        )
    });
    bad("edge-int-too-wide", &|s| {
        ty(
            s,
            FieldType::Int {
                min: i64::MIN,
                max: i64::MAX,
                delta_bits: 0,
            },
        )
    });
    bad("edge-delta-bits", &|s| {
        ty(
            s,
            FieldType::Int {
                min: 0,
                max: 15,
                delta_bits: 4,
            },
        )
    });
    bad("edge-quat-bits", &|s| ty(s, FieldType::Quat { bits: 17 }));
    bad("edge-string-empty", &|s| {
        ty(s, FieldType::Str { max_len: 0 })
    });
    bad("edge-enum-empty", &|s| {
        ty(s, FieldType::Enum { variants: vec![] })
    });
    bad("edge-duplicate-field", &|s| {
        let f = s.kinds[0].fields[0].clone();
        s.kinds[0].fields.push(f);
    });
    bad("edge-duplicate-kind", &|s| {
        let k = s.kinds[0].clone();
        s.kinds.push(k);
    });
    bad("edge-65-fields", &|s| {
        let f = s.kinds[0].fields[2].clone();
        s.kinds[0].fields = (0..65)
            .map(|i| {
                let mut f = f.clone();
                f.name = format!("f{i}");
                f
            })
            .collect();
    });
}

fn seeds_round_trip(out: &mut Vec<Seed>) {
    let mut add = |name: &str, bytes: Vec<u8>| out.push(Seed::single("round_trip", name, bytes));
    add("valid-zeros", vec![0; 64]);
    add("valid-ones", vec![0xff; 256]);
    add("valid-counting", (0..=255).collect());
    let mut s = 0x1234_5678_9abc_def0u64;
    add(
        "valid-pseudo-random",
        (0..1024)
            .map(|_| {
                s = tickwire_protocol::testkit::rng::mix(s);
                s as u8
            })
            .collect(),
    );
}

/// Every seed of every target.
pub fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    seeds_client_frame(&mut out);
    seeds_snapshot(&mut out);
    seeds_server_frame(&mut out);
    seeds_schema(&mut out);
    seeds_round_trip(&mut out);
    out
}
