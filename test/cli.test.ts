import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from '../lib/cli/args';
import { configOverrides, evalFlags, trainCommandLine, trainFlags } from '../lib/cli/walkthrough-flags';
import { WALKTHROUGHS } from '../lib/walkthroughs/registry';

const cli = path.resolve(__dirname, '../bin/seqmnist.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('parseArgs reads commands, names, value and boolean flags', () => {
  const p = parseArgs(['train', 'tcn', '--epochs', '5', '--permute', '--out=runs/x']);
  assert.equal(p.command, 'train');
  assert.deepEqual(p.args, ['tcn']);
  assert.deepEqual(p.flags, { epochs: 5, permute: true, out: 'runs/x' });
});

test('parseArgs rejects unknown flags, missing values and bad numbers with the value', () => {
  assert.throws(() => parseArgs(['train', 'tcn', '--epoch', '5']), /unknown flag '--epoch'/);
  assert.throws(() => parseArgs(['train', 'tcn', '--epochs']), /--epochs needs a value/);
  assert.throws(() => parseArgs(['train', 'tcn', '--epochs', 'ten']), /positive integer \(got 'ten'\)/);
  assert.throws(() => parseArgs(['train', 'tcn', '--limit', '0']), /positive integer \(got '0'\)/);
  assert.throws(() => parseArgs(['train', 'tcn', '--resume=yes']), /takes no value/);
});

test('an unknown command or walkthrough is one error line and a non-zero exit', () => {
  for (const args of [['frobnicate'], ['summary', 'no-such-model'], ['train'], ['list', '--epochs', '3']]) {
    const r = run(...args);
    assert.equal(r.status, 1, `exit status for ${args.join(' ')}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0], /^seqmnist: /);
  }
});

test('an unknown backend name is refused with the list of backends', () => {
  const r = spawnSync(process.execPath, [cli, 'bench', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, SEQMNIST_BACKEND: 'metal' },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unknown backend 'metal' \(expected one of: tensorflow, webgpu, wasm, cpu\)/);
});

test('data prints the full MNIST counts and the permutation head', () => {
  const r = run('data');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /train: 60000 images/);
  assert.match(r.stdout, /test: {2}10000 images/);
  assert.match(r.stdout, /693, 85, 647, 392, 765, 14, 299, 711, 55, 31, 122, 172, \.\.\. , 763, 192, 629, 559, 684/);
});

test('--seed takes a non-negative integer', () => {
  assert.equal(parseArgs(['train', 'tcn', '--seed', '0']).flags.seed, 0);
  assert.equal(parseArgs(['train', 'tcn', '--seed=1112']).flags.seed, 1112);
  assert.throws(
    () => parseArgs(['train', 'tcn', '--seed', '-1']),
    /--seed must be a non-negative integer \(got '-1'\)/,
  );
  assert.throws(() => parseArgs(['train', 'tcn', '--seed', '1.5']), /--seed must be a non-negative integer/);
});

test('--fresh is a switch', () => {
  assert.equal(parseArgs(['train', 'lstm-row', '--fresh']).flags.fresh, true);
  assert.throws(() => parseArgs(['train', 'lstm-row', '--fresh=1']), /flag --fresh takes no value \(got '1'\)/);
});

test('--clipnorm takes a positive number', () => {
  assert.equal(parseArgs(['train', 'nengo-lmu', '--clipnorm', '1']).flags.clipnorm, 1);
  assert.equal(parseArgs(['train', 'nengo-lmu', '--clipnorm=0.5']).flags.clipnorm, 0.5);
  for (const bad of ['0', '-1', 'x', 'Infinity']) {
    assert.throws(
      () => parseArgs(['train', 'nengo-lmu', '--clipnorm', bad]),
      new RegExp(`--clipnorm must be a positive number \\(got '${bad}'\\)`),
    );
  }
});

test('trainCommandLine records the given training flags in one order, leaving out local folders', () => {
  assert.equal(trainCommandLine('tcn', {}), 'npm run seqmnist -- train tcn');
  assert.equal(
    trainCommandLine('lstm-row', { resume: true, fresh: true, seed: 0, epochs: 10, out: '/tmp/x', limit: 600 }),
    'npm run seqmnist -- train lstm-row --epochs 10 --limit 600 --seed 0 --fresh',
  );
  assert.equal(
    trainCommandLine('nengo-lmu', { clipnorm: 1, seed: 0, permute: false }),
    'npm run seqmnist -- train nengo-lmu --seed 0 --clipnorm 1',
  );
  assert.equal(
    trainCommandLine('tcn', { permute: true, seed: 1114 }),
    'npm run seqmnist -- train tcn --permute --seed 1114',
  );
});

test('data --limit N summarises the first N images, and refuses a bad N', () => {
  const r = run('data', '--limit', '5');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /train: 5 images of 28x28 \(the first 5 of 60000: --limit 5\)/);
  assert.match(r.stdout, /test: {2}5 images of 28x28 \(the first 5 of 10000: --limit 5\)/);
  const counts = /^ {2}train((?: +\d+){10})$/m.exec(r.stdout);
  assert.ok(counts, r.stdout);
  assert.equal(
    counts[1]
      .trim()
      .split(/ +/)
      .map(Number)
      .reduce((a, b) => a + b, 0),
    5,
  );
  const bad = run('data', '--limit', '0');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^seqmnist: --limit must be a positive integer \(got '0'\)$/m);
});

test('bench --json prints one JSON array and nothing else, even for walkthroughs split over threads', () => {
  const r = spawnSync(process.execPath, [cli, 'bench', 'keras-lmu', 'lstm-row', '--json', '--reps', '1'], {
    encoding: 'utf8',
    env: { ...process.env, SEQMNIST_THREADS: '2' },
  });
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout) as {
    name: string;
    threads: number;
    batchSize: number;
    msPerStep: number;
    peakRssMiB: number;
  }[];
  assert.deepEqual(
    results.map((x) => [x.name, x.threads, x.batchSize]),
    [
      ['keras-lmu', 2, 100],
      ['lstm-row', 2, 512],
    ],
  );
  for (const x of results) assert.ok(x.msPerStep > 0 && x.peakRssMiB > 0);
});

test('a value flag followed by another flag, or a switch given a value, is refused', () => {
  assert.throws(() => parseArgs(['train', 'tcn', '--epochs', '--permute']), /flag --epochs needs a value/);
  assert.throws(() => parseArgs(['eval', 'tcn', '--permute=no']), /flag --permute takes no value \(got 'no'\)/);
  assert.deepEqual(parseArgs(['bench', 'tcn', 'eurnn', '-h']).flags, { help: true });
});

test('counts are safe integers in plain digits: --steps 1e99 is refused before anything runs', () => {
  for (const bad of ['1e99', '1e3', '9007199254740993', '0x10', '2.0']) {
    assert.throws(
      () => parseArgs(['train', 'eurnn', '--steps', bad]),
      new RegExp(`--steps must be a positive integer \\(got '${bad.replace('.', '\\.')}'\\)`),
    );
  }
  assert.equal(parseArgs(['train', 'eurnn', '--steps', '40000']).flags.steps, 40000);
  const r = run('train', 'eurnn', '--steps', '1e99');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^seqmnist: --steps must be a positive integer \(got '1e99'\)$/m);
});

test("a walkthrough's train and eval flags come from its config's keys", () => {
  const byName = new Map(WALKTHROUGHS.map((w) => [w.name, w]));
  // every walkthrough has seed and limit in its config; only step-counted ones have steps
  for (const w of WALKTHROUGHS) {
    const flags = trainFlags(w);
    assert.ok(flags.includes('seed') && flags.includes('limit') && flags.includes('resume') && flags.includes('out'));
    assert.equal(flags.includes('steps'), 'steps' in w.defaults, w.name);
    assert.equal(flags.includes('epochs'), 'epochs' in w.defaults, w.name);
    assert.deepEqual(evalFlags(w).slice(0, 2), ['weights', 'limit']);
  }
  assert.deepEqual(evalFlags(byName.get('tcn')!), ['weights', 'limit', 'permute']);
  assert.ok(trainFlags(byName.get('tcn')!).includes('clipnorm'), 'the TCN takes --clipnorm (the original clip)');
  const r = run('train', 'lstm-row', '--permute');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /flag --permute is not accepted by 'train lstm-row' \(accepted: /);
});

test('the overrides a training log records are the flags given, mapped onto config keys', () => {
  const flags = parseArgs(['train', 'tcn', '--permute', '--seed', '1114', '--clipnorm', '0.5', '--out', 'x']).flags;
  assert.deepEqual(configOverrides(flags), { permute: true, seed: 1114, clipNorm: 0.5 });
});

test('eval refuses another walkthrough’s weights folder in one line, and a shipped folder with a flipped byte', () => {
  const other = run('eval', 'lstm-row', '--weights', 'notebooks/weights/lstm-pixel', '--limit', '10');
  assert.equal(other.status, 1);
  const lines = other.stderr.trim().split('\n');
  assert.equal(lines.length, 1, other.stderr);
  assert.match(lines[0], /holds weights of lstm-pixel, not of lstm-row/);
  assert.ok(lines[0].length < 200, lines[0]);
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-flip-'));
  try {
    const dir = path.join(copy, 'lstm-row');
    fs.cpSync(path.join(__dirname, '..', '..', 'notebooks', 'weights', 'lstm-row'), dir, { recursive: true });
    const w = path.join(dir, 'weights.bin');
    const b = fs.readFileSync(w);
    b[100] ^= 1;
    fs.writeFileSync(w, b);
    const flipped = run('eval', 'lstm-row', '--weights', dir, '--limit', '10');
    assert.equal(flipped.status, 1);
    assert.match(flipped.stderr, /weights\.bin is corrupted: its SHA-256 differs/);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});
