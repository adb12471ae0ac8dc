/**
 * tickwire's TypeScript client: decodes per-client delta snapshots, sends inputs with
 * redundancy, syncs the clock, interpolates for rendering, and reconnects with resume.
 *
 * ```ts
 * import { connect, PROTOCOL } from 'tickwire-client';
 * const conn = await connect('ws://127.0.0.1:7777/ws', { protocol: PROTOCOL, room: 'arena' });
 * conn.on('snapshot', ({ world }) => console.log(world.tick, world.size));
 * conn.sendInput({ dx: 1, dy: 0 });
 * ```
 */

export * from './bits.js';
export * from './clock.js';
export * from './codec.js';
export * from './connection.js';
export * from './errors.js';
export * from './input.js';
export * from './interpolation.js';
export * from './messages.js';
export * from './schema.js';
export * from './session.js';
export * from './snapshot.js';
export * from './transport.js';
export * from './upgrade.js';
export * from './webrtc.js';
export * from './world.js';
export type * from './values.js';
export * as arena from './generated/index.js';
export { PROTOCOL } from './generated/index.js';
