#!/usr/bin/env node
/**
 * What checkpointing costs at the walkthroughs' real sizes: the time of one checkpoint save
 * (saveModel of the full-size model with its optimiser state and a training state holding a
 * long history, as the training loops save it; median of 5 after one warm-up) against the
 * interval it is saved at (an epoch, or 500 steps for eurnn) in the shipped training logs
 * (notebooks/weights/<name>/training-log.json).
 *
 *     node scripts/checkpoint-cost.js [built lib folder, default dist]
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const dist = path.resolve(process.argv[2] || 'dist');
const root = path.resolve(__dirname, '..');

async function main() {
  const tf = require('@tensorflow/tfjs');
  const { initBackend } = require(path.join(dist, 'lib', 'backend'));
  const { WALKTHROUGHS } = require(path.join(dist, 'lib', 'walkthroughs', 'registry'));
  const { trainStep } = require(path.join(dist, 'lib', 'train', 'loop'));
  const { saveModel } = require(path.join(dist, 'lib', 'train', 'saving'));
  await initBackend({ quiet: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-ckpt-cost-'));
  const rows = [];
  for (const w of WALKTHROUGHS) {
    const config = w.config();
    const logFile = path.join(root, 'notebooks', 'weights', w.weightsName(config), 'training-log.json');
    const log = JSON.parse(fs.readFileSync(logFile, 'utf8'));
    // step-counted trainings checkpoint after every pass over the training set, epoch-counted ones every epoch
    const interval =
      'steps' in w.defaults
        ? (Math.floor(log.trainImages / config.batchSize) * log.msPerStep) / 1000
        : log.epochSeconds.reduce((s, v) => s + v, 0) / log.epochSeconds.length;
    const model = w.buildModel(config);
    const optimizer = w.optimizer(config);
    const { steps, featuresPerStep } = w.input(config);
    // one step so that the optimiser holds its slots, as in a checkpoint during training
    const x = tf.randomUniform([8, steps, featuresPerStep]);
    const y = tf.randomUniform([8], 0, 10, 'int32');
    await trainStep(model, { x, y }, { optimizer, loss: w.loss });
    tf.dispose([x, y]);
    const state = { epoch: 1, history: log.history, epochSeconds: log.epochSeconds ?? [] };
    const dir = path.join(tmp, w.name);
    const times = [];
    for (let i = 0; i < 6; i++) {
      const t0 = process.hrtime.bigint();
      await saveModel(model, dir, { optimizer, state });
      if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)];
    const bytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
    rows.push({ name: w.name, ms, bytes, interval, share: ms / 1000 / interval });
    model.dispose();
    optimizer.dispose();
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`backend ${tf.getBackend()}, ${os.cpus().length} cores, checkpoints in ${os.tmpdir()}`);
  console.log('walkthrough  checkpoint  save (median of 5)  interval (shipped log)  share');
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(12)} ${(r.bytes / 1024).toFixed(0).padStart(6)} KiB  ${r.ms.toFixed(1).padStart(10)} ms` +
        `  ${r.interval.toFixed(1).padStart(15)} s${r.name === 'eurnn' ? ' (500 steps)' : ' (epoch)    '}  ${(100 * r.share).toFixed(3)}%`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
