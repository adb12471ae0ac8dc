//! Input packets (client → server): an ack plus the newest inputs, repeated for redundancy.
//!
//! ```text
//! byte 0x03, then bits:
//!   ack+1:uvar            newest snapshot tick the client decoded, 0 = none
//!   count:4               inputs carried, 0..=MAX_INPUTS_PER_PACKET (0 = ack only)
//!   if count > 0:
//!     newest_seq:uvar  newest_tick:uvar
//!     count times, newest first (input k has sequence newest_seq - k):
//!       [k > 0: previous_tick - tick:uvar]   fields of the schema's input, in full
//! ```

use crate::bits::{BitReader, BitWriter};
use crate::error::DecodeError;
use crate::layout::Layout;

/// First byte of an input frame (client → server).
pub const FRAME_INPUT: u8 = 0x03;

/// Most inputs one packet carries.
pub const MAX_INPUTS_PER_PACKET: usize = 8;

/// One input stamped with its sequence number and the tick it is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputRef<'a> {
    /// Sequence number, increasing by one per input.
    pub seq: u32,
    /// Server tick the input should apply at.
    pub tick: u32,
    /// Quantized fields, laid out by the schema's input kind.
    pub words: &'a [u32],
}

/// A decoded (or to-be-encoded) input packet. Reuse one across frames: its buffers are kept.
///
/// Inputs are stored newest first; the `k`-th has sequence `newest_seq - k`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputPacket {
    /// Newest snapshot tick the client decoded.
    pub ack: Option<u32>,
    /// Sequence number of the newest input carried.
    pub newest_seq: u32,
    ticks: Vec<u32>,
    words: Vec<u32>,
    stride: usize,
}

impl InputPacket {
    /// Empties the packet for inputs of `stride` words each.
    pub fn clear(&mut self, stride: usize) {
        self.ack = None;
        self.newest_seq = 0;
        self.ticks.clear();
        self.words.clear();
        self.stride = stride;
    }

    /// Number of inputs carried.
    pub fn len(&self) -> usize {
        self.ticks.len()
    }

    /// Carries no input (an ack-only packet).
    pub fn is_empty(&self) -> bool {
        self.ticks.is_empty()
    }

    /// The `k`-th input, newest first.
    pub fn get(&self, k: usize) -> InputRef<'_> {
        InputRef {
            seq: self.newest_seq.wrapping_sub(k as u32),
            tick: self.ticks[k],
            words: &self.words[k * self.stride..(k + 1) * self.stride],
        }
    }

    /// Inputs newest first.
    pub fn iter(&self) -> impl Iterator<Item = InputRef<'_>> + '_ {
        (0..self.len()).map(|k| self.get(k))
    }

    /// Appends the next older input (its sequence is `newest_seq - len()`). Ticks must not
    /// increase from newer to older. Returns false when the packet is full.
    pub fn push_older(&mut self, tick: u32, words: &[u32]) -> bool {
        debug_assert_eq!(words.len(), self.stride);
        if self.len() == MAX_INPUTS_PER_PACKET {
            return false;
        }
        self.ticks.push(tick);
        self.words.extend_from_slice(words);
        true
    }

    /// Appends the packet as a frame to `out`.
    pub fn encode(&self, layout: &Layout, out: &mut Vec<u8>) {
        out.push(FRAME_INPUT);
        let mut w = BitWriter::new(out);
        w.write_uvar(self.ack.map_or(0, |a| a.saturating_add(1)));
        w.write(self.len() as u32, 4);
        if !self.is_empty() {
            w.write_uvar(self.newest_seq);
            w.write_uvar(self.ticks[0]);
            for k in 0..self.len() {
                if k > 0 {
                    w.write_uvar(self.ticks[k - 1].saturating_sub(self.ticks[k]));
                }
                let words = &self.words[k * self.stride..(k + 1) * self.stride];
                for f in &layout.input.fields {
                    crate::codec::write_field_full(&mut w, f, words);
                }
            }
        }
        w.finish();
    }

    /// Decodes an input frame, replacing the packet's content. Every value is checked against
    /// the schema: out-of-range values and malformed strings are errors.
    pub fn decode(&mut self, layout: &Layout, frame: &[u8]) -> Result<(), DecodeError> {
        match frame.first() {
            Some(&FRAME_INPUT) => {}
            Some(&other) => return Err(DecodeError::UnknownFrame(other)),
            None => return Err(DecodeError::UnexpectedEnd),
        }
        if frame.len() > crate::message::MAX_FRAME_LEN {
            return Err(DecodeError::LimitExceeded);
        }
        self.clear(layout.input.words);
        let mut r = BitReader::new(&frame[1..]);
        self.ack = r.read_uvar()?.checked_sub(1);
        let count = r.read(4)? as usize;
        if count > MAX_INPUTS_PER_PACKET {
            return Err(DecodeError::LimitExceeded);
        }
        if count > 0 {
            self.newest_seq = r.read_uvar()?;
            if (self.newest_seq as usize) + 1 < count {
                return Err(DecodeError::BadTick);
            }
            let mut tick = r.read_uvar()?;
            for k in 0..count {
                if k > 0 {
                    tick = tick
                        .checked_sub(r.read_uvar()?)
                        .ok_or(DecodeError::BadTick)?;
                }
                self.ticks.push(tick);
                let start = self.words.len();
                self.words.resize(start + self.stride, 0);
                for f in &layout.input.fields {
                    crate::codec::read_field_full(&mut r, f, &mut self.words[start..])?;
                }
            }
        }
        r.expect_end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;

    fn layout() -> Layout {
        let s = Schema::builder("t")
            .input(|i| {
                i.f32("dx", -1.0, 1.0, 1.0 / 64.0)
                    .f32("dy", -1.0, 1.0, 1.0 / 64.0)
                    .bool("fire")
            })
            .build()
            .unwrap();
        Layout::new(&s).unwrap()
    }

    /// `p` encoded, and those bytes decoded.
    fn round_trip(l: &Layout, p: &InputPacket) -> (Vec<u8>, InputPacket) {
        let mut buf = Vec::new();
        p.encode(l, &mut buf);
        let mut back = InputPacket::default();
        back.decode(l, &buf).unwrap();
        (buf, back)
    }

    #[test]
    fn round_trips_with_redundancy() {
        let l = layout();
        let mut p = InputPacket::default();
        p.clear(l.input.words);
        p.ack = Some(41);
        p.newest_seq = 10;
        for k in 0..4u32 {
            let mut w = vec![0; l.input.words];
            l.input.fields[0]
                .set_f32(&mut w, 0.5 - k as f32 * 0.25)
                .unwrap();
            l.input.fields[2].set_bool(&mut w, k % 2 == 0).unwrap();
            assert!(p.push_older(100 - k * 2, &w));
        }
        let (_, back) = round_trip(&l, &p);
        assert_eq!(back, p);
        assert_eq!(back.get(3).seq, 7);
        assert_eq!(back.get(3).tick, 94);
    }

    #[test]
    fn ack_only_packet_is_small() {
        let l = layout();
        let mut p = InputPacket::default();
        p.clear(l.input.words);
        p.ack = Some(1000);
        let (buf, back) = round_trip(&l, &p);
        assert!(buf.len() <= 4, "{} bytes", buf.len());
        assert_eq!(back.ack, Some(1000));
        assert!(back.is_empty());
    }

    #[test]
    fn malformed_inputs_are_rejected() {
        let l = layout();
        let mut p = InputPacket::default();
        // uvar 0 (no ack), then count 15.
        assert_eq!(
            p.decode(&l, &[FRAME_INPUT, 0xf0]),
            Err(DecodeError::LimitExceeded)
        );
        assert_eq!(
            p.decode(&l, &[FRAME_INPUT]),
            Err(DecodeError::UnexpectedEnd)
        );
        // dx quantized to 255 > 128 steps: out of range.
        let mut buf = vec![FRAME_INPUT];
        let mut w = BitWriter::new(&mut buf);
        w.write_uvar(0);
        w.write(1, 4);
        w.write_uvar(0);
        w.write_uvar(5);
        w.write(255, 8);
        w.write(0, 8);
        w.write(0, 1);
        w.finish();
        assert_eq!(p.decode(&l, &buf), Err(DecodeError::OutOfRange));
    }
}
