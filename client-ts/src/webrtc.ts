/**
 * The offering side of a WebRTC upgrade over a standard `RTCPeerConnection` (the browser's, or
 * werift's in Node): two data channels, `state` (unordered, `maxRetransmits: 0`: snapshots,
 * input packets, clock pings) and `events` (reliable, ordered), an offer with trickled
 * candidates, and the server's answer. It reports to the {@link RtcUpgrade} state machine as
 * {@link PeerEvent}s; timeouts, fallback and retries are decided there.
 *
 * Only the part of the W3C API used here is typed (below), so any implementation that has it
 * fits, and the browser bundle imports nothing.
 */

import { errorMessage } from './errors.js';
import type { Signal } from './messages.js';
import type { Channel } from './session.js';
import { binaryMessage } from './transport.js';
import type { PeerEvent, UpgradePeer } from './upgrade.js';

/** Label of the unreliable, unordered channel. */
export const STATE_LABEL = 'state';
/** Label of the reliable, ordered channel. */
export const EVENTS_LABEL = 'events';
/** A channel with more than this queued drops what the session sends (it goes on the WebSocket). */
const MAX_BUFFERED = 256 * 1024;

// Handlers are compared bivariantly (as methods are), so the DOM's and werift's event types
// both fit the few fields read here.
type Handler<E> = { bivarianceHack(ev: E): void }['bivarianceHack'];

/** The part of `RTCDataChannel` the upgrade uses. */
export interface DataChannelLike {
  readonly label: string;
  readonly readyState: string;
  binaryType?: string;
  readonly bufferedAmount: number;
  onopen?: Handler<unknown> | null;
  onclose?: Handler<unknown> | null;
  onmessage?: Handler<{ readonly data: unknown }> | null;
  /** Takes a `Uint8Array` (typed `never` because the DOM and werift disagree on its buffer type). */
  send(data: never): void;
  close(): void;
}

/** An ICE candidate as `RTCPeerConnection` reports it. */
export interface IceCandidateLike {
  readonly candidate: string;
  readonly sdpMid?: string | null;
}

/** The part of `RTCPeerConnection` the upgrade uses. */
export interface PeerConnectionLike {
  readonly connectionState: string;
  onicecandidate?: Handler<{ readonly candidate?: IceCandidateLike | null }> | null;
  onconnectionstatechange?: Handler<unknown> | null;
  createDataChannel(label: string, init: { ordered?: boolean; maxRetransmits?: number }): DataChannelLike;
  createOffer(): Promise<{ readonly sdp?: string }>;
  setLocalDescription(desc: { type: 'offer'; sdp: string }): Promise<unknown>;
  setRemoteDescription(desc: { type: 'answer'; sdp: string }): Promise<unknown>;
  addIceCandidate(candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }): Promise<unknown>;
  close(): unknown;
}

/** An `RTCPeerConnection` constructor: the browser's, or werift's in Node. */
export type PeerConnectionConstructor = new (config: object) => PeerConnectionLike;

/** The global `RTCPeerConnection`, if this runtime has one. */
export function globalPeerConnection(): PeerConnectionConstructor | null {
  return (globalThis as { RTCPeerConnection?: PeerConnectionConstructor }).RTCPeerConnection ?? null;
}

/** Whether an ICE candidate line (`candidate:<foundation> <component> <transport> ...`) is UDP. */
export function isUdpCandidate(line: string): boolean {
  return line.trim().split(/\s+/)[2]?.toLowerCase() === 'udp';
}

/**
 * One upgrade attempt: creates the peer connection and its channels at once, then the offer;
 * reports through `report` (never synchronously from the constructor).
 */
export class RtcPeer implements UpgradePeer {
  private readonly pc: PeerConnectionLike;
  private readonly state: DataChannelLike;
  private readonly events: DataChannelLike;
  private readonly report: (ev: PeerEvent) => void;
  private offerSent = false;
  private readonly early: Signal[] = [];
  private opened = false;
  private done = false;

  constructor(ctor: PeerConnectionConstructor, config: object, report: (ev: PeerEvent) => void) {
    this.report = report;
    this.pc = new ctor(config);
    try {
      this.state = this.pc.createDataChannel(STATE_LABEL, { ordered: false, maxRetransmits: 0 });
      this.events = this.pc.createDataChannel(EVENTS_LABEL, { ordered: true });
    } catch (e) {
      this.pc.close();
      throw e;
    }
    for (const ch of [this.state, this.events]) {
      ch.binaryType = 'arraybuffer';
      ch.onopen = () => this.checkOpen();
      ch.onclose = () => this.fail(`data channel ${ch.label} closed`);
      ch.onmessage = (ev) => {
        const frame = binaryMessage(ev.data);
        if (frame !== null && !this.done) this.report({ type: 'frame', frame });
      };
    }
    this.pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      // Browsers end gathering with a null candidate (and some with an empty one).
      if (c === null || c === undefined || c.candidate === '') this.signal({ type: 'endOfCandidates' });
      // The server takes UDP only, and caps the candidates of a peer: TCP ones would use it up.
      else if (isUdpCandidate(c.candidate)) this.signal({ type: 'candidate', candidate: c.candidate, mid: c.sdpMid ?? null });
    };
    this.pc.onconnectionstatechange = () => {
      const s = this.pc.connectionState;
      if (s === 'failed' || s === 'closed') this.fail(`peer connection ${s}`);
    };
    void this.offer();
  }

  private async offer(): Promise<void> {
    try {
      const offer = await this.pc.createOffer();
      const sdp = offer.sdp;
      if (sdp === undefined || sdp === '') throw new Error('empty offer');
      await this.pc.setLocalDescription({ type: 'offer', sdp });
      if (this.done) return;
      this.offerSent = true;
      this.report({ type: 'signal', signal: { type: 'offer', sdp } });
      // Candidates gathered while the offer was being set go after it.
      for (const s of this.early.splice(0)) this.report({ type: 'signal', signal: s });
    } catch (e) {
      this.fail(`could not make an offer: ${errorMessage(e)}`);
    }
  }

  private signal(s: Signal): void {
    if (this.done) return;
    if (this.offerSent) this.report({ type: 'signal', signal: s });
    else this.early.push(s);
  }

  private checkOpen(): void {
    if (this.done || this.opened) return;
    if (this.state.readyState === 'open' && this.events.readyState === 'open') {
      this.opened = true;
      this.report({ type: 'open' });
    }
  }

  private fail(reason: string): void {
    if (this.done) return;
    this.report({ type: 'closed', reason });
    this.close();
  }

  acceptAnswer(sdp: string): void {
    this.pc.setRemoteDescription({ type: 'answer', sdp }).catch((e: unknown) => this.fail(`answer refused: ${errorMessage(e)}`));
  }

  addCandidate(candidate: string, mid: string | null): void {
    const line = candidate.startsWith('a=') ? candidate.slice(2) : candidate;
    // The server's candidates are in its answer; a trickled one that does not apply is no reason to give up.
    const init = mid === null ? { candidate: line, sdpMLineIndex: 0 } : { candidate: line, sdpMid: mid };
    this.pc.addIceCandidate(init).catch(() => {});
  }

  send(frame: Uint8Array, channel: Channel): boolean {
    const ch = channel === 'unreliable' ? this.state : this.events;
    if (this.done || ch.readyState !== 'open' || ch.bufferedAmount > MAX_BUFFERED) return false;
    try {
      ch.send(frame as never);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    for (const ch of [this.state, this.events]) {
      ch.onopen = null;
      ch.onclose = null;
      ch.onmessage = null;
      try {
        ch.close();
      } catch {
        // Already closed.
      }
    }
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    try {
      void Promise.resolve(this.pc.close()).catch(() => {});
    } catch {
      // Already closed.
    }
  }
}
