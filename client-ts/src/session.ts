/**
 * The client side of a session (PROTOCOL.md section 11), without I/O: handshake, snapshot
 * decoding against its own baselines, delayed acks, inputs with redundancy and target ticks,
 * clock sync, and resume after a reconnect.
 *
 * Push frames with {@link ClientSession.handleFrame} and time with
 * {@link ClientSession.handleTimeout}; then drain {@link ClientSession.pollEvent} and
 * {@link ClientSession.pollTransmit} until both return `null`. Times are microseconds on any
 * monotonic clock the caller owns. The session survives reconnects: call
 * {@link ClientSession.connectionLost} when the transport drops and
 * {@link ClientSession.connect} on the next one.
 */

import { ClockSync } from './clock.js';
import { SnapshotDecoder, peekSnapshotHeader, type SnapshotHeader } from './codec.js';
import { DecodeError, errorMessage, SchemaError } from './errors.js';
import { encodeInputPacket, MAX_INPUTS_PER_PACKET, type StampedInput } from './input.js';
import {
  CloseCode,
  decodeServerMessage,
  encodeClientMessage,
  FRAME_CONTROL,
  FRAME_SNAPSHOT,
  type ClientMessage,
  type CloseReason,
  type ServerMessage,
  type Signal,
  type Welcome,
} from './messages.js';
import { Layout, WIRE_VERSION } from './schema.js';
import { Snapshot } from './snapshot.js';

/** Settings of a client session. */
export interface SessionConfig {
  /** Room to join. Default `"default"`. */
  room: string;
  /** Credential for the server. Default empty. */
  authToken: string;
  /** Protocol hash the client was built for; `null` accepts the server's schema as is. */
  protocolHash: bigint | null;
  /** Snapshots kept as baselines; at least the server's history (32). Default 32. */
  history: number;
  /** Inputs repeated in each input packet, 1 to 8. Default 4. */
  inputRedundancy: number;
  /** Time between clock pings, in microseconds. Default 1 s. */
  pingIntervalUs: number;
  /** Extra ticks added to an input's target tick. Default 0. */
  inputMarginTicks: number;
  /**
   * Longest time an ack may wait for an input packet to carry it before it goes out alone, in
   * microseconds. Within that, an ack waits only as long as it still reaches the server before
   * the tick it would reach if sent at once (by the clock estimate, with a tenth of a tick and
   * twice the RTT variation to spare), so waiting never makes the server's baseline older, and
   * the acks an input carries cost no message of their own. Default 33 ms, one 30 Hz tick.
   * 0 sends every ack at once.
   */
  ackDelayUs: number;
  /** Input packets waiting to be polled before the oldest is dropped. Default 8. */
  maxQueuedInputs: number;
}

/** The defaults of {@link SessionConfig}. */
export function defaultSessionConfig(): SessionConfig {
  return {
    room: 'default',
    authToken: '',
    protocolHash: null,
    history: 32,
    inputRedundancy: 4,
    pingIntervalUs: 1_000_000,
    inputMarginTicks: 0,
    ackDelayUs: 33_000,
    maxQueuedInputs: 8,
  };
}

/** Ticks an ack keeps to spare when it waits for an input: it should reach the server this long before the tick starts. */
const ACK_SPARE_TICKS = 0.1;

/** What happened, for the application. */
export type SessionEvent =
  | { readonly type: 'connected'; readonly clientId: number; readonly player: number | null; readonly resumed: boolean }
  | { readonly type: 'snapshot'; readonly header: SnapshotHeader }
  | { readonly type: 'decodeFailed'; readonly error: DecodeError }
  | { readonly type: 'event'; readonly payload: Uint8Array }
  | { readonly type: 'signal'; readonly signal: Signal }
  | { readonly type: 'closed'; readonly reason: CloseReason; readonly byServer: boolean };

/** Which channel a frame must go on: control frames reliably, inputs may be lost. */
export type Channel = 'reliable' | 'unreliable';

/** A frame to send. */
export interface Transmit {
  readonly frame: Uint8Array;
  readonly channel: Channel;
}

/** Counters. */
export interface SessionStats {
  snapshots: number;
  fullSnapshots: number;
  decodeErrors: number;
  staleSnapshots: number;
  bytesReceived: number;
  inputsDropped: number;
}

type State = 'idle' | 'handshaking' | 'established' | 'closed';

/** The last snapshots decoded, by tick, in a ring of reused buffers. */
class SnapshotHistory {
  private readonly slots: Snapshot[];
  private readonly ticks: (number | null)[];
  private next = 0;

  constructor(capacity: number) {
    const n = Math.max(capacity, 1);
    this.slots = Array.from({ length: n }, () => new Snapshot());
    this.ticks = new Array<number | null>(n).fill(null);
  }

  get(tick: number): Snapshot | undefined {
    const i = this.ticks.indexOf(tick);
    return i < 0 ? undefined : this.slots[i];
  }

  /** Swaps `incoming` into the oldest slot and returns the snapshot it replaced (for reuse). */
  store(tick: number, incoming: Snapshot): Snapshot {
    const i = this.next;
    const old = this.slots[i]!;
    this.slots[i] = incoming;
    this.ticks[i] = tick;
    this.next = (i + 1) % this.slots.length;
    return old;
  }

  clear(): void {
    this.ticks.fill(null);
  }
}

/** An error the session refused a frame with; the session is closed afterwards. */
export class SessionClosedError extends Error {
  readonly reason: CloseReason;
  constructor(reason: CloseReason) {
    super(`${reason.code}: ${reason.message}`);
    this.name = 'SessionClosedError';
    this.reason = reason;
  }
}

/** One client's session; see the module docs for the drain rule. */
export class ClientSession {
  readonly config: SessionConfig;
  private state: State = 'idle';
  private layoutValue: Layout | null = null;
  private decoder: SnapshotDecoder | null = null;
  private welcomeValue: Welcome | null = null;
  private resumeToken: Uint8Array | null = null;
  private clockValue = new ClockSync(30);
  private helloSentUs = 0;
  private nextPingUs = 0;
  private readonly history: SnapshotHistory;
  private incoming = new Snapshot();
  private latest: number | null = null;
  private ackDueUs: number | null = null;
  private ackNow = false;
  private lastInputSeq: number | null = null;
  private nextSeq = 0;
  private recent: StampedInput[] = [];
  private readonly controlOut: Uint8Array[] = [];
  private readonly unreliableOut: Uint8Array[] = [];
  private readonly events: SessionEvent[] = [];
  readonly stats: SessionStats = {
    snapshots: 0,
    fullSnapshots: 0,
    decodeErrors: 0,
    staleSnapshots: 0,
    bytesReceived: 0,
    inputsDropped: 0,
  };

  constructor(config: Partial<SessionConfig> = {}) {
    this.config = { ...defaultSessionConfig(), ...config };
    this.history = new SnapshotHistory(this.config.history);
  }

  /** Starts the handshake on a fresh transport: queues the hello, asking to resume when possible. */
  connect(nowUs: number): void {
    this.controlOut.length = 0;
    this.unreliableOut.length = 0;
    const resume = this.resumeToken === null ? null : { token: this.resumeToken, lastTick: this.latest };
    this.queue({
      type: 'hello',
      wireVersion: WIRE_VERSION,
      protocolHash: this.config.protocolHash,
      room: this.config.room,
      authToken: this.config.authToken,
      resume,
    });
    this.helloSentUs = nowUs;
    this.state = 'handshaking';
  }

  /** The transport dropped; baselines and the resume token are kept for the next connect. */
  connectionLost(): void {
    if (this.state !== 'closed') this.state = 'idle';
    this.controlOut.length = 0;
    this.unreliableOut.length = 0;
  }

  /** Leaves on purpose: queues a leave message; no resume will be possible. */
  leave(): void {
    if (this.state === 'established') this.queue({ type: 'leave' });
    this.state = 'closed';
    this.resumeToken = null;
  }

  /** Whether the welcome arrived on the current connection. */
  isEstablished(): boolean {
    return this.state === 'established';
  }

  /** Whether the session ended (closed by the server, a protocol error, or {@link leave}). */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Whether a resume token is held (the next connect asks to resume). */
  canResume(): boolean {
    return this.resumeToken !== null;
  }

  /** The layout compiled from the welcome's schema. */
  get layout(): Layout | null {
    return this.layoutValue;
  }

  /** The last welcome. */
  get welcome(): Welcome | null {
    return this.welcomeValue;
  }

  /** Clock sync state. */
  get clock(): ClockSync {
    return this.clockValue;
  }

  /** The newest decoded snapshot. Valid until the next frame is handled. */
  world(): Snapshot | undefined {
    return this.latest === null ? undefined : this.history.get(this.latest);
  }

  /** Sequence number of the newest input the server applied, from the newest snapshot. */
  lastInputApplied(): number | null {
    return this.lastInputSeq;
  }

  /** Takes in one frame from the server. Throws {@link SessionClosedError} when it closes the session. */
  handleFrame(nowUs: number, frame: Uint8Array): void {
    if (this.state !== 'handshaking' && this.state !== 'established') return;
    this.stats.bytesReceived += frame.length;
    const type = frame[0];
    if (type === FRAME_CONTROL) {
      let msg: ServerMessage;
      try {
        msg = decodeServerMessage(frame);
      } catch (e) {
        throw this.fail(CloseCode.MALFORMED, `server control frame: ${errorMessage(e)}`);
      }
      this.handleMessage(nowUs, msg);
    } else if (type === FRAME_SNAPSHOT) {
      if (this.state !== 'established') throw this.fail(CloseCode.BAD_HANDSHAKE, 'snapshot before welcome');
      this.handleSnapshot(nowUs, frame);
    } else if (type === undefined) {
      throw this.fail(CloseCode.MALFORMED, 'empty frame');
    } else {
      throw this.fail(CloseCode.MALFORMED, `unknown frame type 0x${type.toString(16).padStart(2, '0')}`);
    }
  }

  private handleMessage(nowUs: number, msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome':
        if (this.state !== 'handshaking') throw this.fail(CloseCode.BAD_HANDSHAKE, 'unexpected welcome');
        this.handleWelcome(nowUs, msg);
        return;
      case 'pong':
        this.clockValue.handleSample(Number(msg.clientTimeUs), nowUs, msg.tick, msg.tickFraction);
        return;
      case 'signal':
        this.events.push({ type: 'signal', signal: msg.signal });
        return;
      case 'event':
        this.events.push({ type: 'event', payload: msg.payload });
        return;
      case 'close': {
        this.state = 'closed';
        if (msg.code === CloseCode.RESUME_FAILED || msg.code === CloseCode.REPLACED) this.resumeToken = null;
        const reason = { code: msg.code, message: msg.message };
        this.events.push({ type: 'closed', reason, byServer: true });
        return;
      }
    }
  }

  private handleWelcome(nowUs: number, w: Welcome): void {
    let layout: Layout;
    try {
      layout = new Layout(w.schema);
    } catch (e) {
      const msg = e instanceof SchemaError ? e.message : String(e);
      throw this.fail(CloseCode.PROTOCOL_MISMATCH, `server schema: ${msg}`);
    }
    const ours = this.config.protocolHash;
    if (ours !== null && ours !== layout.protocolHash) {
      throw this.fail(
        CloseCode.PROTOCOL_MISMATCH,
        `server schema hashes to ${layout.protocolHash.toString(16).padStart(16, '0')}, client built for ${ours.toString(16).padStart(16, '0')}`,
      );
    }
    const changed = this.layoutValue === null || this.layoutValue.protocolHash !== layout.protocolHash;
    if (!w.resumed || changed) {
      this.history.clear();
      this.latest = null;
      this.recent = [];
      this.lastInputSeq = null;
    }
    if (this.layoutValue === null || changed) {
      this.layoutValue = layout;
      this.decoder = new SnapshotDecoder(layout);
    }
    this.clockValue = new ClockSync(w.tickRate);
    this.clockValue.seed(this.helloSentUs, nowUs, w.tick, w.tickFraction);
    this.nextPingUs = nowUs;
    this.resumeToken = w.resumeToken;
    this.state = 'established';
    this.welcomeValue = w;
    this.events.push({ type: 'connected', clientId: w.clientId, player: w.player, resumed: w.resumed });
  }

  private handleSnapshot(nowUs: number, frame: Uint8Array): void {
    const decoder = this.decoder;
    if (decoder === null) return;
    let header: SnapshotHeader;
    try {
      header = peekSnapshotHeader(frame);
      if (this.latest !== null && header.tick <= this.latest) {
        this.stats.staleSnapshots++;
        return;
      }
      header = decoder.decode(frame, (t) => this.history.get(t), this.incoming);
    } catch (e) {
      this.stats.decodeErrors++;
      const error = e instanceof DecodeError ? e : new DecodeError('BadMessage');
      this.events.push({ type: 'decodeFailed', error });
      return;
    }
    this.incoming = this.history.store(header.tick, this.incoming);
    this.latest = header.tick;
    if (this.ackDueUs === null) {
      const slack = this.clockValue.slackUs(nowUs, ACK_SPARE_TICKS);
      this.ackDueUs = nowUs + (slack === null ? this.config.ackDelayUs : Math.min(slack, this.config.ackDelayUs));
    }
    if (header.lastInputSeq !== null) this.lastInputSeq = header.lastInputSeq;
    this.stats.snapshots++;
    if (header.baseline === null) this.stats.fullSnapshots++;
    this.events.push({ type: 'snapshot', header });
  }

  /** Sends pings and delayed acks when due; call at {@link pollTimeout}. */
  handleTimeout(nowUs: number): void {
    if (this.ackDueUs !== null && nowUs >= this.ackDueUs) this.ackNow = true;
    if (this.state === 'established' && nowUs >= this.nextPingUs) {
      this.queue({ type: 'ping', clientTimeUs: BigInt(Math.max(Math.floor(nowUs), 0)) });
      this.nextPingUs = nowUs + this.config.pingIntervalUs;
    }
  }

  /** When {@link handleTimeout} next has work, or `null`. */
  pollTimeout(): number | null {
    if (this.state !== 'established') return null;
    const ack = this.ackNow ? null : this.ackDueUs;
    return ack === null ? this.nextPingUs : Math.min(ack, this.nextPingUs);
  }

  /**
   * Queues one input (quantized words laid out by the schema's input) stamped for the tick it
   * should reach the server, with the previous inputs repeated and the newest ack. Returns its
   * sequence number.
   */
  sendInput(nowUs: number, words: Uint32Array): { seq: number; tick: number } {
    const layout = this.layoutValue;
    if (layout === null || this.state !== 'established') throw new Error('session not established');
    if (words.length !== layout.input.words) {
      throw new RangeError(`input has ${words.length} words, the schema's input has ${layout.input.words}`);
    }
    let tick = this.clockValue.inputTick(nowUs, this.config.inputMarginTicks) ?? 0;
    const prev = this.recent[this.recent.length - 1];
    if (prev !== undefined) tick = Math.max(tick, prev.tick);
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0;
    const keep = Math.min(Math.max(this.config.inputRedundancy, 1), MAX_INPUTS_PER_PACKET);
    if (this.recent.length === keep) this.recent.shift();
    this.recent.push({ seq, tick, words: words.slice() });
    const frame = encodeInputPacket(layout, { ack: this.latest, inputs: [...this.recent].reverse() });
    if (this.unreliableOut.length >= Math.max(this.config.maxQueuedInputs, 1)) {
      this.unreliableOut.shift();
      this.stats.inputsDropped++;
    }
    this.unreliableOut.push(frame);
    this.ackDueUs = null;
    this.ackNow = false;
    return { seq, tick };
  }

  /** Queues a reliable game event for the server. */
  sendEvent(payload: Uint8Array): void {
    this.queue({ type: 'event', payload });
  }

  /** Queues WebRTC signaling for the server. */
  sendSignal(signal: Signal): void {
    this.queue({ type: 'signal', signal });
  }

  /**
   * The next frame to send: control frames, then input packets, then an ack-only packet when a
   * snapshot arrived since the last ack went out. `null` when nothing is waiting.
   */
  pollTransmit(): Transmit | null {
    const control = this.controlOut.shift();
    if (control !== undefined) return { frame: control, channel: 'reliable' };
    if (this.state !== 'established') return null;
    const input = this.unreliableOut.shift();
    if (input !== undefined) return { frame: input, channel: 'unreliable' };
    if (this.ackNow || (this.ackDueUs !== null && this.config.ackDelayUs === 0)) {
      const layout = this.layoutValue;
      if (layout === null) return null;
      this.ackDueUs = null;
      this.ackNow = false;
      return { frame: encodeInputPacket(layout, { ack: this.latest, inputs: [] }), channel: 'unreliable' };
    }
    return null;
  }

  /** Next event for the application. */
  pollEvent(): SessionEvent | null {
    return this.events.shift() ?? null;
  }

  private queue(msg: ClientMessage): void {
    this.controlOut.push(encodeClientMessage(msg));
  }

  private fail(code: number, message: string): SessionClosedError {
    const reason = { code, message: message.slice(0, 256) };
    this.state = 'closed';
    this.events.push({ type: 'closed', reason, byServer: false });
    return new SessionClosedError(reason);
  }
}
