//! Checks shared by the targets: what a successfully decoded value must satisfy, and that it
//! survives an encode/decode round trip.

use tickwire_protocol::layout::FieldCodec;
use tickwire_protocol::message::MAX_FRAME_LEN;
use tickwire_protocol::{
    ClientMessage, DecodeError, DecodeScratch, FRAME_CONTROL, FRAME_INPUT,
    FRAME_SNAPSHOT, InputPacket, KindLayout, Layout, ServerMessage, Snapshot, decode_snapshot,
    peek_snapshot_header,
};

use crate::frames::encode_snapshot_frame;

/// The error a decoder must give for a frame whose first byte is not `expected`, if it is not.
pub fn check_frame_type(frame: &[u8], expected: u8, result: Result<(), DecodeError>) {
    match frame.first() {
        None => assert_eq!(result, Err(DecodeError::UnexpectedEnd)),
        Some(&b) if b != expected => {
            // Control frames check the length before the type; the others after.
            assert!(
                result == Err(DecodeError::UnknownFrame(b))
                    || result == Err(DecodeError::LimitExceeded),
                "frame type {b:#04x} gave {result:?}"
            );
        }
        Some(_) => {}
    }
}

/// Words of one entity (or the room, or an input) as the decoder must leave them: the right
/// count, every value in its field's range, strings valid UTF-8 and zero padded.
pub fn check_words(kind: &KindLayout, words: &[u32]) {
    assert_eq!(words.len(), kind.words, "word count of `{}`", kind.name);
    for f in &kind.fields {
        let w = &words[f.offset..f.offset + f.words];
        match f.codec {
            FieldCodec::Numeric { max, .. } => {
                assert!(w.iter().all(|&q| q <= max), "`{}` = {w:?} > {max}", f.name);
            }
            FieldCodec::Quat { bits } => {
                assert!(w[0] <= 3, "`{}` largest index {}", f.name, w[0]);
                assert!(
                    w[1..].iter().all(|&q| q < 1 << bits),
                    "`{}` = {w:?}",
                    f.name
                );
            }
            FieldCodec::Str { max_len, .. } => {
                assert!(w[0] <= max_len, "`{}` length {} > {max_len}", f.name, w[0]);
                let mut buf = [0u8; 255];
                let s = f
                    .get_str(words, &mut buf)
                    .expect("decoded strings are UTF-8");
                assert_eq!(s.len(), w[0] as usize);
                let mut padded = vec![0u32; kind.words];
                f.set_str(&mut padded, s).expect("a decoded string fits");
                assert_eq!(
                    w,
                    &padded[f.offset..f.offset + f.words],
                    "`{}` padding",
                    f.name
                );
            }
        }
    }
}

/// A snapshot as the decoder must leave it: ids increasing, known kinds, valid words.
pub fn check_snapshot(layout: &Layout, s: &Snapshot) {
    check_words(&layout.room, s.room());
    let mut last = None;
    for (id, kind, words) in s.iter() {
        assert!(
            last.is_none_or(|l| id > l),
            "ids out of order: {last:?} then {id}"
        );
        last = Some(id);
        let kl = layout
            .kinds
            .get(usize::from(kind))
            .expect("decoded kinds exist");
        check_words(kl, words);
    }
    let plain = s.to_plain(layout);
    assert_eq!(plain.entities.len(), s.len());
}

/// Encodes `cur` in full and, when `base` is older, as a delta against it; both must decode
/// back to `cur` exactly, and the header must say what was encoded.
pub fn check_snapshot_round_trip(
    layout: &Layout,
    cur: &Snapshot,
    base: Option<&Snapshot>,
    seq: Option<u32>,
) {
    let full = encode_snapshot_frame(layout, cur, None, seq);
    let mut out = Snapshot::default();
    let mut scratch = DecodeScratch::default();
    let h = decode_snapshot(layout, &full, |_| None, &mut scratch, &mut out)
        .expect("a full snapshot of a valid state decodes");
    assert_eq!(
        (h.tick, h.baseline, h.last_input_seq),
        (cur.tick, None, seq)
    );
    assert_eq!(&out, cur, "full snapshot round trip");
    assert_eq!(peek_snapshot_header(&full), Ok(h));

    if let Some(base) = base.filter(|b| b.tick < cur.tick) {
        let delta = encode_snapshot_frame(layout, cur, Some(base), seq);
        let h = decode_snapshot(
            layout,
            &delta,
            |t| (t == base.tick).then_some(base),
            &mut scratch,
            &mut out,
        )
        .expect("a delta of a valid state against its baseline decodes");
        assert_eq!(h.baseline, Some(base.tick));
        assert_eq!(&out, cur, "delta snapshot round trip");
        // Without the baseline the delta is refused, never misread.
        assert_eq!(
            decode_snapshot(layout, &delta, |_| None, &mut scratch, &mut out),
            Err(DecodeError::MissingBaseline(base.tick))
        );
    }
}

/// Decodes `frame` as a snapshot without any baseline, then with the baseline `base(tick)`
/// (when it gives one); checks what decodes and round-trips it. Returns the decoded snapshot.
pub fn check_snapshot_frame(
    layout: &Layout,
    frame: &[u8],
    base: impl Fn(u32) -> Option<Snapshot>,
) -> Option<Snapshot> {
    let peek = peek_snapshot_header(frame);
    check_frame_type(frame, FRAME_SNAPSHOT, peek.map(|_| ()));
    let mut out = Snapshot::default();
    let mut scratch = DecodeScratch::default();
    let no_base = decode_snapshot(layout, frame, |_| None, &mut scratch, &mut out);
    match (&peek, &no_base) {
        (Err(e), r) => assert_eq!(r, &Err(*e), "peek and decode disagree"),
        (Ok(h), Ok(d)) => {
            assert_eq!(h, d);
            assert_eq!(h.baseline, None);
            assert_eq!(out.tick, h.tick);
            check_snapshot(layout, &out);
            check_snapshot_round_trip(layout, &out, None, h.last_input_seq);
            return Some(out);
        }
        (Ok(h), Err(e)) => {
            if let Some(b) = h.baseline {
                assert_eq!(*e, DecodeError::MissingBaseline(b));
            }
        }
    }
    let h = peek.ok()?;
    let b = h.baseline?;
    assert!(b < h.tick);
    let base = base(b)?;
    assert_eq!(base.tick, b);
    let r = decode_snapshot(
        layout,
        frame,
        |t| (t == b).then_some(&base),
        &mut scratch,
        &mut out,
    );
    // A baseline with the wrong tick is never used.
    let mut wrong = base.clone();
    wrong.tick = b.wrapping_add(1);
    assert_eq!(
        decode_snapshot(
            layout,
            frame,
            |_| Some(&wrong),
            &mut scratch,
            &mut out.clone()
        ),
        Err(DecodeError::MissingBaseline(b))
    );
    let d = r.ok()?;
    assert_eq!(d, h);
    assert_eq!(out.tick, h.tick);
    check_snapshot(layout, &out);
    check_snapshot_round_trip(layout, &out, Some(&base), h.last_input_seq);
    Some(out)
}

/// Decodes `frame` as an input packet; what decodes is checked and round-tripped.
pub fn check_input_frame(layout: &Layout, frame: &[u8]) -> Option<InputPacket> {
    let mut p = InputPacket::default();
    let r = p.decode(layout, frame);
    check_frame_type(frame, FRAME_INPUT, r);
    r.ok()?;
    assert!(frame.len() <= MAX_FRAME_LEN);
    check_input_packet(layout, &p);
    Some(p)
}

/// A decoded (or built) input packet: valid words, ticks not increasing from newer to older,
/// sequence numbers that do not wrap, and an exact round trip.
pub fn check_input_packet(layout: &Layout, p: &InputPacket) {
    assert!(p.len() <= tickwire_protocol::input::MAX_INPUTS_PER_PACKET);
    let mut prev: Option<u32> = None;
    for (k, input) in p.iter().enumerate() {
        assert_eq!(input.seq, p.newest_seq - k as u32);
        assert!(prev.is_none_or(|t| input.tick <= t));
        prev = Some(input.tick);
        check_words(&layout.input, input.words);
    }
    let mut buf = Vec::new();
    p.encode(layout, &mut buf);
    let mut back = InputPacket::default();
    back.decode(layout, &buf)
        .expect("an encoded input packet decodes");
    assert_eq!(&back, p, "input packet round trip");
}

/// What decoding a control frame gave, checked: the error a frame of another type must give,
/// the frame length limit; and the canonical encoding of what decoded, which is never longer
/// than `frame`.
fn check_control_frame<M>(
    frame: &[u8],
    decoded: Result<M, DecodeError>,
    encode: impl FnOnce(&M, &mut Vec<u8>),
) -> Option<(M, Vec<u8>)> {
    check_frame_type(frame, FRAME_CONTROL, decoded.as_ref().map(|_| ()).map_err(|e| *e));
    let m = decoded.ok()?;
    assert!(frame.len() <= MAX_FRAME_LEN);
    let mut buf = Vec::new();
    encode(&m, &mut buf);
    assert!(
        buf.len() <= frame.len(),
        "canonical encoding is the shortest"
    );
    Some((m, buf))
}

/// Decodes `frame` as a client control frame; what decodes is round-tripped.
pub fn check_client_message(frame: &[u8]) -> Option<ClientMessage> {
    let (m, buf) = check_control_frame(frame, ClientMessage::decode(frame), ClientMessage::encode)?;
    assert_eq!(ClientMessage::decode(&buf), Ok(m.clone()));
    Some(m)
}

/// Decodes `frame` as a server control frame; what decodes is round-tripped (compared as
/// bytes, since a schema may hold floats that are not equal to themselves).
pub fn check_server_message(frame: &[u8]) -> Option<ServerMessage> {
    let (m, buf) = check_control_frame(frame, ServerMessage::decode(frame), ServerMessage::encode)?;
    let back = ServerMessage::decode(&buf).expect("an encoded server message decodes");
    let mut again = Vec::new();
    back.encode(&mut again);
    assert_eq!(again, buf, "server message round trip");
    Some(m)
}
