/**
 * Fault injection, through the real command line on tiny configurations of every walkthrough
 * (seven models): two uninterrupted runs give the same bytes; a run killed with SIGKILL at random
 * moments (half of them inside a save, made slow by SEQMNIST_TEST_SLOW_SAVE_MS) and restarted
 * with `--resume` until it finishes gives the same bytes as the uninterrupted one (weights,
 * optimiser state of the last checkpoint, history and training log apart from wall-clock
 * fields); and bad input (a truncated weights file, a checkpoint of another training, an
 * unwritable folder, a file-size limit, two trainings of one folder, a stale lock) gets one
 * clear line, a non-zero exit and loses no good file. The kill moments come from a seeded
 * generator, so a CI run is reproducible. Prints a tally at the end.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CONFIG_FLAGS, FLAGS } from '../lib/cli/args';
import { TRAINED_MODELS } from '../lib/walkthroughs/registry';
import { WALL_CLOCK_FIELDS } from '../lib/walkthroughs/run';

const cli = path.resolve(__dirname, '..', 'bin', 'seqmnist.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-faults-'));
const SLOW_SAVE_MS = 25;
const env: Record<string, string | undefined> = {
  ...process.env,
  SEQMNIST_TEST_SLOW_SAVE_MS: String(SLOW_SAVE_MS),
  SEQMNIST_TEST_KEEP_CHECKPOINT: '1',
  SEQMNIST_QUICK: '',
  SEQMNIST_TRAIN: '',
};

/** The command-line flags that give a config's overrides (the CLI's flag table, in its order). */
function flagsOf(overrides: Record<string, unknown>): string[] {
  return CONFIG_FLAGS.flatMap((f) => {
    const v = overrides[FLAGS[f].config!];
    return v === undefined || v === false ? [] : v === true ? [`--${f}`] : [`--${f}`, String(v)];
  });
}

/**
 * Every shipped model of the registry, on its walkthrough's quick configuration (seconds, every
 * epoch or pass checkpointed) with the overrides it was shipped with; walkthroughs that split a
 * step over worker threads on two of them (the TCN's dropout masks are drawn on both).
 */
const CONFIGS = TRAINED_MODELS.map((m) => ({
  id: m.name,
  args: [m.walkthrough.name, ...flagsOf({ ...m.overrides, ...m.walkthrough.quickConfig })],
  kills: 3,
  threads: m.walkthrough.modelRecipe ? 2 : undefined,
}));

/** mulberry32: the seeded kill moments. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = generator(20240615);

const tally = { kills: 0, killsInSaves: 0, resumes: 0, runsCompared: 0, filesCompared: 0, divergentBytes: 0 };

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  seconds: number;
}

function start(args: string[], extraEnv: Record<string, string> = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [cli, 'train', ...args], { env: { ...env, ...extraEnv } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  const done = new Promise<Run>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out, seconds: (Date.now() - t0) / 1000 })),
  );
  return { child, done };
}

async function train(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const r = await start(args, extraEnv).done;
  assert.equal(r.code, 0, `train ${args.join(' ')} failed:\n${r.out.slice(-3000)}`);
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a save of one of the folders in `parent` is under way (its temporary or renamed-away names exist). */
function saveUnderway(parent: string, names: string[]): boolean {
  const dirs = [parent, ...names.map((n) => path.join(parent, `${n}-checkpoint`))];
  return dirs.some((d) => {
    try {
      return fs
        .readdirSync(d)
        .some((f) => names.some((n) => f.startsWith(`.${n}`)) || /^\.best\.(tmp-|new|old)/.test(f));
    } catch {
      return false;
    }
  });
}

/** Every file under `dir`, relative. */
function files(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(path.join(dir, prefix))) return [];
  return fs
    .readdirSync(path.join(dir, prefix))
    .sort()
    .flatMap((n) => {
      const rel = prefix ? `${prefix}/${n}` : n;
      return fs.statSync(path.join(dir, rel)).isDirectory() ? files(dir, rel) : [rel];
    });
}

/** A file's bytes for comparison: JSON with the wall-clock fields (and the checksums of files holding them) left out. */
function comparable(file: string): Buffer {
  const base = path.basename(file);
  if (base === 'training-log.json' || base === 'state.json') {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const f of WALL_CLOCK_FIELDS) delete v[f];
    return Buffer.from(JSON.stringify(v, null, 1));
  }
  if (base === 'manifest.json') {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as { files: Record<string, unknown> };
    for (const f of Object.keys(v.files)) if (/(training-log|state)\.json$/.test(f)) delete v.files[f];
    return Buffer.from(JSON.stringify(v, null, 1));
  }
  return fs.readFileSync(file);
}

/** Compares two output folders and their kept checkpoints file by file; returns the divergent bytes. */
function compareRuns(a: string, b: string): { divergent: number; report: string[] } {
  const report: string[] = [];
  let divergent = 0;
  for (const [x, y] of [
    [a, b],
    [`${a}-checkpoint`, `${b}-checkpoint`],
  ]) {
    const fx = files(x);
    const fy = files(y);
    assert.ok(fx.length > 0, `${x} holds no files`);
    assert.deepEqual(fy, fx, `${y} and ${x} hold different files`);
    for (const f of fx) {
      const bx = comparable(path.join(x, f));
      const by = comparable(path.join(y, f));
      let d = Math.abs(bx.length - by.length);
      for (let i = 0; i < Math.min(bx.length, by.length); i++) if (bx[i] !== by[i]) d++;
      tally.filesCompared++;
      if (d) report.push(`${path.join(y, f)}: ${d} bytes differ from ${path.join(x, f)}`);
      divergent += d;
    }
  }
  tally.runsCompared++;
  tally.divergentBytes += divergent;
  return { divergent, report };
}

/** The names in `parent` that are no output or kept checkpoint: leftovers of saves, lock files. */
function leftovers(parent: string): string[] {
  return fs.readdirSync(parent).filter((n) => n.startsWith('.') || n.endsWith('.lock') || n.includes('.tmp-'));
}

const threadsOf = (c: { threads?: number }) =>
  c.threads ? { SEQMNIST_THREADS: String(c.threads) } : ({} as Record<string, string>);

const uninterrupted = new Map<string, { out: string; seconds: number }>();

test('two uninterrupted runs of each shipped model with the same seed give the same bytes', async () => {
  for (const c of CONFIGS) {
    const outs = [path.join(work, 'plain-a', c.id), path.join(work, 'plain-b', c.id)];
    const first = await train([...c.args, '--out', outs[0]], threadsOf(c));
    await train([...c.args, '--out', outs[1]], threadsOf(c));
    uninterrupted.set(c.id, { out: outs[0], seconds: first.seconds });
    const { divergent, report } = compareRuns(outs[0], outs[1]);
    assert.equal(divergent, 0, `${c.id}: two uninterrupted runs differ:\n${report.join('\n')}`);
  }
});

test('runs killed with SIGKILL at random moments and resumed end with the same bytes', async () => {
  for (const c of CONFIGS) {
    const base = uninterrupted.get(c.id);
    assert.ok(base, `${c.id}: the uninterrupted run is missing`);
    const parent = path.join(work, 'killed');
    const out = path.join(parent, c.id);
    let kills = 0;
    let early = 1;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) tally.resumes++;
      assert.ok(attempt < c.kills + 10, `${c.id}: did not finish after ${attempt} restarts`);
      const { child, done } = start([...c.args, '--out', out, '--resume'], threadsOf(c));
      let finished: Run | undefined;
      void done.then((r) => (finished = r));
      if (kills < c.kills) {
        const inSave = kills % 2 === 1;
        if (inSave) {
          // as soon as a save is under way, plus up to two of its slowed steps
          const giveUp = Date.now() + 2 * base.seconds * 1000;
          while (!finished && Date.now() < giveUp && !saveUnderway(parent, [c.id])) await sleep(2);
          if (!finished) await sleep(random() * 2 * SLOW_SAVE_MS);
        } else {
          const deadline = Date.now() + early * (0.15 + 0.55 * random()) * base.seconds * 1000;
          while (!finished && Date.now() < deadline) await sleep(10);
        }
        if (!finished) {
          child.kill('SIGKILL');
          const r = await done;
          if (r.signal === 'SIGKILL') {
            kills++;
            tally.kills++;
            if (inSave) tally.killsInSaves++;
            continue;
          }
        }
      }
      const r = await done;
      assert.equal(r.code, 0, `${c.id}: a resumed run failed:\n${r.out.slice(-3000)}`);
      if (kills < c.kills) {
        // it finished before its kill came: train again from the beginning, killing earlier
        early *= 0.5;
        fs.rmSync(out, { recursive: true, force: true });
        fs.rmSync(`${out}-checkpoint`, { recursive: true, force: true });
        continue;
      }
      if (attempt > 0) {
        assert.match(r.out, /resuming from the last checkpoint .*saved after (epoch|step) \d+ of \d+|no checkpoint in/);
      }
      break;
    }
    console.log(`${c.id}: killed ${kills} times, then finished`);
    const { divergent, report } = compareRuns(base.out, out);
    assert.equal(divergent, 0, `${c.id}: killed ${kills} times and resumed, it differs:\n${report.join('\n')}`);
    assert.deepEqual(
      leftovers(parent).filter((n) => n.includes(c.id)),
      [],
      `${c.id}: leftovers in ${parent}`,
    );
  }
});

/** Runs the CLI to failure and returns its output; asserts a non-zero exit and one `seqmnist:` error line. */
function fails(args: string[], shell?: string): string {
  const r = shell
    ? spawnSync('bash', ['-c', `${shell}; exec "$0" "$@"`, process.execPath, cli, ...args], { env, encoding: 'utf8' })
    : spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  assert.notEqual(r.status, 0, `${args.join(' ')} should fail:\n${r.stdout}${r.stderr}`);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('seqmnist: '));
  assert.equal(errors.length, 1, `one error line expected:\n${r.stderr}`);
  return errors[0];
}

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(files(dir).map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));
}

test('bad input: one clear line, a non-zero exit, no good file lost', async () => {
  const tcn = CONFIGS.find((c) => c.id === 'tcn')!;
  env.SEQMNIST_THREADS = '2';
  const good = uninterrupted.get('tcn')!.out;
  const bad = path.join(work, 'bad');
  const copy = (from: string, to: string) => fs.cpSync(from, to, { recursive: true });

  // a truncated weights file: evaluating names it; resuming from a checkpoint with one names it
  const truncated = path.join(bad, 'truncated');
  copy(good, truncated);
  copy(`${good}-checkpoint`, `${truncated}-checkpoint`);
  for (const d of [truncated, `${truncated}-checkpoint`]) {
    const w = path.join(d, 'weights.bin');
    fs.truncateSync(w, fs.statSync(w).size - 100);
  }
  assert.match(fails(['eval', 'tcn', '--weights', truncated]), /truncated\/weights\.bin is truncated or damaged/);
  const before = snapshot(`${truncated}-checkpoint`);
  assert.match(
    fails(['train', ...tcn.args, '--out', truncated, '--resume']),
    /truncated-checkpoint\/weights\.bin is truncated or damaged: \d+ bytes, .*manifest\.json records \d+/,
  );
  assert.deepEqual(snapshot(`${truncated}-checkpoint`), before, 'the checkpoint was changed');

  // a corrupted (same size) optimiser state
  const corrupted = path.join(bad, 'corrupted');
  copy(`${good}-checkpoint`, `${corrupted}-checkpoint`);
  const o = path.join(`${corrupted}-checkpoint`, 'optimizer.bin');
  const bytes = fs.readFileSync(o);
  bytes[7] ^= 0xff;
  fs.writeFileSync(o, bytes);
  assert.match(fails(['train', ...tcn.args, '--out', corrupted, '--resume']), /optimizer\.bin is corrupted/);

  // a checkpoint of another training (same shapes, other data), and of another walkthrough (other shapes)
  const other = path.join(bad, 'other');
  copy(`${good}-checkpoint`, `${other}-checkpoint`);
  assert.match(
    fails(['train', ...tcn.args, '--permute', '--out', other, '--resume']),
    /checkpoint in .*other-checkpoint belongs to another training \(permute false, not true\)/,
  );
  const lstm = path.join(bad, 'lstm-from-tcn');
  copy(`${good}-checkpoint`, `${lstm}-checkpoint`);
  assert.match(
    fails(['train', 'lstm-row', '--limit', '600', '--epochs', '2', '--out', lstm, '--resume']),
    /checkpoint in .*lstm-from-tcn-checkpoint belongs to another training/,
  );
  assert.deepEqual(snapshot(`${other}-checkpoint`), snapshot(`${good}-checkpoint`));

  // an output folder that cannot be written: inside a file (and, when not root, a read-only folder)
  const file = path.join(bad, 'a-file');
  fs.writeFileSync(file, 'not a folder\n');
  assert.match(
    fails(['train', ...tcn.args, '--out', path.join(file, 'out')]),
    /cannot lock .*a-file\/out: its parent folder cannot be created \((ENOTDIR|EEXIST)/,
  );
  if (process.getuid?.() !== 0) {
    const ro = path.join(bad, 'read-only');
    fs.mkdirSync(ro);
    fs.chmodSync(ro, 0o555);
    assert.match(fails(['train', ...tcn.args, '--out', path.join(ro, 'out')]), /cannot lock .*read-only\/out/);
    fs.chmodSync(ro, 0o755);
  }

  // a file-size limit (as a full disk): the save fails naming the file, the previous output stays
  const limited = path.join(bad, 'limited');
  copy(good, limited);
  const kept = snapshot(limited);
  assert.match(
    fails(['train', ...tcn.args, '--out', limited], 'ulimit -f 200'),
    /could not save .*limited-checkpoint: writing weights\.bin failed \(EFBIG.*\); the previous version is untouched/,
  );
  assert.deepEqual(snapshot(limited), kept, 'the previous output was changed');
  assert.deepEqual(leftovers(bad), [], 'a failed save left files behind');

  // two trainings of one folder: the second refuses naming the first; killed, the first's lock is taken over
  const shared = path.join(bad, 'shared');
  const first = start([...tcn.args, '--out', shared]);
  while (!fs.existsSync(`${shared}-checkpoint.lock`)) await sleep(5);
  const line = fails(['train', ...tcn.args, '--out', shared]);
  assert.match(line, new RegExp(`shared is locked by process ${first.child.pid} on ${os.hostname()}, started .*`));
  first.child.kill('SIGKILL');
  await first.done;
  const taken = await train([...tcn.args, '--out', shared, '--resume']);
  assert.match(taken.out, new RegExp(`taking over the stale lock .*shared\\.lock of process ${first.child.pid}`));
  assert.equal(compareRuns(good, shared).divergent, 0);
  assert.deepEqual(leftovers(bad), []);
});

test('tally', () => {
  const line =
    `fault injection: ${tally.kills} SIGKILLs survived (${tally.killsInSaves} inside a save), ${tally.resumes} restarts with --resume, ` +
    `${tally.runsCompared} runs compared (${tally.filesCompared} files), ${tally.divergentBytes} divergent bytes`;
  console.log(line);
  assert.ok(tally.kills >= 20, line);
  assert.equal(tally.divergentBytes, 0, line);
  fs.rmSync(work, { recursive: true, force: true });
});
