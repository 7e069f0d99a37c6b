/**
 * Every shipped model evaluates on the webgpu backend (here Mesa's llvmpipe) to the same test
 * accuracy as on wasm, through the CLI as a user runs it, on the first 100 test images (on
 * llvmpipe a keras-lmu evaluation takes ~0.8 s per image). Under Node the CLI runs on Dawn; run
 * under Deno (test/deno.test.ts) it runs the CLI with `deno run -A`, on wgpu.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { CONFIG_FLAGS, FLAGS } from '../lib/cli/args';
import { TRAINED_MODELS } from '../lib/walkthroughs/registry';

const cli = path.join(__dirname, '..', 'bin', 'seqmnist.js');
/** The CLI as this runtime runs it: `node seqmnist.js`, or `deno run -A seqmnist.js` under Deno. */
const runCli = 'Deno' in globalThis ? ['run', '-A', cli] : [cli];
const LIMIT = 100;

function evaluate(args: string[], backend: string): string {
  const r = spawnSync(process.execPath, [...runCli, 'eval', ...args, '--limit', String(LIMIT)], {
    encoding: 'utf8',
    env: { ...process.env, SEQMNIST_BACKEND: backend },
    timeout: 600_000,
  });
  assert.equal(r.status, 0, `eval ${args.join(' ')} on ${backend}: ${r.stderr.slice(-2000)}`);
  const line = /test accuracy: (\d+\.\d+)%/.exec(r.stdout);
  assert.ok(line, `eval ${args.join(' ')} on ${backend} printed no accuracy: ${r.stdout.slice(-1000)}`);
  assert.match(r.stdout, new RegExp(`backend: ${backend} on `));
  return line[1];
}

/** `eval`'s arguments for each shipped model: its walkthrough and the eval flags its training set (tcn's --permute). */
const MODELS = TRAINED_MODELS.map((m) => [
  m.walkthrough.name,
  ...CONFIG_FLAGS.filter(
    (f) =>
      m.walkthrough.evalKeys.includes(FLAGS[f].config!) &&
      (m.overrides as Record<string, unknown>)[FLAGS[f].config!] === true,
  ).map((f) => `--${f}`),
]);

for (const args of MODELS) {
  test(`eval ${args.join(' ')} --limit ${LIMIT}: the same accuracy on webgpu as on wasm`, () => {
    assert.equal(evaluate(args, 'webgpu'), evaluate(args, 'wasm'));
  });
}
