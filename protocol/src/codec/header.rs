//! The snapshot frame's type byte, header flags and header: written by both encoders, read
//! by the decoder and by [`peek_snapshot_header`].

use crate::bits::{BitReader, BitWriter};
use crate::error::DecodeError;

/// First byte of a snapshot frame (server → client).
pub const FRAME_SNAPSHOT: u8 = 0x02;

/// Header flag: a full snapshot, no baseline.
pub const FLAG_FULL: u32 = 1;
/// Header flag: room fields changed (deltas only).
pub const FLAG_ROOM: u32 = 2;
/// Header flag: an update section follows.
pub const FLAG_UPDATES: u32 = 4;
/// Header flag: a creation section follows.
pub const FLAG_CREATES: u32 = 8;

/// Most entities one snapshot may hold.
pub const MAX_ENTITIES: usize = 1 << 20;

/// What a snapshot frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// Tick of the state carried.
    pub tick: u32,
    /// Tick of the baseline this is a delta against; `None` for a full snapshot.
    pub baseline: Option<u32>,
    /// Newest input sequence number the server has applied for this client.
    pub last_input_seq: Option<u32>,
}

/// The flags of a delta: which of the room, update and creation sections follow.
#[inline]
pub(super) fn delta_flags(room_changed: bool, updates: bool, creates: bool) -> u32 {
    let mut flags = 0;
    if room_changed {
        flags |= FLAG_ROOM;
    }
    if updates {
        flags |= FLAG_UPDATES;
    }
    if creates {
        flags |= FLAG_CREATES;
    }
    flags
}

/// The flags of a full snapshot; `creates` when it holds any entity.
#[inline]
pub(super) fn full_flags(creates: bool) -> u32 {
    FLAG_FULL | if creates { FLAG_CREATES } else { 0 }
}

pub(super) fn write_header(
    w: &mut BitWriter<'_>,
    flags: u32,
    tick: u32,
    base: Option<u32>,
    seq: Option<u32>,
) {
    w.write(flags, 4);
    w.write_uvar(tick);
    if let Some(b) = base {
        w.write_uvar(tick - b);
    }
    w.write_uvar(seq.map_or(0, |s| s.saturating_add(1)));
}

/// Reads a snapshot frame's header without decoding the body, to find its baseline.
pub fn peek_snapshot_header(frame: &[u8]) -> Result<SnapshotHeader, DecodeError> {
    read_header(frame).map(|(h, _, _)| h)
}

/// Reads the header; returns it, the raw flags, and the reader positioned at the body.
pub(super) fn read_header(
    frame: &[u8],
) -> Result<(SnapshotHeader, u32, BitReader<'_>), DecodeError> {
    match frame.first() {
        Some(&FRAME_SNAPSHOT) => {}
        Some(&other) => return Err(DecodeError::UnknownFrame(other)),
        None => return Err(DecodeError::UnexpectedEnd),
    }
    let mut r = BitReader::new(&frame[1..]);
    let flags = r.read(4)?;
    let tick = r.read_uvar()?;
    let baseline = if flags & FLAG_FULL == 0 {
        let back = r.read_uvar()?;
        if back == 0 || back > tick {
            return Err(DecodeError::BadTick);
        }
        Some(tick - back)
    } else {
        if flags & (FLAG_ROOM | FLAG_UPDATES) != 0 {
            return Err(DecodeError::BadMessage);
        }
        None
    };
    let last_input_seq = r.read_uvar()?.checked_sub(1);
    Ok((
        SnapshotHeader {
            tick,
            baseline,
            last_input_seq,
        },
        flags,
        r,
    ))
}
