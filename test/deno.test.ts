/**
 * The library under Deno, the notebooks' second kernel: the webgpu tests run there on Deno's own
 * WebGPU (wgpu, here lavapipe through Vulkan), as `deno test` runs them. The compiled test files
 * are the same ones `node --test` runs on Dawn; each notices the runtime where it spawns the CLI.
 * Fails with the install command where the optional `deno` package is missing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { denoBinary } from './helpers/deno';

const root = path.resolve(__dirname, '../..');

/** The webgpu tests: the fused kernels against the cpu backend, the backend itself, and eval's equality with wasm. */
const WEBGPU_TESTS = [
  'kernels-webgpu-tanh-rnn.test.js',
  'kernels-webgpu-lstm.test.js',
  'kernels-webgpu-eurnn.test.js',
  'webgpu.test.js',
  'webgpu-eval.test.js',
];

for (const file of WEBGPU_TESTS) {
  test(`${file} passes under Deno, on wgpu`, () => {
    const deno = denoBinary();
    assert.ok(deno, "no Deno binary: run 'npm install' (the optional package deno)");
    const r = spawnSync(deno, ['test', '-A', '--no-check', path.join(root, 'dist', 'test', file)], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 900_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(r.status, 0, `deno test ${file}:\n${(r.stdout + r.stderr).slice(-4000)}`);
    assert.match(r.stdout, /\| \d+ passed \| 0 failed/);
  });
}
