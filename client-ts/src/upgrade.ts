/**
 * The WebRTC upgrade's state machine (PROTOCOL.md section 7.4): when to offer, when to give
 * up, when to retry. No I/O and no clock: times are milliseconds the caller passes in, and the
 * peer itself is behind {@link UpgradePeer} (the RTCPeerConnection driver is in `webrtc.ts`).
 *
 * ```text
 *  waiting ──retry time──▶ offering ──both channels open──▶ open
 *     ▲                       │ open timeout, refused,        │ closed, stalled,
 *     └──── backoff ×2 ───────┴ abandon from the server ──────┘ abandon from the server
 * ```
 *
 * Push with `handle*`, then drain {@link RtcUpgrade.pollSignal} (signaling for the server, to
 * send on the WebSocket) and {@link RtcUpgrade.pollEvent} until both return `null`; call
 * {@link RtcUpgrade.handleTimeout} at {@link RtcUpgrade.pollTimeout}. The WebSocket is never
 * touched here: the session stays on it whatever happens to the peer.
 */

import { errorMessage } from './errors.js';
import type { Signal } from './messages.js';
import type { Channel } from './session.js';

/** Timing of the upgrade. */
export interface UpgradeConfig {
  /** From the offer to both channels open; past it the attempt is abandoned. Default 5000 ms. */
  openTimeoutMs: number;
  /**
   * Nothing received on the data channels for this long while open: back to the WebSocket.
   * The connection cuts it to two thirds of the snapshot history at the server's tick rate,
   * so the fallback goes on with deltas. Default 700 ms.
   */
  stallTimeoutMs: number;
  /** First wait before retrying after a failure; doubles per failure. Default 1000 ms. */
  retryInitialMs: number;
  /** Longest wait between attempts. Default 30 000 ms. */
  retryMaxMs: number;
}

/** The defaults of {@link UpgradeConfig}. */
export function defaultUpgradeConfig(): UpgradeConfig {
  return { openTimeoutMs: 5000, stallTimeoutMs: 700, retryInitialMs: 1000, retryMaxMs: 30_000 };
}

/** Counters of a connection's upgrade attempts. */
export interface WebRtcStats {
  /** Offers made. */
  attempts: number;
  /** Attempts whose channels opened. */
  opened: number;
  /** Attempts that never opened (timeout, refusal, error). */
  failedAttempts: number;
  /** Falls back to the WebSocket after the channels had opened. */
  fallbacks: number;
  /** Messages received on the data channels. */
  framesReceived: number;
  /** Messages sent on the data channels. */
  framesSent: number;
}

/** Zeroed {@link WebRtcStats}. */
export function emptyWebRtcStats(): WebRtcStats {
  return { attempts: 0, opened: 0, failedAttempts: 0, fallbacks: 0, framesReceived: 0, framesSent: 0 };
}

/** Adds the counters of `from` to `into`. */
export function addWebRtcStats(into: WebRtcStats, from: Readonly<WebRtcStats>): void {
  into.attempts += from.attempts;
  into.opened += from.opened;
  into.failedAttempts += from.failedAttempts;
  into.fallbacks += from.fallbacks;
  into.framesReceived += from.framesReceived;
  into.framesSent += from.framesSent;
}

/** What a peer reports to the upgrade, tagged with the peer's id. */
export type PeerEvent =
  /** Signaling to forward to the server (the offer first, then candidates). */
  | { readonly type: 'signal'; readonly signal: Signal }
  /** Both data channels are open. */
  | { readonly type: 'open' }
  /** A message from the server on either channel. */
  | { readonly type: 'frame'; readonly frame: Uint8Array }
  /** The peer is gone (after a failed start too). Reported at most once. */
  | { readonly type: 'closed'; readonly reason: string };

/** One upgrade attempt's peer, as the state machine drives it. */
export interface UpgradePeer {
  /** Sends on the channel for `channel`; false when it cannot (not open, buffer full). */
  send(frame: Uint8Array, channel: Channel): boolean;
  /** The server's answer. */
  acceptAnswer(sdp: string): void;
  /** A candidate trickled by the server. */
  addCandidate(candidate: string, mid: string | null): void;
  /** Closes the peer; reports nothing afterwards. */
  close(): void;
}

/** Creates the peer of attempt `id`; its events must come back through {@link RtcUpgrade.handlePeerEvent} with that id. */
export type UpgradePeerFactory = (id: number) => UpgradePeer;

/** What the upgrade tells the connection. */
export type UpgradeEvent =
  /** Both channels opened: snapshots will come on `state`, inputs go there. */
  | { readonly type: 'open' }
  /** An attempt ended; `wasOpen` tells whether its channels had opened (a fallback). */
  | { readonly type: 'closed'; readonly reason: string; readonly wasOpen: boolean }
  /** A frame from the data channels, for the session. */
  | { readonly type: 'frame'; readonly frame: Uint8Array };

type Phase =
  /** No attempt; the next starts at `at` (never when `null`). */
  | { readonly name: 'waiting'; readonly at: number | null }
  | { readonly name: 'offering'; readonly deadline: number }
  | { readonly name: 'open' };

/** One connection's upgrade, for one WebSocket connection; see the module docs. */
export class RtcUpgrade {
  readonly config: UpgradeConfig;
  readonly stats: WebRtcStats = emptyWebRtcStats();
  private readonly factory: UpgradePeerFactory;
  private peer: UpgradePeer | null = null;
  private peerId = 0;
  private phase: Phase;
  private lastRxMs = 0;
  private backoffMs: number;
  private readonly signals: Signal[] = [];
  private readonly events: UpgradeEvent[] = [];

  /** With `auto`, the first attempt is due at once (at the next {@link handleTimeout}). */
  constructor(config: UpgradeConfig, factory: UpgradePeerFactory, nowMs: number, auto = true) {
    this.config = config;
    this.factory = factory;
    this.backoffMs = config.retryInitialMs;
    this.phase = { name: 'waiting', at: auto ? nowMs : null };
  }

  /** Whether both channels are open. */
  get isOpen(): boolean {
    return this.phase.name === 'open';
  }

  /** `waiting`, `offering` or `open`. */
  get state(): Phase['name'] {
    return this.phase.name;
  }

  /** Starts an attempt now, replacing a running one. */
  start(nowMs: number): void {
    this.dropPeer();
    this.stats.attempts++;
    const id = ++this.peerId;
    this.phase = { name: 'offering', deadline: nowMs + this.config.openTimeoutMs };
    try {
      this.peer = this.factory(id);
    } catch (e) {
      this.fail(nowMs, `could not start: ${errorMessage(e)}`, false);
    }
  }

  /** Gives up on WebRTC until {@link start}: tells the server if a peer was running. */
  stop(reason = 'stopped'): void {
    if (this.peer !== null) this.signals.push({ type: 'abandon' });
    const wasOpen = this.phase.name === 'open';
    const had = this.dropPeer();
    this.phase = { name: 'waiting', at: null };
    if (had) this.events.push({ type: 'closed', reason, wasOpen });
  }

  /** Signaling from the server. */
  handleSignal(nowMs: number, signal: Signal): void {
    const peer = this.peer;
    if (peer === null) return;
    switch (signal.type) {
      case 'answer':
        peer.acceptAnswer(signal.sdp);
        return;
      case 'candidate':
        peer.addCandidate(signal.candidate, signal.mid);
        return;
      case 'abandon':
        this.fail(nowMs, 'the server abandoned webrtc', false);
        return;
      case 'endOfCandidates':
      case 'offer':
        return;
    }
  }

  /** What peer `id` reported; events of replaced peers are ignored. */
  handlePeerEvent(nowMs: number, id: number, ev: PeerEvent): void {
    if (id !== this.peerId || this.peer === null) return;
    switch (ev.type) {
      case 'signal':
        this.signals.push(ev.signal);
        return;
      case 'open':
        if (this.phase.name !== 'offering') return;
        this.phase = { name: 'open' };
        this.lastRxMs = nowMs;
        this.backoffMs = this.config.retryInitialMs;
        this.stats.opened++;
        this.events.push({ type: 'open' });
        return;
      case 'frame':
        this.lastRxMs = nowMs;
        this.stats.framesReceived++;
        this.events.push({ type: 'frame', frame: ev.frame });
        return;
      case 'closed':
        this.fail(nowMs, ev.reason, true);
        return;
    }
  }

  /** Checks the open and stall timeouts and starts a due retry. */
  handleTimeout(nowMs: number): void {
    const p = this.phase;
    switch (p.name) {
      case 'waiting':
        if (p.at !== null && nowMs >= p.at) this.start(nowMs);
        return;
      case 'offering':
        if (nowMs >= p.deadline) this.fail(nowMs, 'data channels not open in time', true);
        return;
      case 'open':
        if (nowMs >= this.lastRxMs + this.config.stallTimeoutMs) this.fail(nowMs, 'nothing received on the data channels', true);
        return;
    }
  }

  /** When {@link handleTimeout} has something to do, or `null`. */
  pollTimeout(): number | null {
    const p = this.phase;
    switch (p.name) {
      case 'waiting':
        return p.at;
      case 'offering':
        return p.deadline;
      case 'open':
        return this.lastRxMs + this.config.stallTimeoutMs;
    }
  }

  /** The next signal for the server. */
  pollSignal(): Signal | null {
    return this.signals.shift() ?? null;
  }

  /** The next event for the connection. */
  pollEvent(): UpgradeEvent | null {
    return this.events.shift() ?? null;
  }

  /** Sends on the data channels; false when not open (send on the WebSocket instead). */
  send(frame: Uint8Array, channel: Channel): boolean {
    if (this.phase.name !== 'open' || this.peer === null) return false;
    const sent = this.peer.send(frame, channel);
    if (sent) this.stats.framesSent++;
    return sent;
  }

  /** Ends the current attempt and schedules the next one with backoff. */
  private fail(nowMs: number, reason: string, tellServer: boolean): void {
    const wasOpen = this.phase.name === 'open';
    if (wasOpen) this.stats.fallbacks++;
    else this.stats.failedAttempts++;
    if (tellServer) this.signals.push({ type: 'abandon' });
    this.dropPeer();
    this.phase = { name: 'waiting', at: nowMs + this.backoffMs };
    this.backoffMs = Math.min(this.backoffMs * 2, this.config.retryMaxMs);
    this.events.push({ type: 'closed', reason, wasOpen });
  }

  private dropPeer(): boolean {
    const p = this.peer;
    this.peer = null;
    this.peerId++;
    if (p === null) return false;
    p.close();
    return true;
  }
}
