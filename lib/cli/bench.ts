/**
 * `bench`: one training step (forward, backward, update) of every walkthrough at its original
 * batch size, timed the same way for all (median after a warm-up), and the PyTorch peers of
 * ../shared/anchors/torch_models.py timed in the same run.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { trainStep } from '../train/loop';
import { GradientWorkers } from '../train/parallel';
import type { BenchRecipe, WalkthroughCommands } from './commands';

/** One bench result (`bench --json` prints an array of these). */
export interface BenchResult {
  name: string;
  backend: string;
  threads: number;
  batchSize: number;
  msPerStep: number;
  samplesPerSecond: number;
  torchPeer?: string;
  torchMsPerStep?: number;
  ratioToTorch?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds of each of `reps` training steps after one warm-up step, on random data. */
export async function timeSteps(recipe: BenchRecipe, reps: number): Promise<number[]> {
  const threads = recipe.threads();
  const model = recipe.model();
  const optimizer = recipe.optimizer();
  const workers = recipe.workers && threads > 1 ? await GradientWorkers.start(recipe.workers, { threads }) : undefined;
  const x = tf.randomUniform([recipe.batchSize, ...recipe.input], 0, 1, 'float32', 1);
  const y = tf.randomUniform([recipe.batchSize], 0, 10, 'int32', 2);
  try {
    const times: number[] = [];
    for (let i = 0; i <= reps; i++) {
      const t0 = process.hrtime.bigint();
      await trainStep(model, { x, y }, { optimizer, loss: recipe.loss, workers });
      if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6); // step 0 warms up: compilation, first allocations
    }
    return times;
  } finally {
    await workers?.terminate();
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

/** Times the PyTorch peers in this same run; ms/step by peer name. */
export function torchTimes(peers: string[]): Map<string, number> {
  const script = path.resolve(__dirname, '../../../../shared/anchors/torch_models.py');
  const out = spawnSync('/usr/bin/python3', [script, ...peers], { encoding: 'utf8' });
  if (out.status !== 0) {
    const why = (out.stderr || out.error?.message || '').trim().split('\n').pop();
    throw new Error(
      `PyTorch peers failed (${script}): ${why} (install with: apt-get install python3-torch python3-scipy)`,
    );
  }
  const times = new Map<string, number>();
  for (const line of out.stdout.split('\n')) {
    const m = /^(\S+)\s.*?([\d.]+) ms\/step/.exec(line);
    if (m) times.set(m[1], Number(m[2]));
  }
  return times;
}

/**
 * Benchmarks the walkthroughs' training steps (and with `torch` their PyTorch peers); prints one
 * line per result unless `json`, where it prints nothing but returns the results.
 */
export async function bench(
  list: WalkthroughCommands[],
  options: { reps: number; torch?: boolean; json?: boolean },
): Promise<BenchResult[]> {
  const say = options.json ? () => undefined : (line: string) => console.log(line);
  const backend = await initBackend({ quiet: options.json });
  const results: BenchResult[] = [];
  for (const w of list) {
    const ms = median(await timeSteps(w.bench, options.reps));
    const { batchSize } = w.bench;
    const threads = w.bench.threads();
    results.push({
      name: w.name,
      backend,
      threads,
      batchSize,
      msPerStep: ms,
      samplesPerSecond: (batchSize * 1000) / ms,
    });
    say(`${w.name}: ${ms.toFixed(1)} ms/step (${backend}, ${threads} thread${threads > 1 ? 's' : ''})`);
  }
  if (options.torch) {
    const peerOf = new Map(list.map((w) => [w.name, w.torchPeer]));
    const times = torchTimes([...new Set([...peerOf.values()].filter((p): p is string => !!p))]);
    for (const r of results) {
      const peer = peerOf.get(r.name);
      const t = peer ? times.get(peer) : undefined;
      if (t === undefined) continue;
      Object.assign(r, { torchPeer: peer, torchMsPerStep: t, ratioToTorch: r.msPerStep / t });
      say(`${r.name}: PyTorch peer ${peer} ${t.toFixed(1)} ms/step; ours/PyTorch = ${r.ratioToTorch!.toFixed(2)}`);
    }
  }
  return results;
}
