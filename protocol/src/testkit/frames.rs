//! Valid frames of every type, built from the [`super::fixture`] schema and worlds. Memoized
//! per thread: fuzz targets ask for the same few frames on every input.

use super::fixture::{
    CLIENT_ID, PLAYER, RESUME_TOKEN, input_words, layout, memo, test_schema, test_world,
};
use crate::codec::{EncodeScratch, encode_snapshot};
use crate::input::InputPacket;
use crate::layout::Layout;
use crate::message::{ClientMessage, Hello, ResumeRequest, ServerMessage, Welcome};
use crate::schema::WIRE_VERSION;
use crate::snapshot::Snapshot;

/// `cur` encoded as a snapshot frame with fresh scratch space: a delta against `base` when
/// given, in full otherwise.
pub fn encode_snapshot_frame(
    layout: &Layout,
    cur: &Snapshot,
    base: Option<&Snapshot>,
    last_input_seq: Option<u32>,
) -> Vec<u8> {
    let mut out = Vec::new();
    encode_snapshot(
        layout,
        cur,
        base,
        last_input_seq,
        &mut EncodeScratch::default(),
        &mut out,
    );
    out
}

/// A control frame holding a hello.
pub fn hello_frame(protocol_hash: Option<u64>, resume: Option<ResumeRequest>) -> Vec<u8> {
    let mut out = Vec::new();
    ClientMessage::Hello(Hello {
        wire_version: WIRE_VERSION,
        protocol_hash,
        room: "lobby".into(),
        auth_token: "token-123".into(),
        resume,
    })
    .encode(&mut out);
    out
}

/// A control frame holding the welcome of the test schema.
pub fn welcome_frame(tick: u32, resumed: bool) -> Vec<u8> {
    memo(format!("welcome {tick} {resumed}"), || {
        let mut out = Vec::new();
        ServerMessage::Welcome(Welcome {
            client_id: CLIENT_ID,
            player: Some(PLAYER),
            tick_rate: 30,
            tick,
            tick_fraction: 0x4000,
            schema: test_schema(),
            resume_token: RESUME_TOKEN,
            resumed,
        })
        .encode(&mut out);
        out
    })
}

/// The snapshot frame of the test world at `tick`, a delta against the world at `base` when
/// given.
pub fn snapshot_frame(tick: u32, base: Option<u32>, last_input_seq: Option<u32>) -> Vec<u8> {
    memo(
        format!("snapshot {tick} {base:?} {last_input_seq:?}"),
        || {
            let base = base.map(test_world);
            encode_snapshot_frame(&layout(), &test_world(tick), base.as_ref(), last_input_seq)
        },
    )
}

/// An input frame: `ack`, then inputs for `ticks` (newest first, not increasing) numbered down
/// from `newest_seq`, with values derived from the sequence numbers.
pub fn input_frame(ack: Option<u32>, newest_seq: u32, ticks: &[u32]) -> Vec<u8> {
    memo(format!("input {ack:?} {newest_seq} {ticks:?}"), || {
        let layout = layout();
        let mut p = InputPacket::default();
        p.clear(layout.input.words);
        p.ack = ack;
        p.newest_seq = newest_seq;
        for (k, &t) in ticks.iter().enumerate() {
            let seed = u64::from(newest_seq) - k as u64;
            let words = input_words(&layout, seed).expect("input words");
            assert!(p.push_older(t, &words));
        }
        let mut out = Vec::new();
        p.encode(&layout, &mut out);
        out
    })
}
