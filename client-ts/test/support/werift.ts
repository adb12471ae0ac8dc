// werift's RTCPeerConnection for Node tests, recording the peers the SDK creates so a test can
// close one or cut its data channels mid-game.

import { RTCPeerConnection } from 'werift';

import type { WebRtcOptions } from '../../src/index.js';

type Channel = ReturnType<RTCPeerConnection['createDataChannel']>;
type MessageHandler = Channel['onmessage'];

/** werift on loopback only: no other host address is gathered, so no check leaves 127.0.0.1. */
export const LOOPBACK_ONLY = { iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv4: false, iceUseIpv6: false };

export interface WeriftPeers {
  /** Pass as `connect(url, { webrtc })`. */
  readonly webrtc: Partial<WebRtcOptions>;
  /** Every peer connection created, oldest first. */
  readonly peers: RTCPeerConnection[];
  /**
   * Cuts the data channels of every peer created so far while their connections stay up, as
   * a link that stops delivering would: `in` drops what arrives, `out` drops what is sent.
   */
  blackhole(direction: 'in' | 'out' | 'both'): void;
}

/** A werift constructor that records its instances (and, for {@link WeriftPeers.blackhole}, their channels). */
export function weriftPeers(): WeriftPeers {
  const peers: RTCPeerConnection[] = [];
  const channels: { cutIn: boolean; cutOut: boolean }[] = [];
  class Recording extends RTCPeerConnection {
    constructor(config: object) {
      super(config);
      peers.push(this);
    }

    override createDataChannel(...args: Parameters<RTCPeerConnection['createDataChannel']>): Channel {
      const ch = super.createDataChannel(...args);
      const state = { cutIn: false, cutOut: false };
      channels.push(state);
      let handler: MessageHandler;
      Object.defineProperty(ch, 'onmessage', {
        configurable: true,
        get: () => (handler === null || handler === undefined ? handler : (ev: { data: string | Buffer }) => !state.cutIn && handler?.(ev)),
        set: (h: MessageHandler) => {
          handler = h;
        },
      });
      const send = ch.send.bind(ch);
      ch.send = (data) => {
        if (!state.cutOut) send(data);
      };
      return ch;
    }
  }
  return {
    webrtc: { peerConnection: Recording, config: LOOPBACK_ONLY },
    peers,
    blackhole(direction) {
      for (const c of channels) {
        c.cutIn ||= direction !== 'out';
        c.cutOut ||= direction !== 'in';
      }
    },
  };
}
