/**
 * The connection's side of the WebRTC upgrade: one {@link RtcUpgrade} per welcome, its peers
 * over an `RTCPeerConnection` ({@link RtcPeer}), and the counters of every upgrade made. The
 * link holds no timer: the connection calls {@link WebRtcLink.handleTimeout} at
 * {@link WebRtcLink.pollTimeout} and drains it with {@link WebRtcLink.pump} after each push.
 */

import type { Signal } from './messages.js';
import { addWebRtcStats, defaultUpgradeConfig, emptyWebRtcStats, RtcUpgrade, type UpgradeConfig, type WebRtcStats } from './upgrade.js';
import { globalPeerConnection, RtcPeer, type PeerConnectionConstructor } from './webrtc.js';

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

type LinkOptions = UpgradeConfig & { readonly ctor: PeerConnectionConstructor; readonly config: object };

/** What the link reports; called from {@link WebRtcLink.pump}, except `wake`. */
export interface WebRtcLinkHandlers {
  /** Signaling for the server, to send on the WebSocket. */
  onSignal(signal: Signal): void;
  /** Both data channels opened. */
  onOpen(): void;
  /** An attempt ended; `wasOpen` tells whether its channels had opened (a fallback). */
  onClosed(reason: string, wasOpen: boolean): void;
  /** A frame from the data channels, for the session. */
  onFrame(frame: Uint8Array): void;
  /** A peer reported something (asynchronously): pump the link and send what waits. */
  wake(): void;
}

/** The WebRTC upgrades of one connection, one welcome at a time. */
export class WebRtcLink {
  /** `null`: no upgrade (turned off, or no `RTCPeerConnection`). */
  private readonly options: LinkOptions | null;
  private readonly now: () => number;
  private readonly on: WebRtcLinkHandlers;
  private up: RtcUpgrade | null = null;
  private readonly past: WebRtcStats = emptyWebRtcStats();

  /** `now` is the connection's clock in milliseconds. */
  constructor(options: Partial<WebRtcOptions> | false | undefined, now: () => number, handlers: WebRtcLinkHandlers) {
    const rtc = options === false ? null : { ...defaultUpgradeConfig(), config: {}, ...options };
    const ctor = rtc === null ? null : (rtc.peerConnection ?? globalPeerConnection());
    this.options = rtc === null || ctor === null ? null : { ...rtc, ctor };
    this.now = now;
    this.on = handlers;
  }

  /**
   * Starts the upgrade after a welcome at `tickRate` with `history` snapshots kept as
   * baselines. Call {@link drop} on the previous one first.
   */
  start(tickRate: number, history: number): void {
    const o = this.options;
    if (o === null) return;
    // Falling back must leave the server an acknowledged baseline to send deltas against.
    const historyMs = (1000 / Math.max(tickRate, 1)) * history;
    const cfg: UpgradeConfig = { ...o, stallTimeoutMs: Math.min(o.stallTimeoutMs, (historyMs * 2) / 3) };
    const up: RtcUpgrade = new RtcUpgrade(
      cfg,
      (id) =>
        new RtcPeer(o.ctor, o.config, (ev) => {
          if (this.up !== up) return;
          up.handlePeerEvent(this.now(), id, ev);
          this.on.wake();
        }),
      this.now(),
    );
    this.up = up;
    up.handleTimeout(this.now());
  }

  /** Takes what the upgrade reports: signaling for the server, open and close, frames. */
  pump(): void {
    const up = this.up;
    if (up === null) return;
    for (;;) {
      const s = up.pollSignal();
      if (s !== null) {
        this.on.onSignal(s);
        continue;
      }
      const ev = up.pollEvent();
      if (ev === null) return;
      switch (ev.type) {
        case 'open':
          this.on.onOpen();
          break;
        case 'closed':
          this.on.onClosed(ev.reason, ev.wasOpen);
          break;
        case 'frame':
          this.on.onFrame(ev.frame);
          break;
      }
      if (this.up !== up) return;
    }
  }

  /** Gives up on the current upgrade, queueing an abandon for the server if a peer runs. */
  stop(reason: string): void {
    this.up?.stop(reason);
  }

  /**
   * Ends the upgrade with its WebSocket connection (the server drops its peer with it), without
   * reporting it; returns whether its channels were open.
   */
  drop(reason: string): boolean {
    const up = this.up;
    if (up === null) return false;
    this.up = null;
    const wasOpen = up.isOpen;
    up.stop(reason);
    addWebRtcStats(this.past, up.stats);
    return wasOpen;
  }

  /** Signaling from the server. */
  handleSignal(signal: Signal): void {
    this.up?.handleSignal(this.now(), signal);
  }

  handleTimeout(): void {
    this.up?.handleTimeout(this.now());
  }

  /** When {@link handleTimeout} has something to do (ms on the connection's clock), or `null`. */
  pollTimeout(): number | null {
    return this.up?.pollTimeout() ?? null;
  }

  /** Sends on the unreliable data channel; false when it is not open (send on the WebSocket). */
  send(frame: Uint8Array): boolean {
    return this.up !== null && this.up.send(frame, 'unreliable');
  }

  /** Whether the data channels are open. */
  get isOpen(): boolean {
    return this.up?.isOpen === true;
  }

  /** `off` (disabled, unavailable, or no session), `waiting` to retry, `offering`, `open`. */
  get state(): 'off' | 'waiting' | 'offering' | 'open' {
    return this.up?.state ?? 'off';
  }

  /** Upgrade counters over every upgrade this link made. */
  get stats(): WebRtcStats {
    const s = { ...this.past };
    if (this.up !== null) addWebRtcStats(s, this.up.stats);
    return s;
  }
}
