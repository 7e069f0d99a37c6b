#!/usr/bin/env node
/**
 * How close the LMUs run to the machine's limit: keras-lmu's 212-unit tanh recurrence (the fused
 * kernel, forward and gradient) at half its batch (50 samples × 784 steps, one thread's share of a
 * training step), on one thread, in GFLOP/s: 2·units² multiply-adds' flops per sample and step
 * forward, twice that backward (dh·Uᵀ and dU). Compare with experiments/matmul-gflops/ (tfjs-wasm's
 * matMul on the LMU's shapes). Median of 5 after 2 warm-ups.
 *
 *     npm run -s build && node experiments/lstm-row-speed/lmu-throughput.js
 */
const os = require('os');
const path = require('path');
const root = path.resolve(__dirname, '..', '..');
const sm = require(path.join(root, 'dist', 'lib', 'index'));
const { tf } = sm;
const { tanhRnnSequence } = require(path.join(root, 'dist', 'lib', 'kernels', 'tanh-rnn'));

(async () => {
  await sm.useBackend('wasm', { quiet: true });
  const [batch, steps, units] = [50, 784, 212];
  const p = tf.randomUniform([batch, steps, units], -0.5, 0.5, 'float32', 1);
  const u = tf.variable(tf.randomUniform([units, units], -0.07, 0.07, 'float32', 2));
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const time = async (f) => {
    const ms = [];
    for (let i = 0; i < 7; i++) {
      const t0 = process.hrtime.bigint();
      await f();
      if (i >= 2) ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return median(ms);
  };
  const forward = await time(async () => {
    const h = tanhRnnSequence(p, u);
    await h.data();
    h.dispose();
  });
  const both = await time(async () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tanhRnnSequence(p, u)), [u]);
    await grads[u.name].data();
    tf.dispose([value, grads[u.name]]);
  });
  const flops = 2 * batch * steps * units * units;
  console.log(
    `# ${new Date().toISOString()}, ${os.cpus()[0].model.trim()} (${os.cpus().length} cores), load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`# tfjs ${tf.version.tfjs}, wasm, one thread; [${batch}, ${steps}, ${units}] tanh recurrence`);
  console.log(`forward\t${forward.toFixed(1)} ms\t${(flops / forward / 1e6).toFixed(1)} GFLOP/s`);
  const backward = both - forward;
  console.log(
    `backward (gradient minus forward)\t${backward.toFixed(1)} ms\t${((2 * flops) / backward / 1e6).toFixed(1)} GFLOP/s`,
  );
})();
