/**
 * The options of {@link connect}, and the session settings they make.
 */

import type { InterpolationOptions } from './interpolation.js';
import type { PredictionHooks } from './prediction.js';
import type { ReconnectOptions } from './reconnect.js';
import type { Protocol, SchemaTypes } from './schema.js';
import type { SessionConfig } from './session.js';
import type { TransportFactory } from './transport.js';
import type { WebRtcOptions } from './webrtc-link.js';

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

/** The session settings of `opts`: its `session`, with the room, credential and protocol hash given beside it. */
export function sessionConfig<T extends SchemaTypes>(opts: ConnectOptions<T>): Partial<SessionConfig> {
  const hash = opts.protocolHash !== undefined ? opts.protocolHash : (opts.protocol?.protocolHash ?? null);
  return {
    ...opts.session,
    room: opts.room ?? opts.session?.room ?? 'default',
    authToken: opts.authToken ?? opts.session?.authToken ?? '',
    protocolHash: hash,
  };
}
