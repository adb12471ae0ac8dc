// Builds the package: the ESM library's two entries (dist/index.js, and dist/wire.js for the
// `tickwire-client/wire` subpath) with the code they share in dist/chunks/, so both see one
// copy of each class; the minified browser bundle of the root entry used for the size budget
// (dist/tickwire.min.js); and the demo bundle the server embeds (dist/demo.js, committed).
//
//   node scripts/build.mjs            build everything
//   node scripts/build.mjs --check    also fail if the committed dist/demo.js is stale, or the
//                                     browser bundle is over its budget

import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');
const BUDGET = 30 * 1024;

/** Browsers have a global WebSocket: the Node fallback (`ws`) is left out of browser bundles. */
const noNodeWebSocket = {
  name: 'no-node-websocket',
  setup(build) {
    build.onResolve({ filter: /^ws$/ }, () => ({ path: 'ws', namespace: 'no-ws' }));
    build.onLoad({ filter: /.*/, namespace: 'no-ws' }, () => ({ contents: 'export const WebSocket = undefined;', loader: 'js' }));
  },
};

const browser = {
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  legalComments: 'none',
  plugins: [noNodeWebSocket],
  absWorkingDir: root,
  logLevel: 'warning',
};

mkdirSync(`${root}dist`, { recursive: true });
// Chunk names carry a content hash: drop the previous build's.
rmSync(`${root}dist/chunks`, { recursive: true, force: true });

await esbuild.build({
  entryPoints: ['src/index.ts', 'src/wire.ts'],
  outdir: 'dist',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  external: ['ws'],
  sourcemap: true,
  absWorkingDir: root,
  logLevel: 'warning',
});

const lib = await esbuild.build({ ...browser, entryPoints: ['src/index.ts'], write: false, outfile: 'dist/tickwire.min.js' });
const libBytes = lib.outputFiles[0].contents;
writeFileSync(`${root}dist/tickwire.min.js`, libBytes);
const gz = gzipSync(libBytes, { level: 9 }).length;
console.log(`browser bundle: ${libBytes.length} bytes minified, ${gz} bytes gzipped (budget ${BUDGET})`);

const demo = await esbuild.build({ ...browser, entryPoints: ['demo/main.ts'], write: false, outfile: 'dist/demo.js' });
const demoText = demo.outputFiles[0].text;
console.log(`demo bundle: ${demoText.length} bytes minified, ${gzipSync(demoText, { level: 9 }).length} bytes gzipped`);

if (check) {
  let committed = '';
  try {
    committed = readFileSync(`${root}dist/demo.js`, 'utf8');
  } catch {
    // Missing counts as stale.
  }
  let failed = false;
  if (committed !== demoText) {
    console.error('dist/demo.js is stale versus the sources: run `npm run build` in client-ts/ and commit dist/demo.js');
    failed = true;
  }
  if (gz > BUDGET) {
    console.error(`the browser bundle is ${gz} bytes gzipped, over the ${BUDGET}-byte budget`);
    failed = true;
  }
  if (failed) process.exit(1);
} else {
  writeFileSync(`${root}dist/demo.js`, demoText);
}
