// Decode time of one tick of an arena delta with 100 moving players, tickwire vs
// @colyseus/schema decoding the patch of the same movement (x, y, heading, hp per player).
//
//   npm run bench

import { Decoder, Encoder, schema, t } from '@colyseus/schema';

import { PROTOCOL } from '../src/generated/index.js';
import { encodeSnapshot, Layout, readFloat, readValue, Snapshot, SnapshotDecoder, writeFields } from '../src/wire.js';

const ENTITIES = 100;
const TICKS = 64;
const SPEED = 200 / 30;

interface Body {
  x: number;
  y: number;
  heading: number;
  hp: number;
}

/** The movement both codecs carry: every player moves each tick, every tenth one also turns. */
function movement(): Body[][] {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const bodies: Body[] = Array.from({ length: ENTITIES }, () => ({
    x: 500 + rand() * 3000,
    y: 500 + rand() * 3000,
    heading: rand() * 360 - 180,
    hp: 100,
  }));
  const ticks: Body[][] = [];
  for (let k = 0; k <= TICKS; k++) {
    ticks.push(bodies.map((b) => ({ ...b })));
    bodies.forEach((b, i) => {
      if (i % 10 === k % 10) b.heading = ((b.heading + 200) % 360) - 180;
      const r = (b.heading * Math.PI) / 180;
      b.x += Math.cos(r) * SPEED;
      b.y += Math.sin(r) * SPEED;
    });
  }
  return ticks;
}

/** Median nanoseconds per call of `fn` over a few timed rounds. */
function measure(fn: (i: number) => void): number {
  for (let i = 0; i < 19_200; i++) fn(i);
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const n = 19_200; // a multiple of TICKS: every round ends on the last tick
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    rounds.push(Number(process.hrtime.bigint() - t0) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[3]!;
}

const ticks = movement();

// tickwire: one delta frame per tick against the previous tick.
const layout = new Layout(PROTOCOL.schema);
const player = layout.kinds[0]!;
const snaps = ticks.map((bodies, k) => {
  const s = new Snapshot();
  s.clear(layout.room.words, 1000 + k);
  writeFields(layout.room, s.room, 0, { players: ENTITIES });
  bodies.forEach((b, i) => {
    const o = s.push(i + 1, 0, player.words);
    writeFields(player, s.words, o, { pos: [b.x, b.y], heading: b.heading, hp: b.hp });
  });
  return s;
});
const frames = snaps.slice(1).map((s, k) => encodeSnapshot(layout, s, snaps[k]!, 7));
const decoder = new SnapshotDecoder(layout);
const out = new Snapshot();
const pos = player.fields[0]!;
const heading = player.fields[1]!;
const hp = player.fields[2]!;
let sink = 0;

const tw = measure((i) => {
  const k = i % TICKS;
  decoder.decode(frames[k]!, () => snaps[k], out);
  sink += out.count;
});
const twRead = measure((i) => {
  const k = i % TICKS;
  decoder.decode(frames[k]!, () => snaps[k], out);
  for (let e = 0; e < out.count; e++) {
    const o = out.starts[e]!;
    sink += readFloat(pos, out.words, o, 0) + readFloat(pos, out.words, o, 1) + readFloat(heading, out.words, o) + (readValue(hp, out.words, o) as number);
  }
});

// @colyseus/schema: the same bodies in a map of players, one patch per tick.
const Player = schema({ x: t.float32(), y: t.float32(), heading: t.float32(), hp: t.uint8() }, 'Player');
const State = schema({ players: t.map(Player) }, 'State');
const server = new State();
ticks[0]!.forEach((b, i) => server.players.set(String(i + 1), new Player().assign(b)));
const encoder = new Encoder(server);
const client = new State();
const colyDecoder = new Decoder(client);
colyDecoder.decode(encoder.encodeAll());
encoder.discardChanges();
const patches: Uint8Array[] = [];
for (let k = 1; k <= TICKS; k++) {
  ticks[k]!.forEach((b, i) => server.players.get(String(i + 1))!.assign(b));
  patches.push(encoder.encode().slice());
  encoder.discardChanges();
}
// The client decodes patches in order, so it tracks the same state as the server.
const cy = measure((i) => {
  colyDecoder.decode(patches[i % TICKS]!);
  sink += client.players.size;
});

const avg = (xs: Uint8Array[]) => xs.reduce((a, x) => a + x.length, 0) / xs.length;
const check = client.players.get('1')!;
const want = ticks[TICKS]!.at(0)!;
if (Math.abs(check.x - want.x) > 0.01 || out.count !== ENTITIES) throw new Error(`decoders disagree with the movement: colyseus x ${check.x} vs ${want.x}, tickwire ${out.count} players`);

console.log(`${ENTITIES} players moving, one tick's delta, median of 7 rounds of 19,200 decodes (Node ${process.version})`);
console.log(`  tickwire delta decode           ${(tw / 1000).toFixed(2)} µs/tick   ${avg(frames).toFixed(0)} bytes/tick`);
console.log(`  tickwire decode + read values   ${(twRead / 1000).toFixed(2)} µs/tick`);
console.log(`  @colyseus/schema patch decode   ${(cy / 1000).toFixed(2)} µs/tick   ${avg(patches).toFixed(0)} bytes/tick`);
console.log(`  ratio (colyseus / tickwire)     ${(cy / tw).toFixed(2)}x decode only, ${(cy / twRead).toFixed(2)}x with values read`);
if (sink === 0) console.log('');
