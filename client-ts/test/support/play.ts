// Helpers the tests against a real server share: waiting for snapshots, reading the own
// player, and the server's WebRTC counters.

import type { Connection, ConnectionEvents } from '../../src/index.js';
import type { Types } from '../../src/generated/index.js';
import { within, type RunningServer } from './server.js';

export type Snap = ConnectionEvents<Types>['snapshot'];

/** The next snapshot event that passes `filter`. */
export function nextSnapshot(conn: Connection<Types>, what: string, filter: (s: Snap) => boolean = () => true): Promise<Snap> {
  return within(what, conn.once('snapshot', filter));
}

/** The client's own player's position in snapshot `s`. */
export function playerPos(conn: Connection<Types>, s: Snap): readonly [number, number] {
  const me = s.world.entity(conn.player!);
  if (me === undefined || me.kind !== 'player') throw new Error('own player not in the snapshot');
  return me.values.pos;
}

/** The `webrtc` section of the server's `/status.json` (`null` with `--webrtc-udp off`). */
export async function webrtcStatus<T>(s: RunningServer): Promise<T | null> {
  const r = await fetch(`${s.httpUrl}/status.json`);
  return ((await r.json()) as { webrtc: T | null }).webrtc;
}
