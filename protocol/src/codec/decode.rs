//! The decoder: a snapshot frame and the client's copy of its baseline back to a snapshot.

use crate::bits::BitReader;
use crate::error::DecodeError;
use crate::layout::Layout;
use crate::snapshot::{EntityId, Snapshot};

use super::field::{read_changed_fields, read_field_full, read_mask};
use super::header::{
    FLAG_CREATES, FLAG_ROOM, FLAG_UPDATES, MAX_ENTITIES, SnapshotHeader, read_header,
};

/// Reusable buffers for [`decode_snapshot`].
#[derive(Debug, Default)]
pub struct DecodeScratch {
    updated: Snapshot,
    created: Snapshot,
}

/// Decodes a snapshot frame into `out`. A delta needs the baseline it names:
/// `baseline(tick)` must return the snapshot this client decoded for that tick.
///
/// On error `out` holds unspecified content and must not be used as a baseline.
pub fn decode_snapshot<'b>(
    layout: &Layout,
    frame: &[u8],
    baseline: impl FnOnce(u32) -> Option<&'b Snapshot>,
    scratch: &mut DecodeScratch,
    out: &mut Snapshot,
) -> Result<SnapshotHeader, DecodeError> {
    let (header, flags, mut r) = read_header(frame)?;
    match header.baseline {
        None => {
            out.clear(layout, header.tick);
            for f in &layout.room.fields {
                read_field_full(&mut r, f, out.room_mut())?;
            }
            if flags & FLAG_CREATES != 0 {
                read_creations(&mut r, layout, out)?;
            }
        }
        Some(b) => {
            let base = baseline(b)
                .filter(|s| s.tick == b)
                .ok_or(DecodeError::MissingBaseline(b))?;
            let updated = &mut scratch.updated;
            if flags & FLAG_UPDATES == 0 {
                updated.clone_from(base);
                updated.tick = header.tick;
            } else {
                updated.clear(layout, header.tick);
                updated.room_mut().copy_from_slice(base.room());
            }
            if flags & FLAG_ROOM != 0 {
                let n = layout.room.fields.len();
                let mask = read_mask(&mut r, n)?;
                if mask == 0 || (n < 64 && mask >> n != 0) {
                    return Err(DecodeError::BadFieldMask);
                }
                read_changed_fields(&mut r, &layout.room, mask, base.room(), updated.room_mut())?;
            }
            if flags & FLAG_UPDATES != 0 {
                read_updates(&mut r, layout, base, updated)?;
            }
            if flags & FLAG_CREATES != 0 {
                let created = &mut scratch.created;
                created.clear(layout, header.tick);
                read_creations(&mut r, layout, created)?;
                merge(updated, created, out)?;
                out.tick = header.tick;
            } else {
                std::mem::swap(out, updated);
            }
        }
    }
    r.expect_end()?;
    Ok(header)
}

fn push_copy(dst: &mut Snapshot, src: &Snapshot, i: usize) -> Result<(), DecodeError> {
    dst.push_from(src, i)
        .map_err(|e| DecodeError::DuplicateEntity(e.id))
}

fn read_updates(
    r: &mut BitReader<'_>,
    layout: &Layout,
    base: &Snapshot,
    out: &mut Snapshot,
) -> Result<(), DecodeError> {
    let n = base.len();
    let sparse = r.read_bool()?;
    let mut remaining = if sparse {
        let count = r.read_uvar()? as usize;
        if count == 0 || count > n {
            return Err(DecodeError::BadEntityIndex);
        }
        count
    } else {
        0
    };
    let mut next_index = 0usize;
    let mut prev_mask = 0u64;
    loop {
        let touched = if sparse {
            if remaining == 0 {
                break;
            }
            remaining -= 1;
            let idx = next_index
                .checked_add(r.read_uvar()? as usize)
                .filter(|&i| i < n);
            let idx = idx.ok_or(DecodeError::BadEntityIndex)?;
            for i in next_index..idx {
                push_copy(out, base, i)?;
            }
            next_index = idx;
            true
        } else {
            if next_index == n {
                break;
            }
            r.read_bool()?
        };
        let bi = next_index;
        next_index += 1;
        if !touched {
            push_copy(out, base, bi)?;
            continue;
        }
        let (id, kind, bw) = base.entity(bi);
        let kl = &layout.kinds[usize::from(kind)];
        let mask = if r.read_bool()? {
            prev_mask
        } else {
            prev_mask = read_mask(r, kl.fields.len())?;
            prev_mask
        };
        let nf = kl.fields.len();
        if nf < 64 && mask >> nf != 0 {
            return Err(DecodeError::BadFieldMask);
        }
        if mask == 0 {
            continue;
        }
        let dst = out
            .push_words(id, kind, bw.len())
            .map_err(|e| DecodeError::DuplicateEntity(e.id))?;
        dst.copy_from_slice(bw);
        read_changed_fields(r, kl, mask, bw, dst)?;
    }
    for i in next_index..n {
        push_copy(out, base, i)?;
    }
    Ok(())
}

fn read_creations(
    r: &mut BitReader<'_>,
    layout: &Layout,
    out: &mut Snapshot,
) -> Result<(), DecodeError> {
    let count = r.read_uvar()? as usize;
    if count == 0 || count > MAX_ENTITIES || count > r.remaining_bits() / 4 {
        return Err(DecodeError::BadEntityIndex);
    }
    let mut next_id: u64 = 0;
    for _ in 0..count {
        let id = next_id + u64::from(r.read_uvar()?);
        let id = EntityId::try_from(id).map_err(|_| DecodeError::BadEntityIndex)?;
        next_id = u64::from(id) + 1;
        let kind = r.read(layout.kind_bits)?;
        let kl = layout
            .kinds
            .get(kind as usize)
            .ok_or(DecodeError::UnknownKind(kind))?;
        let dst = out
            .push_words(id, kind as u16, kl.words)
            .map_err(|e| DecodeError::DuplicateEntity(e.id))?;
        for f in &kl.fields {
            read_field_full(r, f, dst)?;
        }
    }
    Ok(())
}

fn merge(a: &Snapshot, b: &Snapshot, out: &mut Snapshot) -> Result<(), DecodeError> {
    out.reset_with_room(a.room());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a.ids()[i] < b.ids()[j] {
            push_copy(out, a, i)?;
            i += 1;
        } else {
            push_copy(out, b, j)?;
            j += 1;
        }
    }
    for k in i..a.len() {
        push_copy(out, a, k)?;
    }
    for k in j..b.len() {
        push_copy(out, b, k)?;
    }
    Ok(())
}
