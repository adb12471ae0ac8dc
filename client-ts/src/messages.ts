/**
 * Control messages (PROTOCOL.md section 7): `0x01` then one postcard value, encoded and decoded
 * by hand. Close codes (section 8).
 */

import { DecodeError } from './errors.js';
import { PostcardReader, PostcardWriter } from './postcard.js';
import { readSchema, writeSchema, type Schema } from './schema.js';

/** First byte of a control frame. */
export const FRAME_CONTROL = 0x01;
/** First byte of a snapshot frame. */
export const FRAME_SNAPSHOT = 0x02;
/** First byte of an input frame. */
export const FRAME_INPUT = 0x03;

/** Largest frame either side accepts, in bytes. */
export const MAX_FRAME_LEN = 64 * 1024;
const MAX_SDP_LEN = 16 * 1024;
const MAX_CANDIDATE_LEN = 1024;
const MAX_MID_LEN = 64;
const MAX_EVENT_LEN = 16 * 1024;
const MAX_CLOSE_MESSAGE_LEN = 256;
/** Length of a resume token. */
export const RESUME_TOKEN_LEN = 16;

/** Close codes; on a WebSocket the close frame carries `4000 + code`. */
export const CloseCode = {
  NORMAL: 0,
  PROTOCOL_MISMATCH: 1,
  BAD_HANDSHAKE: 2,
  HANDSHAKE_TIMEOUT: 3,
  MALFORMED: 4,
  MESSAGE_TOO_LARGE: 5,
  RATE_LIMITED: 6,
  SLOW_CONSUMER: 7,
  IDLE_TIMEOUT: 8,
  SERVER_FULL: 9,
  ROOM_FULL: 10,
  AUTH_FAILED: 11,
  RESUME_FAILED: 12,
  SERVER_SHUTDOWN: 13,
  KICKED: 14,
  REPLACED: 15,
  INTERNAL: 16,
  BAD_INPUT: 17,
  /** The server takes no new sessions; the message carries a retry hint. Retried with backoff. */
  DRAINING: 18,
} as const;

const CLOSE_NAMES = [
  'normal',
  'protocol_mismatch',
  'bad_handshake',
  'handshake_timeout',
  'malformed',
  'message_too_large',
  'rate_limited',
  'slow_consumer',
  'idle_timeout',
  'server_full',
  'room_full',
  'auth_failed',
  'resume_failed',
  'server_shutdown',
  'kicked',
  'replaced',
  'internal',
  'bad_input',
  'draining',
] as const;

/** Stable snake_case name of a close code, `unknown` for codes this version lacks. */
export function closeCodeName(code: number): string {
  return CLOSE_NAMES[code] ?? 'unknown';
}

/** Why a connection closed: a machine-readable code and a message for humans. */
export interface CloseReason {
  readonly code: number;
  readonly message: string;
}

/** The client's claim on an earlier session. */
export interface ResumeRequest {
  readonly token: Uint8Array;
  readonly lastTick: number | null;
}

/** WebRTC signaling, carried on the control channel. */
export type Signal =
  | { readonly type: 'offer'; readonly sdp: string }
  | { readonly type: 'answer'; readonly sdp: string }
  | { readonly type: 'candidate'; readonly candidate: string; readonly mid: string | null }
  | { readonly type: 'endOfCandidates' }
  | { readonly type: 'abandon' };

/** Messages a client sends. */
export type ClientMessage =
  | {
      readonly type: 'hello';
      readonly wireVersion: number;
      readonly protocolHash: bigint | null;
      readonly room: string;
      readonly authToken: string;
      readonly resume: ResumeRequest | null;
    }
  | { readonly type: 'ping'; readonly clientTimeUs: bigint }
  | { readonly type: 'signal'; readonly signal: Signal }
  | { readonly type: 'event'; readonly payload: Uint8Array }
  | { readonly type: 'leave' };

/** The server's handshake answer. */
export interface Welcome {
  readonly type: 'welcome';
  readonly clientId: number;
  readonly player: number | null;
  readonly tickRate: number;
  readonly tick: number;
  readonly tickFraction: number;
  readonly schema: Schema;
  readonly resumeToken: Uint8Array;
  readonly resumed: boolean;
}

/** Messages the server sends. */
export type ServerMessage =
  | Welcome
  | { readonly type: 'pong'; readonly clientTimeUs: bigint; readonly tick: number; readonly tickFraction: number }
  | { readonly type: 'signal'; readonly signal: Signal }
  | { readonly type: 'event'; readonly payload: Uint8Array }
  | { readonly type: 'close'; readonly code: number; readonly message: string };

function writeSignal(w: PostcardWriter, s: Signal): void {
  switch (s.type) {
    case 'offer':
      w.uvar(0);
      w.string(s.sdp);
      break;
    case 'answer':
      w.uvar(1);
      w.string(s.sdp);
      break;
    case 'candidate':
      w.uvar(2);
      w.string(s.candidate);
      w.option(s.mid, (mid) => w.string(mid));
      break;
    case 'endOfCandidates':
      w.uvar(3);
      break;
    case 'abandon':
      w.uvar(4);
      break;
  }
}

function readSignal(r: PostcardReader): Signal {
  switch (r.u32()) {
    case 0:
      return { type: 'offer', sdp: r.string(MAX_SDP_LEN) };
    case 1:
      return { type: 'answer', sdp: r.string(MAX_SDP_LEN) };
    case 2: {
      const candidate = r.string(MAX_CANDIDATE_LEN);
      const mid = r.option() ? r.string(MAX_MID_LEN) : null;
      return { type: 'candidate', candidate, mid };
    }
    case 3:
      return { type: 'endOfCandidates' };
    case 4:
      return { type: 'abandon' };
    default:
      throw new DecodeError('BadMessage');
  }
}

/** The messages both sides send, under the same variant numbers in both directions. */
type EitherWay = Extract<ClientMessage | ServerMessage, { readonly type: 'signal' | 'event' }>;

function writeEitherWay(w: PostcardWriter, msg: EitherWay): void {
  if (msg.type === 'signal') {
    w.uvar(2);
    writeSignal(w, msg.signal);
  } else {
    w.uvar(3);
    w.bytes(msg.payload);
  }
}

/** Encodes a client message as a control frame. */
export function encodeClientMessage(msg: ClientMessage): Uint8Array {
  const w = new PostcardWriter([FRAME_CONTROL], 64);
  switch (msg.type) {
    case 'hello':
      if (msg.resume !== null && msg.resume.token.length !== RESUME_TOKEN_LEN) throw new RangeError('a resume token has 16 bytes');
      w.uvar(0);
      w.uvar(msg.wireVersion);
      w.option(msg.protocolHash, (hash) => w.u64(hash));
      w.string(msg.room);
      w.string(msg.authToken);
      w.option(msg.resume, (resume) => {
        w.raw(resume.token);
        w.option(resume.lastTick, (tick) => w.uvar(tick));
      });
      break;
    case 'ping':
      w.uvar(1);
      w.u64(msg.clientTimeUs);
      break;
    case 'signal':
    case 'event':
      writeEitherWay(w, msg);
      break;
    case 'leave':
      w.uvar(4);
      break;
  }
  return w.finish();
}

/** Whether `frame` is a client's clock ping (it may take the data channel snapshots take). */
export function isPingFrame(frame: Uint8Array): boolean {
  // Variant 1 of `ClientMessage`; a uvar below 128 is one byte.
  return frame.length > 1 && frame[0] === FRAME_CONTROL && frame[1] === 1;
}

function controlReader(frame: Uint8Array): PostcardReader {
  if (frame.length > MAX_FRAME_LEN) throw new DecodeError('LimitExceeded');
  const first = frame[0];
  if (first === undefined) throw new DecodeError('UnexpectedEnd');
  if (first !== FRAME_CONTROL) throw new DecodeError('UnknownFrame', first);
  return new PostcardReader(frame, 1);
}

/** Decodes a control frame from the server. Throws {@link DecodeError}. */
export function decodeServerMessage(frame: Uint8Array): ServerMessage {
  const r = controlReader(frame);
  let msg: ServerMessage;
  switch (r.u32()) {
    case 0: {
      const clientId = r.u32();
      const player = r.option() ? r.u32() : null;
      const tickRate = r.u16();
      const tick = r.u32();
      const tickFraction = r.u16();
      const schema = readSchema(r);
      const resumeToken = r.fixed(RESUME_TOKEN_LEN);
      const resumed = r.bool();
      msg = { type: 'welcome', clientId, player, tickRate, tick, tickFraction, schema, resumeToken, resumed };
      break;
    }
    case 1:
      msg = { type: 'pong', clientTimeUs: r.u64(), tick: r.u32(), tickFraction: r.u16() };
      break;
    case 2:
      msg = { type: 'signal', signal: readSignal(r) };
      break;
    case 3: {
      const payload = r.bytes();
      if (payload.length > MAX_EVENT_LEN) throw new DecodeError('LimitExceeded');
      msg = { type: 'event', payload };
      break;
    }
    case 4:
      msg = { type: 'close', code: r.u16(), message: r.string(MAX_CLOSE_MESSAGE_LEN) };
      break;
    default:
      throw new DecodeError('BadMessage');
  }
  if (r.remaining() !== 0) throw new DecodeError('TrailingBytes');
  return msg;
}

/** Encodes a server message (for tests and tools; the SDK only decodes them). */
export function encodeServerMessage(msg: ServerMessage): Uint8Array {
  const w = new PostcardWriter([FRAME_CONTROL], 64);
  switch (msg.type) {
    case 'welcome':
      w.uvar(0);
      w.uvar(msg.clientId);
      w.option(msg.player, (player) => w.uvar(player));
      w.uvar(msg.tickRate);
      w.uvar(msg.tick);
      w.uvar(msg.tickFraction);
      writeSchema(w, msg.schema);
      w.raw(msg.resumeToken);
      w.bool(msg.resumed);
      break;
    case 'pong':
      w.uvar(1);
      w.u64(msg.clientTimeUs);
      w.uvar(msg.tick);
      w.uvar(msg.tickFraction);
      break;
    case 'signal':
    case 'event':
      writeEitherWay(w, msg);
      break;
    case 'close':
      w.uvar(4);
      w.uvar(msg.code);
      w.string(msg.message);
      break;
  }
  return w.finish();
}
