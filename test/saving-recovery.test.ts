/**
 * The crash-consistent saves of lib/train/saving.ts, state by state (what a kill leaves between
 * each step of a save), the manifest check, Adam's exact resumption, the dropout stream's
 * independence of the thread split, and the folder locks of lib/train/lock.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CounterStream } from '../lib/data/random-stream';
import { lockFileOf, lockFolders } from '../lib/train/lock';
import { writeFileAtomically } from '../lib/files';
import { readableFolder, recoverFolder, verifyFolder, writeManifest } from '../lib/train/folders';
import { loadOptimizerState, saveModel } from '../lib/train/saving';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-recovery-'));

function folder(dir: string, content: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'x.txt'), content);
}
const content = (dir: string) => fs.readFileSync(path.join(dir, 'x.txt'), 'utf8');

test('recoverFolder puts back the newest complete version whatever step of a save was killed', () => {
  const root = tmp();
  const d = path.join(root, 'ck');
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  // killed while writing the temporary folder: it is removed, the folder kept
  folder(d, 'v1');
  folder(path.join(root, '.ck.tmp-123-abcd'), 'half');
  assert.match(recoverFolder(d, log)!, /recovered .*ck after an interrupted save: removed 1 unfinished save/);
  assert.equal(content(d), 'v1');
  // killed after the new version was complete, before the old one moved: the old one stays
  folder(path.join(root, '.ck.new'), 'v2');
  recoverFolder(d, log);
  assert.equal(content(d), 'v1');
  // killed between the two renames: the new version is put in place, read meanwhile
  fs.renameSync(d, path.join(root, '.ck.old'));
  folder(path.join(root, '.ck.new'), 'v2');
  assert.equal(readableFolder(d), path.join(root, '.ck.new'));
  assert.match(
    recoverFolder(d, log)!,
    /restored the version an interrupted save had completed \(\.ck\.new\), removed \.ck\.old/,
  );
  assert.equal(content(d), 'v2');
  // only the old one left (the new one lost): it comes back
  fs.renameSync(d, path.join(root, '.ck.old'));
  assert.equal(readableFolder(d), path.join(root, '.ck.old'));
  recoverFolder(d, log);
  assert.equal(content(d), 'v2');
  // killed before the old one was removed
  folder(path.join(root, '.ck.old'), 'v1');
  recoverFolder(d, log);
  assert.deepEqual(fs.readdirSync(root), ['ck']);
  assert.equal(recoverFolder(d, log), undefined, 'nothing to do, nothing printed');
  assert.equal(lines.length, 5);
  fs.rmSync(root, { recursive: true, force: true });
});

test('a saved folder is checked against its manifest: truncated, corrupted and missing files are named', async () => {
  const root = tmp();
  const d = path.join(root, 'm');
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] })] });
  await saveModel(model, d, { state: { epoch: 1 }, files: { 'extra.json': '{}' } });
  assert.deepEqual(fs.readdirSync(root), ['m'], 'no leftovers');
  verifyFolder(d);
  const w = path.join(d, 'weights.bin');
  const good = fs.readFileSync(w);
  fs.writeFileSync(w, good.subarray(0, 10));
  assert.throws(
    () => verifyFolder(d),
    /m\/weights\.bin is truncated or damaged: 10 bytes, .*manifest\.json records 60/,
  );
  const bad = Buffer.from(good);
  bad[0] ^= 1;
  fs.writeFileSync(w, bad);
  assert.throws(() => verifyFolder(d), /m\/weights\.bin is corrupted/);
  fs.rmSync(w);
  assert.throws(() => verifyFolder(d), /m\/weights\.bin is missing/);
  fs.writeFileSync(w, good);
  // a second save keeps the files it does not write, and lists them again
  await saveModel(model, d);
  assert.ok(fs.existsSync(path.join(d, 'extra.json')));
  verifyFolder(d);
  writeFileAtomically(path.join(root, 'a.json'), '{ "a": 1 }\n');
  assert.deepEqual(fs.readdirSync(root).sort(), ['a.json', 'm']);
  model.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

test('a resumed Adam takes the same steps as one that ran through (its β powers are saved exactly)', async () => {
  const root = tmp();
  const v = tf.variable(tf.tensor1d([0.3, -1.2, 2.5]), true, 'adam_resume_v');
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  const step = (o: tf.Optimizer) => o.applyGradients({ [v.name]: tf.mul(v, 0.7) });
  const a = tf.train.adam(1e-2, 0.9, 0.999, 1e-8);
  for (let i = 0; i < 37; i++) step(a);
  await saveModel(model, path.join(root, 'ck'), { optimizer: a });
  const saved = v.dataSync().slice();
  for (let i = 0; i < 5; i++) step(a);
  const through = v.dataSync().slice();
  v.assign(tf.tensor1d(saved));
  const b = tf.train.adam(1e-2, 0.9, 0.999, 1e-8);
  await loadOptimizerState(b, path.join(root, 'ck'));
  for (let i = 0; i < 5; i++) step(b);
  assert.deepEqual(Array.from(v.dataSync()), Array.from(through));
  [a, b, model, v].forEach((x) => x.dispose());
  fs.rmSync(root, { recursive: true, force: true });
});

test('dropout masks depend on the sample, not on how the batch is split over threads', () => {
  const whole = new CounterStream(7);
  const [first, second] = [new CounterStream(7), new CounterStream(7)];
  second.offset = 3;
  const m = whole.dropoutMask([5, 4, 2], 0.3).arraySync() as number[][][];
  const a = first.dropoutMask([3, 4, 2], 0.3).arraySync() as number[][][];
  const b = second.dropoutMask([2, 4, 2], 0.3).arraySync() as number[][][];
  assert.deepEqual([...a, ...b], m);
  const next = new CounterStream(7);
  next.position = 1;
  assert.notDeepEqual(next.dropoutMask([5, 4, 2], 0.3).arraySync(), m, 'the next pass draws other masks');
  assert.notDeepEqual(new CounterStream(8).dropoutMask([5, 4, 2], 0.3).arraySync(), m, 'another seed too');
});

test('a folder lock refuses a second writer naming it, and a dead process’s lock is taken over', () => {
  const root = tmp();
  const d = path.join(root, 'out');
  const held = lockFolders([d], { command: 'first' });
  assert.throws(
    () => lockFolders([d], { command: 'second' }),
    new RegExp(`out is locked by process ${process.pid} on ${os.hostname()}, started .* \\(first\\)`),
  );
  held.release();
  assert.ok(!fs.existsSync(lockFileOf(d)));
  // a process that took the lock and died
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const pid = Number(dead.stdout.trim());
  const owner = { pid, hostname: os.hostname(), started: '2020-01-01T00:00:00.000Z', command: 'gone' };
  fs.writeFileSync(lockFileOf(d), JSON.stringify(owner));
  const lines: string[] = [];
  const taken = lockFolders([d], { log: (l) => lines.push(l) });
  assert.match(lines.join('\n'), new RegExp(`taking over the stale lock .*out\\.lock of process ${pid} on `));
  assert.equal(JSON.parse(fs.readFileSync(lockFileOf(d), 'utf8')).pid, process.pid);
  taken.release();
  fs.rmSync(root, { recursive: true, force: true });
});

test('writeManifest pins a folder saved without one; every shipped weights folder carries a manifest that verifies', () => {
  const root = tmp();
  const d = path.join(root, 'old');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'weights.bin'), Buffer.from([1, 2, 3, 4]));
  fs.writeFileSync(path.join(d, 'model.json'), '{}');
  verifyFolder(d); // no manifest: read as before
  writeManifest(d);
  verifyFolder(d);
  fs.writeFileSync(path.join(d, 'weights.bin'), Buffer.from([1, 2, 3, 5]));
  assert.throws(() => verifyFolder(d), /weights\.bin is corrupted/);
  fs.rmSync(root, { recursive: true, force: true });
  const shipped = path.resolve(__dirname, '..', '..', 'notebooks', 'weights');
  for (const name of fs.readdirSync(shipped)) {
    const dir = path.join(shipped, name);
    if (!fs.statSync(dir).isDirectory()) continue;
    assert.ok(fs.existsSync(path.join(dir, 'manifest.json')), `${name} has no manifest.json`);
    verifyFolder(dir);
  }
});
