/**
 * README's generated blocks and the notebooks' quoted figures against the files they cite
 * (lib/walkthroughs/readme-tables.ts, scripts/readme-tables.js): README must equal what
 * `npm run readme` would write, every notebook figure quoted from a log must be the log's, and a
 * changed number is caught. Also the fused-kernel names the notebooks print (lib/kernels/all.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { eurnnKernelEngine, lstmKernelEngine } from '../lib/kernels/all';
import { getEurnnEngine } from '../lib/kernels/eurnn';
import { getLstmEngine } from '../lib/kernels/lstm';
import {
  fillReadme,
  notebookDifferences,
  notebookQuotes,
  README_BLOCKS,
  readmeBlocks,
  readmeDifferences,
} from '../lib/walkthroughs/readme-tables';

const root = path.resolve(__dirname, '..', '..');
const readme = () => fs.readFileSync(path.join(root, 'README.md'), 'utf8');

test("README's generated blocks equal what their files give (run 'npm run readme' after a new log or record)", () => {
  const diffs = readmeDifferences(readme(), readmeBlocks());
  assert.deepEqual(diffs, [], `README.md differs from the files it cites:\n${diffs.join('\n')}`);
});

test('every block is in README once, and the script in check mode agrees', () => {
  const text = readme();
  for (const name of README_BLOCKS) {
    assert.equal(text.split(`<!-- generated:${name} `).length, 2, `block ${name}`);
    assert.equal(text.split(`<!-- /generated:${name} -->`).length, 2, `block ${name}`);
  }
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'readme-tables.js'), '--check'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
});

test('a changed number in a generated block is caught, naming the block and the line', () => {
  const blocks = readmeBlocks();
  const text = fillReadme(readme(), blocks);
  // the first ratio of the Speed table, one digit changed
  const speed = blocks.speed;
  const row = speed.split('\n').find((l) => /^\| `/.test(l))!;
  const changed = row.replace(/(\d)(\s*\|\s*)$/, (_, d: string, end: string) => `${(Number(d) + 1) % 10}${end}`);
  assert.notEqual(changed, row);
  const diffs = readmeDifferences(text.replace(row, changed), blocks);
  assert.equal(diffs.length, 1);
  assert.match(diffs[0], /block 'speed'/);
  assert.ok(diffs[0].includes(changed), diffs[0]);
});

test('a block without its markers is refused by name', () => {
  assert.throws(() => fillReadme('no markers here\n', { speed: 'x' }), /block 'speed'.*found 0/);
  const twice = '<!-- generated:speed x -->\n<!-- /generated:speed -->\n'.repeat(2);
  assert.throws(() => fillReadme(twice, { speed: 'x' }), /found 2/);
  assert.equal(
    fillReadme('a\n<!-- generated:speed x -->\nold\n<!-- /generated:speed -->\nb\n', { speed: 'new' }),
    'a\n<!-- generated:speed x -->\nnew\n<!-- /generated:speed -->\nb\n',
  );
});

test("the notebooks' markdown quotes every logged figure as its file gives it", () => {
  const quotes = notebookQuotes();
  assert.ok(quotes.length >= 10, `only ${quotes.length} quotes`);
  assert.deepEqual(notebookDifferences(root, quotes), []);
  // and a changed figure is caught
  const q = quotes[0];
  const wrong = [{ ...q, quote: q.quote.replace(/\d/, (d) => String((Number(d) + 1) % 10)) }];
  assert.equal(notebookDifferences(root, wrong).length, 1);
});

test('the kernel the notebooks print is the one that runs on the backend: WGSL on webgpu, the engine elsewhere', () => {
  assert.equal(lstmKernelEngine('webgpu'), 'webgpu (WGSL)');
  assert.equal(eurnnKernelEngine('webgpu'), 'webgpu (WGSL)');
  assert.equal(lstmKernelEngine('wasm'), getLstmEngine());
  assert.equal(eurnnKernelEngine('cpu'), getEurnnEngine());
});
