#!/usr/bin/env node
/**
 * Do the machine's two cores slow each other? One thread runs lstm-row's first LSTM layer (256
 * samples: forward keeping its states, two backwards) in the WebAssembly kernel, alone and then
 * while a worker thread runs the same work on the other core: milliseconds per round (deciles).
 * No tfjs, no memory allocated per round: what is left is the cores themselves.
 *
 *     npm run -s build && node experiments/lstm-row-speed/contention.js
 */
const os = require('os');
const path = require('path');
const { Worker, isMainThread } = require('worker_threads');
const k = require(path.resolve(__dirname, '..', '..', 'dist', 'lib', 'kernels', 'lstm-wasm'));

let seed = 1;
const draw = (n) =>
  Float32Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 0.2 - 0.1);
const a = {
  x: draw(256 * 14 * 14),
  kernel: draw(14 * 32),
  recurrentKernel: draw(8 * 32),
  bias: draw(32),
  batch: 256,
  steps: 14,
  features: 14,
  units: 8,
};
const b = { ...a, ...k.lstmWasmForwardKeeping(a), dh: draw(256 * 14 * 8) };
const rounds = (n) => {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    k.lstmWasmForwardKeeping(a);
    k.lstmWasmBackward(b);
    k.lstmWasmBackward(b);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((u, v) => u - v);
  return [0.1, 0.25, 0.5, 0.75, 0.9].map((q) => ms[Math.floor(q * n)].toFixed(2)).join('\t');
};

if (!isMainThread) {
  for (;;) rounds(50);
} else {
  console.log(
    `# ${new Date().toISOString()}, ${os.cpus()[0].model.trim()} (${os.cpus().length} cores), load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    '# ms per round (forward + 2 backwards, 256 samples × 14 steps × 14 features, 8 units): deciles 10 25 50 75 90',
  );
  rounds(100); // warm-up: V8's optimising compiler
  console.log(`alone\t${rounds(400)}`);
  const w = new Worker(__filename);
  setTimeout(() => {
    console.log(`beside a worker\t${rounds(400)}`);
    w.terminate();
  }, 500);
}
