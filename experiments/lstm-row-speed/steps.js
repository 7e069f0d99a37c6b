#!/usr/bin/env node
/**
 * Training-step times of a walkthrough on wasm with 1 and 2 threads, for one checkout: the same
 * steps as `bench` (its model, optimiser, loss, batch size; random data) but 300 of them after 100
 * of warm-up, reported as deciles (the step time varies a lot on this machine). Run against two
 * checkouts alternately to compare them.
 *
 *     node experiments/lstm-row-speed/steps.js [ROOT] [WALKTHROUGH] [THREADS]
 */
const os = require('os');
const path = require('path');
const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..'));
const lib = (p) => require(path.join(root, 'dist', 'lib', p));
const tf = require(require.resolve('@tensorflow/tfjs', { paths: [root] }));

(async () => {
  const name = process.argv[3] ?? 'lstm-row';
  const threads = Number(process.argv[4] ?? 2);
  await lib('backend').useBackend('wasm', { quiet: true });
  const w = lib('walkthroughs/registry').getWalkthrough(name);
  const config = w.config();
  const { steps, featuresPerStep } = w.input(config);
  const model = w.buildModel(config);
  const optimizer = w.optimizer(config);
  const { GradientWorkers } = lib('train/parallel');
  const workers = threads > 1 ? await GradientWorkers.start(w.modelRecipe(config), { threads }) : undefined;
  const x = tf.randomUniform([config.batchSize, steps, featuresPerStep], 0, 1, 'float32', 1);
  const y = tf.randomUniform([config.batchSize], 0, 10, 'int32', 2);
  const { trainStep } = lib('train/loop');
  const ms = [];
  for (let i = 0; i < 400; i++) {
    const t0 = process.hrtime.bigint();
    await trainStep(model, { x, y }, { optimizer, loss: w.loss, workers });
    if (i >= 100) ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const deciles = [0.1, 0.25, 0.5, 0.75, 0.9].map((q) => ms[Math.floor(q * ms.length)].toFixed(1)).join('\t');
  console.log(
    `${path.basename(root)}\t${name}\t${threads} thread${threads > 1 ? 's' : ''}\t${deciles}\tload ${os.loadavg()[0].toFixed(2)}`,
  );
  await workers?.terminate();
})();
