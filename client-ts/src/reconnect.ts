/**
 * The reconnect policy: exponential backoff with jitter, and the close codes after which
 * reconnecting cannot help. No timers: the connection asks for the next delay and waits itself.
 */

import { CloseCode } from './messages.js';

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

/** The defaults of {@link ReconnectOptions}. */
export function defaultReconnectOptions(): ReconnectOptions {
  return { initialDelayMs: 250, maxDelayMs: 5000, multiplier: 2, jitter: 0.5, maxAttempts: Infinity };
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

/** Counts the attempts made in a row and says how long to wait before the next one. */
export class Backoff {
  /** `null`: never reconnect. */
  readonly options: ReconnectOptions | null;
  private readonly random: () => number;
  private attempts = 0;

  /** `random` gives numbers in [0, 1) for the jitter. */
  constructor(options: Partial<ReconnectOptions> | false | undefined, random: () => number) {
    this.options = options === false ? null : { ...defaultReconnectOptions(), ...options };
    this.random = random;
  }

  /** A welcome arrived: the next drop starts again from the first delay. */
  reset(): void {
    this.attempts = 0;
  }

  /**
   * After a drop with close code `code` (-1: the transport was lost), the delay in ms before
   * the next attempt, counting it; `null` when none follows (reconnect off, a terminal code,
   * or every attempt used).
   */
  nextDelayMs(code: number): number | null {
    const o = this.options;
    if (o === null || TERMINAL.has(code) || this.attempts >= o.maxAttempts) return null;
    const base = Math.min(o.maxDelayMs, o.initialDelayMs * o.multiplier ** this.attempts);
    this.attempts++;
    return base * (1 - o.jitter * this.random());
  }
}
