/**
 * Entity interpolation: snapshots arrive every tick, frames render at display rate. The buffer
 * keeps the last few snapshots and renders the world as it was `delay` ago, blending float
 * fields between the two snapshots around that moment, so motion is smooth despite jitter.
 */

import { VALUE_FLOAT, type CompiledKind, type Layout } from './schema.js';
import { readValue, Snapshot } from './snapshot.js';
import type { Fields, Value } from './values.js';

/** Settings of an {@link InterpolationBuffer}. */
export interface InterpolationOptions {
  /** How far behind the estimated server time to render, in milliseconds. Default 100. */
  delayMs: number;
  /** Snapshots kept. Default 16. */
  capacity: number;
  /**
   * Float fields that wrap around, by `kind.field`, with their period (e.g.
   * `{ 'player.heading': 360 }`): they blend the short way round.
   */
  wrap: Readonly<Record<string, number>>;
}

/** One entity as rendered. */
export interface InterpolatedEntity {
  readonly id: number;
  readonly kind: string;
  readonly kindId: number;
  /** Field values; floats blended, other fields from the newer snapshot. */
  readonly values: Fields;
}

/** The world as rendered at {@link InterpolatedWorld.tick}. */
export interface InterpolatedWorld {
  /** The (fractional) server tick rendered. */
  readonly tick: number;
  /** Whether the render time was past the newest snapshot (the newest is held, not extrapolated). */
  readonly starved: boolean;
  readonly entities: readonly InterpolatedEntity[];
}

function blend(a: number, b: number, t: number, period: number | undefined): number {
  if (period === undefined) return a + (b - a) * t;
  let d = (b - a) % period;
  if (d > period / 2) d -= period;
  if (d < -period / 2) d += period;
  let v = a + d * t;
  const half = period / 2;
  if (v > half) v -= period;
  if (v < -half) v += period;
  return v;
}

/** Keeps recent snapshots and samples the world between them. */
export class InterpolationBuffer {
  readonly layout: Layout;
  readonly options: InterpolationOptions;
  private readonly snaps: Snapshot[] = [];
  private readonly pool: Snapshot[] = [];
  private readonly wrapByKind: Map<number, Map<number, number>>;

  constructor(layout: Layout, options: Partial<InterpolationOptions> = {}) {
    this.layout = layout;
    this.options = { delayMs: 100, capacity: 16, wrap: {}, ...options };
    this.wrapByKind = new Map();
    for (const [key, period] of Object.entries(this.options.wrap)) {
      const [kindName, field] = key.split('.');
      const kindId = kindName === undefined ? undefined : layout.kindId(kindName);
      const kind = kindId === undefined ? undefined : layout.kinds[kindId];
      const fi = field === undefined ? undefined : kind?.index.get(field);
      if (kindId === undefined || fi === undefined) continue;
      let m = this.wrapByKind.get(kindId);
      if (m === undefined) this.wrapByKind.set(kindId, (m = new Map()));
      m.set(fi, period);
    }
  }

  /** Snapshots held. */
  get size(): number {
    return this.snaps.length;
  }

  /** Forgets every snapshot (after a fresh session). */
  clear(): void {
    this.pool.push(...this.snaps.splice(0));
  }

  /** Adds a copy of `s`; snapshots older than the newest held are ignored. */
  push(s: Snapshot): void {
    const newest = this.snaps[this.snaps.length - 1];
    if (newest !== undefined && s.tick <= newest.tick) return;
    const copy = this.pool.pop() ?? new Snapshot();
    copy.copyFrom(s);
    this.snaps.push(copy);
    while (this.snaps.length > this.options.capacity) this.pool.push(this.snaps.shift()!);
  }

  /** The render tick for an estimated server tick: `delayMs` earlier. */
  renderTick(serverTick: number, tickRate: number): number {
    return serverTick - (this.options.delayMs / 1000) * tickRate;
  }

  /** The world at (fractional) server tick `tick`. */
  sample(tick: number): InterpolatedWorld {
    const snaps = this.snaps;
    const n = snaps.length;
    if (n === 0) return { tick, starved: true, entities: [] };
    let a = snaps[0]!;
    let b = a;
    let starved = false;
    if (tick >= snaps[n - 1]!.tick) {
      a = b = snaps[n - 1]!;
      starved = tick > snaps[n - 1]!.tick;
    } else if (tick > a.tick) {
      for (let i = 1; i < n; i++) {
        if (snaps[i]!.tick > tick) {
          a = snaps[i - 1]!;
          b = snaps[i]!;
          break;
        }
      }
    }
    const t = b.tick === a.tick ? 0 : (tick - a.tick) / (b.tick - a.tick);
    const entities: InterpolatedEntity[] = [];
    for (let i = 0; i < b.count; i++) {
      const id = b.ids[i]!;
      const kindId = b.kinds[i]!;
      const kind = this.layout.kinds[kindId]!;
      const bBase = b.starts[i]!;
      const ai = a === b ? -1 : a.indexOf(id);
      const aBase = ai >= 0 && a.kinds[ai] === kindId ? a.starts[ai]! : -1;
      entities.push({ id, kind: kind.name, kindId, values: this.blendEntity(kind, a, aBase, b, bBase, t) });
    }
    return { tick, starved, entities };
  }

  private blendEntity(kind: CompiledKind, a: Snapshot, aBase: number, b: Snapshot, bBase: number, t: number): Fields {
    const out: Fields = {};
    const wraps = this.wrapByKind.get(kind.id);
    kind.fields.forEach((f, fi) => {
      const vb = readValue(f, b.words, bBase);
      if (aBase < 0 || f.value !== VALUE_FLOAT) {
        out[f.name] = vb;
        return;
      }
      const va = readValue(f, a.words, aBase);
      const period = wraps?.get(fi);
      let v: Value;
      if (typeof va === 'number' && typeof vb === 'number') v = blend(va, vb, t, period);
      else {
        const xa = va as readonly number[];
        const xb = vb as readonly number[];
        v = xb.map((c, k) => blend(xa[k]!, c, t, period)) as unknown as Value;
      }
      out[f.name] = v;
    });
    return out;
  }
}
