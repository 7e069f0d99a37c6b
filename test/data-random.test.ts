import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { RandomState, psmnistPermutation } from '../lib/data/random';

interface Summary {
  values?: number[];
  length?: number;
  sha256?: string;
  head?: number[];
  tail?: number[];
  positions?: number[];
  at?: number[];
}
interface SeedCase {
  seed: number;
  keyHead: number[];
  keyTail: number[];
  permutation: Record<string, Summary>;
  randomSample: number[];
  randomSampleAfter2000: number[];
  uint32: number[];
  randint: { low: number; high: number; values: number[] }[];
  stream: [number, number, number, number, number[], number];
  uniform: { default: number[]; minus1to1: number[]; reversed: number[] };
  shuffleArange12x10p3: number[];
  permutationOfLinspace9: number[];
}

const fixture: { numpy: string; seeds: SeedCase[] } = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'random-state.json'), 'utf8'),
);

function checkSummary(actual: Int32Array, expected: Summary, what: string): void {
  if (expected.values) {
    assert.deepEqual(Array.from(actual), expected.values, what);
    return;
  }
  assert.equal(actual.length, expected.length, `${what} length`);
  assert.deepEqual(Array.from(actual.subarray(0, 20)), expected.head, `${what} head`);
  assert.deepEqual(Array.from(actual.subarray(actual.length - 20)), expected.tail, `${what} tail`);
  assert.deepEqual(
    expected.positions!.map((i) => actual[i]),
    expected.at,
    `${what} sampled positions`,
  );
  const bytes = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength); // little-endian on x86/arm
  assert.equal(createHash('sha256').update(bytes).digest('hex'), expected.sha256, `${what} sha256`);
}

test('seeding matches NumPy init_genrand state', () => {
  for (const c of fixture.seeds) {
    const { key, pos } = new RandomState(c.seed).getState();
    assert.equal(pos, 624);
    assert.deepEqual(Array.from(key.subarray(0, 8)), c.keyHead, `seed ${c.seed}`);
    assert.deepEqual(Array.from(key.subarray(620)), c.keyTail, `seed ${c.seed}`);
  }
});

test('permutation(784) with seed 0 is KerasLMU psMNIST order', () => {
  const perm = psmnistPermutation();
  assert.ok(perm instanceof Int32Array);
  assert.deepEqual(Array.from(perm.subarray(0, 12)), [693, 85, 647, 392, 765, 14, 299, 711, 55, 31, 122, 172]);
  assert.deepEqual(Array.from(perm.subarray(779)), [763, 192, 629, 559, 684]);
  assert.deepEqual(Array.from(new RandomState(1).permutation(10).subarray(0, 8)), [2, 9, 6, 4, 0, 3, 1, 7]);
  assert.deepEqual(psmnistPermutation(1), new RandomState(1).permutation(784));
});

test('permutation(n) matches NumPy for many seeds and sizes', () => {
  for (const c of fixture.seeds) {
    for (const [n, expected] of Object.entries(c.permutation)) {
      checkSummary(new RandomState(c.seed).permutation(Number(n)), expected, `seed ${c.seed} permutation(${n})`);
    }
  }
});

test('randomSample matches NumPy random_sample, across a state regeneration', () => {
  for (const c of fixture.seeds) {
    assert.deepEqual(Array.from(new RandomState(c.seed).randomSample(16)), c.randomSample, `seed ${c.seed}`);
    const rs = new RandomState(c.seed);
    rs.randomSample(2000);
    assert.deepEqual(Array.from(rs.randomSample(16)), c.randomSampleAfter2000, `seed ${c.seed}`);
    assert.equal(new RandomState(c.seed).randomSample(), c.randomSample[0]);
  }
});

test('nextUint32 matches NumPy randint(0, 2**32, dtype=uint64)', () => {
  for (const c of fixture.seeds) {
    const rs = new RandomState(c.seed);
    assert.deepEqual(
      c.uint32.map(() => rs.nextUint32()),
      c.uint32,
      `seed ${c.seed}`,
    );
  }
});

test('randint matches NumPy for powers of two, non-powers and signed bounds', () => {
  for (const c of fixture.seeds) {
    for (const { low, high, values } of c.randint) {
      const got = new RandomState(c.seed).randint(low, high, values.length);
      assert.ok(got instanceof Int32Array);
      assert.deepEqual(Array.from(got), values, `seed ${c.seed} randint(${low}, ${high})`);
    }
  }
});

test('scalar draws continue one stream as in NumPy', () => {
  for (const c of fixture.seeds) {
    const rs = new RandomState(c.seed);
    const got = [
      rs.randint(10),
      rs.randomSample(),
      rs.randint(3, 300),
      rs.uniform(-2, 3),
      Array.from(rs.permutation(5)),
      rs.randint(0, 2 ** 31 - 1),
    ];
    assert.deepEqual(got, c.stream, `seed ${c.seed}`);
  }
});

test('uniform matches NumPy, including low > high', () => {
  for (const c of fixture.seeds) {
    assert.deepEqual(Array.from(new RandomState(c.seed).uniform(0, 1, 8)), c.uniform.default);
    assert.deepEqual(Array.from(new RandomState(c.seed).uniform(-1, 1, 8)), c.uniform.minus1to1);
    assert.deepEqual(Array.from(new RandomState(c.seed).uniform(5, -3, 8)), c.uniform.reversed);
  }
});

test('shuffle is in place and permutation(array) copies, as NumPy', () => {
  for (const c of fixture.seeds) {
    const arr = Array.from({ length: 12 }, (_, i) => i * 10 + 3);
    const typed = Int32Array.from(arr);
    assert.equal(new RandomState(c.seed).shuffle(arr), arr);
    assert.deepEqual(arr, c.shuffleArange12x10p3);
    new RandomState(c.seed).shuffle(typed);
    assert.deepEqual(Array.from(typed), c.shuffleArange12x10p3);

    const floats = Float64Array.from({ length: 9 }, (_, i) => i / 8);
    const shuffled = new RandomState(c.seed).permutation(floats);
    assert.ok(shuffled instanceof Float64Array);
    assert.deepEqual(Array.from(shuffled), c.permutationOfLinspace9);
    assert.deepEqual(
      Array.from(floats),
      Array.from({ length: 9 }, (_, i) => i / 8),
      'input untouched',
    );
  }
});

test('setState restores a stream; seed() re-seeds', () => {
  const rs = new RandomState(7);
  rs.randomSample(700);
  const saved = rs.getState();
  const a = rs.randint(0, 100, 50);
  rs.setState(saved);
  assert.deepEqual(rs.randint(0, 100, 50), a);
  rs.seed(0);
  assert.deepEqual(rs.permutation(784), psmnistPermutation(0));
});

test('bad arguments throw with the value', () => {
  assert.throws(() => new RandomState(-1), /seed must be an integer between 0 and 2\*\*32 - 1 \(got -1\)/);
  assert.throws(() => new RandomState(2 ** 32), /got 4294967296/);
  assert.throws(() => new RandomState(1.5), /got 1.5/);
  assert.throws(() => new RandomState(NaN), /got NaN/);
  const rs = new RandomState(0);
  assert.throws(() => rs.randint(5, 5), /low < high \(got low=5, high=5\)/);
  assert.throws(() => rs.randint(0), /low < high/);
  assert.throws(() => rs.randint(0, 2 ** 40), /high must be an integer in \[-2\*\*31, 2\*\*31\] \(got 1099511627776\)/);
  assert.throws(() => rs.randint(0.5, 3), /low must be an integer/);
  assert.throws(() => rs.randint(0, 3, -1), /size must be a non-negative integer \(got -1\)/);
  assert.throws(() => rs.permutation(-3), /permutation length must be a non-negative integer below 2\*\*31 \(got -3\)/);
  assert.throws(() => rs.uniform(0, Infinity), /finite/);
  assert.throws(() => rs.randomSample(2.5), /size must be a non-negative integer \(got 2.5\)/);
});
