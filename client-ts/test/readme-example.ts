// The README's quick start, kept here so the typecheck covers it (not run by vitest).

import { RTCPeerConnection } from 'werift';

import { PROTOCOL } from '../src/generated/index.js';
import { connect, type InterpolatedEntity } from '../src/index.js';

declare function draw(entities: readonly InterpolatedEntity[]): void;

export async function quickStart(): Promise<void> {
  const conn = await connect('ws://127.0.0.1:7777/ws', { protocol: PROTOCOL, room: 'arena' });
  conn.on('snapshot', ({ tick, world }) => {
    const me = world.entity(conn.player!);
    if (me?.kind === 'player') console.log(tick, me.values.pos, me.values.hp);
  });
  conn.on('disconnect', (d) => console.log(d.name, d.message, d.willReconnect));
  conn.sendInput({ dx: 1, dy: 0 }); // move right until the next input
  setInterval(() => draw(conn.interpolated()?.entities ?? []), 16); // your renderer
}

export async function webrtc(): Promise<void> {
  const conn = await connect('ws://127.0.0.1:7777/ws', { protocol: PROTOCOL, room: 'arena' });
  conn.on('transport', (t) => console.log(t.kind, t.state, t.reason ?? ''));
  console.log(conn.transportKind, conn.webrtcState, conn.trafficOver.webrtc, conn.webrtcStats);

  const bot = await connect('ws://127.0.0.1:7777/ws', {
    protocol: PROTOCOL,
    webrtc: { peerConnection: RTCPeerConnection, config: { iceAdditionalHostAddresses: ['127.0.0.1'] } },
  });
  bot.close();
}
