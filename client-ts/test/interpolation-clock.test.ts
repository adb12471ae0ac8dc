// Interpolation between snapshots, and clock sync on a simulated link.

import { describe, expect, it } from 'vitest';

import { PROTOCOL } from '../src/generated/index.js';
import { InterpolationBuffer } from '../src/index.js';
import { ClockSync, Layout, Snapshot, writeFields } from '../src/wire.js';

const layout = new Layout(PROTOCOL.schema);
const player = layout.kinds[0]!;

function world(tick: number, players: [id: number, x: number, y: number, heading: number, hp: number][]): Snapshot {
  const s = new Snapshot();
  s.clear(layout.room.words, tick);
  for (const [id, x, y, heading, hp] of players) {
    writeFields(player, s.words, s.push(id, 0, player.words), { pos: [x, y], heading, hp });
  }
  return s;
}

describe('interpolation buffer', () => {
  const buf = new InterpolationBuffer(layout, { delayMs: 100, wrap: { 'player.heading': 360 } });
  buf.push(world(10, [[1, 100, 200, 170, 100], [2, 0, 0, 0, 50]]));
  buf.push(world(12, [[1, 200, 200, -170, 90], [3, 5, 5, 0, 10]]));

  it('blends floats between the snapshots around the render tick, the short way round for wrapped fields', () => {
    const w = buf.sample(11);
    expect(w.starved).toBe(false);
    const one = w.entities.find((e) => e.id === 1)!;
    expect(one.values.pos).toEqual([150, 200]);
    expect(one.values.heading).toBe(180);
    // Integers come from the newer snapshot.
    expect(one.values.hp).toBe(90);
    // Entity 2 left at tick 12, entity 3 appeared.
    expect(w.entities.map((e) => e.id)).toEqual([1, 3]);
    const quarter = buf.sample(10.5).entities.find((e) => e.id === 1)!;
    expect(quarter.values.pos).toEqual([125, 200]);
    expect(quarter.values.heading).toBe(175);
  });

  it('holds the newest snapshot when the render time passes it, and the oldest before it', () => {
    const late = buf.sample(15);
    expect(late.starved).toBe(true);
    expect(late.entities.find((e) => e.id === 1)!.values.pos).toEqual([200, 200]);
    expect(buf.sample(3).entities.map((e) => e.id)).toEqual([1, 2]);
  });

  it('renders delayMs behind the server tick and ignores snapshots older than the newest', () => {
    expect(buf.renderTick(30, 30)).toBeCloseTo(27);
    buf.push(world(11, [[1, 0, 0, 0, 0]]));
    expect(buf.size).toBe(2);
  });
});

describe('clock sync', () => {
  it('converges to the server tick and the round trip over jittered samples', () => {
    // Server at 30 Hz whose tick 0 began at client time t0.
    const t0 = 5_000_000;
    const answer = (at: number): [number, number] => {
      const ticks = ((at - t0) * 30) / 1e6;
      return [Math.floor(ticks), Math.floor((ticks % 1) * 65536)];
    };
    const c = new ClockSync(30);
    let now = 10_000_000;
    for (let i = 0; i < 20; i++) {
      const d = 20_000 + ((i * 7919) % 5) * 3_000; // 20..32 ms one way
      const [tick, frac] = answer(now + d);
      c.handleSample(now, now + 2 * d, tick, frac);
      now += 2 * d + 500_000;
    }
    const truth = ((now - t0) * 30) / 1e6;
    expect(Math.abs(c.serverTick(now)! - truth)).toBeLessThan(0.1);
    const rtt = c.rttUs()!;
    expect(rtt).toBeGreaterThanOrEqual(40_000);
    expect(rtt).toBeLessThanOrEqual(64_000);
    expect(c.inputTick(now, 1)!).toBeGreaterThanOrEqual(truth + 1);
  });

  it('lets a message wait only as long as it still reaches the server before the same tick', () => {
    // Steady one-way delay of 12 ms each way: the estimate becomes exact enough.
    const t0 = 3_000_000;
    const d = 12_000;
    const period = 1e6 / 30;
    const c = new ClockSync(30);
    expect(c.slackUs(0, 0.1)).toBeNull();
    let now = 10_000_000;
    for (let i = 0; i < 20; i++) {
      const ticks = ((now + d - t0) * 30) / 1e6;
      c.handleSample(now, now + 2 * d, Math.floor(ticks), Math.floor((ticks % 1) * 65536));
      now += 2 * d + 250_000;
    }
    const tickAt = (t: number) => Math.floor((t - t0) / period);
    let waited = 0;
    for (let k = 0; k < 300; k++) {
      const sent = now + k * 997;
      const slack = c.slackUs(sent, 0.1)!;
      expect(slack).toBeLessThan(period);
      // Sent after waiting the slack, it arrives before the same tick starts as if sent at
      // once, with the spare kept (or it does not wait).
      const afterWait = Math.floor((sent + slack + d - t0 + 0.09 * period) / period);
      if (slack > 0) expect(afterWait, `sent at ${sent}, slack ${slack}`).toBe(tickAt(sent + d));
      waited += slack;
    }
    // On average it waits most of a tick less the spare.
    expect(waited / 300).toBeGreaterThan(0.3 * period);
  });

  it('uses the welcome only as a seed, never as a round-trip sample', () => {
    const c = new ClockSync(30);
    expect(c.serverTick(0)).toBeNull();
    c.seed(0, 100_000, 300, 0);
    expect(c.rttUs()).toBeNull();
    expect(c.serverTick(100_000)).toBeCloseTo(300 + 1.5);
    c.handleSample(200_000, 210_000, 306, 0);
    c.seed(0, 1_000_000, 0, 0);
    expect(c.rttUs()).toBe(10_000);
    expect(c.serverTick(210_000)).toBeCloseTo(306.15);
  });
});
