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
 * After each welcome, where an `RTCPeerConnection` is available, an {@link RtcUpgrade} offers
 * WebRTC data channels over the same WebSocket (signaling) and falls back to it on failure;
 * frames from either path enter the one session, so a switch keeps the session and baselines.
 */

import { closeCodeName, CloseCode, isPingFrame, type CloseReason, type Signal, type Welcome } from './messages.js';
import { InterpolationBuffer, type InterpolatedWorld, type InterpolationOptions } from './interpolation.js';
import type { GenericTypes, Protocol, SchemaTypes } from './schema.js';
import { ClientSession, SessionClosedError, type SessionConfig, type SessionEvent } from './session.js';
import { writeFields } from './snapshot.js';
import { websocketTransport, type Transport, type TransportClose, type TransportFactory, type TransportKind } from './transport.js';
import { addWebRtcStats, defaultUpgradeConfig, emptyWebRtcStats, RtcUpgrade, type UpgradeConfig, type WebRtcStats } from './upgrade.js';
import { globalPeerConnection, RtcPeer, type PeerConnectionConstructor } from './webrtc.js';
import type { DecodeError } from './errors.js';
import type { Fields } from './values.js';
import { WorldView, type EntityOf } from './world.js';

/** Reconnect policy: delay `n` is `min(maxDelayMs, initialDelayMs · multiplier^n)`, less up to `jitter` of it at random. */
export interface ReconnectOptions {
  /** Default 250 ms. */
  initialDelayMs: number;
  /** Default 5000 ms. */
  maxDelayMs: number;
  /** Default 2. */
  multiplier: number;
  /** Fraction of each delay taken off at random, 0 to 1. Default 0.5. */
  jitter: number;
  /** Attempts in a row before giving up. Default unlimited. */
  maxAttempts: number;
}

/** WebRTC settings of {@link connect}: the peer connection to use, and the upgrade's timing. */
export interface WebRtcOptions extends UpgradeConfig {
  /** `RTCPeerConnection` constructor. Default: the global one; without one, no upgrade (Node: pass werift's). */
  peerConnection: PeerConnectionConstructor;
  /**
   * Passed to the constructor. Default `{}`: no ICE servers (the server's host candidate is
   * reachable directly). werift on loopback needs `{ iceAdditionalHostAddresses: ['127.0.0.1'] }`.
   */
  config: object;
}

/** Options of {@link connect}. */
export interface ConnectOptions<T extends SchemaTypes> {
  /** The generated `PROTOCOL` the client was built for; omit for a generic client. */
  protocol?: Protocol<T>;
  /** Overrides the hash sent in the hello (`null`: none, accept any schema). */
  protocolHash?: bigint | null;
  /** Room to join. Default `"default"`. */
  room?: string;
  /** Credential for the server. */
  authToken?: string;
  /** How frames travel. Default: WebSocket. */
  transport?: TransportFactory;
  /** Reconnect policy, or `false` to never reconnect. */
  reconnect?: Partial<ReconnectOptions> | false;
  /**
   * Upgrade to WebRTC data channels after each welcome (snapshots and inputs on an unreliable
   * channel; the WebSocket stays for signaling and as the fallback), or `false` to stay on the
   * WebSocket. On by default where `RTCPeerConnection` exists.
   */
  webrtc?: Partial<WebRtcOptions> | false;
  /** Longest time from opening a transport to the welcome. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Interpolation settings (`delayMs`, `wrap`). */
  interpolation?: Partial<InterpolationOptions>;
  /** Session settings (input redundancy, ping interval, ack delay, ...). */
  session?: Partial<SessionConfig>;
  /** Client-side prediction and reconciliation. */
  prediction?: PredictionHooks<T>;
  /** Milliseconds on a monotonic clock. Default `performance.now()`. */
  now?: () => number;
  /** Random numbers in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
}

/** An input sent and not yet applied by the server, for reconciliation. */
export interface PendingInput<I> {
  readonly seq: number;
  /** The tick it was stamped for. */
  readonly tick: number;
  readonly input: I;
  /** When it was sent, on the connection's clock (ms). */
  readonly sentAtMs: number;
}

/** What a reconciliation hook is given after each snapshot. */
export interface ReconcileContext<T extends SchemaTypes> {
  /** The authoritative world. */
  readonly world: WorldView<T>;
  /** The entity this client controls. */
  readonly player: number | null;
  /** Newest input the server applied (from the snapshot header), `null` before the first. */
  readonly lastInputSeq: number | null;
  /** Inputs sent after it, oldest first: replay them on the authoritative state to predict. */
  readonly pending: readonly PendingInput<T['input']>[];
}

/** Client-side prediction hooks. */
export interface PredictionHooks<T extends SchemaTypes> {
  /** Called for every input sent, right after it is queued. */
  onInput?(input: PendingInput<T['input']>): void;
  /** Called after every decoded snapshot, with the inputs the server has not applied yet. */
  reconcile?(ctx: ReconcileContext<T>): void;
}

/** Events a {@link Connection} emits. */
export interface ConnectionEvents<T extends SchemaTypes> {
  /** A welcome arrived (first connect, or after a reconnect: `resumed` tells whether the session continued). */
  connected: { readonly clientId: number; readonly player: number | null; readonly resumed: boolean; readonly transport: TransportKind };
  /** A snapshot decoded. */
  snapshot: {
    readonly tick: number;
    /** The baseline tick of a delta; `null` for a full snapshot. */
    readonly baseline: number | null;
    readonly lastInputSeq: number | null;
    /** Frame size in bytes. */
    readonly bytes: number;
    /** The path it arrived on. */
    readonly via: TransportKind;
    readonly world: WorldView<T>;
  };
  /** An entity came into this client's view. */
  entityEnter: { readonly id: number; readonly kind: string; readonly entity: EntityOf<T> };
  /** An entity left this client's view. */
  entityLeave: { readonly id: number; readonly kind: string };
  /**
   * A transport opened or closed: the WebSocket, or the WebRTC data channels (`webrtc` opens
   * when both channels are open, and closes when it falls back to the WebSocket).
   */
  transport: { readonly kind: TransportKind; readonly state: 'open' | 'closed'; readonly reason?: string };
  /** The connection dropped or ended, with the reason. */
  disconnect: {
    /** Close code (PROTOCOL.md section 8); `-1` when the transport dropped without a reason. */
    readonly code: number;
    /** The code's name (`protocol_mismatch`, ...), `transport_lost` for -1. */
    readonly name: string;
    readonly message: string;
    /** Whether the server ended it (else this client, or the network). */
    readonly byServer: boolean;
    /** Whether a reconnect is scheduled. */
    readonly willReconnect: boolean;
  };
  /** A reliable game event from the server. */
  event: { readonly payload: Uint8Array };
  /** WebRTC signaling from the server. */
  signal: { readonly signal: Signal };
  /** A snapshot failed to decode and was dropped. */
  decodeFailed: { readonly error: DecodeError };
}

type Handler<E> = (event: E) => void;

/** Traffic counters. */
export interface Traffic {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
}

/** Codes after which reconnecting cannot help. */
const TERMINAL = new Set<number>([
  CloseCode.NORMAL,
  CloseCode.PROTOCOL_MISMATCH,
  CloseCode.BAD_HANDSHAKE,
  CloseCode.MALFORMED,
  CloseCode.MESSAGE_TOO_LARGE,
  CloseCode.AUTH_FAILED,
  CloseCode.KICKED,
  CloseCode.REPLACED,
  CloseCode.BAD_INPUT,
]);

/** The error {@link connect} rejects with when the session ends before its first welcome. */
export class ConnectError extends Error {
  /** Close code, or -1 when no transport could be opened. */
  readonly code: number;
  constructor(code: number, message: string) {
    super(`${code < 0 ? 'transport_lost' : closeCodeName(code)}: ${message}`);
    this.name = 'ConnectError';
    this.code = code;
  }
}

function newTraffic(): Traffic {
  return { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 };
}

const defaultNow = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** A connection to a tickwire server. Create with {@link connect}. */
export class Connection<T extends SchemaTypes = GenericTypes> {
  readonly url: string;
  readonly session: ClientSession;
  private readonly opts: ConnectOptions<T>;
  private readonly factory: TransportFactory;
  private readonly reconnectOpts: ReconnectOptions | null;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly handlers = new Map<keyof ConnectionEvents<T>, Set<Handler<never>>>();
  private transport: Transport | null = null;
  private transportGen = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private attempts = 0;
  private userClosed = false;
  private ended = false;
  private welcomed = false;
  private pending: PendingInput<T['input']>[] = [];
  private prevIds = new Uint32Array(0);
  private prevKinds = new Uint16Array(0);
  private inputWords: Uint32Array | null = null;
  private interp: InterpolationBuffer | null = null;
  private readonly rate: { t: number; bytesIn: number; bytesOut: number }[] = [];
  private readonly rtcOpts: (UpgradeConfig & { ctor: PeerConnectionConstructor; config: object }) | null;
  private rtc: RtcUpgrade | null = null;
  private readonly pastRtc: WebRtcStats = emptyWebRtcStats();
  private lastSnapshotVia: TransportKind = 'websocket';
  /** Traffic counters over every path the connection used. */
  readonly traffic: Traffic = newTraffic();
  /** Traffic counters per path: the WebSocket (every transport of that kind), the data channels. */
  readonly trafficOver: Readonly<Record<TransportKind, Traffic>> = { websocket: newTraffic(), webrtc: newTraffic() };

  constructor(url: string, opts: ConnectOptions<T> = {}) {
    this.url = url;
    this.opts = opts;
    this.factory = opts.transport ?? websocketTransport();
    this.reconnectOpts =
      opts.reconnect === false
        ? null
        : { initialDelayMs: 250, maxDelayMs: 5000, multiplier: 2, jitter: 0.5, maxAttempts: Infinity, ...opts.reconnect };
    this.now = opts.now ?? defaultNow;
    this.random = opts.random ?? Math.random;
    const rtc = opts.webrtc === false ? null : { ...defaultUpgradeConfig(), config: {}, ...opts.webrtc };
    const ctor = rtc === null ? null : (rtc.peerConnection ?? globalPeerConnection());
    this.rtcOpts = rtc === null || ctor === null ? null : { ...rtc, ctor };
    const hash = opts.protocolHash !== undefined ? opts.protocolHash : (opts.protocol?.protocolHash ?? null);
    this.session = new ClientSession({
      ...opts.session,
      room: opts.room ?? opts.session?.room ?? 'default',
      authToken: opts.authToken ?? opts.session?.authToken ?? '',
      protocolHash: hash,
    });
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof ConnectionEvents<T>>(name: K, handler: Handler<ConnectionEvents<T>[K]>): () => void {
    let set = this.handlers.get(name);
    if (set === undefined) this.handlers.set(name, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  /** The next occurrence of an event (optionally one that passes `filter`). */
  once<K extends keyof ConnectionEvents<T>>(name: K, filter?: (e: ConnectionEvents<T>[K]) => boolean): Promise<ConnectionEvents<T>[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (e) => {
        if (filter === undefined || filter(e)) {
          off();
          resolve(e);
        }
      });
    });
  }

  private emit<K extends keyof ConnectionEvents<T>>(name: K, event: ConnectionEvents<T>[K]): void {
    const set = this.handlers.get(name);
    if (set === undefined) return;
    for (const h of [...set]) (h as Handler<ConnectionEvents<T>[K]>)(event);
  }

  /** Opens the first transport. {@link connect} calls it. */
  start(): void {
    void this.open();
  }

  private nowUs(): number {
    return this.now() * 1000;
  }

  private async open(): Promise<void> {
    if (this.userClosed || this.ended) return;
    const gen = ++this.transportGen;
    const stale = () => gen !== this.transportGen;
    let t: Transport;
    try {
      t = await this.factory(this.url, {
        onOpen: () => {
          if (stale()) return;
          this.emit('transport', { kind: t.kind, state: 'open' });
          this.session.connect(this.nowUs());
          this.flush();
        },
        onFrame: (frame) => {
          if (!stale()) this.handleFrame(frame, t.kind);
        },
        onClose: (info) => {
          if (!stale()) this.handleTransportClose(info);
        },
      });
    } catch (e) {
      if (!stale()) this.handleTransportClose({ code: null, reason: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (stale()) {
      t.close(1000, '');
      return;
    }
    this.transport = t;
    const limit = this.opts.handshakeTimeoutMs ?? 5000;
    this.handshakeTimer = setTimeout(() => {
      if (!stale() && !this.session.isEstablished()) {
        this.handleTransportClose({ code: null, reason: `no welcome within ${limit} ms` });
      }
    }, limit);
  }

  private handleFrame(frame: Uint8Array, via: TransportKind): void {
    this.takeFrame(frame, via);
    this.flush();
  }

  /** Feeds one frame from either path to the session and handles what it reports. */
  private takeFrame(frame: Uint8Array, via: TransportKind): void {
    for (const c of [this.traffic, this.trafficOver[via]]) {
      c.bytesIn += frame.length;
      c.framesIn++;
    }
    try {
      this.session.handleFrame(this.nowUs(), frame);
    } catch (e) {
      if (!(e instanceof SessionClosedError)) throw e;
    }
    this.processEvents(frame.length, via);
  }

  private processEvents(frameBytes: number, via: TransportKind): void {
    for (let ev = this.session.pollEvent(); ev !== null; ev = this.session.pollEvent()) this.handleEvent(ev, frameBytes, via);
  }

  private handleEvent(ev: SessionEvent, frameBytes: number, via: TransportKind): void {
    switch (ev.type) {
      case 'connected': {
        this.welcomed = true;
        this.attempts = 0;
        if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
        const layout = this.session.layout!;
        if (this.interp === null || this.interp.layout !== layout || !ev.resumed) {
          this.interp = new InterpolationBuffer(layout, this.opts.interpolation);
        }
        if (!ev.resumed) this.pending = [];
        this.inputWords = new Uint32Array(layout.input.words);
        this.emit('connected', { clientId: ev.clientId, player: ev.player, resumed: ev.resumed, transport: this.transport?.kind ?? 'websocket' });
        this.startRtc();
        return;
      }
      case 'snapshot': {
        const layout = this.session.layout!;
        const snap = this.session.world()!;
        const world = new WorldView<T>(layout, snap);
        const h = ev.header;
        if (h.lastInputSeq !== null) {
          const applied = h.lastInputSeq;
          this.pending = this.pending.filter((p) => p.seq > applied);
        }
        this.lastSnapshotVia = via;
        this.interp?.push(snap);
        this.diffEntities(world);
        this.emit('snapshot', { tick: h.tick, baseline: h.baseline, lastInputSeq: h.lastInputSeq, bytes: frameBytes, via, world });
        this.opts.prediction?.reconcile?.({
          world,
          player: this.session.welcome?.player ?? null,
          lastInputSeq: this.session.lastInputApplied(),
          pending: this.pending,
        });
        return;
      }
      case 'decodeFailed':
        this.emit('decodeFailed', { error: ev.error });
        return;
      case 'event':
        this.emit('event', { payload: ev.payload });
        return;
      case 'signal':
        this.rtc?.handleSignal(this.now(), ev.signal);
        this.emit('signal', { signal: ev.signal });
        return;
      case 'closed':
        this.endSession(ev.reason, ev.byServer);
        return;
    }
  }

  private diffEntities(world: WorldView<T>): void {
    const s = world.snapshot;
    const layout = world.layout;
    const pi = this.prevIds;
    const pk = this.prevKinds;
    let i = 0;
    let j = 0;
    const leave = (k: number) => this.emit('entityLeave', { id: pi[k]!, kind: layout.kinds[pk[k]!]?.name ?? '' });
    const enter = (k: number) => this.emit('entityEnter', { id: s.ids[k]!, kind: layout.kinds[s.kinds[k]!]!.name, entity: world.at(k) });
    while (i < pi.length && j < s.count) {
      const a = pi[i]!;
      const b = s.ids[j]!;
      if (a === b) {
        if (pk[i] !== s.kinds[j]) {
          leave(i);
          enter(j);
        }
        i++;
        j++;
      } else if (a < b) leave(i++);
      else enter(j++);
    }
    while (i < pi.length) leave(i++);
    while (j < s.count) enter(j++);
    this.prevIds = s.ids.slice(0, s.count);
    this.prevKinds = s.kinds.slice(0, s.count);
  }

  private flush(): void {
    this.pumpRtc();
    const t = this.transport;
    for (let x = this.session.pollTransmit(); x !== null; x = this.session.pollTransmit()) {
      if (t === null) continue;
      // Input packets and clock pings (so the clock sync measures the path snapshots take) go
      // on the unreliable data channel while it is open; everything else on the WebSocket.
      const rtc = this.rtc;
      const onRtc = rtc !== null && (x.channel === 'unreliable' || isPingFrame(x.frame)) && rtc.send(x.frame, 'unreliable');
      if (!onRtc) t.send(x.frame, x.channel);
      for (const c of [this.traffic, this.trafficOver[onRtc ? 'webrtc' : t.kind]]) {
        c.bytesOut += x.frame.length;
        c.framesOut++;
      }
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const sessionAt = this.session.pollTimeout();
    const rtcAt = this.rtc?.pollTimeout() ?? null;
    let at = sessionAt === null ? null : sessionAt / 1000;
    if (rtcAt !== null) at = at === null ? rtcAt : Math.min(at, rtcAt);
    if (at === null) return;
    const delay = Math.max(0, at - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.session.handleTimeout(this.nowUs());
      this.rtc?.handleTimeout(this.now());
      this.flush();
    }, delay);
  }

  /** Starts the WebRTC upgrade on a new welcome, replacing the previous connection's. */
  private startRtc(): void {
    this.dropRtc('reconnected');
    const o = this.rtcOpts;
    const welcome = this.session.welcome;
    if (o === null || welcome === null) return;
    // Falling back must leave the server an acknowledged baseline to send deltas against.
    const historyMs = (1000 / Math.max(welcome.tickRate, 1)) * this.session.config.history;
    const cfg: UpgradeConfig = { ...o, stallTimeoutMs: Math.min(o.stallTimeoutMs, (historyMs * 2) / 3) };
    const up: RtcUpgrade = new RtcUpgrade(
      cfg,
      (id) =>
        new RtcPeer(o.ctor, o.config, (ev) => {
          if (this.rtc !== up) return;
          up.handlePeerEvent(this.now(), id, ev);
          this.flush();
        }),
      this.now(),
    );
    this.rtc = up;
    up.handleTimeout(this.now());
  }

  /** Takes what the upgrade reports: signaling for the server, open and close, frames. */
  private pumpRtc(): void {
    const up = this.rtc;
    if (up === null) return;
    for (;;) {
      const s = up.pollSignal();
      if (s !== null) {
        this.session.sendSignal(s);
        continue;
      }
      const ev = up.pollEvent();
      if (ev === null) return;
      switch (ev.type) {
        case 'open':
          this.lastSnapshotVia = 'websocket';
          this.emit('transport', { kind: 'webrtc', state: 'open' });
          break;
        case 'closed':
          if (ev.wasOpen) this.emit('transport', { kind: 'webrtc', state: 'closed', reason: ev.reason });
          break;
        case 'frame':
          this.takeFrame(ev.frame, 'webrtc');
          break;
      }
      if (this.rtc !== up) return;
    }
  }

  /** Ends the upgrade with its WebSocket connection (the server drops its peer with it). */
  private dropRtc(reason: string): void {
    const up = this.rtc;
    if (up === null) return;
    this.rtc = null;
    const wasOpen = up.isOpen;
    up.stop(reason);
    addWebRtcStats(this.pastRtc, up.stats);
    if (wasOpen) this.emit('transport', { kind: 'webrtc', state: 'closed', reason });
  }

  /** The session ended (server close, or this side refused a frame). */
  private endSession(reason: CloseReason, byServer: boolean): void {
    const t = this.transport;
    const terminal = TERMINAL.has(reason.code) || this.reconnectOpts === null || this.userClosed;
    if (!byServer && t !== null) t.close(4000 + reason.code, reason.message.slice(0, 120));
    this.dropTransport();
    this.afterDrop(reason.code, reason.message, byServer, terminal);
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
      const code = info.code - 4000;
      this.afterDrop(code, info.reason, true, TERMINAL.has(code) || this.reconnectOpts === null);
      return;
    }
    this.session.connectionLost();
    this.afterDrop(-1, info.reason || 'transport closed', false, this.reconnectOpts === null);
  }

  private dropTransport(): void {
    this.dropRtc('websocket closed');
    this.transportGen++;
    const t = this.transport;
    this.transport = null;
    if (t !== null) t.close(1000, '');
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.timer = null;
    this.handshakeTimer = null;
  }

  private afterDrop(code: number, message: string, byServer: boolean, terminal: boolean): void {
    const ro = this.reconnectOpts;
    const willReconnect = !terminal && ro !== null && this.attempts < ro.maxAttempts;
    if (!willReconnect) this.ended = true;
    this.emit('disconnect', { code, name: code < 0 ? 'transport_lost' : closeCodeName(code), message, byServer, willReconnect });
    if (!willReconnect || ro === null) return;
    const base = Math.min(ro.maxDelayMs, ro.initialDelayMs * ro.multiplier ** this.attempts);
    const delay = base * (1 - ro.jitter * this.random());
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
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
    return this.rtc?.isOpen === true && this.lastSnapshotVia === 'webrtc' ? 'webrtc' : t.kind;
  }

  /** The WebRTC upgrade's state now: `off` (disabled, unavailable, or no session), `waiting` to retry, `offering`, `open`. */
  get webrtcState(): 'off' | 'waiting' | 'offering' | 'open' {
    return this.rtc?.state ?? 'off';
  }

  /** WebRTC upgrade counters, over every connection this client made. */
  get webrtcStats(): WebRtcStats {
    const s = { ...this.pastRtc };
    if (this.rtc !== null) addWebRtcStats(s, this.rtc.stats);
    return s;
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
    const t = this.now();
    this.rate.push({ t, bytesIn: this.traffic.bytesIn, bytesOut: this.traffic.bytesOut });
    while (this.rate.length > 2 && this.rate[1]!.t <= t - 1000) this.rate.shift();
    const first = this.rate[0]!;
    const dt = (t - first.t) / 1000;
    if (dt <= 0) return { in: 0, out: 0 };
    return { in: (this.traffic.bytesIn - first.bytesIn) / dt, out: (this.traffic.bytesOut - first.bytesOut) / dt };
  }

  /** Inputs sent that the server has not applied yet, oldest first. */
  pendingInputs(): readonly PendingInput<T['input']>[] {
    return this.pending;
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
    const p = { seq, tick, input, sentAtMs: this.now() };
    this.pending.push(p);
    if (this.pending.length > 256) this.pending.shift();
    this.opts.prediction?.onInput?.(p);
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
    this.rtc?.stop('client left');
    this.pumpRtc();
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
