//! Bit-level writer and reader.
//!
//! Bit order: the stream is a sequence of bits; bit `i` of the stream is bit `i % 8` (least
//! significant first) of byte `i / 8`. A value of `n` bits is written least significant bit
//! first. The final byte is padded with zero bits.
//!
//! `uvar` is the variable-length unsigned integer used inside bit streams: the value is cut into
//! 3-bit groups, least significant group first; each group is followed by one bit that is `1`
//! when another group follows. A `u32` takes at most 11 groups (44 bits).

use crate::error::DecodeError;

/// Appends bits to a byte buffer owned by the caller.
///
/// Bits are staged in a 64-bit accumulator and flushed four bytes at a time; call
/// [`BitWriter::finish`] to write the last partial byte. Dropping the writer without calling
/// `finish` loses up to 39 staged bits.
#[derive(Debug)]
pub struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
    start_len: usize,
}

impl<'a> BitWriter<'a> {
    /// Starts writing at the current end of `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        let start_len = out.len();
        Self {
            out,
            acc: 0,
            n: 0,
            start_len,
        }
    }

    /// Writes the low `bits` bits of `value` (`bits` ≤ 32). Higher bits of `value` must be zero.
    #[inline]
    pub fn write(&mut self, value: u32, bits: u32) {
        debug_assert!(bits <= 32);
        debug_assert!(
            bits == 32 || value >> bits == 0,
            "value {value} wider than {bits} bits"
        );
        self.acc |= u64::from(value) << self.n;
        self.n += bits;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Writes one bit.
    #[inline]
    pub fn write_bool(&mut self, bit: bool) {
        self.write(u32::from(bit), 1);
    }

    /// Writes a `uvar` (see the module docs).
    #[inline]
    pub fn write_uvar(&mut self, mut value: u32) {
        loop {
            let group = value & 0b111;
            value >>= 3;
            if value == 0 {
                self.write(group, 4);
                return;
            }
            self.write(group | 0b1000, 4);
        }
    }

    /// Appends the first `bits` bits of `bytes`, a stream written by another [`BitWriter`].
    #[inline]
    pub fn append(&mut self, bytes: &[u8], bits: usize) {
        debug_assert!(bits <= bytes.len() * 8);
        // Short pieces (an entity's fields, say) in one or two writes.
        if bits <= 64 {
            let n = bits.div_ceil(8).min(bytes.len());
            let mut le = [0u8; 8];
            le[..n].copy_from_slice(&bytes[..n]);
            let v = u64::from_le_bytes(le);
            let v = if bits == 64 {
                v
            } else {
                v & ((1u64 << bits) - 1)
            };
            if bits > 32 {
                self.write(v as u32, 32);
                self.write((v >> 32) as u32, bits as u32 - 32);
            } else {
                self.write(v as u32, bits as u32);
            }
            return;
        }
        let whole = bits / 32;
        for chunk in bytes.chunks_exact(4).take(whole) {
            self.write(
                u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
                32,
            );
        }
        let rest = (bits % 32) as u32;
        if rest > 0 {
            let mut tail = [0u8; 4];
            let from = whole * 4;
            let n = bytes.len().saturating_sub(from).min(4);
            tail[..n].copy_from_slice(&bytes[from..from + n]);
            self.write(u32::from_le_bytes(tail) & ((1u32 << rest) - 1), rest);
        }
    }

    /// Number of bits written so far by this writer.
    pub fn bit_len(&self) -> usize {
        (self.out.len() - self.start_len) * 8 + self.n as usize
    }

    /// Flushes the staged bits, padding the last byte with zeros.
    pub fn finish(self) {
        let bytes = self.n.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..bytes]);
    }
}

/// Number of bits [`BitWriter::write_uvar`] uses for `value`.
#[inline]
pub fn uvar_bits(value: u32) -> usize {
    let significant = 32 - value.leading_zeros() as usize;
    4 * significant.div_ceil(3).max(1)
}

/// Reads bits from a byte slice. Never panics; reading past the end is
/// [`DecodeError::UnexpectedEnd`].
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// Reads `data` from its first bit.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Reads `bits` bits (`bits` ≤ 32).
    #[inline]
    pub fn read(&mut self, bits: u32) -> Result<u32, DecodeError> {
        debug_assert!(bits <= 32);
        if bits == 0 {
            return Ok(0);
        }
        let end = self.pos + bits as usize;
        if end > self.data.len() * 8 {
            return Err(DecodeError::UnexpectedEnd);
        }
        let byte = self.pos / 8;
        let shift = (self.pos % 8) as u32;
        let mut word = [0u8; 8];
        let avail = (self.data.len() - byte).min(8);
        word[..avail].copy_from_slice(&self.data[byte..byte + avail]);
        let raw = u64::from_le_bytes(word) >> shift;
        self.pos = end;
        Ok((raw & ((1u64 << bits) - 1)) as u32)
    }

    /// Reads one bit.
    #[inline]
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.read(1)? == 1)
    }

    /// Reads a `uvar` (see the module docs).
    #[inline]
    pub fn read_uvar(&mut self) -> Result<u32, DecodeError> {
        let mut value: u64 = 0;
        for group in 0..11 {
            let chunk = self.read(4)?;
            value |= u64::from(chunk & 0b111) << (3 * group);
            if chunk & 0b1000 == 0 {
                return u32::try_from(value).map_err(|_| DecodeError::VarintOverflow);
            }
        }
        Err(DecodeError::VarintOverflow)
    }

    /// Bits not yet read, padding included.
    pub fn remaining_bits(&self) -> usize {
        self.data.len() * 8 - self.pos
    }

    /// Fails unless only zero padding (fewer than 8 bits) is left.
    pub fn expect_end(&self) -> Result<(), DecodeError> {
        let left = self.remaining_bits();
        if left >= 8 {
            return Err(DecodeError::TrailingBytes);
        }
        if left > 0 {
            let last = self.data[self.data.len() - 1];
            if last >> (8 - left) != 0 {
                return Err(DecodeError::TrailingBytes);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_mixed_widths() {
        let mut buf = Vec::new();
        let mut w = BitWriter::new(&mut buf);
        let values: Vec<(u32, u32)> = (0..200u32)
            .map(|i| {
                let bits = i % 33;
                let v = if bits == 32 {
                    i.wrapping_mul(2654435761)
                } else {
                    (i * 7919) & ((1 << bits) - 1)
                };
                (v, bits)
            })
            .collect();
        for &(v, b) in &values {
            w.write(v, b);
        }
        for v in [0, 1, 7, 8, 63, 64, 1000, u32::MAX] {
            w.write_uvar(v);
        }
        let total = w.bit_len();
        w.finish();
        assert_eq!(buf.len(), total.div_ceil(8));
        let mut r = BitReader::new(&buf);
        for &(v, b) in &values {
            assert_eq!(r.read(b).unwrap(), v);
        }
        for v in [0, 1, 7, 8, 63, 64, 1000, u32::MAX] {
            assert_eq!(r.read_uvar().unwrap(), v);
        }
        r.expect_end().unwrap();
    }

    #[test]
    fn uvar_sizes_match_writer() {
        for v in [0, 1, 7, 8, 63, 64, 511, 512, 1 << 20, u32::MAX] {
            let mut buf = Vec::new();
            let mut w = BitWriter::new(&mut buf);
            w.write_uvar(v);
            assert_eq!(w.bit_len(), uvar_bits(v), "value {v}");
        }
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read(8).unwrap(), 0xff);
        assert_eq!(r.read(1), Err(DecodeError::UnexpectedEnd));
        let mut r = BitReader::new(&[0xff; 20]);
        assert_eq!(r.read_uvar(), Err(DecodeError::VarintOverflow));
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let r = BitReader::new(&[0x01]);
        assert_eq!(r.expect_end(), Err(DecodeError::TrailingBytes));
        let mut r = BitReader::new(&[0x01]);
        r.read(1).unwrap();
        r.expect_end().unwrap();
    }
}
