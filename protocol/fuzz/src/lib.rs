//! Fuzz targets of `tickwire-protocol`, as plain functions of the input bytes.
//!
//! Each `fuzz_targets/<name>.rs` calls the function of the same name. The rule under test: no
//! byte sequence panics a decoder or a session, errors are typed, and whatever decodes is
//! valid (values in range, ids in order) and survives an encode/decode round trip.
//!
//! Inputs of the session-driving targets may hold several frames separated by
//! [`fixture::SEP`]; an input without it is one frame.

#![forbid(unsafe_code)]

pub mod check;
pub mod seeds;
pub mod sessions;

/// The fixture schema, worlds and frame builders: the test kit of `tickwire-protocol`, shared
/// with its tests.
pub use tickwire_protocol::testkit::{fixture, frames};

use tickwire_protocol::message::{
    CloseCode, CloseReason, Hello, MAX_AUTH_TOKEN_LEN, MAX_CANDIDATE_LEN, MAX_CLOSE_MESSAGE_LEN,
    MAX_EVENT_LEN, MAX_FRAME_LEN, MAX_ROOM_NAME_LEN, Signal, Welcome,
};
use tickwire_protocol::{
    ClientMessage, DecodeError, InputPacket, Layout, Schema, ServerMessage, Snapshot,
};

use check::{
    check_client_message, check_input_frame, check_input_packet, check_server_message,
    check_snapshot, check_snapshot_frame, check_snapshot_round_trip,
};
use fixture::{layout, set_field, split_frames, test_world, world_at};
use sessions::{ClientHarness, ClientStart, ServerHarness, ServerStart};

/// Bytes from a client: decoded as a control frame and as an input packet, and fed to a
/// server session in each state (awaiting the hello, awaiting accept, established, resumed).
pub fn client_frame(data: &[u8]) {
    let layout = layout();
    let frames = split_frames(data);
    for f in &frames {
        check_client_message(f);
        check_input_frame(&layout, f);
    }
    for start in ServerStart::ALL {
        let mut server = ServerHarness::new(start);
        for f in &frames {
            let _ = server.feed(f);
        }
    }
}

/// Bytes from a server, as snapshots: decoded with no baseline, with the test world as the
/// baseline, and with an empty baseline; then fed to a client session that holds the full
/// snapshot of tick 100.
pub fn snapshot(data: &[u8]) {
    let layout = layout();
    let frames = split_frames(data);
    for f in &frames {
        check_snapshot_frame(&layout, f, |b| Some(test_world(b)));
        check_snapshot_frame(&layout, f, |b| {
            let mut s = Snapshot::new(&layout);
            s.clear(&layout, b);
            Some(s)
        });
    }
    let mut client = ClientHarness::new(ClientStart::Established);
    for f in &frames {
        let _ = client.feed(f);
    }
}

/// Bytes from a server, as control frames: decoded, and fed to a client session in each state
/// (idle, handshaking, handshaking pinned to the test schema, established, reconnecting). A
/// welcome's schema is compiled with `Layout::new`.
pub fn server_frame(data: &[u8]) {
    let frames = split_frames(data);
    for f in &frames {
        check_server_message(f);
    }
    for start in ClientStart::ALL {
        let mut client = ClientHarness::new(start);
        for f in &frames {
            let _ = client.feed(f);
        }
    }
}

/// A postcard schema (as in a welcome) followed by one frame. The schema is compiled; when it
/// compiles, its states round-trip, the frame is decoded with it as a snapshot and as an input
/// packet, and a client welcomed with it takes a snapshot and the frame.
pub fn schema(data: &[u8]) {
    let Ok((schema, rest)) = postcard::take_from_bytes::<Schema>(data) else {
        return;
    };
    let Ok(layout) = Layout::new(&schema) else {
        return;
    };
    let again = Layout::new(layout.schema()).expect("a compiled schema compiles again");
    assert_eq!(again.protocol_hash(), layout.protocol_hash());
    let bytes = schema.to_bytes();
    let back: Schema = postcard::from_bytes(&bytes).expect("a schema's bytes decode");
    assert_eq!(back.to_bytes(), bytes);

    let empty = Snapshot::new(&layout);
    check_snapshot(&layout, &empty);
    check_snapshot_round_trip(&layout, &empty, None, None);
    let w10 = world_at(&layout, 10).expect("in-range values fit a compiled layout");
    let w11 = world_at(&layout, 11).expect("in-range values fit a compiled layout");
    check_snapshot(&layout, &w10);
    check_snapshot(&layout, &w11);
    check_snapshot_round_trip(&layout, &w11, Some(&w10), Some(3));
    check_snapshot_round_trip(&layout, &w10, Some(&empty), None);

    check_snapshot_frame(&layout, rest, |b| world_at(&layout, b).ok());
    check_input_frame(&layout, rest);

    let mut welcome = Vec::new();
    ServerMessage::Welcome(Welcome {
        client_id: 1,
        player: None,
        tick_rate: 60,
        tick: 9,
        tick_fraction: 0,
        schema,
        resume_token: [1; 16],
        resumed: false,
    })
    .encode(&mut welcome);
    if welcome.len() > MAX_FRAME_LEN {
        return;
    }
    let mut client = ClientHarness::new(ClientStart::Handshaking);
    client
        .feed(&welcome)
        .expect("a welcome whose schema compiles is accepted");
    let full = frames::encode_snapshot_frame(&layout, &w10, None, None);
    client.feed(&full).expect("a valid snapshot is taken");
    assert_eq!(client.session.world(), Some(&w10));
    let _ = client.feed(rest);
}

/// Reads numbers off the input; zeros once it runs out.
#[derive(Debug)]
struct Unstructured<'a>(&'a [u8]);

impl Unstructured<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }

    fn string(&mut self, n: usize) -> String {
        let b = self.bytes(n);
        String::from_utf8_lossy(&b).into_owned()
    }
}

type Entity = (u32, u16, Vec<u32>);

fn entity(layout: &Layout, u: &mut Unstructured<'_>, id: u32, kind: u16) -> Entity {
    let kl = &layout.kinds[usize::from(kind)];
    let defs = &layout.schema().kinds[usize::from(kind)].fields;
    let mut words = vec![0; kl.words];
    for (i, def) in defs.iter().enumerate() {
        set_field(kl, i, def, &mut words, u.u64(), u32::from(u.u8()))
            .expect("generated values fit");
    }
    (id, kind, words)
}

fn snapshot_of(layout: &Layout, tick: u32, room: &[u32], entities: &[Entity]) -> Snapshot {
    let mut s = Snapshot::new(layout);
    s.clear(layout, tick);
    s.room_mut().copy_from_slice(room);
    for (id, kind, words) in entities {
        s.push(layout, *id, *kind)
            .expect("ids increase")
            .copy_from_slice(words);
    }
    s
}

/// Structured input: a baseline world and a changed world (fields changed by a little or a
/// lot, entities removed, created, or recreated with another kind) of the test schema, an
/// input packet and control messages, all built from the bytes. Every one must survive an
/// encode/decode round trip, and control messages over a length limit must be refused.
pub fn round_trip(data: &[u8]) {
    let layout = layout();
    let schema = layout.schema();
    let mut u = Unstructured(data);
    let kinds = layout.kinds.len() as u8;

    // Baseline.
    let base_tick = u.u32() >> (u.u8() % 32);
    let mut room = vec![0; layout.room.words];
    for (i, def) in schema.room.iter().enumerate() {
        set_field(&layout.room, i, def, &mut room, u.u64(), 0).expect("room value fits");
    }
    let mut base = Vec::new();
    let mut id = u32::from(u.u8() % 4);
    for _ in 0..u.u8() % 48 {
        let kind = u16::from(u.u8() % kinds);
        base.push(entity(&layout, &mut u, id, kind));
        let gap = match u.u8() {
            255 => u.u32(),
            b => u32::from(b % 4),
        };
        match id.checked_add(1).and_then(|i| i.checked_add(gap)) {
            Some(next) => id = next,
            None => break,
        }
    }
    let base = snapshot_of(&layout, base_tick, &room, &base);
    check_snapshot(&layout, &base);

    // Changed world.
    let cur_tick = base_tick.saturating_add(1 + u32::from(u.u8()));
    for (i, def) in schema.room.iter().enumerate() {
        if u.u8() % 4 == 0 {
            set_field(&layout.room, i, def, &mut room, u.u64(), u32::from(u.u8()))
                .expect("room value fits");
        }
    }
    let mut cur: Vec<Entity> = Vec::new();
    for (id, kind, words) in base.iter() {
        match u.u8() % 6 {
            0 => {}
            1 => cur.push(entity(&layout, &mut u, id, (kind + 1) % u16::from(kinds))),
            2 => cur.push(entity(&layout, &mut u, id, kind)),
            _ => {
                let mut words = words.to_vec();
                let kl = &layout.kinds[usize::from(kind)];
                let defs = &schema.kinds[usize::from(kind)].fields;
                let seed = u.u64();
                for (i, def) in defs.iter().enumerate() {
                    if u.u8() % 3 == 0 {
                        set_field(kl, i, def, &mut words, seed ^ i as u64, u32::from(u.u8()))
                            .expect("generated values fit");
                    }
                }
                cur.push((id, kind, words));
            }
        }
    }
    for _ in 0..u.u8() % 8 {
        let id = u.u32() % 256;
        if cur.iter().all(|e| e.0 != id) {
            let kind = u16::from(u.u8() % kinds);
            cur.push(entity(&layout, &mut u, id, kind));
        }
    }
    cur.sort_by_key(|e| e.0);
    let cur = snapshot_of(&layout, cur_tick, &room, &cur);
    check_snapshot(&layout, &cur);
    // `last_input_seq + 1` is what goes on the wire, so u32::MAX is not representable.
    let seq = match u.u8() % 3 {
        0 => None,
        _ => Some(u.u32().min(u32::MAX - 1)),
    };
    check_snapshot_round_trip(&layout, &cur, Some(&base), seq);
    check_snapshot_round_trip(&layout, &base, None, seq);

    // Input packet.
    let count = usize::from(u.u8() % 9);
    let mut p = InputPacket::default();
    p.clear(layout.input.words);
    p.ack = match u.u8() % 3 {
        0 => None,
        _ => Some(u.u32().min(u32::MAX - 1)),
    };
    // An empty packet carries no sequence number; a full one numbers down without wrapping.
    p.newest_seq = match count {
        0 => 0,
        n => u.u32().max(n as u32 - 1),
    };
    let mut tick = u.u32();
    for _ in 0..count {
        let mut words = vec![0; layout.input.words];
        for (i, def) in schema.input.iter().enumerate() {
            set_field(&layout.input, i, def, &mut words, u.u64(), 0).expect("input fits");
        }
        assert!(p.push_older(tick, &words));
        tick = tick.saturating_sub(u32::from(u.u8() % 3));
    }
    check_input_packet(&layout, &p);

    // Control messages, some over their limits.
    let room_len = usize::from(u.u8() % 80);
    let hello = ClientMessage::Hello(Hello {
        wire_version: u.u8().into(),
        protocol_hash: Some(u.u64()),
        room: u.string(room_len),
        auth_token: "t".repeat(usize::from(u.u8()) * 20),
        resume: None,
    });
    let event_len = usize::from(u.u8()) * 80;
    let event = ClientMessage::Event {
        payload: u.bytes(event_len),
    };
    let cand_len = usize::from(u.u8()) * 5;
    let candidate = u.string(cand_len);
    let mid_len = usize::from(u.u8() % 80);
    let candidate = Signal::Candidate {
        candidate,
        mid: Some(u.string(mid_len)),
    };
    for m in [hello, event, ClientMessage::Signal(candidate.clone())] {
        let ok = match &m {
            ClientMessage::Hello(h) => {
                h.room.len() <= MAX_ROOM_NAME_LEN && h.auth_token.len() <= MAX_AUTH_TOKEN_LEN
            }
            ClientMessage::Event { payload } => payload.len() <= MAX_EVENT_LEN,
            ClientMessage::Signal(Signal::Candidate { candidate, mid }) => {
                candidate.len() <= MAX_CANDIDATE_LEN
                    && mid.as_ref().is_none_or(|m| m.len() <= MAX_ROOM_NAME_LEN)
            }
            _ => true,
        };
        let mut buf = Vec::new();
        m.encode(&mut buf);
        if ok {
            assert_eq!(check_client_message(&buf), Some(m));
        } else {
            assert_eq!(ClientMessage::decode(&buf), Err(DecodeError::LimitExceeded));
        }
    }
    let close_len = usize::from(u.u8()) * 2;
    let close = CloseReason {
        code: CloseCode(u16::from(u.u8()) * 3),
        message: u.string(close_len),
    };
    let ok = close.message.len() <= MAX_CLOSE_MESSAGE_LEN;
    let mut buf = Vec::new();
    ServerMessage::Close(close.clone()).encode(&mut buf);
    if ok {
        assert_eq!(
            check_server_message(&buf),
            Some(ServerMessage::Close(close))
        );
    } else {
        assert_eq!(ServerMessage::decode(&buf), Err(DecodeError::LimitExceeded));
        let cut = CloseReason::new(close.code, close.message);
        assert!(cut.message.len() <= MAX_CLOSE_MESSAGE_LEN);
        let mut buf = Vec::new();
        ServerMessage::Close(cut.clone()).encode(&mut buf);
        assert_eq!(check_server_message(&buf), Some(ServerMessage::Close(cut)));
    }
}
