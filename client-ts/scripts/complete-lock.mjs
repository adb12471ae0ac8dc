// Adds lockfile entries for the platform packages of rollup (a vitest dependency) that
// `npm install` leaves out when the registry in use serves only this machine's platform:
// without them `npm ci` refuses the lockfile ("Missing: @rollup/rollup-… from lock file").
// The entries carry os/cpu/libc, so `npm ci` skips them on other platforms without fetching.
//
//   npm install && node scripts/complete-lock.mjs

import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
const rollup = packages['node_modules/rollup'];
if (rollup === undefined) throw new Error('rollup is not in the lockfile');

let added = 0;
for (const [name, version] of Object.entries(rollup.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (packages[key] !== undefined || !name.startsWith('@rollup/rollup-')) continue;
  const parts = name.slice('@rollup/rollup-'.length).split('-');
  // `<os>-<cpu>[-<abi>]`, e.g. `linux-arm64-musl`, `win32-x64-msvc`.
  const [os, cpu, ...rest] = parts;
  const abi = rest.join('-');
  const entry = { version, cpu: [cpu], dev: true };
  if (os === 'linux') entry.libc = [abi.startsWith('musl') ? 'musl' : 'glibc'];
  Object.assign(entry, { license: 'MIT', optional: true, os: [os] });
  packages[key] = entry;
  added++;
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} lockfile entries`);
