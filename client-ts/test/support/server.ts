// Starts the real `tickwire` binary on a free port (it binds 127.0.0.1:0 and logs its
// address), and a TCP proxy whose connections a test can cut.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const TICKWIRE_BIN =
  process.env.TICKWIRE_BIN ?? fileURLToPath(new URL('../../../target/debug/tickwire', import.meta.url));

export interface RunningServer {
  /** `127.0.0.1:port` */
  readonly addr: string;
  readonly wsUrl: string;
  readonly httpUrl: string;
  stop(): Promise<void>;
}

/** Where {@link startServer} runs the server. */
export interface ServerPlace {
  /** IP bound for both the WebSocket and the WebRTC UDP port (both on port 0). Default `127.0.0.1`. */
  host?: string;
  /** Command the server runs under, e.g. `['ip', 'netns', 'exec', name]`. Default none. */
  prefix?: string[];
}

/**
 * Starts `tickwire serve --listen 127.0.0.1:0` (its WebRTC UDP port on port 0 too, so servers
 * can run side by side, unless `extraArgs` sets `--webrtc-udp`) and waits for the line naming
 * its address.
 */
export async function startServer(extraArgs: string[] = [], place: ServerPlace = {}): Promise<RunningServer> {
  if (!existsSync(TICKWIRE_BIN)) {
    throw new Error(`no server binary at ${TICKWIRE_BIN}: run \`cargo build --bin tickwire\` (or set TICKWIRE_BIN)`);
  }
  const host = place.host ?? '127.0.0.1';
  const udp = extraArgs.includes('--webrtc-udp') ? [] : ['--webrtc-udp', `${host}:0`];
  const argv = [...(place.prefix ?? []), TICKWIRE_BIN, 'serve', '--listen', `${host}:0`, ...udp, ...extraArgs];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const addr = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`server did not report its address within 20 s:\n${log}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /wss?:\/\/(\d+\.\d+\.\d+\.\d+:\d+)\/ws/.exec(log);
      if (m !== null) {
        clearTimeout(deadline);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(deadline);
      reject(new Error(`server exited with ${code}:\n${log}`));
    });
  });
  return {
    addr,
    wsUrl: `ws://${addr}/ws`,
    httpUrl: `http://${addr}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface Proxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Destroys every open connection (both sides), as a network failure would. */
  cutAll(): void;
  close(): Promise<void>;
}

/** A TCP proxy on a free port forwarding to `target` (`host:port`). */
export async function startProxy(target: string): Promise<Proxy> {
  const [host, port] = target.split(':') as [string, string];
  const open = new Set<Socket>();
  const state = { accepted: 0 };
  const server: Server = createServer((client) => {
    state.accepted++;
    const upstream = tcpConnect(Number(port), host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    get accepted() {
      return state.accepted;
    },
    cutAll() {
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Resolves when `check` returns a value other than `undefined`; polls until `ms` pass. */
export async function until<V>(what: string, check: () => V | undefined, ms = 10_000): Promise<V> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<V>(what: string, promise: Promise<V>, ms = 10_000): Promise<V> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
