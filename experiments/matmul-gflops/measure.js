#!/usr/bin/env node
/**
 * The matMul throughput README's Backends table quotes: tf.matMul of float32 matrices on the wasm
 * and cpu backends as the library sets them up (sm.useBackend), GFLOP/s = 2·m·k·n / time, median of
 * 7 timed runs after 2 warm-ups. Output: experiments/matmul-gflops/<date>.txt.
 *
 *     npm run -s build && node experiments/matmul-gflops/measure.js
 */
const os = require('os');
const path = require('path');
const root = path.resolve(__dirname, '..', '..');
const sm = require(path.join(root, 'dist', 'lib', 'index'));
const { tf } = sm;

// [m, k] × [k, n]: the LMU's folded input projection at batch 100 chunks (212 wide), and one step's
const SHAPES = [
  [4900, 272, 212],
  [100, 469, 212],
];

async function time(m, k, n, reps) {
  const a = tf.randomUniform([m, k], -1, 1, 'float32', 1);
  const b = tf.randomUniform([k, n], -1, 1, 'float32', 2);
  const once = async () => {
    const t0 = process.hrtime.bigint();
    const c = tf.matMul(a, b);
    await c.data();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    c.dispose();
    return ms;
  };
  for (let i = 0; i < 2; i++) await once();
  const times = [];
  for (let i = 0; i < reps; i++) times.push(await once());
  tf.dispose([a, b]);
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}

async function main() {
  const lines = [
    `# ${new Date().toISOString()}, ${os.cpus()[0].model} (${os.cpus().length} cores), load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
    `# tfjs ${tf.version_core}; node experiments/matmul-gflops/measure.js`,
  ];
  for (const backend of ['wasm', 'cpu']) {
    await sm.useBackend(backend, { quiet: true });
    for (const [m, k, n] of SHAPES) {
      const ms = await time(m, k, n, backend === 'cpu' ? 3 : 7);
      const gflops = (2 * m * k * n) / (ms * 1e6);
      lines.push(`${backend}\t[${m}, ${k}] × [${k}, ${n}]\t${ms.toFixed(2)} ms\t${gflops.toFixed(1)} GFLOP/s`);
    }
  }
  console.log(lines.join('\n'));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
