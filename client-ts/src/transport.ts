/**
 * Transports: how frames get to the server and back. A connection talks to one control
 * {@link Transport} at a time through {@link TransportHandlers}; the WebSocket transport is
 * below. The WebRTC data channels are not a transport of their own: they ride beside the
 * WebSocket, which carries their signaling and stays the fallback (`upgrade.ts`, `webrtc.ts`).
 */

import type { Channel } from './session.js';

/** Names of the paths frames take: the control transport (`websocket`), or the WebRTC data channels of the upgrade (`webrtc`). */
export type TransportKind = 'websocket' | 'webrtc';

/** How a transport ended. */
export interface TransportClose {
  /** The close code the peer sent (WebSocket: 1000–4999), `null` when the link just dropped. */
  readonly code: number | null;
  /** The close reason text, or what failed. */
  readonly reason: string;
}

/** What a transport reports; each handler is called on the event loop, never re-entrantly. */
export interface TransportHandlers {
  /** The transport can carry frames. */
  onOpen(): void;
  /** One frame arrived. */
  onFrame(frame: Uint8Array): void;
  /** The transport is over (after a failed open too). Called once. */
  onClose(info: TransportClose): void;
}

/** One link to the server. */
export interface Transport {
  readonly kind: TransportKind;
  /** Sends one frame; `unreliable` frames may be dropped by transports that can. */
  send(frame: Uint8Array, channel: Channel): void;
  /** Closes with a code (WebSocket: 1000 or 4000–4999) and a reason. */
  close(code?: number, reason?: string): void;
  /** Bytes queued but not yet sent. */
  bufferedAmount(): number;
}

/** Opens a transport to `url`; `handlers` receive its events. */
export type TransportFactory = (url: string, handlers: TransportHandlers) => Transport | Promise<Transport>;

/** The part of the WebSocket API the transport uses (browsers' `WebSocket`, and `ws` in Node). */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * The bytes of a message as a WebSocket or a data channel with `binaryType = 'arraybuffer'`
 * delivers it; `null` for text (and Blobs, which that setting rules out), which is not part of
 * the protocol.
 */
export function binaryMessage(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  // Node before 22 has no global WebSocket: use the `ws` package.
  const mod = (await import('ws')) as unknown as { WebSocket: WebSocketConstructor };
  return mod.WebSocket;
}

/** Binary WebSocket transport. `ctor` defaults to the global `WebSocket`, else the `ws` package. */
export function websocketTransport(ctor?: WebSocketConstructor): TransportFactory {
  return async (url, handlers) => {
    const Ctor = ctor ?? (await defaultWebSocket());
    const ws = new Ctor(url);
    ws.binaryType = 'arraybuffer';
    let closed = false;
    const finish = (info: TransportClose) => {
      if (closed) return;
      closed = true;
      handlers.onClose(info);
    };
    ws.onopen = () => handlers.onOpen();
    ws.onmessage = (ev) => {
      const frame = binaryMessage(ev.data);
      if (frame !== null) handlers.onFrame(frame);
    };
    ws.onclose = (ev) => finish({ code: ev.code === 1005 || ev.code === 1006 ? null : ev.code, reason: ev.reason });
    ws.onerror = () => {
      // Always followed by a close event, which carries the outcome.
    };
    return {
      kind: 'websocket',
      send(frame) {
        if (ws.readyState === 1) ws.send(frame);
      },
      close(code = 1000, reason = '') {
        try {
          ws.close(code, reason);
        } catch {
          ws.close();
        }
      },
      bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
  };
}
