#!/usr/bin/env node
/**
 * The seqmnist command line: `npm run seqmnist -- <command> [args] [flags]`.
 * Every error ends in one line on stderr and a non-zero exit.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { initBackend } from '../lib/backend';
import { CliFlags, FlagName, getWalkthrough, walkthroughs } from '../lib/walkthroughs';
import { hasShippedWeights, shippedWeightsDir } from '../lib/train/checkpoint';
import { dataSummary } from '../lib/data/summary';

const USAGE = `usage: npm run seqmnist -- <command> [args] [flags]

commands:
  start                 the main job: replay the flagship walkthrough from the terminal
  data                  dataset summary: counts, label histogram, the first permuted indices
  list                  the walkthroughs
  summary <name>        layer table, ending with 'params: N'
  train <name>          train (flags: --epochs N, --steps N, --limit N, --resume, --out DIR, --permute, --seed N,
                        --clipnorm X, --fresh)
  eval <name>           evaluate shipped or given weights (--weights DIR, --limit N), ending 'test accuracy: XX.XX%'
  bench [names...]      one training step per walkthrough at its original batch size (median after warm-up)
                        --json: JSON array; --reps N (default 5); --torch: time the PyTorch peer in the same run

environment: SEQMNIST_BACKEND=tensorflow|wasm|cpu picks the backend.`;

interface Parsed {
  command: string;
  args: string[];
  flags: CliFlags & { json?: boolean; reps?: number; torch?: boolean; help?: boolean };
  given: string[];
}

const VALUE_FLAGS = new Set(['epochs', 'steps', 'limit', 'out', 'weights', 'reps', 'seed', 'clipnorm']);
const BOOL_FLAGS = new Set(['resume', 'permute', 'fresh', 'json', 'torch', 'help']);
const INT_FLAGS = new Set(['epochs', 'steps', 'limit', 'reps']);

/** Parses argv; unknown or malformed flags throw. */
export function parseArgs(argv: string[]): Parsed {
  const parsed: Parsed = { command: '', args: [], flags: {}, given: [] };
  const flags = parsed.flags as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') {
      flags.help = true;
    } else if (a.startsWith('--')) {
      const [key, inline] = a.slice(2).split('=', 2);
      if (VALUE_FLAGS.has(key)) {
        const value = inline ?? argv[++i];
        if (value === undefined || value.startsWith('--')) throw new Error(`flag --${key} needs a value`);
        if (key === 'seed') {
          const n = Number(value);
          if (!Number.isInteger(n) || n < 0) throw new Error(`--seed must be a non-negative integer (got '${value}')`);
          flags[key] = n;
        } else if (key === 'clipnorm') {
          const x = Number(value);
          if (!(x > 0) || !Number.isFinite(x)) throw new Error(`--clipnorm must be a positive number (got '${value}')`);
          flags[key] = x;
        } else if (INT_FLAGS.has(key)) {
          const n = Number(value);
          if (!Number.isInteger(n) || n < 1) throw new Error(`--${key} must be a positive integer (got '${value}')`);
          flags[key] = n;
        } else {
          flags[key] = value;
        }
      } else if (BOOL_FLAGS.has(key)) {
        if (inline !== undefined) throw new Error(`flag --${key} takes no value (got '${inline}')`);
        flags[key] = true;
      } else {
        throw new Error(`unknown flag '${a}' (see 'npm run seqmnist -- --help')`);
      }
      parsed.given.push(key);
    } else if (!parsed.command) {
      parsed.command = a;
    } else {
      parsed.args.push(a);
    }
  }
  return parsed;
}

function allowOnly(p: Parsed, allowed: string[]): void {
  for (const key of p.given) {
    if (!allowed.includes(key)) {
      throw new Error(`flag --${key} is not accepted by '${p.command}${p.args[0] ? ' ' + p.args[0] : ''}' (accepted: ${allowed.map((f) => '--' + f).join(', ') || 'none'})`);
    }
  }
}

function oneName(p: Parsed): string {
  if (p.args.length !== 1) throw new Error(`'${p.command}' takes one walkthrough name (got ${p.args.length}: ${p.args.join(' ') || 'none'}); see 'list'`);
  return p.args[0];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times the PyTorch peers (shared/anchors/torch_models.py) in this same run; ms/step by peer name. */
function torchTimes(peers: string[]): Map<string, number> {
  const script = path.resolve(__dirname, '../../../shared/anchors/torch_models.py');
  const out = spawnSync('/usr/bin/python3', [script, ...peers], { encoding: 'utf8' });
  if (out.status !== 0) {
    throw new Error(`PyTorch peers failed (${script}): ${(out.stderr || out.error?.message || '').trim().split('\n').pop()}` +
      ` (install with: apt-get install python3-torch python3-scipy)`);
  }
  const times = new Map<string, number>();
  for (const line of out.stdout.split('\n')) {
    const m = /^(\S+)\s.*?([\d.]+) ms\/step/.exec(line);
    if (m) times.set(m[1], Number(m[2]));
  }
  return times;
}

async function bench(p: Parsed): Promise<void> {
  allowOnly(p, ['json', 'reps', 'torch']);
  const list = p.args.length ? p.args.map(getWalkthrough) : walkthroughs();
  const reps = p.flags.reps ?? 5;
  const backend = await initBackend({ quiet: !!p.flags.json });
  const results: { name: string; backend: string; msPerStep: number; samplesPerSecond: number; torchMsPerStep?: number; ratioToTorch?: number }[] = [];
  for (const w of list) {
    const b = await w.benchStep();
    try {
      await b.step(); // warm-up: kernel compilation, first allocations
      const times: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = process.hrtime.bigint();
        await b.step();
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const ms = median(times);
      results.push({ name: w.name, backend, msPerStep: ms, samplesPerSecond: (b.batchSize * 1000) / ms });
      if (!p.flags.json) console.log(`${w.name}: ${ms.toFixed(1)} ms/step (${backend})`);
    } finally {
      b.dispose();
    }
  }
  if (p.flags.torch) {
    const peers = list.map((w) => w.torchPeer).filter((x): x is string => !!x);
    const times = torchTimes([...new Set(peers)]);
    for (const r of results) {
      const peer = getWalkthrough(r.name).torchPeer;
      const t = peer ? times.get(peer) : undefined;
      if (t === undefined) continue;
      r.torchMsPerStep = t;
      r.ratioToTorch = r.msPerStep / t;
      if (!p.flags.json) console.log(`${r.name}: PyTorch peer ${peer} ${t.toFixed(1)} ms/step; ours/PyTorch = ${r.ratioToTorch.toFixed(2)}`);
    }
  }
  if (p.flags.json) console.log(JSON.stringify(results, null, 2));
}

async function main(argv: string[]): Promise<void> {
  const p = parseArgs(argv);
  if (p.flags.help || !p.command || p.command === 'help') {
    console.log(USAGE);
    return;
  }
  switch (p.command) {
    case 'data':
      allowOnly(p, ['limit']);
      if (p.args.length) throw new Error(`'data' takes no arguments (got: ${p.args.join(' ')})`);
      await dataSummary();
      return;
    case 'list':
      allowOnly(p, []);
      for (const w of walkthroughs()) console.log(`${w.name.padEnd(12)} ${w.title}  (${w.notebook})`);
      return;
    case 'start': {
      allowOnly(p, []);
      // the flagship (KerasLMU) when its weights are shipped, else the first walkthrough that has them
      const all = walkthroughs();
      const flagship = all.find((w) => w.name === 'keras-lmu');
      const chosen = flagship && hasShippedWeights(flagship.name) ? flagship : all.find((w) => hasShippedWeights(w.name));
      if (!chosen) {
        await dataSummary();
        return;
      }
      if (chosen !== flagship) {
        console.log(`keras-lmu has no shipped weights yet (${shippedWeightsDir('keras-lmu')}); replaying '${chosen.name}' instead`);
      }
      await initBackend();
      console.log(`${chosen.name}: ${chosen.title}, shipped weights, test set (${chosen.notebook})`);
      const acc = await (chosen.replay ? chosen.replay() : chosen.evaluate({}));
      console.log(`test accuracy: ${(acc * 100).toFixed(2)}%`);
      return;
    }
    case 'summary': {
      allowOnly(p, []);
      const w = getWalkthrough(oneName(p));
      await initBackend({ quiet: true });
      const n = await w.summary();
      console.log(`params: ${n}`);
      return;
    }
    case 'train': {
      const w = getWalkthrough(oneName(p));
      allowOnly(p, w.trainFlags);
      await initBackend();
      await w.train(p.flags);
      return;
    }
    case 'eval': {
      const w = getWalkthrough(oneName(p));
      allowOnly(p, w.evalFlags);
      await initBackend();
      const acc = await w.evaluate(p.flags);
      console.log(`test accuracy: ${(acc * 100).toFixed(2)}%`);
      return;
    }
    case 'bench':
      await bench(p);
      return;
    default:
      throw new Error(`unknown command '${p.command}' (expected one of: start, data, list, summary, train, eval, bench)`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`seqmnist: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
