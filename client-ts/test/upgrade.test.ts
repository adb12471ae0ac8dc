// The WebRTC upgrade's state machine on a manual clock, with a scripted peer: offers,
// timeouts, fallbacks and the retry backoff, without any network.

import { describe, expect, it } from 'vitest';

import {
  type Channel,
  defaultUpgradeConfig,
  isUdpCandidate,
  RtcUpgrade,
  type Signal,
  type UpgradeEvent,
  type UpgradePeer,
} from '../src/wire.js';

/** A peer that records what the upgrade asks of it. */
class ScriptedPeer implements UpgradePeer {
  readonly id: number;
  readonly sent: { frame: Uint8Array; channel: Channel }[] = [];
  answer: string | null = null;
  readonly candidates: string[] = [];
  closed = false;
  accepts = true;
  constructor(id: number) {
    this.id = id;
  }
  send(frame: Uint8Array, channel: Channel): boolean {
    if (!this.accepts) return false;
    this.sent.push({ frame, channel });
    return true;
  }
  acceptAnswer(sdp: string): void {
    this.answer = sdp;
  }
  addCandidate(candidate: string): void {
    this.candidates.push(candidate);
  }
  close(): void {
    this.closed = true;
  }
}

function harness(auto = true) {
  const peers: ScriptedPeer[] = [];
  const up = new RtcUpgrade(
    defaultUpgradeConfig(),
    (id) => {
      const p = new ScriptedPeer(id);
      peers.push(p);
      return p;
    },
    0,
    auto,
  );
  const drain = () => {
    const signals: Signal[] = [];
    const events: UpgradeEvent[] = [];
    for (let s = up.pollSignal(); s !== null; s = up.pollSignal()) signals.push(s);
    for (let e = up.pollEvent(); e !== null; e = up.pollEvent()) events.push(e);
    return { signals, events };
  };
  /** Starts the due attempt at `t` and opens its channels at `t + 100`. */
  const openAt = (t: number): ScriptedPeer => {
    up.handleTimeout(t);
    const p = peers.at(-1)!;
    up.handlePeerEvent(t, p.id, { type: 'signal', signal: { type: 'offer', sdp: 'v=0' } });
    up.handleSignal(t + 50, { type: 'answer', sdp: 'answer' });
    up.handlePeerEvent(t + 100, p.id, { type: 'open' });
    return p;
  };
  return { up, peers, drain, openAt };
}

describe('the WebRTC upgrade', () => {
  it('offers at once, forwards the signaling, and opens', () => {
    const { up, peers, drain } = harness();
    expect(up.pollTimeout()).toBe(0);
    up.handleTimeout(0);
    expect(up.state).toBe('offering');
    expect(peers).toHaveLength(1);
    const p = peers[0]!;
    up.handlePeerEvent(1, p.id, { type: 'signal', signal: { type: 'offer', sdp: 'v=0' } });
    up.handlePeerEvent(2, p.id, { type: 'signal', signal: { type: 'candidate', candidate: 'candidate:1', mid: '0' } });
    up.handlePeerEvent(3, p.id, { type: 'signal', signal: { type: 'endOfCandidates' } });
    expect(drain().signals.map((s) => s.type)).toEqual(['offer', 'candidate', 'endOfCandidates']);
    up.handleSignal(10, { type: 'answer', sdp: 'answer' });
    up.handleSignal(10, { type: 'candidate', candidate: 'candidate:2', mid: null });
    expect(p.answer).toBe('answer');
    expect(p.candidates).toEqual(['candidate:2']);
    // Nothing goes on the channels before they are open.
    expect(up.send(new Uint8Array([3]), 'unreliable')).toBe(false);
    up.handlePeerEvent(20, p.id, { type: 'open' });
    expect(up.isOpen).toBe(true);
    expect(drain().events).toEqual([{ type: 'open' }]);
    expect(up.send(new Uint8Array([3]), 'unreliable')).toBe(true);
    expect(p.sent).toHaveLength(1);
    up.handlePeerEvent(25, p.id, { type: 'frame', frame: new Uint8Array([2, 1]) });
    expect(drain().events).toEqual([{ type: 'frame', frame: new Uint8Array([2, 1]) }]);
    expect(up.stats).toMatchObject({ attempts: 1, opened: 1, framesSent: 1, framesReceived: 1, failedAttempts: 0, fallbacks: 0 });
  });

  it('abandons an attempt not open in time and retries with backoff doubling to 30 s', () => {
    const { up, peers, drain } = harness();
    let t = 0;
    const starts: number[] = [];
    for (let i = 0; i < 8; i++) {
      up.handleTimeout(t);
      expect(up.state).toBe('offering');
      starts.push(t);
      t = up.pollTimeout()!;
      up.handleTimeout(t);
      expect(up.state).toBe('waiting');
      const { signals, events } = drain();
      expect(signals).toEqual([{ type: 'abandon' }]);
      expect(events).toEqual([{ type: 'closed', reason: 'data channels not open in time', wasOpen: false }]);
      expect(peers.at(-1)!.closed).toBe(true);
      t = up.pollTimeout()!;
    }
    const waits = starts.slice(1).map((s, i) => s - starts[i]! - 5000);
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(up.stats).toMatchObject({ attempts: 8, opened: 0, failedAttempts: 8 });
  });

  it('falls back when nothing arrives on open channels, and the backoff restarts after an open', () => {
    const { up, drain, openAt } = harness();
    // Two failures first: the next wait would be 4 s.
    up.handleTimeout(0);
    up.handleSignal(10, { type: 'abandon' });
    up.handleTimeout(1010);
    up.handleSignal(1020, { type: 'abandon' });
    expect(up.pollTimeout()).toBe(3020);
    drain();

    const p = openAt(3020);
    expect(up.isOpen).toBe(true);
    drain();
    up.handlePeerEvent(3500, p.id, { type: 'frame', frame: new Uint8Array([2]) });
    expect(up.pollTimeout()).toBe(3500 + 700);
    up.handleTimeout(4199);
    expect(up.isOpen).toBe(true);
    up.handleTimeout(4200);
    expect(up.isOpen).toBe(false);
    const { signals, events } = drain();
    expect(signals).toEqual([{ type: 'abandon' }]);
    expect(events.at(-1)).toEqual({ type: 'closed', reason: 'nothing received on the data channels', wasOpen: true });
    // Back to the initial 1 s after an attempt that opened.
    expect(up.pollTimeout()).toBe(5200);
    expect(up.stats).toMatchObject({ attempts: 3, opened: 1, failedAttempts: 2, fallbacks: 1 });
  });

  it('takes the server abandoning an open peer without telling it back', () => {
    const { up, drain, openAt } = harness();
    const p = openAt(0);
    drain();
    up.handleSignal(500, { type: 'abandon' });
    expect(p.closed).toBe(true);
    const { signals, events } = drain();
    expect(signals).toEqual([]);
    expect(events).toEqual([{ type: 'closed', reason: 'the server abandoned webrtc', wasOpen: true }]);
    expect(up.pollTimeout()).toBe(1500);
  });

  it('falls back when a channel closes, and ignores a replaced peer', () => {
    const { up, peers, drain, openAt } = harness();
    const first = openAt(0);
    drain();
    up.handlePeerEvent(200, first.id, { type: 'closed', reason: 'data channel state closed' });
    expect(drain()).toEqual({
      signals: [{ type: 'abandon' }],
      events: [{ type: 'closed', reason: 'data channel state closed', wasOpen: true }],
    });
    const second = openAt(1200);
    expect(peers).toHaveLength(2);
    drain();
    // A late report of the first peer changes nothing.
    up.handlePeerEvent(1300, first.id, { type: 'closed', reason: 'late' });
    up.handlePeerEvent(1300, first.id, { type: 'frame', frame: new Uint8Array([2]) });
    expect(drain()).toEqual({ signals: [], events: [] });
    expect(up.isOpen).toBe(true);
    expect(second.closed).toBe(false);
  });

  it('stops for good: tells the server once, never retries', () => {
    const { up, drain, openAt } = harness();
    const p = openAt(0);
    drain();
    up.stop('client left');
    expect(p.closed).toBe(true);
    expect(drain()).toEqual({ signals: [{ type: 'abandon' }], events: [{ type: 'closed', reason: 'client left', wasOpen: true }] });
    expect(up.pollTimeout()).toBeNull();
    up.stop();
    expect(drain()).toEqual({ signals: [], events: [] });
  });

  it('counts a peer that cannot be created as a failed attempt', () => {
    const up = new RtcUpgrade(
      defaultUpgradeConfig(),
      () => {
        throw new Error('no RTCPeerConnection');
      },
      0,
    );
    up.handleTimeout(0);
    expect(up.state).toBe('waiting');
    expect(up.pollEvent()).toEqual({ type: 'closed', reason: 'could not start: no RTCPeerConnection', wasOpen: false });
    expect(up.pollSignal()).toBeNull();
    expect(up.pollTimeout()).toBe(1000);
  });

  it('waits for a start without auto', () => {
    const { up, peers } = harness(false);
    expect(up.pollTimeout()).toBeNull();
    up.handleTimeout(10_000);
    expect(peers).toHaveLength(0);
    up.start(10_000);
    expect(up.state).toBe('offering');
  });
});

describe('candidates', () => {
  it('trickles UDP candidates only (the server takes UDP, and caps candidates per peer)', () => {
    expect(isUdpCandidate('candidate:842163049 1 udp 1677729535 10.213.0.1 46154 typ host generation 0')).toBe(true);
    expect(isUdpCandidate('a=candidate:1 1 UDP 2130706431 127.0.0.1 5000 typ host')).toBe(true);
    expect(isUdpCandidate('candidate:3 1 tcp 1518280447 10.213.0.1 9 typ host tcptype active')).toBe(false);
    expect(isUdpCandidate('')).toBe(false);
  });
});
