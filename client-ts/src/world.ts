/**
 * Read access to a decoded world, with values dequantized and typed by kind when the
 * connection has generated types.
 */

import type { Layout, SchemaTypes } from './schema.js';
import { readFields, readValue, type Snapshot } from './snapshot.js';
import type { Value } from './values.js';

/** An entity of the decoded world, typed by kind when the connection has generated types. */
export type EntityOf<T extends SchemaTypes> = {
  [K in keyof T['kinds'] & string]: { readonly id: number; readonly kind: K; readonly values: T['kinds'][K] };
}[keyof T['kinds'] & string];

/** Read access to the newest decoded world. Valid during the event handler that receives it. */
export class WorldView<T extends SchemaTypes> {
  readonly layout: Layout;
  readonly snapshot: Snapshot;

  constructor(layout: Layout, snapshot: Snapshot) {
    this.layout = layout;
    this.snapshot = snapshot;
  }

  get tick(): number {
    return this.snapshot.tick;
  }

  /** Number of entities. */
  get size(): number {
    return this.snapshot.count;
  }

  /** Room field values. */
  room(): T['room'] {
    return readFields(this.layout.room, this.snapshot.room, 0) as T['room'];
  }

  /** The entity with `id`, values dequantized. */
  entity(id: number): EntityOf<T> | undefined {
    const i = this.snapshot.indexOf(id);
    return i < 0 ? undefined : this.at(i);
  }

  /** The `i`-th entity in id order. */
  at(i: number): EntityOf<T> {
    const s = this.snapshot;
    const kind = this.layout.kinds[s.kinds[i]!]!;
    return { id: s.ids[i]!, kind: kind.name, values: readFields(kind, s.words, s.starts[i]!) } as unknown as EntityOf<T>;
  }

  /** One field of entity `id` (no allocation for numbers), or `undefined`. */
  field(id: number, name: string): Value | undefined {
    const s = this.snapshot;
    const i = s.indexOf(id);
    if (i < 0) return undefined;
    const kind = this.layout.kinds[s.kinds[i]!]!;
    const fi = kind.index.get(name);
    return fi === undefined ? undefined : readValue(kind.fields[fi]!, s.words, s.starts[i]!);
  }

  /** Every entity, in id order. */
  *entities(): IterableIterator<EntityOf<T>> {
    for (let i = 0; i < this.snapshot.count; i++) yield this.at(i);
  }
}
