// The arena demo: connects to the server that served this page, renders every player from
// interpolated snapshots, and moves yours with WASD or the arrow keys.

import { PROTOCOL, type Types } from '../src/generated/index.js';
import { connect, type Connection, type ConnectionEvents } from '../src/index.js';

const WORLD = 4000;
const canvas = document.getElementById('world') as HTMLCanvasElement;
const hud = document.getElementById('hud') as HTMLElement;
const ctx = canvas.getContext('2d')!;

const params = new URLSearchParams(location.search);
const room = params.get('room') ?? 'arena';
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

let conn: Connection<Types> | null = null;
let state = 'connecting';
let snapshots = 0;
let last: { tick: number; x: number; y: number } | null = null;

const keys = new Set<string>();
const KEYMAP: Record<string, [number, number]> = {
  KeyW: [0, -1],
  ArrowUp: [0, -1],
  KeyS: [0, 1],
  ArrowDown: [0, 1],
  KeyA: [-1, 0],
  ArrowLeft: [-1, 0],
  KeyD: [1, 0],
  ArrowRight: [1, 0],
};
let sentDir = '';

function direction(): [number, number] {
  let dx = 0;
  let dy = 0;
  for (const k of keys) {
    const d = KEYMAP[k];
    if (d !== undefined) {
      dx += d[0];
      dy += d[1];
    }
  }
  return [Math.sign(dx), Math.sign(dy)];
}

function sendDirection(force: boolean): void {
  if (conn === null || !conn.isConnected) return;
  const [dx, dy] = direction();
  const key = `${dx},${dy}`;
  if (!force && key === sentDir) return;
  sentDir = key;
  conn.sendInput({ dx, dy });
}

addEventListener('keydown', (e) => {
  if (KEYMAP[e.code] === undefined) return;
  e.preventDefault();
  keys.add(e.code);
  sendDirection(false);
});
addEventListener('keyup', (e) => {
  if (KEYMAP[e.code] === undefined) return;
  keys.delete(e.code);
  sendDirection(false);
});
addEventListener('blur', () => {
  keys.clear();
  sendDirection(false);
});
// Inputs also repeat slowly, so a resumed session gets the current direction.
setInterval(() => sendDirection(true), 500);

function onSnapshot(s: ConnectionEvents<Types>['snapshot']): void {
  snapshots++;
  const me = conn?.player ?? null;
  const e = me === null ? undefined : s.world.entity(me);
  if (e !== undefined && e.kind === 'player') last = { tick: s.tick, x: e.values.pos[0], y: e.values.pos[1] };
}

function fmtBytes(n: number): string {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB/s` : `${Math.round(n)} B/s`;
}

function resize(): void {
  const dpr = devicePixelRatio || 1;
  canvas.width = Math.floor(canvas.clientWidth * dpr);
  canvas.height = Math.floor(canvas.clientHeight * dpr);
}
addEventListener('resize', resize);
resize();

function draw(): void {
  const w = canvas.width;
  const h = canvas.height;
  const margin = 12 * (devicePixelRatio || 1);
  const scale = (Math.min(w, h) - 2 * margin) / WORLD;
  const ox = (w - WORLD * scale) / 2;
  const oy = (h - WORLD * scale) / 2;
  ctx.fillStyle = '#10141c';
  ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = '#182131';
  ctx.fillRect(ox, oy, WORLD * scale, WORLD * scale);
  ctx.strokeStyle = '#233046';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let g = 0; g <= WORLD; g += 500) {
    ctx.moveTo(ox + g * scale, oy);
    ctx.lineTo(ox + g * scale, oy + WORLD * scale);
    ctx.moveTo(ox, oy + g * scale);
    ctx.lineTo(ox + WORLD * scale, oy + g * scale);
  }
  ctx.stroke();
  ctx.strokeStyle = '#4a5d7e';
  ctx.lineWidth = 2;
  ctx.strokeRect(ox, oy, WORLD * scale, WORLD * scale);

  const view = conn?.interpolated() ?? null;
  const me = conn?.player ?? null;
  const r = Math.max(6, 40 * scale);
  if (view !== null) {
    for (const e of view.entities) {
      if (e.kind !== 'player') continue;
      const pos = e.values.pos as readonly [number, number];
      const heading = ((e.values.heading as number) * Math.PI) / 180;
      const x = ox + pos[0] * scale;
      const y = oy + pos[1] * scale;
      const mine = e.id === me;
      ctx.fillStyle = mine ? '#ffcc33' : '#4fa3ff';
      ctx.beginPath();
      ctx.arc(x, y, mine ? r * 1.4 : r, 0, Math.PI * 2);
      ctx.fill();
      ctx.strokeStyle = '#0b0e14';
      ctx.lineWidth = Math.max(2, r / 4);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + Math.cos(heading) * r * 1.4, y + Math.sin(heading) * r * 1.4);
      ctx.stroke();
      if (mine) {
        ctx.fillStyle = '#ffffff';
        ctx.font = `${Math.max(12, r)}px system-ui, sans-serif`;
        ctx.fillText(`you (hp ${String(e.values.hp)})`, x + r * 1.8, y - r);
      }
    }
  }

  const rtt = conn?.rttMs ?? null;
  const rate = conn?.bytesPerSecond() ?? { in: 0, out: 0 };
  const transport = conn?.transportKind ?? 'none';
  const webrtc = conn?.webrtcState ?? 'off';
  // While snapshots still come on the WebSocket, say what the upgrade is doing.
  const upgrade = transport === 'websocket' && webrtc !== 'off' ? ` (webrtc ${webrtc})` : '';
  const players = view?.entities.length ?? 0;
  hud.textContent =
    `${state} · transport ${transport}${upgrade} · RTT ${rtt === null ? '–' : `${rtt.toFixed(1)} ms`} · ` +
    `in ${fmtBytes(rate.in)} · out ${fmtBytes(rate.out)} · tick ${last?.tick ?? '–'} · players ${players} · ` +
    `WASD / arrows to move`;
  hud.dataset.state = state;
  hud.dataset.transport = transport;
  hud.dataset.webrtc = webrtc;
  hud.dataset.webrtcBytesIn = String(conn?.trafficOver.webrtc.bytesIn ?? 0);
  hud.dataset.websocketBytesIn = String(conn?.trafficOver.websocket.bytesIn ?? 0);
  hud.dataset.snapshots = String(snapshots);
  if (last !== null) {
    hud.dataset.tick = String(last.tick);
    hud.dataset.x = String(last.x);
    hud.dataset.y = String(last.y);
  }
  requestAnimationFrame(draw);
}
requestAnimationFrame(draw);

connect<Types>(url, {
  protocol: PROTOCOL,
  room,
  interpolation: { delayMs: 100, wrap: { 'player.heading': 360 } },
}).then(
  (c) => {
    conn = c;
    state = 'connected';
    c.on('snapshot', onSnapshot);
    c.on('connected', (e) => {
      state = e.resumed ? 'connected (resumed)' : 'connected';
      sendDirection(true);
    });
    c.on('disconnect', (d) => {
      state = d.willReconnect ? `reconnecting (${d.name})` : `disconnected: ${d.name} ${d.message}`;
    });
  },
  (e: unknown) => {
    state = `failed: ${e instanceof Error ? e.message : String(e)}`;
  },
);
