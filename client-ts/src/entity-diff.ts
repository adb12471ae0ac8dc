/**
 * Which entities came into and left a client's view between two snapshots: both are sorted by
 * id, so one merge pass finds them. An entity whose kind changed under the same id leaves and
 * enters again.
 */

import type { SchemaTypes } from './schema.js';
import type { EntityOf, WorldView } from './world.js';

/** What {@link EntityDiff.update} reports. */
export interface EntityDiffHandlers<T extends SchemaTypes> {
  enter(id: number, kind: string, entity: EntityOf<T>): void;
  leave(id: number, kind: string): void;
}

/** The ids and kinds of the last world seen, to compare the next one with. */
export class EntityDiff {
  private ids = new Uint32Array(0);
  private kinds = new Uint16Array(0);

  /** Reports what changed since the last world and remembers this one. */
  update<T extends SchemaTypes>(world: WorldView<T>, on: EntityDiffHandlers<T>): void {
    const s = world.snapshot;
    const layout = world.layout;
    const pi = this.ids;
    const pk = this.kinds;
    let i = 0;
    let j = 0;
    const leave = (k: number) => on.leave(pi[k]!, layout.kinds[pk[k]!]?.name ?? '');
    const enter = (k: number) => on.enter(s.ids[k]!, layout.kinds[s.kinds[k]!]!.name, world.at(k));
    while (i < pi.length && j < s.count) {
      const a = pi[i]!;
      const b = s.ids[j]!;
      if (a === b) {
        if (pk[i] !== s.kinds[j]) {
          leave(i);
          enter(j);
        }
        i++;
        j++;
      } else if (a < b) leave(i++);
      else enter(j++);
    }
    while (i < pi.length) leave(i++);
    while (j < s.count) enter(j++);
    this.ids = s.ids.slice(0, s.count);
    this.kinds = s.kinds.slice(0, s.count);
  }
}
