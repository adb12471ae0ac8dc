/**
 * The connection's control transport, one at a time: each {@link TransportSlot.open} replaces
 * the previous transport, whose late reports are dropped, and gives the new one a deadline for
 * the handshake.
 */

import { errorMessage } from './errors.js';
import type { Transport, TransportClose, TransportFactory, TransportKind } from './transport.js';

/** What the slot reports, for the current transport only. */
export interface TransportSlotHandlers {
  onOpen(kind: TransportKind): void;
  onFrame(frame: Uint8Array, kind: TransportKind): void;
  /** The transport closed, could not be opened, or missed the handshake deadline. */
  onClose(info: TransportClose): void;
}

/** Holds the current control transport. */
export class TransportSlot {
  private readonly factory: TransportFactory;
  private readonly url: string;
  private readonly handshakeTimeoutMs: number;
  private readonly established: () => boolean;
  private readonly on: TransportSlotHandlers;
  private gen = 0;
  private current: Transport | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;

  /** `established` tells whether the handshake on the current transport is done. */
  constructor(factory: TransportFactory, url: string, handshakeTimeoutMs: number, established: () => boolean, handlers: TransportSlotHandlers) {
    this.factory = factory;
    this.url = url;
    this.handshakeTimeoutMs = handshakeTimeoutMs;
    this.established = established;
    this.on = handlers;
  }

  /** The open (or opening) transport, `null` between transports. */
  get transport(): Transport | null {
    return this.current;
  }

  /** Opens a new transport in place of the current one. */
  async open(): Promise<void> {
    const gen = ++this.gen;
    const stale = () => gen !== this.gen;
    let t: Transport;
    try {
      t = await this.factory(this.url, {
        onOpen: () => {
          if (!stale()) this.on.onOpen(t.kind);
        },
        onFrame: (frame) => {
          if (!stale()) this.on.onFrame(frame, t.kind);
        },
        onClose: (info) => {
          if (!stale()) this.on.onClose(info);
        },
      });
    } catch (e) {
      if (!stale()) this.on.onClose({ code: null, reason: errorMessage(e) });
      return;
    }
    if (stale()) {
      t.close(1000, '');
      return;
    }
    this.current = t;
    const limit = this.handshakeTimeoutMs;
    this.handshakeTimer = setTimeout(() => {
      if (!stale() && !this.established()) this.on.onClose({ code: null, reason: `no welcome within ${limit} ms` });
    }, limit);
  }

  /** The handshake finished: the deadline no longer applies. */
  handshakeDone(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  /** Closes the current transport, if any; nothing it reports afterwards arrives. */
  drop(): void {
    this.gen++;
    const t = this.current;
    this.current = null;
    if (t !== null) t.close(1000, '');
    this.handshakeDone();
  }
}
