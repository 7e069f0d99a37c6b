// Counts the work of one training step per walkthrough on the webgpu backend: GPU dispatches
// (dispatchWorkgroups calls) and reads back to the CPU, at batch 2 after a warm-up step.
// Usage: npm run -s build && node scripts/webgpu-dispatches.js
const path = require('path');
const dist = path.join(__dirname, '..', 'dist', 'lib');
const tf = require('@tensorflow/tfjs');
const { useBackend, deviceDescription } = require(path.join(dist, 'backend.js'));
const { trainStep } = require(path.join(dist, 'train', 'loop.js'));
const { WALKTHROUGHS } = require(path.join(dist, 'walkthroughs', 'registry.js'));

async function main() {
  await useBackend('webgpu', { quiet: true });
  console.log(`webgpu on ${deviceDescription('webgpu')}`);
  const pass = globalThis.GPUComputePassEncoder.prototype;
  const dispatch = pass.dispatchWorkgroups;
  let dispatches = 0;
  pass.dispatchWorkgroups = function (...args) {
    dispatches++;
    return dispatch.apply(this, args);
  };
  const backend = tf.backend();
  const read = backend.read.bind(backend);
  let reads = 0;
  backend.read = (dataId) => {
    reads++;
    return read(dataId);
  };
  for (const w of WALKTHROUGHS) {
    const config = w.config();
    const model = w.buildModel(config);
    const optimizer = w.optimizer(config);
    const { steps, featuresPerStep } = w.input(config);
    const x = tf.randomUniform([2, steps, featuresPerStep], 0, 1, 'float32', 1);
    const y = tf.tensor1d([1, 2], 'int32');
    await trainStep(model, { x, y }, { optimizer, loss: w.loss });
    dispatches = reads = 0;
    const started = Date.now();
    await trainStep(model, { x, y }, { optimizer, loss: w.loss });
    const ms = Date.now() - started;
    const step = { dispatches, reads };
    dispatches = 0;
    const out = model.predict(x);
    await out.data();
    console.log(
      `${w.name}: ${step.dispatches} dispatches and ${step.reads} read(s) per training step ` +
        `(forward alone ${dispatches}), ${ms} ms at batch 2`,
    );
    tf.dispose([x, y, out]);
    model.dispose();
    optimizer.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
