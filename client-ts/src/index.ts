/**
 * tickwire's TypeScript client: decodes per-client delta snapshots, sends inputs with
 * redundancy, syncs the clock, interpolates for rendering, and reconnects with resume.
 *
 * ```ts
 * import { connect } from 'tickwire-client';
 * import { PROTOCOL } from './generated/index.js'; // the game's generated module
 * const conn = await connect('ws://127.0.0.1:7777/ws', { protocol: PROTOCOL, room: 'arena' });
 * conn.on('snapshot', ({ world }) => console.log(world.tick, world.size));
 * conn.sendInput({ dx: 1, dy: 0 });
 * ```
 *
 * This entry is what a game uses. The wire layer under it (codecs, control messages, the
 * sans-IO session, the WebRTC upgrade's state machine and peer driver) is the subpath
 * `tickwire-client/wire`.
 */

export { connect, ConnectError, Connection } from './connection.js';
export type { ConnectOptions } from './options.js';
export type { ConnectionEvents } from './events.js';
export type { PendingInput, PredictionHooks, ReconcileContext } from './prediction.js';
export type { ReconnectOptions } from './reconnect.js';
export type { Traffic } from './traffic.js';
export type { WebRtcOptions } from './webrtc-link.js';
export type { UpgradeConfig, WebRtcStats } from './upgrade.js';
export type { PeerConnectionConstructor } from './webrtc.js';
export type { Channel, SessionConfig } from './session.js';

export { websocketTransport } from './transport.js';
export type { Transport, TransportClose, TransportFactory, TransportHandlers, TransportKind, WebSocketConstructor, WebSocketLike } from './transport.js';

export { WorldView, type EntityOf } from './world.js';
export { InterpolationBuffer, type InterpolatedEntity, type InterpolatedWorld, type InterpolationOptions } from './interpolation.js';

export { DecodeError, ValueError, type DecodeErrorCode } from './errors.js';
export { CloseCode, closeCodeName, type CloseReason, type Signal, type Welcome } from './messages.js';

export type { FieldDef, FieldType, FieldValues, GenericTypes, KindDef, Protocol, Schema, SchemaTypes } from './schema.js';
export type * from './values.js';
