/**
 * `tickwire-client/wire`: the layer under {@link connect}, for tools, tests and custom
 * clients. Bit streams and postcard, the schema's compiled layout, the snapshot codec and
 * quantized world storage, input packets, control messages, the sans-IO {@link ClientSession}
 * and its clock sync, the WebRTC upgrade's state machine and its `RTCPeerConnection` driver.
 *
 * Imports point one way: `bits` and `postcard` under `schema`, which is under `snapshot` and
 * `messages`; those under `codec` and `input`; all of them and `clock` under `session`; the
 * upgrade (`upgrade`, `webrtc`) takes only types from the session and the messages.
 */

export * from './bits.js';
export * from './clock.js';
export * from './codec.js';
export { SchemaError } from './errors.js';
export * from './input.js';
export * from './messages.js';
export * from './postcard.js';
export * from './schema.js';
export * from './session.js';
export * from './snapshot.js';
export * from './upgrade.js';
export * from './webrtc.js';
