/**
 * Client-side prediction support: the inputs sent that the server has not applied yet, and the
 * hooks that see each input sent and each authoritative snapshot with those inputs.
 */

import type { SchemaTypes } from './schema.js';
import type { WorldView } from './world.js';

/** An input sent and not yet applied by the server, for reconciliation. */
export interface PendingInput<I> {
  readonly seq: number;
  /** The tick it was stamped for. */
  readonly tick: number;
  readonly input: I;
  /** When it was sent, on the connection's clock (ms). */
  readonly sentAtMs: number;
}

/** What a reconciliation hook is given after each snapshot. */
export interface ReconcileContext<T extends SchemaTypes> {
  /** The authoritative world. */
  readonly world: WorldView<T>;
  /** The entity this client controls. */
  readonly player: number | null;
  /** Newest input the server applied (from the snapshot header), `null` before the first. */
  readonly lastInputSeq: number | null;
  /** Inputs sent after it, oldest first: replay them on the authoritative state to predict. */
  readonly pending: readonly PendingInput<T['input']>[];
}

/** Client-side prediction hooks. */
export interface PredictionHooks<T extends SchemaTypes> {
  /** Called for every input sent, right after it is queued. */
  onInput?(input: PendingInput<T['input']>): void;
  /** Called after every decoded snapshot, with the inputs the server has not applied yet. */
  reconcile?(ctx: ReconcileContext<T>): void;
}

/** Inputs kept at most; older ones are forgotten. */
const MAX_PENDING = 256;

/** The inputs the server has not applied yet, oldest first, and the hooks that follow them. */
export class PendingInputs<T extends SchemaTypes> {
  private readonly hooks: PredictionHooks<T> | undefined;
  private list: PendingInput<T['input']>[] = [];

  constructor(hooks: PredictionHooks<T> | undefined) {
    this.hooks = hooks;
  }

  /** Inputs sent that the server has not applied yet, oldest first. */
  get pending(): readonly PendingInput<T['input']>[] {
    return this.list;
  }

  /** A new session: none of the inputs sent before will be applied. */
  clear(): void {
    this.list = [];
  }

  /** Records an input just queued and tells the `onInput` hook. */
  sent(input: PendingInput<T['input']>): void {
    this.list.push(input);
    if (this.list.length > MAX_PENDING) this.list.shift();
    this.hooks?.onInput?.(input);
  }

  /** A snapshot says the server applied every input up to `lastInputSeq` (`null`: none said). */
  applied(lastInputSeq: number | null): void {
    if (lastInputSeq !== null) this.list = this.list.filter((p) => p.seq > lastInputSeq);
  }

  /** Gives the `reconcile` hook the authoritative world and the inputs still pending. */
  reconcile(world: WorldView<T>, player: number | null, lastInputSeq: number | null): void {
    this.hooks?.reconcile?.({ world, player, lastInputSeq, pending: this.list });
  }
}
