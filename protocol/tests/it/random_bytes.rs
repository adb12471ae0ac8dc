//! Random bytes, and random mutations of valid frames (bit flips, truncation, appended,
//! overwritten, inserted and removed bytes), fed to every decoder of untrusted bytes; the same
//! frames go to the session state machines in [`super::random_sessions`].
//!
//! Nothing may panic. Malformed frames come back as typed errors (frame-type, truncation and
//! trailing-byte errors are checked exactly); whatever decodes survives a re-encode; valid
//! frames decode to exactly what was encoded and re-encode to the same bytes.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use tickwire_protocol::message::{
    CloseCode, CloseReason, MAX_FRAME_LEN, Pong, ResumeRequest, Signal,
};
pub(super) use tickwire_protocol::testkit::fixture::layout;
use tickwire_protocol::testkit::fixture::{fill_fields, test_schema, test_world};
use tickwire_protocol::testkit::frames::{
    encode_snapshot_frame, hello_frame, input_frame, welcome_frame,
};
use tickwire_protocol::{
    ClientMessage, DecodeError, DecodeScratch, FRAME_CONTROL, FRAME_INPUT, FRAME_SNAPSHOT,
    FieldDef, InputPacket, KindLayout, Layout, Schema, ServerMessage, Snapshot, decode_snapshot,
    peek_snapshot_header,
};

// ---------------------------------------------------------------------------------------------
// Shared helpers over the test kit: its schema with every field type, its deterministic worlds
// and its valid frames.
// ---------------------------------------------------------------------------------------------

pub(super) fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Sets every field of `kind` to values derived from `seed` (bounds included).
pub(super) fn fill(kind: &KindLayout, defs: &[FieldDef], words: &mut [u32], seed: u64) {
    fill_fields(kind, defs, words, seed, 0).expect("generated values fit their field");
}

/// One entity to build: id gap from the previous one, kind, value seed.
type EntitySpec = (u32, u16, u64);

fn build(layout: &Layout, tick: u32, room_seed: u64, entities: &[EntitySpec]) -> Snapshot {
    let schema = layout.schema();
    let mut s = Snapshot::new(layout);
    s.clear(layout, tick);
    fill(&layout.room, &schema.room, s.room_mut(), room_seed);
    let mut id = 0u32;
    for (i, &(gap, kind, seed)) in entities.iter().enumerate() {
        id = if i == 0 { gap } else { id + 1 + gap };
        let kind = kind % layout.kinds.len() as u16;
        let words = s.push(layout, id, kind).expect("ids increase");
        let k = usize::from(kind);
        fill(&layout.kinds[k], &schema.kinds[k].fields, words, seed);
    }
    s
}

/// The test kit's world at `tick`.
pub(super) fn world(tick: u32) -> Snapshot {
    test_world(tick)
}

pub(super) fn encode(cur: &Snapshot, base: Option<&Snapshot>, seq: Option<u32>) -> Vec<u8> {
    encode_snapshot_frame(&layout(), cur, base, seq)
}

fn control<T>(encode: impl FnOnce(&T, &mut Vec<u8>), m: &T) -> Vec<u8> {
    let mut out = Vec::new();
    encode(m, &mut out);
    out
}

fn client_frame(m: ClientMessage) -> Vec<u8> {
    control(ClientMessage::encode, &m)
}

fn server_frame(m: ServerMessage) -> Vec<u8> {
    control(ServerMessage::encode, &m)
}

pub(super) fn hello(resume: Option<ResumeRequest>) -> Vec<u8> {
    hello_frame(Some(layout().protocol_hash()), resume)
}

pub(super) fn welcome(resumed: bool) -> Vec<u8> {
    welcome_frame(100, resumed)
}

pub(super) fn input(ack: Option<u32>, newest_seq: u32, ticks: &[u32]) -> Vec<u8> {
    input_frame(ack, newest_seq, ticks)
}

/// Which decoder a valid frame is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Client,
    Server,
    Input,
    Snapshot,
}

#[derive(Debug)]
struct Valid {
    kind: Kind,
    bytes: Vec<u8>,
}

/// Valid frames of every type and variant.
fn valid() -> &'static [Valid] {
    static VALID: OnceLock<Vec<Valid>> = OnceLock::new();
    VALID.get_or_init(|| {
        let mut v = Vec::new();
        let mut add = |kind, bytes| v.push(Valid { kind, bytes });
        let resume = ResumeRequest {
            token: [9; 16],
            last_tick: Some(101),
        };
        add(Kind::Client, hello(None));
        add(Kind::Client, hello(Some(resume)));
        add(
            Kind::Client,
            client_frame(ClientMessage::Ping {
                client_time_us: u64::MAX,
            }),
        );
        add(
            Kind::Client,
            client_frame(ClientMessage::Signal(Signal::Candidate {
                candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(),
                mid: Some("0".into()),
            })),
        );
        add(
            Kind::Client,
            client_frame(ClientMessage::Event {
                payload: vec![7; 33],
            }),
        );
        add(Kind::Client, client_frame(ClientMessage::Leave));
        add(Kind::Server, welcome(false));
        add(Kind::Server, welcome(true));
        add(
            Kind::Server,
            server_frame(ServerMessage::Pong(Pong {
                client_time_us: 5,
                tick: 101,
                tick_fraction: 7,
            })),
        );
        add(
            Kind::Server,
            server_frame(ServerMessage::Signal(Signal::Offer { sdp: "v=0".into() })),
        );
        add(
            Kind::Server,
            server_frame(ServerMessage::Close(CloseReason::new(
                CloseCode::KICKED,
                "bye",
            ))),
        );
        add(Kind::Input, input(None, 0, &[]));
        add(Kind::Input, input(Some(101), 0, &[104]));
        add(Kind::Input, input(Some(102), 12, &[110, 109, 109, 101]));
        add(
            Kind::Input,
            input(Some(u32::MAX - 1), u32::MAX, &[9, 8, 7, 6, 5, 4, 3, 2]),
        );
        add(Kind::Snapshot, encode(&world(100), None, None));
        add(
            Kind::Snapshot,
            encode(&world(101), Some(&world(100)), Some(0)),
        );
        add(
            Kind::Snapshot,
            encode(&world(102), Some(&world(101)), Some(1)),
        );
        add(Kind::Snapshot, encode(&world(140), Some(&world(100)), None));
        let mut same = world(100);
        same.tick = 103;
        add(Kind::Snapshot, encode(&same, Some(&world(100)), Some(2)));
        let mut empty = Snapshot::new(&layout());
        empty.tick = 77;
        add(Kind::Snapshot, encode(&empty, None, None));
        v
    })
}

// ---------------------------------------------------------------------------------------------
// Every decoder at once.
// ---------------------------------------------------------------------------------------------

/// Which decoders accepted a frame.
#[derive(Debug, Default)]
struct Accepted {
    client: bool,
    server: bool,
    input: bool,
    snapshot: bool,
}

impl Accepted {
    fn by(&self, kind: Kind) -> bool {
        match kind {
            Kind::Client => self.client,
            Kind::Server => self.server,
            Kind::Input => self.input,
            Kind::Snapshot => self.snapshot,
        }
    }

    fn any(&self) -> bool {
        self.client || self.server || self.input || self.snapshot
    }
}

/// Errors of every decoder for one frame.
#[derive(Debug)]
struct Errors {
    client: Option<DecodeError>,
    server: Option<DecodeError>,
    input: Option<DecodeError>,
    snapshot: Option<DecodeError>,
}

impl Errors {
    fn of(&self, kind: Kind) -> Option<DecodeError> {
        match kind {
            Kind::Client => self.client,
            Kind::Server => self.server,
            Kind::Input => self.input,
            Kind::Snapshot => self.snapshot,
        }
    }
}

/// Runs every decoder on `frame` (snapshots with the world at their baseline available), checks
/// frame-type errors, agreement between header peek and decode, and round trips of whatever
/// decodes.
fn decode_all(frame: &[u8]) -> (Accepted, Errors) {
    let layout = layout();
    let client = ClientMessage::decode(frame);
    let server = ServerMessage::decode(frame);
    let mut packet = InputPacket::default();
    let input = packet.decode(&layout, frame);
    let peek = peek_snapshot_header(frame);
    let mut scratch = DecodeScratch::default();
    let mut bare = Snapshot::default();
    let no_base = decode_snapshot(&layout, frame, |_| None, &mut scratch, &mut bare);
    let base = peek.ok().and_then(|h| h.baseline).map(world);
    let mut out = Snapshot::default();
    let snapshot = decode_snapshot(
        &layout,
        frame,
        |t| base.as_ref().filter(|b| b.tick == t),
        &mut scratch,
        &mut out,
    );

    match frame.first().copied() {
        None => {
            assert_eq!(client, Err(DecodeError::UnexpectedEnd));
            assert_eq!(server, Err(DecodeError::UnexpectedEnd));
            assert_eq!(input, Err(DecodeError::UnexpectedEnd));
            assert_eq!(peek, Err(DecodeError::UnexpectedEnd));
        }
        Some(b) => {
            if b != FRAME_CONTROL && frame.len() <= MAX_FRAME_LEN {
                assert_eq!(client, Err(DecodeError::UnknownFrame(b)));
                assert_eq!(server, Err(DecodeError::UnknownFrame(b)));
            }
            if b != FRAME_INPUT {
                assert_eq!(input, Err(DecodeError::UnknownFrame(b)));
            }
            if b != FRAME_SNAPSHOT {
                assert_eq!(peek, Err(DecodeError::UnknownFrame(b)));
            }
        }
    }
    if frame.len() > MAX_FRAME_LEN {
        assert_eq!(client, Err(DecodeError::LimitExceeded));
        assert_eq!(server, Err(DecodeError::LimitExceeded));
    }

    match peek {
        Err(e) => {
            assert_eq!(no_base, Err(e), "peek and decode disagree");
            assert_eq!(snapshot, Err(e), "peek and decode disagree");
        }
        Ok(h) => {
            match h.baseline {
                Some(b) => {
                    assert!(b < h.tick);
                    assert_eq!(no_base, Err(DecodeError::MissingBaseline(b)));
                }
                None => assert_eq!(no_base, snapshot),
            }
            if let Ok(d) = snapshot {
                assert_eq!(d, h);
            }
        }
    }

    if let Ok(m) = &client {
        let bytes = client_frame(m.clone());
        assert!(bytes.len() <= frame.len());
        assert_eq!(ClientMessage::decode(&bytes).as_ref(), Ok(m));
    }
    if let Ok(m) = &server {
        let bytes = server_frame(m.clone());
        assert!(bytes.len() <= frame.len());
        let back = ServerMessage::decode(&bytes).expect("re-encoded server message decodes");
        assert_eq!(server_frame(back), bytes);
    }
    if input.is_ok() {
        assert!(packet.len() <= tickwire_protocol::input::MAX_INPUTS_PER_PACKET);
        let mut bytes = Vec::new();
        packet.encode(&layout, &mut bytes);
        let mut back = InputPacket::default();
        back.decode(&layout, &bytes)
            .expect("re-encoded input decodes");
        assert_eq!(back, packet);
    }
    if let Ok(h) = snapshot {
        assert_eq!(out.tick, h.tick);
        let ids = out.ids();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order");
        assert_round_trip(&out, base.as_ref(), h.last_input_seq);
    }

    (
        Accepted {
            client: client.is_ok(),
            server: server.is_ok(),
            input: input.is_ok(),
            snapshot: snapshot.is_ok(),
        },
        Errors {
            client: client.err(),
            server: server.err(),
            input: input.err(),
            snapshot: snapshot.err(),
        },
    )
}

/// A frame nobody built is accepted only by the decoders of its type byte, and every refusal
/// is an error its decoder's layer can give: control frames fail as whole postcard messages,
/// input packets and snapshots value by value (a snapshot's baseline is always at hand here,
/// so a missing one is a bug).
fn assert_refusals_are_typed(frame: &[u8], accepted: &Accepted, errors: &Errors) {
    let first = frame.first().copied();
    if accepted.client || accepted.server {
        assert_eq!(first, Some(FRAME_CONTROL));
    }
    if accepted.input {
        assert_eq!(first, Some(FRAME_INPUT));
    }
    if accepted.snapshot {
        assert_eq!(first, Some(FRAME_SNAPSHOT));
    }
    for kind in [Kind::Client, Kind::Server, Kind::Input, Kind::Snapshot] {
        let Some(e) = errors.of(kind) else {
            assert!(accepted.by(kind));
            continue;
        };
        assert!(!accepted.by(kind));
        use DecodeError as E;
        let expected = match kind {
            Kind::Client | Kind::Server => matches!(
                e,
                E::UnexpectedEnd
                    | E::UnknownFrame(_)
                    | E::LimitExceeded
                    | E::BadMessage
                    | E::TrailingBytes
            ),
            Kind::Input => matches!(
                e,
                E::UnexpectedEnd
                    | E::UnknownFrame(_)
                    | E::LimitExceeded
                    | E::VarintOverflow
                    | E::TrailingBytes
                    | E::BadTick
                    | E::OutOfRange
                    | E::InvalidUtf8
            ),
            Kind::Snapshot => matches!(
                e,
                E::UnexpectedEnd
                    | E::UnknownFrame(_)
                    | E::VarintOverflow
                    | E::TrailingBytes
                    | E::BadTick
                    | E::BadMessage
                    | E::OutOfRange
                    | E::InvalidUtf8
                    | E::UnknownKind(_)
                    | E::BadFieldMask
                    | E::BadEntityIndex
                    | E::DuplicateEntity(_)
            ),
        };
        assert!(expected, "{kind:?} decoder refused {frame:02x?} with {e:?}");
    }
}

/// `cur` encodes (in full, and as a delta against an older `base`) and decodes back to itself.
fn assert_round_trip(cur: &Snapshot, base: Option<&Snapshot>, seq: Option<u32>) {
    let layout = layout();
    let mut scratch = DecodeScratch::default();
    let mut out = Snapshot::default();
    let full = encode(cur, None, seq);
    let h = decode_snapshot(&layout, &full, |_| None, &mut scratch, &mut out)
        .unwrap_or_else(|e| panic!("full snapshot {full:02x?} does not decode: {e}"));
    assert_eq!(
        (h.tick, h.baseline, h.last_input_seq),
        (cur.tick, None, seq)
    );
    assert_eq!(&out, cur);
    if let Some(base) = base.filter(|b| b.tick < cur.tick) {
        let delta = encode(cur, Some(base), seq);
        let h = decode_snapshot(&layout, &delta, |_| Some(base), &mut scratch, &mut out)
            .unwrap_or_else(|e| panic!("delta {delta:02x?} does not decode: {e}"));
        assert_eq!(h.baseline, Some(base.tick));
        assert_eq!(&out, cur);
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize),
    Truncate(usize),
    Append(Vec<u8>),
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => any::<usize>().prop_map(Mutation::FlipBit),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn apply(frame: &mut Vec<u8>, m: &Mutation) {
    let len = frame.len();
    match m {
        Mutation::FlipBit(i) if len > 0 => frame[(i / 8) % len] ^= 1 << (i % 8),
        Mutation::Truncate(n) => frame.truncate(n % (len + 1)),
        Mutation::Append(bytes) => frame.extend_from_slice(bytes),
        Mutation::Set(i, b) if len > 0 => frame[i % len] = *b,
        Mutation::Insert(i, b) => frame.insert(i % (len + 1), *b),
        Mutation::Remove(i) if len > 0 => {
            frame.remove(i % len);
        }
        _ => {}
    }
}

/// A valid frame (its index) with one to four mutations applied.
fn mutated_frame() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (0..valid().len(), prop::collection::vec(mutation(), 1..5)).prop_map(|(i, ms)| {
        let mut f = valid()[i].bytes.clone();
        for m in &ms {
            apply(&mut f, m);
        }
        (i, f)
    })
}

/// Random bytes, mostly starting with a known frame type.
fn random_frame() -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![
        Just(FRAME_CONTROL),
        Just(FRAME_SNAPSHOT),
        Just(FRAME_INPUT),
        any::<u8>()
    ];
    (
        first,
        prop::collection::vec(any::<u8>(), 0..160),
        any::<bool>(),
    )
        .prop_map(|(first, mut rest, typed)| {
            if typed {
                rest.insert(0, first);
            }
            rest
        })
}

/// A frame for a session: valid, mutated or random.
pub(super) fn any_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => (0..valid().len()).prop_map(|i| valid()[i].bytes.clone()),
        3 => mutated_frame().prop_map(|(_, f)| f),
        1 => random_frame(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_frames_decode_and_re_encode_to_the_same_bytes() {
    let layout = layout();
    for (i, v) in valid().iter().enumerate() {
        let (accepted, _) = decode_all(&v.bytes);
        assert!(
            accepted.by(v.kind),
            "valid frame {i} ({:?}) refused",
            v.kind
        );
        let again = match v.kind {
            Kind::Client => client_frame(ClientMessage::decode(&v.bytes).unwrap()),
            Kind::Server => server_frame(ServerMessage::decode(&v.bytes).unwrap()),
            Kind::Input => {
                let mut p = InputPacket::default();
                p.decode(&layout, &v.bytes).unwrap();
                let mut out = Vec::new();
                p.encode(&layout, &mut out);
                out
            }
            Kind::Snapshot => {
                let h = peek_snapshot_header(&v.bytes).unwrap();
                let base = h.baseline.map(world);
                let mut out = Snapshot::default();
                decode_snapshot(
                    &layout,
                    &v.bytes,
                    |_| base.as_ref(),
                    &mut DecodeScratch::default(),
                    &mut out,
                )
                .unwrap();
                encode(&out, base.as_ref(), h.last_input_seq)
            }
        };
        assert_eq!(
            again, v.bytes,
            "valid frame {i} ({:?}) re-encodes differently",
            v.kind
        );
    }
}

#[test]
fn every_strict_prefix_of_a_valid_frame_is_refused() {
    for (i, v) in valid().iter().enumerate() {
        for n in 0..v.bytes.len() {
            let (accepted, errors) = decode_all(&v.bytes[..n]);
            assert!(!accepted.by(v.kind), "frame {i} cut to {n} bytes decodes");
            let e = errors.of(v.kind).expect("an error");
            // A cut frame runs out of bytes (postcard reports its own error), or, in a creation
            // section, has fewer bits left than the entity count needs.
            let ok = match v.kind {
                _ if n == 0 => e == DecodeError::UnexpectedEnd,
                Kind::Client | Kind::Server => e == DecodeError::BadMessage,
                Kind::Input => e == DecodeError::UnexpectedEnd,
                Kind::Snapshot => {
                    matches!(e, DecodeError::UnexpectedEnd | DecodeError::BadEntityIndex)
                }
            };
            assert!(ok, "frame {i} ({:?}) cut to {n} bytes gave {e:?}", v.kind);
        }
    }
}

#[test]
fn empty_worlds_encode_at_every_tick() {
    // A full snapshot without entities has no creation section; the encoder once wrote an
    // empty one anyway, which broke decoding whenever it spilled into a new byte.
    let layout = layout();
    let empty = Snapshot::new(&layout);
    for tick in (0..300).chain([u32::MAX - 1, u32::MAX]) {
        let mut s = empty.clone();
        s.tick = tick;
        for seq in [None, Some(0), Some(1000)] {
            assert_round_trip(&s, None, seq);
        }
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn random_bytes_are_refused_or_round_trip(frame in random_frame()) {
        let (accepted, errors) = decode_all(&frame);
        assert_refusals_are_typed(&frame, &accepted, &errors);
    }

    #[test]
    fn mutated_frames_are_refused_or_round_trip((_, frame) in mutated_frame()) {
        let (accepted, errors) = decode_all(&frame);
        assert_refusals_are_typed(&frame, &accepted, &errors);
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn bytes_after_a_valid_frame_are_trailing_bytes(
        i in 0..valid().len(),
        tail in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let v = &valid()[i];
        let mut frame = v.bytes.clone();
        frame.extend_from_slice(&tail);
        let (accepted, errors) = decode_all(&frame);
        prop_assert!(!accepted.by(v.kind));
        prop_assert_eq!(errors.of(v.kind), Some(DecodeError::TrailingBytes));
    }

    #[test]
    fn a_flipped_type_byte_is_an_unknown_frame(i in 0..valid().len(), b in any::<u8>()) {
        let v = &valid()[i];
        let mut frame = v.bytes.clone();
        frame[0] = b;
        let (accepted, errors) = decode_all(&frame);
        let own_type = match v.kind {
            Kind::Client | Kind::Server => FRAME_CONTROL,
            Kind::Input => FRAME_INPUT,
            Kind::Snapshot => FRAME_SNAPSHOT,
        };
        if b != own_type {
            prop_assert_eq!(errors.of(v.kind), Some(DecodeError::UnknownFrame(b)));
        } else {
            prop_assert!(accepted.by(v.kind));
        }
        if ![FRAME_CONTROL, FRAME_INPUT, FRAME_SNAPSHOT].contains(&b) {
            prop_assert!(!accepted.any());
        }
    }

    #[test]
    fn random_worlds_round_trip(
        base_tick in 0u32..1_000_000,
        advance in 1u32..100,
        room in any::<(u64, u64)>(),
        base in prop::collection::vec((0u32..5, 0u16..3, any::<u64>()), 0..20),
        cur in prop::collection::vec((0u32..5, 0u16..3, any::<u64>()), 0..20),
        seq in prop::option::of(0u32..u32::MAX),
    ) {
        let layout = layout();
        let base = build(&layout, base_tick, room.0, &base);
        let cur = build(&layout, base_tick + advance, room.1, &cur);
        assert_round_trip(&cur, Some(&base), seq);
        assert_round_trip(&base, Some(&cur), seq);
        let mut same = base.clone();
        same.tick += advance;
        assert_round_trip(&same, Some(&base), seq);
    }

    #[test]
    fn random_schema_bytes_never_panic_the_layout_compiler(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            (prop::collection::vec(mutation(), 1..4)).prop_map(|ms| {
                let mut b = test_schema().to_bytes();
                for m in &ms {
                    apply(&mut b, m);
                }
                b
            }),
        ],
    ) {
        let Ok(schema) = postcard::from_bytes::<Schema>(&bytes) else {
            return Ok(());
        };
        // Whatever decodes re-encodes to bytes that decode to the same bytes again, and
        // compiles exactly when it validates, with the same error.
        let again: Schema = postcard::from_bytes(&schema.to_bytes()).expect("re-encoded schema");
        prop_assert_eq!(again.to_bytes(), schema.to_bytes());
        let compiled = Layout::new(&schema);
        prop_assert_eq!(compiled.as_ref().err().cloned(), schema.validate().err());
        let Ok(layout) = compiled else {
            return Ok(());
        };
        prop_assert_eq!(layout.protocol_hash(), schema.protocol_hash());
        let mut s = Snapshot::new(&layout);
        s.tick = 10;
        let frame = encode_snapshot_frame(&layout, &s, None, None);
        let mut out = Snapshot::default();
        let h = decode_snapshot(&layout, &frame, |_| None, &mut DecodeScratch::default(), &mut out);
        prop_assert_eq!(h.map(|h| h.tick), Ok(10));
        prop_assert_eq!(out, s);
    }
}
