/**
 * Bit streams (PROTOCOL.md section 2): values packed least significant bit first from the low
 * end of each byte, and `uvar`, the 3-bits-per-group variable-length integer.
 */

import { DecodeError } from './errors.js';

const TWO_32 = 4294967296;

/** Bits a `uvar` of `value` takes. */
export function uvarBits(value: number): number {
  let groups = 1;
  let v = Math.floor(value / 8);
  while (v > 0) {
    groups++;
    v = Math.floor(v / 8);
  }
  return 4 * groups;
}

/** Number of bits needed to write `n` (0 for 0). */
export function bitlen(n: number): number {
  return n === 0 ? 0 : 32 - Math.clz32(n);
}

/** Reads values from a bit stream; every read past the end throws `UnexpectedEnd`. */
export class BitReader {
  private data: Uint8Array;
  private pos: number;
  private end: number;

  /** A reader over `data`, starting `startByte` bytes in (the frame's type byte is skipped). */
  constructor(data: Uint8Array, startByte = 0) {
    this.data = data;
    this.pos = startByte * 8;
    this.end = data.length * 8;
  }

  /** Re-targets the reader, so one reader serves many frames. */
  reset(data: Uint8Array, startByte = 0): void {
    this.data = data;
    this.pos = startByte * 8;
    this.end = data.length * 8;
  }

  /** Bits not read yet. */
  remainingBits(): number {
    return this.end - this.pos;
  }

  /** Reads an `n`-bit value, `0 <= n <= 32`. */
  read(n: number): number {
    if (n === 0) return 0;
    const p = this.pos;
    if (p + n > this.end) throw new DecodeError('UnexpectedEnd');
    const d = this.data;
    const i = p >>> 3;
    const s = p & 7;
    this.pos = p + n;
    if (i + 4 < d.length) {
      const lo = (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24)) >>> 0;
      const v = s === 0 ? lo : ((lo >>> s) | (d[i + 4]! << (32 - s))) >>> 0;
      return n === 32 ? v : (v & ((1 << n) - 1)) >>> 0;
    }
    // Near the end of the buffer: gather byte by byte (at most 5 bytes, 40 bits, exact in f64).
    let v = 0;
    let scale = 1;
    for (let k = i; k < d.length && k <= i + 4; k++) {
      v += d[k]! * scale;
      scale *= 256;
    }
    return Math.floor(v / (1 << s)) % (n === 32 ? TWO_32 : 1 << n);
  }

  /** Reads one bit as a boolean. */
  readBool(): boolean {
    if (this.pos >= this.end) throw new DecodeError('UnexpectedEnd');
    const p = this.pos++;
    return ((this.data[p >>> 3]! >>> (p & 7)) & 1) === 1;
  }

  /** Reads a `uvar` (at most 11 groups, at most 2³² − 1). */
  readUvar(): number {
    let value = 0;
    let scale = 1;
    for (let group = 0; group < 11; group++) {
      const chunk = this.read(4);
      value += (chunk & 7) * scale;
      if ((chunk & 8) === 0) {
        if (value >= TWO_32) throw new DecodeError('VarintOverflow');
        return value;
      }
      scale *= 8;
    }
    throw new DecodeError('VarintOverflow');
  }

  /** Checks the stream ends here: fewer than 8 bits left, all zero. */
  expectEnd(): void {
    const left = this.end - this.pos;
    if (left >= 8 || this.read(left) !== 0) throw new DecodeError('TrailingBytes');
  }
}

/** Writes a bit stream into a growing buffer. */
export class BitWriter {
  private buf: Uint8Array;
  private bitPos: number;

  /** A writer whose stream starts after `prefix` (e.g. the frame type byte). */
  constructor(prefix: readonly number[] = [], capacity = 64) {
    this.buf = new Uint8Array(Math.max(capacity, prefix.length + 8));
    this.buf.set(prefix);
    this.bitPos = prefix.length * 8;
  }

  private ensure(bits: number): void {
    const need = ((this.bitPos + bits + 7) >>> 3) + 1;
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
  }

  /** Writes the low `n` bits of `value`, `0 <= n <= 32`. */
  write(value: number, n: number): void {
    if (n === 0) return;
    this.ensure(n);
    let v = n === 32 ? value >>> 0 : (value & ((1 << n) - 1)) >>> 0;
    let left = n;
    while (left > 0) {
      const i = this.bitPos >>> 3;
      const s = this.bitPos & 7;
      const take = Math.min(8 - s, left);
      this.buf[i] = this.buf[i]! | ((v & ((1 << take) - 1)) << s);
      v = v >>> take;
      left -= take;
      this.bitPos += take;
    }
  }

  /** Writes one bit. */
  writeBool(bit: boolean): void {
    this.write(bit ? 1 : 0, 1);
  }

  /** Writes a `uvar` (0 to 2³² − 1), fewest groups. */
  writeUvar(value: number): void {
    let v = value;
    for (;;) {
      const group = v % 8;
      v = Math.floor(v / 8);
      if (v === 0) {
        this.write(group, 4);
        return;
      }
      this.write(group | 8, 4);
    }
  }

  /** Bits written so far, prefix included. */
  bitLength(): number {
    return this.bitPos;
  }

  /** The bytes written, the last one zero-padded. */
  finish(): Uint8Array {
    return this.buf.slice(0, (this.bitPos + 7) >>> 3);
  }
}
