/**
 * The events a {@link Connection} emits, and the typed emitter behind its `on` and `once`.
 */

import type { DecodeError } from './errors.js';
import type { Signal } from './messages.js';
import type { SchemaTypes } from './schema.js';
import type { TransportKind } from './transport.js';
import type { EntityOf, WorldView } from './world.js';

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

/** A subscriber to one event. */
export type Handler<E> = (event: E) => void;

/** Handlers by event name; `E` maps each name to its event's type. */
export class Emitter<E> {
  private readonly handlers = new Map<keyof E, Set<Handler<never>>>();

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof E>(name: K, handler: Handler<E[K]>): () => void {
    let set = this.handlers.get(name);
    if (set === undefined) this.handlers.set(name, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set.delete(handler as Handler<never>);
  }

  /** The next occurrence of an event (optionally one that passes `filter`). */
  once<K extends keyof E>(name: K, filter?: (e: E[K]) => boolean): Promise<E[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (e) => {
        if (filter === undefined || filter(e)) {
          off();
          resolve(e);
        }
      });
    });
  }

  /** Calls every handler of `name` subscribed when the call starts. */
  emit<K extends keyof E>(name: K, event: E[K]): void {
    const set = this.handlers.get(name);
    if (set === undefined) return;
    for (const h of [...set]) (h as Handler<E[K]>)(event);
  }
}
