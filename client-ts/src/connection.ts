/**
 * A game connection: a {@link ClientSession} driven over a {@link Transport}, with timers,
 * automatic reconnect (exponential backoff with jitter) that resumes the session, typed events,
 * an interpolation buffer for rendering, and hooks for client-side prediction.
 *
 * ```text
 *  transport ──onFrame──▶ session.handleFrame ──▶ pollEvent ──▶ events, interpolation, prediction
 *  data channels ─frame─▶        ▲           └──▶ pollTransmit ──send──┘ (inputs and pings on
 *      ▲                         │                                        `state` while open)
 *      └── reconnect (backoff + jitter) on loss; the hello carries the resume token
 * ```
 *
 * After each welcome, where an `RTCPeerConnection` is available, a {@link WebRtcLink} offers
 * WebRTC data channels over the same WebSocket (signaling) and falls back to it on failure;
 * frames from either path enter the one session, so a switch keeps the session and baselines.
 *
 * The parts are modules of their own: the options (`options.ts`), events (`events.ts`), the
 * current control transport (`transport-slot.ts`), the reconnect policy (`reconnect.ts`), the
 * WebRTC upgrade's glue (`webrtc-link.ts`), pending inputs for prediction (`prediction.ts`),
 * entity enter and leave (`entity-diff.ts`), counters (`traffic.ts`). This one owns the
 * session timer and routes between them.
 */

import { EntityDiff, type EntityDiffHandlers } from './entity-diff.js';
import { Emitter, type ConnectionEvents, type Handler } from './events.js';
import { InterpolationBuffer, type InterpolatedWorld } from './interpolation.js';
import { closeCodeName, CloseCode, isPingFrame, type CloseReason, type Signal, type Welcome } from './messages.js';
import { sessionConfig, type ConnectOptions } from './options.js';
import { PendingInputs, type PendingInput } from './prediction.js';
import { Backoff } from './reconnect.js';
import type { GenericTypes, SchemaTypes } from './schema.js';
import { ClientSession, SessionClosedError, type SessionEvent } from './session.js';
import { writeFields } from './snapshot.js';
import { TrafficMeter, type Traffic } from './traffic.js';
import { websocketTransport, type Transport, type TransportClose, type TransportKind } from './transport.js';
import { TransportSlot } from './transport-slot.js';
import type { WebRtcStats } from './upgrade.js';
import type { Fields } from './values.js';
import { WebRtcLink } from './webrtc-link.js';
import { WorldView } from './world.js';

/** A close code's name, `transport_lost` for -1 (the transport dropped without a reason). */
const dropName = (code: number): string => (code < 0 ? 'transport_lost' : closeCodeName(code));

/** The error {@link connect} rejects with when the session ends before its first welcome. */
export class ConnectError extends Error {
  /** Close code, or -1 when no transport could be opened. */
  readonly code: number;
  constructor(code: number, message: string) {
    super(`${dropName(code)}: ${message}`);
    this.name = 'ConnectError';
    this.code = code;
  }
}

const defaultNow = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** A connection to a tickwire server. Create with {@link connect}. */
export class Connection<T extends SchemaTypes = GenericTypes> {
  readonly url: string;
  readonly session: ClientSession;
  private readonly opts: ConnectOptions<T>;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly events = new Emitter<ConnectionEvents<T>>();
  private readonly slot: TransportSlot;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private userClosed = false;
  private ended = false;
  private readonly pending: PendingInputs<T>;
  private readonly entities = new EntityDiff();
  private readonly entityHandlers: EntityDiffHandlers<T> = {
    enter: (id, kind, entity) => this.emit('entityEnter', { id, kind, entity }),
    leave: (id, kind) => this.emit('entityLeave', { id, kind }),
  };
  private inputWords: Uint32Array | null = null;
  private interp: InterpolationBuffer | null = null;
  private readonly rtc: WebRtcLink;
  private lastSnapshotVia: TransportKind = 'websocket';
  private readonly meter = new TrafficMeter();
  /** Traffic counters over every path the connection used. */
  readonly traffic: Traffic = this.meter.total;
  /** Traffic counters per path: the WebSocket (every transport of that kind), the data channels. */
  readonly trafficOver: Readonly<Record<TransportKind, Traffic>> = this.meter.over;

  constructor(url: string, opts: ConnectOptions<T> = {}) {
    this.url = url;
    this.opts = opts;
    this.session = new ClientSession(sessionConfig(opts));
    this.now = opts.now ?? defaultNow;
    this.backoff = new Backoff(opts.reconnect, opts.random ?? Math.random);
    this.pending = new PendingInputs(opts.prediction);
    this.slot = new TransportSlot(opts.transport ?? websocketTransport(), url, opts.handshakeTimeoutMs ?? 5000, () => this.session.isEstablished(), {
      onOpen: (kind) => {
        this.emit('transport', { kind, state: 'open' });
        this.session.connect(this.nowUs());
        this.flush();
      },
      onFrame: (frame, kind) => this.handleFrame(frame, kind),
      onClose: (info) => this.handleTransportClose(info),
    });
    this.rtc = new WebRtcLink(opts.webrtc, this.now, {
      onSignal: (s) => this.session.sendSignal(s),
      onOpen: () => {
        this.lastSnapshotVia = 'websocket';
        this.emit('transport', { kind: 'webrtc', state: 'open' });
      },
      onClosed: (reason, wasOpen) => {
        if (wasOpen) this.emit('transport', { kind: 'webrtc', state: 'closed', reason });
      },
      onFrame: (frame) => this.takeFrame(frame, 'webrtc'),
      wake: () => this.flush(),
    });
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof ConnectionEvents<T>>(name: K, handler: Handler<ConnectionEvents<T>[K]>): () => void {
    return this.events.on(name, handler);
  }

  /** The next occurrence of an event (optionally one that passes `filter`). */
  once<K extends keyof ConnectionEvents<T>>(name: K, filter?: (e: ConnectionEvents<T>[K]) => boolean): Promise<ConnectionEvents<T>[K]> {
    return this.events.once(name, filter);
  }

  private emit<K extends keyof ConnectionEvents<T>>(name: K, event: ConnectionEvents<T>[K]): void {
    this.events.emit(name, event);
  }

  /** Opens the first transport. {@link connect} calls it. */
  start(): void {
    this.open();
  }

  private nowUs(): number {
    return this.now() * 1000;
  }

  private open(): void {
    if (this.userClosed || this.ended) return;
    void this.slot.open();
  }

  /** The current control transport. */
  private get transport(): Transport | null {
    return this.slot.transport;
  }

  private handleFrame(frame: Uint8Array, via: TransportKind): void {
    this.takeFrame(frame, via);
    this.flush();
  }

  /** Feeds one frame from either path to the session and handles what it reports. */
  private takeFrame(frame: Uint8Array, via: TransportKind): void {
    this.meter.received(via, frame.length);
    try {
      this.session.handleFrame(this.nowUs(), frame);
    } catch (e) {
      if (!(e instanceof SessionClosedError)) throw e;
    }
    for (let ev = this.session.pollEvent(); ev !== null; ev = this.session.pollEvent()) this.handleEvent(ev, frame.length, via);
  }

  private handleEvent(ev: SessionEvent, frameBytes: number, via: TransportKind): void {
    switch (ev.type) {
      case 'connected': {
        this.backoff.reset();
        this.slot.handshakeDone();
        const layout = this.session.layout!;
        if (this.interp === null || this.interp.layout !== layout || !ev.resumed) {
          this.interp = new InterpolationBuffer(layout, this.opts.interpolation);
        }
        if (!ev.resumed) this.pending.clear();
        this.inputWords = new Uint32Array(layout.input.words);
        this.emit('connected', { clientId: ev.clientId, player: ev.player, resumed: ev.resumed, transport: this.transport?.kind ?? 'websocket' });
        this.dropRtc('reconnected');
        const welcome = this.session.welcome;
        if (welcome !== null) this.rtc.start(welcome.tickRate, this.session.config.history);
        return;
      }
      case 'snapshot': {
        const snap = this.session.world()!;
        const world = new WorldView<T>(this.session.layout!, snap);
        const h = ev.header;
        this.pending.applied(h.lastInputSeq);
        this.lastSnapshotVia = via;
        this.interp?.push(snap);
        this.entities.update(world, this.entityHandlers);
        this.emit('snapshot', { tick: h.tick, baseline: h.baseline, lastInputSeq: h.lastInputSeq, bytes: frameBytes, via, world });
        this.pending.reconcile(world, this.player, this.session.lastInputApplied());
        return;
      }
      case 'decodeFailed':
        this.emit('decodeFailed', { error: ev.error });
        return;
      case 'event':
        this.emit('event', { payload: ev.payload });
        return;
      case 'signal':
        this.rtc.handleSignal(ev.signal);
        this.emit('signal', { signal: ev.signal });
        return;
      case 'closed':
        this.endSession(ev.reason, ev.byServer);
        return;
    }
  }

  private flush(): void {
    this.rtc.pump();
    const t = this.transport;
    for (let x = this.session.pollTransmit(); x !== null; x = this.session.pollTransmit()) {
      if (t === null) continue;
      // Input packets and clock pings (so the clock sync measures the path snapshots take) go
      // on the unreliable data channel while it is open; everything else on the WebSocket.
      const onRtc = (x.channel === 'unreliable' || isPingFrame(x.frame)) && this.rtc.send(x.frame);
      if (!onRtc) t.send(x.frame, x.channel);
      this.meter.sent(onRtc ? 'webrtc' : t.kind, x.frame.length);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const sessionAt = this.session.pollTimeout();
    const rtcAt = this.rtc.pollTimeout();
    let at = sessionAt === null ? null : sessionAt / 1000;
    if (rtcAt !== null) at = at === null ? rtcAt : Math.min(at, rtcAt);
    if (at === null) return;
    const delay = Math.max(0, at - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.session.handleTimeout(this.nowUs());
      this.rtc.handleTimeout();
      this.flush();
    }, delay);
  }

  /** Ends the upgrade with its WebSocket connection, reporting the data channels closed if they were open. */
  private dropRtc(reason: string): void {
    if (this.rtc.drop(reason)) this.emit('transport', { kind: 'webrtc', state: 'closed', reason });
  }

  /** The session ended (server close, or this side refused a frame). */
  private endSession(reason: CloseReason, byServer: boolean): void {
    const t = this.transport;
    if (!byServer && t !== null) t.close(4000 + reason.code, reason.message.slice(0, 120));
    this.dropTransport();
    this.afterDrop(reason.code, reason.message, byServer, this.userClosed);
  }

  private handleTransportClose(info: TransportClose): void {
    const wasOpen = this.transport;
    this.dropTransport();
    if (wasOpen !== null) this.emit('transport', { kind: wasOpen.kind, state: 'closed' });
    // A session that reported its own end dropped its transport first, so its close is stale
    // and never reaches here.
    if (this.userClosed) return;
    if (info.code !== null && info.code >= 4000 && info.code < 5000) {
      // A close frame with a tickwire code but no close message before it.
      this.afterDrop(info.code - 4000, info.reason, true, false);
      return;
    }
    this.session.connectionLost();
    this.afterDrop(-1, info.reason || 'transport closed', false, false);
  }

  private dropTransport(): void {
    this.dropRtc('websocket closed');
    this.slot.drop();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Reports the drop and schedules the reconnect, unless `giveUp` or the policy says none follows. */
  private afterDrop(code: number, message: string, byServer: boolean, giveUp: boolean): void {
    const delay = giveUp ? null : this.backoff.nextDelayMs(code);
    const willReconnect = delay !== null;
    if (!willReconnect) this.ended = true;
    this.emit('disconnect', { code, name: dropName(code), message, byServer, willReconnect });
    if (delay === null) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, delay);
  }

  /** Whether the session is established on an open transport. */
  get isConnected(): boolean {
    return this.transport !== null && this.session.isEstablished();
  }

  /** Whether the connection is over for good (closed, or refused with a terminal code). */
  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * What snapshots are arriving over: `webrtc` while the data channels are open and the last
   * snapshot came on them, else the transport's kind; `null` between transports.
   */
  get transportKind(): TransportKind | null {
    const t = this.transport;
    if (t === null) return null;
    return this.rtc.isOpen && this.lastSnapshotVia === 'webrtc' ? 'webrtc' : t.kind;
  }

  /** The WebRTC upgrade's state now: `off` (disabled, unavailable, or no session), `waiting` to retry, `offering`, `open`. */
  get webrtcState(): 'off' | 'waiting' | 'offering' | 'open' {
    return this.rtc.state;
  }

  /** WebRTC upgrade counters, over every connection this client made. */
  get webrtcStats(): WebRtcStats {
    return this.rtc.stats;
  }

  /** The last welcome. */
  get welcome(): Welcome | null {
    return this.session.welcome;
  }

  /** The entity this client controls. */
  get player(): number | null {
    return this.session.welcome?.player ?? null;
  }

  /** The newest decoded world. Valid until the next frame is handled. */
  world(): WorldView<T> | null {
    const layout = this.session.layout;
    const snap = this.session.world();
    return layout === null || snap === undefined ? null : new WorldView<T>(layout, snap);
  }

  /** Smoothed round-trip time in milliseconds, `null` before the first pong. */
  get rttMs(): number | null {
    const us = this.session.clock.rttUs();
    return us === null ? null : us / 1000;
  }

  /** Estimated server tick (fractional) now. */
  serverTick(): number | null {
    return this.session.clock.serverTick(this.nowUs());
  }

  /** Bytes per second received and sent, over about the last second. */
  bytesPerSecond(): { in: number; out: number } {
    return this.meter.bytesPerSecond(this.now());
  }

  /** Inputs sent that the server has not applied yet, oldest first. */
  pendingInputs(): readonly PendingInput<T['input']>[] {
    return this.pending.pending;
  }

  /**
   * Sends one input (fields of the schema's input; missing fields keep their last value),
   * stamped for the tick it should reach the server and repeated in the next packets. Returns
   * its sequence number, which snapshots report as `lastInputSeq` once applied.
   */
  sendInput(input: T['input']): number {
    const layout = this.session.layout;
    if (layout === null || this.inputWords === null || !this.isConnected) throw new Error('not connected');
    writeFields(layout.input, this.inputWords, 0, input as Readonly<Fields>);
    const { seq, tick } = this.session.sendInput(this.nowUs(), this.inputWords);
    this.pending.sent({ seq, tick, input, sentAtMs: this.now() });
    this.flush();
    return seq;
  }

  /** Sends a reliable game event. */
  sendEvent(payload: Uint8Array): void {
    if (!this.isConnected) throw new Error('not connected');
    this.session.sendEvent(payload);
    this.flush();
  }

  /** Sends WebRTC signaling over the control channel. */
  sendSignal(signal: Signal): void {
    if (!this.isConnected) throw new Error('not connected');
    this.session.sendSignal(signal);
    this.flush();
  }

  /** The world as rendered now: `interpolation.delayMs` behind the estimated server time. */
  interpolated(): InterpolatedWorld | null {
    const interp = this.interp;
    const tick = this.serverTick();
    if (interp === null || tick === null) return null;
    return interp.sample(interp.renderTick(tick, this.session.clock.tickRate));
  }

  /**
   * Leaves on purpose: sends a leave message, never reconnects. The server ends the session on
   * the leave and closes the transport; the transport is closed from this side only if that
   * has not happened within `closeTimeoutMs` (closing at once could overtake the leave).
   */
  close(closeTimeoutMs = 1000): void {
    if (this.userClosed) return;
    this.userClosed = true;
    this.ended = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    const t = this.transport;
    const wasEstablished = this.session.isEstablished();
    // Tell the server the peer is going (on the WebSocket, before the leave), and close it.
    this.rtc.stop('client left');
    this.rtc.pump();
    this.session.leave();
    if (t !== null) {
      for (let x = this.session.pollTransmit(); x !== null; x = this.session.pollTransmit()) t.send(x.frame, x.channel);
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.dropRtc('client left');
    const closeNow = () => {
      if (this.transport !== t || t === null) return;
      this.dropTransport();
      this.emit('transport', { kind: t.kind, state: 'closed' });
    };
    if (wasEstablished) setTimeout(closeNow, closeTimeoutMs);
    else closeNow();
    if (wasEstablished || t !== null) {
      this.emit('disconnect', { code: CloseCode.NORMAL, name: 'normal', message: 'client left', byServer: false, willReconnect: false });
    }
  }
}

/**
 * Connects to `url` (`ws://host:port/ws`) and resolves once the server's welcome arrived.
 * Rejects with {@link ConnectError} if the session ends before that for good (for example a
 * protocol mismatch, or every reconnect attempt failing).
 */
export function connect<T extends SchemaTypes = GenericTypes>(url: string, options: ConnectOptions<T> = {}): Promise<Connection<T>> {
  const conn = new Connection<T>(url, options);
  return new Promise((resolve, reject) => {
    const offConnected = conn.on('connected', () => {
      offConnected();
      offDisconnect();
      resolve(conn);
    });
    const offDisconnect = conn.on('disconnect', (d) => {
      if (d.willReconnect) return;
      offConnected();
      offDisconnect();
      reject(new ConnectError(d.code, d.message));
    });
    conn.start();
  });
}
