/**
 * Clock sync (PROTOCOL.md section 12): the server's tick estimated from ping samples, and the
 * round-trip time smoothed as in RFC 6298. Times are client microseconds, passed in.
 */

/** Samples remembered for the minimum-RTT filter. */
const WINDOW = 16;

/** Estimates the server tick from samples. */
export class ClockSync {
  readonly tickRate: number;
  private readonly rtts: number[] = [];
  private readonly offsets: number[] = [];
  private next = 0;
  private srtt: number | null = null;
  private rttvar = 0;
  private offset: number | null = null;

  constructor(tickRate: number) {
    this.tickRate = Math.max(tickRate, 1);
  }

  /**
   * Adds a sample: a ping sent at `sentUs` was answered at once with server tick `tick` and
   * `fraction`/65536 of a tick elapsed, and the answer arrived at `nowUs`.
   */
  handleSample(sentUs: number, nowUs: number, tick: number, fraction: number): void {
    const rtt = Math.max(nowUs - sentUs, 0);
    if (this.srtt === null) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    const serverTicks = tick + fraction / 65536 + (rtt / 2e6) * this.tickRate;
    const offset = serverTicks - (nowUs / 1e6) * this.tickRate;
    this.rtts[this.next] = rtt;
    this.offsets[this.next] = offset;
    this.next = (this.next + 1) % WINDOW;
    let best = 0;
    for (let i = 1; i < this.rtts.length; i++) if (this.rtts[i]! < this.rtts[best]!) best = i;
    this.offset = this.offsets[best]!;
  }

  /**
   * Seeds the offset from the welcome, whose answer waited for a server tick: used until the
   * first real sample, never for the round-trip estimate.
   */
  seed(sentUs: number, nowUs: number, tick: number, fraction: number): void {
    if (this.rtts.length > 0) return;
    const rtt = Math.max(nowUs - sentUs, 0);
    const serverTicks = tick + fraction / 65536 + (rtt / 2e6) * this.tickRate;
    this.offset = serverTicks - (nowUs / 1e6) * this.tickRate;
  }

  /** Whether any sample (or the seed) has arrived. */
  isSynced(): boolean {
    return this.offset !== null;
  }

  /** Smoothed round-trip time in microseconds, `null` before the first pong. */
  rttUs(): number | null {
    return this.srtt;
  }

  /** Round-trip variation in microseconds. */
  rttVarUs(): number {
    return this.rttvar;
  }

  /** Estimated server tick (with fraction) at client time `nowUs`. */
  serverTick(nowUs: number): number | null {
    return this.offset === null ? null : this.offset + (nowUs / 1e6) * this.tickRate;
  }

  /**
   * How long a message to the server may wait, from `nowUs`, and still arrive before the tick
   * starts that it would arrive before if sent at once, in microseconds (less than one tick):
   * by the estimate of the server's clock and half a round trip, keeping `marginTicks` and
   * twice the RTT variation to spare (0 when that cannot be kept). `null` before any estimate.
   */
  slackUs(nowUs: number, marginTicks: number): number | null {
    const tick = this.serverTick(nowUs);
    if (tick === null) return null;
    const halfRtt = ((this.srtt ?? 0) / 2e6) * this.tickRate;
    const spare = ((2 * this.rttvar) / 1e6) * this.tickRate + marginTicks;
    const arrives = tick + halfRtt;
    // Too close to the tick's start to spare anything: no wait.
    const slackTicks = Math.max(Math.floor(arrives) + 1 - arrives - spare, 0);
    return Math.floor((slackTicks / this.tickRate) * 1e6);
  }

  /**
   * The tick an input sent now should be stamped with: the server's tick when it arrives (half
   * a round trip, plus the variation and `marginTicks`), rounded up.
   */
  inputTick(nowUs: number, marginTicks: number): number | null {
    const tick = this.serverTick(nowUs);
    if (tick === null) return null;
    const halfRtt = ((this.srtt ?? 0) / 2e6) * this.tickRate;
    const jitter = (this.rttvar / 1e6) * this.tickRate;
    const t = Math.ceil(tick + halfRtt + jitter + marginTicks);
    return Math.min(Math.max(t, 0), 0xffffffff);
  }
}
