/**
 * No leaks: every walkthrough's training step, its evaluation and its per-step twin, run many
 * times, keep tfjs's tensor count and bytes flat after the first steps and the process's resident
 * memory within 5% between the first and the last quarter. CI-sized: the real models and sequence
 * lengths with tiny batches (2 or 4 random sequences; the count does not depend on the batch), on
 * wasm, with the walkthroughs that split a step over worker threads on 2 threads (their workers
 * share this process's memory).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as v8 from 'v8';
import * as vm from 'vm';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { SequenceDataset } from '../lib/data/batches';
import { perStepModel } from '../lib/models/per-step';
import { evaluate, trainStep } from '../lib/train/loop';
import { rssMiB } from '../lib/train/memory';
import { GradientWorkers } from '../lib/train/parallel';
import type { AnyWalkthrough } from '../lib/walkthroughs/run';
import { WALKTHROUGHS } from '../lib/walkthroughs/registry';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Training steps per walkthrough (issue #22 asks ≥ 500 for lstm-row, ≥ 50 for keras-lmu) and its batch. */
const STEPS: Record<string, { steps: number; batch: number }> = {
  'keras-lmu': { steps: 50, batch: 2 },
  'nengo-lmu': { steps: 30, batch: 2 },
  eurnn: { steps: 100, batch: 2 },
  tcn: { steps: 50, batch: 2 },
  'lstm-pixel': { steps: 100, batch: 4 },
  'lstm-row': { steps: 500, batch: 4 },
};
/** Steps (or passes) before the counts must hold still: the optimiser's slots, the kernels' first calls. */
const WARM_UP = 3;
/** Passes of the evaluation and of the per-step twin over the data (4 batches). */
const PASSES = 12;
/** Largest growth of resident memory (its peak) from the first to the last quarter. */
const RSS_GROWTH = 0.05;

const memory = () => {
  const m = tf.memory();
  return { tensors: m.numTensors, bytes: m.numBytes };
};

/** Resident memory after a full collection (what is still held, not garbage waiting). */
function settledRss(): number {
  gc();
  return rssMiB();
}

/**
 * Runs `body` `n` times; after WARM_UP runs the tensor count and bytes must equal the warm-up's,
 * and the peak RSS of the last quarter be within RSS_GROWTH of the first quarter's (peaks, not
 * medians: buffers freed and taken again make the resident size swing by ~10% from run to run,
 * while a leak raises every peak after it).
 */
async function assertFlat(label: string, n: number, body: (i: number) => Promise<void>): Promise<string> {
  let settled: { tensors: number; bytes: number } | undefined;
  const rss: number[] = [];
  const sampleEvery = Math.max(1, Math.floor(n / 40));
  for (let i = 0; i < n; i++) {
    await body(i);
    if (i + 1 === WARM_UP) settled = memory();
    if (i + 1 > WARM_UP) {
      assert.deepEqual(
        memory(),
        settled,
        `${label}: tfjs memory after run ${i + 1} of ${n} (after warm-up ${WARM_UP})`,
      );
      if ((i + 1 - WARM_UP) % sampleEvery === 0) rss.push(settledRss());
    }
  }
  const q = Math.max(1, rss.length >> 2);
  const [first, last] = [Math.max(...rss.slice(0, q)), Math.max(...rss.slice(-q))];
  const growth = last / first - 1;
  assert.ok(
    growth < RSS_GROWTH,
    `${label}: resident memory grew ${(100 * growth).toFixed(1)}% (${first.toFixed(0)} → ${last.toFixed(0)} MiB)`,
  );
  return `${label}: ${n} runs, ${settled!.tensors} tensors flat, RSS ${first.toFixed(0)} → ${last.toFixed(0)} MiB (${(100 * growth).toFixed(1)}%)`;
}

/** Random sequences of the walkthrough's shape, labels 0–9, seeded. */
function randomData(w: AnyWalkthrough, n: number): SequenceDataset {
  const { steps, featuresPerStep } = w.input(w.config());
  const images = tf.tidy(() => tf.randomUniform([n, steps, featuresPerStep], 0, 1, 'float32', 7).dataSync());
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
  return new SequenceDataset({ images: images as Float32Array, labels, steps, features: featuresPerStep });
}

for (const w of WALKTHROUGHS) {
  test(`${w.name}: training steps, evaluation and the per-step twin leak no tensors and no memory`, async () => {
    await useBackend('wasm', { quiet: true });
    const { steps, batch } = STEPS[w.name] ?? { steps: 50, batch: 2 };
    const config = w.config();
    const before = memory();
    const model = w.buildModel(config);
    const optimizer = w.optimizer(config);
    const recipe = w.modelRecipe?.(config);
    const workers = recipe ? await GradientWorkers.start(recipe, { threads: 2 }) : undefined;
    const data = randomData(w, batch * 4);
    const lines: string[] = [];
    try {
      const batches = [...data.batches(batch)];
      lines.push(
        await assertFlat(`${w.name} training`, steps, async (i) => {
          const b = batches[i % batches.length];
          await trainStep(model, b, { optimizer, loss: w.loss, workers });
        }),
      );
      tf.dispose(batches.flatMap((b) => [b.x, b.y]));
      lines.push(
        await assertFlat(`${w.name} evaluate`, PASSES, async () => {
          await evaluate(model, data, { batchSize: batch, loss: w.loss, progress: false });
        }),
      );
      const twin = perStepModel(model);
      try {
        lines.push(
          await assertFlat(`${w.name} per-step twin`, PASSES, async () => {
            for (const { x, y } of data.batches(batch)) {
              const out = tf.tidy(() => twin.predict(x) as tf.Tensor); // [batch, steps, classes]
              await out.data();
              tf.dispose([out, x, y]);
            }
          }),
        );
      } finally {
        twin.dispose();
      }
    } finally {
      await workers?.terminate();
      optimizer.dispose();
      model.dispose();
    }
    assert.equal(memory().tensors, before.tensors, `${w.name}: tensors left after disposing the model and optimiser`);
    for (const line of lines) console.log(line);
  });
}
