/** Traffic counters of a connection: in total, per path, and the rate over about a second. */

import type { TransportKind } from './transport.js';

/** Traffic counters. */
export interface Traffic {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
}

function newTraffic(): Traffic {
  return { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 };
}

/** Counts frames in and out over every path and per path. */
export class TrafficMeter {
  readonly total: Traffic = newTraffic();
  readonly over: Readonly<Record<TransportKind, Traffic>> = { websocket: newTraffic(), webrtc: newTraffic() };
  private readonly rate: { t: number; bytesIn: number; bytesOut: number }[] = [];

  /** One frame of `bytes` arrived over `via`. */
  received(via: TransportKind, bytes: number): void {
    for (const c of [this.total, this.over[via]]) {
      c.bytesIn += bytes;
      c.framesIn++;
    }
  }

  /** One frame of `bytes` went out over `via`. */
  sent(via: TransportKind, bytes: number): void {
    for (const c of [this.total, this.over[via]]) {
      c.bytesOut += bytes;
      c.framesOut++;
    }
  }

  /** Bytes per second received and sent, over about the second before `nowMs`. */
  bytesPerSecond(nowMs: number): { in: number; out: number } {
    const t = nowMs;
    const total = this.total;
    this.rate.push({ t, bytesIn: total.bytesIn, bytesOut: total.bytesOut });
    while (this.rate.length > 2 && this.rate[1]!.t <= t - 1000) this.rate.shift();
    const first = this.rate[0]!;
    const dt = (t - first.t) / 1000;
    if (dt <= 0) return { in: 0, out: 0 };
    return { in: (total.bytesIn - first.bytesIn) / dt, out: (total.bytesOut - first.bytesOut) / dt };
  }
}
