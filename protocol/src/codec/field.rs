//! Field coding: one field's words in full or as a zigzag delta from its baseline, change
//! masks, and the word comparisons that decide what changed. Shared by the snapshot encoders,
//! the decoder and input packets.

use crate::bits::{BitReader, BitWriter};
use crate::error::DecodeError;
use crate::layout::{FieldCodec, FieldLayout, KindLayout};

#[inline]
fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

#[inline]
fn unzigzag(z: u32) -> i64 {
    i64::from(z >> 1) ^ -i64::from(z & 1)
}

#[inline]
pub(super) fn write_mask(w: &mut BitWriter<'_>, mask: u64, n: usize) {
    if n > 32 {
        w.write(mask as u32, 32);
        w.write((mask >> 32) as u32, n as u32 - 32);
    } else {
        w.write(mask as u32, n as u32);
    }
}

#[inline]
pub(super) fn read_mask(r: &mut BitReader<'_>, n: usize) -> Result<u64, DecodeError> {
    if n > 32 {
        let lo = u64::from(r.read(32)?);
        Ok(lo | u64::from(r.read(n as u32 - 32)?) << 32)
    } else {
        Ok(u64::from(r.read(n as u32)?))
    }
}

#[inline]
pub(crate) fn write_field_full(w: &mut BitWriter<'_>, f: &FieldLayout, words: &[u32]) {
    let src = &words[f.offset..f.offset + f.words];
    match f.codec {
        FieldCodec::Numeric { bits, .. } => {
            for &q in src {
                w.write(q, bits);
            }
        }
        FieldCodec::Quat { bits } => {
            w.write(src[0], 2);
            for &q in &src[1..] {
                w.write(q, bits);
            }
        }
        FieldCodec::Str { len_bits, .. } => {
            let len = src[0] as usize;
            w.write(src[0], len_bits);
            for (i, &word) in src[1..].iter().enumerate() {
                let left = len.saturating_sub(i * 4).min(4);
                if left == 0 {
                    break;
                }
                let bits = 8 * left as u32;
                w.write(
                    if bits == 32 {
                        word
                    } else {
                        word & ((1 << bits) - 1)
                    },
                    bits,
                );
            }
        }
    }
}

#[inline]
pub(crate) fn read_field_full(
    r: &mut BitReader<'_>,
    f: &FieldLayout,
    out: &mut [u32],
) -> Result<(), DecodeError> {
    let dst = &mut out[f.offset..f.offset + f.words];
    match f.codec {
        FieldCodec::Numeric { bits, max, .. } => {
            for d in dst {
                let q = r.read(bits)?;
                if q > max {
                    return Err(DecodeError::OutOfRange);
                }
                *d = q;
            }
        }
        FieldCodec::Quat { bits } => {
            dst[0] = r.read(2)?;
            for d in &mut dst[1..] {
                *d = r.read(bits)?;
            }
        }
        FieldCodec::Str { max_len, len_bits } => {
            let len = r.read(len_bits)?;
            if len > max_len {
                return Err(DecodeError::OutOfRange);
            }
            let mut bytes = [0u8; 255];
            for b in bytes.iter_mut().take(len as usize) {
                *b = r.read(8)? as u8;
            }
            std::str::from_utf8(&bytes[..len as usize]).map_err(|_| DecodeError::InvalidUtf8)?;
            dst.fill(0);
            dst[0] = len;
            for (i, &b) in bytes[..len as usize].iter().enumerate() {
                dst[1 + i / 4] |= u32::from(b) << (8 * (i % 4));
            }
        }
    }
    Ok(())
}

/// Writes a changed field: a zigzag delta from the baseline when the field allows it and every
/// component fits, else the full value.
#[inline(always)]
fn write_field_delta(w: &mut BitWriter<'_>, f: &FieldLayout, cur: &[u32], base: &[u32]) {
    if let FieldCodec::Numeric { delta_bits, .. } = f.codec
        && delta_bits > 0
    {
        let range = f.offset..f.offset + f.words;
        let (c, b) = (&cur[range.clone()], &base[range]);
        // Fixed component counts (all numeric fields have 1 to 3) unroll the loops.
        let sent = match f.words {
            1 => write_numeric_delta::<1>(w, c, b, delta_bits),
            2 => write_numeric_delta::<2>(w, c, b, delta_bits),
            3 => write_numeric_delta::<3>(w, c, b, delta_bits),
            _ => write_numeric_delta_slice(w, c, b, delta_bits),
        };
        if sent {
            return;
        }
    }
    write_field_full(w, f, cur);
}

/// Writes the delta flag, and the `N` zigzag deltas if they all fit; returns the flag.
#[inline(always)]
fn write_numeric_delta<const N: usize>(
    w: &mut BitWriter<'_>,
    cur: &[u32],
    base: &[u32],
    delta_bits: u32,
) -> bool {
    let z: [u64; N] = std::array::from_fn(|k| zigzag(i64::from(cur[k]) - i64::from(base[k])));
    // Every delta is below 2^delta_bits iff their bitwise or is.
    if z.iter().fold(0, |acc, &z| acc | z) >> delta_bits != 0 {
        w.write_bool(false);
        return false;
    }
    if N as u32 * delta_bits < 32 {
        // The flag and the deltas in one write (at most 32 bits), in wire order.
        let (mut packed, mut bits) = (1u32, 1u32);
        for zk in z {
            packed |= (zk as u32) << bits;
            bits += delta_bits;
        }
        w.write(packed, bits);
    } else {
        w.write_bool(true);
        for zk in z {
            w.write(zk as u32, delta_bits);
        }
    }
    true
}

/// [`write_numeric_delta`] for any number of components.
fn write_numeric_delta_slice(
    w: &mut BitWriter<'_>,
    cur: &[u32],
    base: &[u32],
    delta_bits: u32,
) -> bool {
    let deltas = || {
        cur.iter()
            .zip(base)
            .map(|(&c, &b)| zigzag(i64::from(c) - i64::from(b)))
    };
    let fits = deltas().fold(0, |acc, z| acc | z) >> delta_bits == 0;
    w.write_bool(fits);
    if fits {
        for z in deltas() {
            w.write(z as u32, delta_bits);
        }
    }
    fits
}

#[inline]
pub(super) fn read_field_delta(
    r: &mut BitReader<'_>,
    f: &FieldLayout,
    base: &[u32],
    out: &mut [u32],
) -> Result<(), DecodeError> {
    if let FieldCodec::Numeric {
        delta_bits, max, ..
    } = f.codec
        && delta_bits > 0
        && r.read_bool()?
    {
        for c in f.offset..f.offset + f.words {
            let v = i64::from(base[c]) + unzigzag(r.read(delta_bits)?);
            if v < 0 || v > i64::from(max) {
                return Err(DecodeError::OutOfRange);
            }
            out[c] = v as u32;
        }
        return Ok(());
    }
    read_field_full(r, f, out)
}

/// Word-slice equality without a `memcmp` call: entities are a few words long, and a few
/// inline vector operations beat a library call.
#[inline]
pub(super) fn words_eq(a: &[u32], b: &[u32]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let ((a4, a_tail), (b4, b_tail)) = (a.as_chunks::<4>(), b.as_chunks::<4>());
    let tail_diff = a_tail
        .iter()
        .zip(b_tail)
        .fold(0, |acc, (&x, &y)| acc | (x ^ y));
    let diff = a4
        .iter()
        .zip(b4)
        .fold([tail_diff, 0, 0, 0], |mut acc, (x, y)| {
            for i in 0..4 {
                acc[i] |= x[i] ^ y[i];
            }
            acc
        });
    diff == [0; 4]
}

/// Bit `k` set iff word `k` differs, for entities of at most 64 words.
#[inline(always)]
pub(super) fn changed_words(cur: &[u32], base: &[u32]) -> Option<u64> {
    if cur.len() > 64 || cur.len() != base.len() {
        return None;
    }
    let diff = cur.iter().zip(base).rev();
    Some(diff.fold(0, |acc, (&c, &b)| acc << 1 | u64::from(c != b)))
}

#[inline(always)]
pub(super) fn changed_mask(kind: &KindLayout, cur: &[u32], base: &[u32]) -> u64 {
    let mut mask = 0u64;
    for (i, f) in kind.fields.iter().enumerate() {
        let diff = if f.words == 1 {
            cur[f.offset] ^ base[f.offset]
        } else {
            let range = f.offset..f.offset + f.words;
            (cur[range.clone()].iter().zip(&base[range])).fold(0, |a, (&c, &b)| a | (c ^ b))
        };
        mask |= u64::from(diff != 0) << i;
    }
    mask
}

/// Writes the fields whose bit is set in `mask`, which has no bit past the last field.
#[inline(always)]
pub(super) fn write_changed_fields(
    w: &mut BitWriter<'_>,
    kind: &KindLayout,
    mask: u64,
    cur: &[u32],
    base: &[u32],
) {
    let mut left = mask;
    while left != 0 {
        let i = left.trailing_zeros() as usize;
        left &= left - 1;
        write_field_delta(w, &kind.fields[i], cur, base);
    }
}

#[inline]
pub(super) fn read_changed_fields(
    r: &mut BitReader<'_>,
    kind: &KindLayout,
    mask: u64,
    base: &[u32],
    out: &mut [u32],
) -> Result<(), DecodeError> {
    for (i, f) in kind.fields.iter().enumerate() {
        if mask & (1 << i) != 0 {
            read_field_delta(r, f, base, out)?;
        }
    }
    Ok(())
}
