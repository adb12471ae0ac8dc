/**
 * The subset of postcard (PROTOCOL.md section 7.1) the control messages use, written by hand:
 * LEB128 varints, zigzag `i64`, little-endian `f32`, length-prefixed strings and byte vectors,
 * one-byte option and bool tags.
 */

import { DecodeError } from './errors.js';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Reads postcard values; any malformed input throws `DecodeError('BadMessage')` or similar. */
export class PostcardReader {
  private readonly data: Uint8Array;
  private pos: number;

  constructor(data: Uint8Array, start = 0) {
    this.data = data;
    this.pos = start;
  }

  /** Bytes not read yet. */
  remaining(): number {
    return this.data.length - this.pos;
  }

  u8(): number {
    if (this.pos >= this.data.length) throw new DecodeError('BadMessage');
    return this.data[this.pos++]!;
  }

  /** An unsigned varint of at most `maxBytes` bytes whose last byte is at most `lastMax`. */
  private varint(maxBytes: number, lastMax: number): number {
    let out = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.u8();
      out += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (i === maxBytes - 1 && b > lastMax) throw new DecodeError('BadMessage');
        return out;
      }
      scale *= 128;
    }
    throw new DecodeError('BadMessage');
  }

  u16(): number {
    return this.varint(3, 0x03);
  }

  u32(): number {
    return this.varint(5, 0x0f);
  }

  u64(): bigint {
    let out = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      out |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 0x01) throw new DecodeError('BadMessage');
        return out;
      }
      shift += 7n;
    }
    throw new DecodeError('BadMessage');
  }

  i64(): bigint {
    const z = this.u64();
    return (z >> 1n) ^ -(z & 1n);
  }

  /** A length (`usize`), which must fit in the bytes left. */
  len(): number {
    const n = this.u64();
    if (n > BigInt(this.remaining())) throw new DecodeError('BadMessage');
    return Number(n);
  }

  f32(): number {
    if (this.remaining() < 4) throw new DecodeError('BadMessage');
    const v = new DataView(this.data.buffer, this.data.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new DecodeError('BadMessage');
    return b === 1;
  }

  /** An option tag: true for `Some`. */
  option(): boolean {
    return this.bool();
  }

  bytes(): Uint8Array {
    const n = this.len();
    const out = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  fixed(n: number): Uint8Array {
    if (this.remaining() < n) throw new DecodeError('BadMessage');
    const out = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A string of at most `maxBytes` bytes (longer is `LimitExceeded`). */
  string(maxBytes = Infinity): string {
    const n = this.len();
    if (n > maxBytes) throw new DecodeError('LimitExceeded');
    const bytes = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw new DecodeError('BadMessage');
    }
  }

  /** A `Vec` length, bounded by the bytes left (each element takes at least one byte). */
  seqLen(): number {
    return this.len();
  }
}

/** Writes postcard values into a growing buffer. */
export class PostcardWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(prefix: readonly number[] = [], capacity = 64) {
    this.buf = new Uint8Array(Math.max(capacity, prefix.length));
    this.buf.set(prefix);
    this.pos = prefix.length;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.pos + n, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  /** Any unsigned varint (`u16`, `u32`, `usize`) from a non-negative safe integer. */
  uvar(v: number): void {
    let x = v;
    while (x >= 0x80) {
      this.u8((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.u8(x);
  }

  u64(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.u8(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.u8(Number(x));
  }

  i64(v: bigint): void {
    const x = BigInt.asIntN(64, v);
    this.u64(BigInt.asUintN(64, (x << 1n) ^ (x >> 63n)));
  }

  f32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, v, true);
    this.pos += 4;
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  /** An option: its tag, then `write(v)` for `Some`. */
  option<T>(v: T | null, write: (v: T) => void): void {
    if (v === null) this.u8(0);
    else {
      this.u8(1);
      write(v);
    }
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.uvar(bytes.length);
    this.raw(bytes);
  }

  string(s: string): void {
    this.bytes(utf8Encoder.encode(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
