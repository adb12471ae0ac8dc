// A network namespace joined to this one by a veth pair, for the browser's WebRTC: Chromium
// gathers no ICE candidate when the only way to the server is loopback, so the server runs in
// the namespace on the veth address and the browser reaches it over the pair. Needs root
// (CAP_NET_ADMIN); the names and the /30 come from the process id, so runs side by side differ.

import { execFileSync } from 'node:child_process';

export interface Netns {
  /** The namespace, for `ip netns exec`. */
  readonly name: string;
  /** The veth end in this namespace, and its address. */
  readonly hostIf: string;
  readonly hostAddr: string;
  /** The veth end in the namespace, and its address (bind the server here). */
  readonly nsIf: string;
  readonly nsAddr: string;
  /** Prefix that runs a command inside the namespace. */
  readonly exec: readonly string[];
  /** Removes the namespace and both veth ends; safe to call twice. */
  remove(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quietly(args: string[]): void {
  try {
    ip(args);
  } catch {
    // Already gone.
  }
}

const NEEDS =
  'the browser WebRTC test needs root (CAP_NET_ADMIN) and iproute2 to create a network namespace and a veth pair ' +
  '(Chromium gathers no ICE candidates over loopback alone): run the tests as root';

/** Removes namespaces (and host veth ends) left by runs of this test that were killed. */
function removeStale(): void {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return;
  }
  for (const m of list.matchAll(/^tickwire-(\d+)\b/gm)) {
    const pid = Number(m[1]);
    try {
      process.kill(pid, 0);
      continue; // Its process is alive: not ours to remove.
    } catch {
      quietly(['netns', 'del', `tickwire-${pid}`]);
      quietly(['link', 'del', `twh${pid}`]);
    }
  }
}

/** Creates the namespace and the veth pair (`10.213.a.b/30`), both ends up. Throws, saying what is needed, when it cannot. */
export function createNetns(): Netns {
  const id = process.pid;
  const name = `tickwire-${id}`;
  const hostIf = `twh${id}`;
  const nsIf = `twn${id}`;
  const n = id % 16384;
  const net = `10.213.${n >> 6}.${(n & 63) * 4}`;
  const base = net.split('.').map(Number);
  const hostAddr = `${base[0]}.${base[1]}.${base[2]}.${base[3]! + 1}`;
  const nsAddr = `${base[0]}.${base[1]}.${base[2]}.${base[3]! + 2}`;
  const remove = () => {
    // Deleting the namespace destroys its veth end, and with it the pair.
    quietly(['netns', 'del', name]);
    quietly(['link', 'del', hostIf]);
  };
  removeStale();
  remove();
  try {
    ip(['netns', 'add', name]);
    ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    ip(['link', 'set', nsIf, 'netns', name]);
    ip(['addr', 'add', `${hostAddr}/30`, 'dev', hostIf]);
    ip(['link', 'set', hostIf, 'up']);
    ip(['-n', name, 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf]);
    ip(['-n', name, 'link', 'set', nsIf, 'up']);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    remove();
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    const uid = typeof process.getuid === 'function' ? ` (running as uid ${process.getuid()})` : '';
    throw new Error(`${NEEDS}${uid}: ${stderr || (e instanceof Error ? e.message : String(e))}`);
  }
  // A test that dies before its cleanup still leaves nothing behind.
  process.once('exit', remove);
  return { name, hostIf, hostAddr, nsIf, nsAddr, exec: ['ip', 'netns', 'exec', name], remove };
}
