/**
 * The EURNN recurrence fused into one kernel: all steps of h_t = modReLU(W x_t + b + U h_{t−1}),
 * with U the efficient unitary layer, forward and backward.
 *
 * Written as tfjs ops, one step takes some 40 small element-wise ops even when written tightly (as
 * the PyTorch peer is), so 784 steps dispatch about 30,000 kernels forward and as many backward,
 * and the step time goes to dispatch and allocation, not to the arithmetic (about 2 GFLOP per
 * training step at batch 100, backward and the recomputed forward included). Here each sample's
 * state stays in a few kilobytes while all its steps run.
 *
 * Two engines compute the same arithmetic: WebAssembly SIMD (lib/kernels/eurnn-wasm.ts: four
 * samples per instruction, the batch split over worker threads, default) and plain JavaScript
 * (the reference, and the fallback where WebAssembly SIMD is missing). Both are tested against
 * the tfjs composition in lib/models/eurnn.ts (test/kernels-eurnn.test.ts).
 *
 * The backward pass keeps no tape between calls: it runs each group's forward pass again with a
 * tape of its pre-activations (a few MB, cache-resident), then goes back through time, undoing the
 * unitary layer from its outputs (it is unitary, so its inverse is its adjoint).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { positiveInteger } from '../checks';
import { EngineSwitch, FusedEngine } from './engine';
import { type JsKernel, type KernelArray, requireKernel } from './registry';
import {
  EurnnBatch,
  EurnnGradSums,
  EurnnJob,
  EurnnReply,
  EurnnWeights,
  LANES,
  MODRELU_EPS,
  eurnnWasmAvailable,
  mixingCoefficients,
  runJob,
} from './eurnn-wasm';

export type { EurnnBatch, EurnnGradSums, EurnnShape, EurnnWeights } from './eurnn-wasm';
export { eurnnWasmAvailable } from './eurnn-wasm';

/**
 * Kernel names: JS versions for every backend but webgpu (eurnnForwardKernel, eurnnBackwardKernel),
 * WGSL ones there (lib/kernels/eurnn-webgpu.ts), registered by lib/kernels/all.ts.
 */
export const EURNN_SEQUENCE = 'SeqmnistEurnnSequence';
export const EURNN_SEQUENCE_GRAD = 'SeqmnistEurnnSequenceGrad';

/** Which implementation runs the recurrence. */
export type EurnnEngine = FusedEngine;

const engine = new EngineSwitch('EURNN', eurnnWasmAvailable);
let threads: number | undefined;

/**
 * Picks the implementation of the fused EURNN recurrence: 'wasm-simd' (default where the runtime
 * has WebAssembly SIMD; multi-threaded) or 'js' (plain JavaScript on the calling thread).
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function setEurnnEngine(name: EurnnEngine): void {
  engine.set(name);
}

/** The implementation in use. */
export function getEurnnEngine(): EurnnEngine {
  return engine.get();
}

/**
 * Threads the wasm-simd engine splits a batch over, the calling thread included (default: the
 * machine's cores, at most 8). 1 runs everything on the calling thread.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function setEurnnThreads(n: number): void {
  threads = positiveInteger('EURNN threads', n);
}

/** Threads the wasm-simd engine uses. */
export function getEurnnThreads(): number {
  return (threads ??= Math.max(1, Math.min(8, os.cpus().length)));
}

// ---- the reference: plain JavaScript, one sample at a time ---------------------------------------

function forwardSample(
  a: EurnnBatch,
  coef: Float64Array,
  w: EurnnWeights,
  b: number,
  re: Float64Array,
  im: Float64Array,
  tape?: Float64Array,
): void {
  const { hiddenSize: n, capacity, features: nf, steps } = a;
  const h = n / 2;
  const shift = capacity % 2;
  re.fill(0);
  im.fill(0);
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < capacity; i++) {
      const off = i % 2; // odd sublayers pair (2k+1, 2k+2 mod N): the vector rolled by one place
      if (off) {
        re[n] = re[0];
        im[n] = im[0];
      }
      for (let k = 0; k < h; k++) {
        const p = 2 * k + off;
        const c = coef[(i * h + k) * 4];
        const s = coef[(i * h + k) * 4 + 1];
        const cp = coef[(i * h + k) * 4 + 2];
        const sp = coef[(i * h + k) * 4 + 3];
        const x0r = re[p];
        const x0i = im[p];
        const x1r = re[p + 1];
        const x1i = im[p + 1];
        const tr = c * x0r - s * x1r;
        const ti = c * x0i - s * x1i;
        re[p + 1] = s * x0r + c * x1r;
        im[p + 1] = s * x0i + c * x1i;
        re[p] = cp * tr - sp * ti;
        im[p] = cp * ti + sp * tr;
      }
      if (off) {
        re[0] = re[n];
        im[0] = im[n];
      }
    }
    if (shift) {
      re[n] = re[0];
      im[n] = im[0];
    }
    const xo = (b * steps + t) * nf;
    for (let j = 0; j < n; j++) {
      let zr = re[j + shift];
      for (let k = 0; k < nf; k++) zr += w.kernel[k * n + j] * a.x[xo + k];
      zr += w.bias[j];
      const zi = im[j + shift];
      if (tape) {
        tape[(t * n + j) * 2] = zr;
        tape[(t * n + j) * 2 + 1] = zi;
      }
      const r = Math.sqrt(zr * zr + zi * zi) + MODRELU_EPS;
      const act = r + w.modBias[j];
      const scale = act > 0 ? act / r : 0;
      re[j] = zr * scale;
      im[j] = zi * scale;
    }
  }
}

/**
 * Last states of all samples in plain JavaScript (float64 arithmetic): [batch, N] real and
 * imaginary parts.
 */
export function eurnnForwardJs(a: EurnnBatch, w: EurnnWeights): { hRe: Float32Array; hIm: Float32Array } {
  const n = a.hiddenSize;
  const coef = mixingCoefficients(w.angles, n, a.capacity);
  const re = new Float64Array(n + 1);
  const im = new Float64Array(n + 1);
  const hRe = new Float32Array(a.batch * n);
  const hIm = new Float32Array(a.batch * n);
  for (let b = 0; b < a.batch; b++) {
    forwardSample(a, coef, w, b, re, im);
    for (let j = 0; j < n; j++) {
      hRe[b * n + j] = re[j];
      hIm[b * n + j] = im[j];
    }
  }
  return { hRe, hIm };
}

/**
 * Gradients of a loss given dL/dh_T ([batch, N] real and imaginary parts), in plain JavaScript:
 * the same algorithm as the wasm engine, in float64.
 */
export function eurnnBackwardJs(a: EurnnBatch, w: EurnnWeights, dyRe: Float32Array, dyIm: Float32Array): EurnnGradSums {
  const { hiddenSize: n, capacity, features: nf, steps } = a;
  const h = n / 2;
  const shift = capacity % 2;
  const coef = mixingCoefficients(w.angles, n, capacity);
  const out: EurnnGradSums = {
    dx: new Float32Array(a.batch * steps * nf),
    kernel: new Float64Array(nf * n),
    bias: new Float64Array(n),
    angles: new Float64Array(n * capacity),
    modBias: new Float64Array(n),
  };
  const re = new Float64Array(n + 1);
  const im = new Float64Array(n + 1);
  const tape = new Float64Array(steps * n * 2);
  const gr = new Float64Array(n + 1);
  const gi = new Float64Array(n + 1);
  const ur = new Float64Array(n + 1);
  const ui = new Float64Array(n + 1);
  const dzr = new Float64Array(n);
  const dzi = new Float64Array(n);
  for (let b = 0; b < a.batch; b++) {
    forwardSample(a, coef, w, b, re, im, tape);
    for (let j = 0; j < n; j++) {
      gr[j] = dyRe[b * n + j];
      gi[j] = dyIm[b * n + j];
    }
    for (let t = steps - 1; t >= 0; t--) {
      const xo = (b * steps + t) * nf;
      // modReLU backward; u = z − W x_t − b is the unitary layer's output
      for (let j = 0; j < n; j++) {
        const zr = tape[(t * n + j) * 2];
        const zi = tape[(t * n + j) * 2 + 1];
        const m = Math.sqrt(zr * zr + zi * zi);
        const r = m + MODRELU_EPS;
        const bm = w.modBias[j];
        const act = r + bm;
        let dr = 0;
        let di = 0;
        if (act > 0) {
          const dot = gr[j] * zr + gi[j] * zi;
          out.modBias[j] += dot / r;
          const k2 = (bm * dot) / (r * r * Math.max(m, 1e-30));
          dr = gr[j] * (act / r) - k2 * zr;
          di = gi[j] * (act / r) - k2 * zi;
        }
        dzr[j] = dr;
        dzi[j] = di;
        let proj = 0;
        for (let k = 0; k < nf; k++) {
          const xk = a.x[xo + k];
          out.kernel[k * n + j] += dr * xk;
          out.dx[xo + k] += dr * w.kernel[k * n + j];
          proj += w.kernel[k * n + j] * xk;
        }
        out.bias[j] += dr;
        ur[j + shift] = zr - proj - w.bias[j];
        ui[j + shift] = zi;
      }
      // with an odd capacity the output is rolled by one place: z_j came from slot j + 1
      for (let j = 0; j < n; j++) {
        gr[j + shift] = dzr[j];
        gi[j + shift] = dzi[j];
      }
      if (shift) {
        gr[0] = gr[n];
        gi[0] = gi[n];
        ur[0] = ur[n];
        ui[0] = ui[n];
      }
      if (t === 0) break; // the first step's unitary layer acts on the zero state
      for (let i = capacity - 1; i >= 0; i--) {
        const off = i % 2;
        if (off) {
          gr[n] = gr[0];
          gi[n] = gi[0];
          ur[n] = ur[0];
          ui[n] = ui[0];
        }
        for (let k = 0; k < h; k++) {
          const p = 2 * k + off;
          const o = (i * h + k) * 4;
          const c = coef[o];
          const s = coef[o + 1];
          const cp = coef[o + 2];
          const sp = coef[o + 3];
          const y0r = ur[p];
          const y0i = ui[p];
          const y1r = ur[p + 1];
          const y1i = ui[p + 1];
          const g0r = gr[p];
          const g0i = gi[p];
          const g1r = gr[p + 1];
          const g1i = gi[p + 1];
          // t = e^{−iφ} y0, gt = e^{−iφ} g0
          const tr = cp * y0r + sp * y0i;
          const ti = cp * y0i - sp * y0r;
          const gtr = cp * g0r + sp * g0i;
          const gti = cp * g0i - sp * g0r;
          out.angles[2 * k * capacity + i] += g0i * y0r - g0r * y0i;
          out.angles[(2 * k + 1) * capacity + i] += g1r * tr + g1i * ti - gtr * y1r - gti * y1i;
          gr[p] = c * gtr + s * g1r;
          gi[p] = c * gti + s * g1i;
          gr[p + 1] = c * g1r - s * gtr;
          gi[p + 1] = c * g1i - s * gti;
          ur[p] = c * tr + s * y1r;
          ui[p] = c * ti + s * y1i;
          ur[p + 1] = c * y1r - s * tr;
          ui[p + 1] = c * y1i - s * ti;
        }
        if (off) {
          gr[0] = gr[n];
          gi[0] = gi[n];
          ur[0] = ur[n];
          ui[0] = ui[n];
        }
      }
    }
  }
  return out;
}

// ---- threads --------------------------------------------------------------------------------------

const WORKER_TIMEOUT_MS = 600_000;
const WORKER_FILE = path.join(__dirname, 'eurnn-worker.js');
let workerFileFound: boolean | undefined;

/**
 * A worker thread answering jobs synchronously: tfjs kernels are synchronous, so the calling thread
 * posts a job, does its own share, then blocks in Atomics.wait until the worker signals its answer
 * (Node allows Atomics.wait on the main thread).
 */
class SyncWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.signal = new Int32Array(new SharedArrayBuffer(4));
    this.worker = new Worker(WORKER_FILE, {
      workerData: { port: port2, signal: this.signal },
      transferList: [port2],
    });
    this.worker.unref();
    this.port = port1;
    this.port.unref();
  }

  post(job: EurnnJob): void {
    this.port.postMessage(job);
  }

  receive(): EurnnReply {
    const start = Date.now();
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      const got = receiveMessageOnPort(this.port);
      if (got) {
        const reply = got.message as EurnnReply;
        if ('error' in reply) throw new Error(`EURNN worker failed: ${reply.error}`);
        return reply;
      }
      if (Date.now() - start > WORKER_TIMEOUT_MS)
        throw new Error(`EURNN worker gave no answer in ${WORKER_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.signal, 0, seen, 1000);
    }
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

const pool: SyncWorker[] = [];

/** Stops the EURNN worker threads (they are unref'd, so a process can exit without this). */
export async function stopEurnnWorkers(): Promise<void> {
  const ws = pool.splice(0);
  await Promise.all(ws.map((w) => w.terminate()));
}

/** Splits `batch` samples into contiguous shares of whole SIMD groups, one per thread. */
function shares(batch: number): [number, number][] {
  const groups = Math.ceil(batch / LANES);
  // run from sources (no compiled worker beside this file), everything stays on this thread
  workerFileFound ??= fs.existsSync(WORKER_FILE);
  const parts = Math.min(workerFileFound ? getEurnnThreads() : 1, groups);
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) {
    // the calling thread (share 0) also packs and unpacks, so it takes the smaller shares
    const g0 = Math.floor((groups * i) / parts);
    const g1 = Math.floor((groups * (i + 1)) / parts);
    out.push([Math.min(g0 * LANES, batch), Math.min(g1 * LANES, batch)]);
  }
  return out;
}

function slice(a: EurnnBatch, start: number, end: number): EurnnBatch {
  const per = a.steps * a.features;
  return { ...a, batch: end - start, x: a.x.subarray(start * per, end * per) };
}

/** Runs a job split over the threads: shares 1… go to workers, share 0 runs here. */
function runSplit(a: EurnnBatch, make: (part: EurnnBatch, start: number, end: number) => EurnnJob): EurnnReply[] {
  const parts = shares(a.batch);
  while (pool.length < parts.length - 1) pool.push(new SyncWorker());
  const jobs = parts.map(([s, e]) => make(slice(a, s, e), s, e));
  for (let i = 1; i < jobs.length; i++) {
    const j = jobs[i];
    // copies: the worker gets its share only
    pool[i - 1].post({ ...j, batch: { ...j.batch, x: j.batch.x.slice() } } as EurnnJob);
  }
  const replies = [runJob(jobs[0])];
  for (let i = 1; i < jobs.length; i++) replies.push(pool[i - 1].receive());
  return replies;
}

/** Last states [batch, N] (real, imaginary) with the engine in use. */
export function eurnnForward(a: EurnnBatch, w: EurnnWeights): { hRe: Float32Array; hIm: Float32Array } {
  if (getEurnnEngine() === 'js') return eurnnForwardJs(a, w);
  const n = a.hiddenSize;
  const hRe = new Float32Array(a.batch * n);
  const hIm = new Float32Array(a.batch * n);
  const parts = shares(a.batch);
  const replies = runSplit(a, (batch) => ({ op: 'forward', batch, weights: w }));
  replies.forEach((r, i) => {
    const { hRe: pr, hIm: pi } = r as { hRe: Float32Array; hIm: Float32Array };
    hRe.set(pr, parts[i][0] * n);
    hIm.set(pi, parts[i][0] * n);
  });
  return { hRe, hIm };
}

/** Gradients summed over the batch given dL/dh_T, with the engine in use. */
export function eurnnBackward(a: EurnnBatch, w: EurnnWeights, dyRe: Float32Array, dyIm: Float32Array): EurnnGradSums {
  if (getEurnnEngine() === 'js') return eurnnBackwardJs(a, w, dyRe, dyIm);
  const n = a.hiddenSize;
  const parts = shares(a.batch);
  const replies = runSplit(a, (batch, s, e) => ({
    op: 'backward',
    batch,
    weights: w,
    dyRe: dyRe.slice(s * n, e * n),
    dyIm: dyIm.slice(s * n, e * n),
  })) as EurnnGradSums[];
  const total = replies[0];
  const dx = new Float32Array(a.batch * a.steps * a.features);
  replies.forEach((r, i) => {
    dx.set(r.dx, parts[i][0] * a.steps * a.features);
    if (i === 0) return;
    for (const key of ['kernel', 'bias', 'angles', 'modBias'] as const) {
      const t = total[key];
      const v = r[key];
      for (let j = 0; j < t.length; j++) t[j] += v[j];
    }
  });
  return { ...total, dx };
}

// ---- the tfjs kernels and op ---------------------------------------------------------------------

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

function f32(a: KernelArray, name: string): Float32Array {
  if (!(a.values instanceof Float32Array))
    throw new Error(`${EURNN_SEQUENCE}: ${name} must be float32 (got ${a.dtype})`);
  return a.values;
}

/** Checks the shapes of the recurrence's inputs; returns the sizes. */
export function eurnnShapes(
  x: readonly number[],
  kernel: readonly number[],
  bias: readonly number[],
  angles: readonly number[],
  modBias: readonly number[],
): { batch: number; steps: number; features: number; hiddenSize: number; capacity: number } {
  if (x.length !== 3)
    throw new Error(`EURNN input must have rank 3 [batch, steps, features] (got shape ${shapeText(x)})`);
  const [batch, steps, features] = x;
  if (angles.length !== 2)
    throw new Error(`EURNN angles must be [hiddenSize, capacity] (got shape ${shapeText(angles)})`);
  const [hiddenSize, capacity] = angles;
  if (hiddenSize % 2 !== 0 || hiddenSize < 2)
    throw new Error(`EURNN hidden size must be a positive even number (got ${hiddenSize})`);
  if (capacity < 1) throw new Error(`EURNN capacity must be at least 1 (got ${capacity})`);
  if (steps < 1) throw new Error(`EURNN input needs at least one step (got shape ${shapeText(x)})`);
  if (kernel.length !== 2 || kernel[0] !== features || kernel[1] !== hiddenSize) {
    throw new Error(`EURNN input kernel must be [${features}, ${hiddenSize}] (got shape ${shapeText(kernel)})`);
  }
  for (const [name, s] of [
    ['input bias', bias],
    ['modReLU bias', modBias],
  ] as const) {
    if (s.length !== 1 || s[0] !== hiddenSize)
      throw new Error(`EURNN ${name} must be [${hiddenSize}] (got shape ${shapeText(s)})`);
  }
  return { batch, steps, features, hiddenSize, capacity };
}

function unpack(inputs: Record<string, KernelArray>): { a: EurnnBatch; w: EurnnWeights } {
  const { x, kernel, bias, angles, modBias } = inputs;
  const d = eurnnShapes(x.shape, kernel.shape, bias.shape, angles.shape, modBias.shape);
  return {
    a: { ...d, x: f32(x, 'x') },
    w: {
      kernel: f32(kernel, 'kernel'),
      bias: f32(bias, 'bias'),
      angles: f32(angles, 'angles'),
      modBias: f32(modBias, 'modBias'),
    },
  };
}

/** EURNN_SEQUENCE in JS (the wasm-SIMD or plain JS engine), for every backend that takes JS kernels. */
export const eurnnForwardKernel: JsKernel = {
  kernelName: EURNN_SEQUENCE,
  backends: '*',
  inputs: ['x', 'kernel', 'bias', 'angles', 'modBias'],
  compute(inputs) {
    const { a, w } = unpack(inputs);
    const n = a.hiddenSize;
    const { hRe, hIm } = eurnnForward(a, w);
    const h = new Float32Array(a.batch * 2 * n);
    for (let b = 0; b < a.batch; b++) {
      h.set(hRe.subarray(b * n, (b + 1) * n), b * 2 * n);
      h.set(hIm.subarray(b * n, (b + 1) * n), b * 2 * n + n);
    }
    return { shape: [a.batch, 2 * n], dtype: 'float32', values: h };
  },
};

/** EURNN_SEQUENCE_GRAD in JS: the gradients of x, kernel, bias, angles and modReLU bias. */
export const eurnnBackwardKernel: JsKernel = {
  kernelName: EURNN_SEQUENCE_GRAD,
  backends: '*',
  inputs: ['x', 'kernel', 'bias', 'angles', 'modBias', 'dy'],
  compute(inputs) {
    const { a, w } = unpack(inputs);
    const n = a.hiddenSize;
    const dy = f32(inputs.dy, 'dy');
    if (inputs.dy.shape.join() !== [a.batch, 2 * n].join()) {
      throw new Error(
        `${EURNN_SEQUENCE_GRAD}: dy must be [${a.batch}, ${2 * n}] (got shape ${shapeText(inputs.dy.shape)})`,
      );
    }
    const dyRe = new Float32Array(a.batch * n);
    const dyIm = new Float32Array(a.batch * n);
    for (let b = 0; b < a.batch; b++) {
      dyRe.set(dy.subarray(b * 2 * n, b * 2 * n + n), b * n);
      dyIm.set(dy.subarray(b * 2 * n + n, (b + 1) * 2 * n), b * n);
    }
    const g = eurnnBackward(a, w, dyRe, dyIm);
    const out = (shape: number[], values: Float32Array | Float64Array): KernelArray => ({
      shape: shape.slice(),
      dtype: 'float32',
      values: values instanceof Float32Array ? values : Float32Array.from(values),
    });
    return [
      out(inputs.x.shape, g.dx),
      out(inputs.kernel.shape, g.kernel),
      out(inputs.bias.shape, g.bias),
      out(inputs.angles.shape, g.angles),
      out(inputs.modBias.shape, g.modBias),
    ];
  },
};

const fused = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, kernel, bias, angles, modBias, save] = args as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
    tf.GradSaveFunc,
  ];
  const h = tf.engine().runKernel(EURNN_SEQUENCE, { x, kernel, bias, angles, modBias }, {}) as tf.Tensor;
  save([x, kernel, bias, angles, modBias]);
  return {
    value: h,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sk, sb, sa, sm] = saved;
      return tf
        .engine()
        .runKernel(
          EURNN_SEQUENCE_GRAD,
          { x: sx, kernel: sk, bias: sb, angles: sa, modBias: sm, dy },
          {},
        ) as tf.Tensor[];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]);

/**
 * The whole EURNN recurrence from the zero state, fused:
 * h_t = modReLU(x_t·kernel + bias + U h_{t−1}), U the efficient unitary layer of `angles`.
 * Returns the last state as [batch, 2·N], real parts then imaginary parts. Differentiable in all
 * five inputs.
 *
 * Porting note: where a pre-activation is exactly 0, PyTorch's modReLU gradient is NaN (0/0, from
 * the norm's square root); here it is 0.
 * @param x [batch, steps, features]
 * @param kernel [features, N] input weights (real; the input enters the real part)
 * @param bias [N] input bias
 * @param angles [N, capacity]: mixing unit k of sublayer i has φ = angles[2k, i], θ = angles[2k+1, i]
 * @param modBias [N] modReLU bias
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function eurnnSequence(
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor,
  angles: tf.Tensor,
  modBias: tf.Tensor,
): tf.Tensor2D {
  eurnnShapes(x.shape, kernel.shape, bias.shape, angles.shape, modBias.shape);
  requireKernel(EURNN_SEQUENCE);
  return fused(x, kernel, bias, angles, modBias) as tf.Tensor2D;
}

/**
 * Every step's state of every sample, in plain JavaScript (float64, the reference engine's
 * arithmetic): [batch, steps, N] real and imaginary parts. For inference only (no gradient): the
 * per-step readouts of notebooks/06-compare.ipynb (lib/models/eurnn.ts's EURNNSteps), which the
 * fused kernel, keeping only the last state, cannot give.
 * @see notebooks/06-compare.ipynb
 */
export function eurnnStatesJs(a: EurnnBatch, w: EurnnWeights): { re: Float32Array; im: Float32Array } {
  const { hiddenSize: n, steps } = a;
  const coef = mixingCoefficients(w.angles, n, a.capacity);
  const re = new Float64Array(n + 1);
  const im = new Float64Array(n + 1);
  const tape = new Float64Array(steps * n * 2); // pre-activations z_t, (re, im) pairs
  const outRe = new Float32Array(a.batch * steps * n);
  const outIm = new Float32Array(a.batch * steps * n);
  for (let b = 0; b < a.batch; b++) {
    forwardSample(a, coef, w, b, re, im, tape);
    // h_t = modReLU(z_t), as forwardSample computes it
    for (let t = 0, o = b * steps * n; t < steps; t++) {
      for (let j = 0; j < n; j++, o++) {
        const zr = tape[(t * n + j) * 2];
        const zi = tape[(t * n + j) * 2 + 1];
        const r = Math.sqrt(zr * zr + zi * zi) + MODRELU_EPS;
        const act = r + w.modBias[j];
        const scale = act > 0 ? act / r : 0;
        outRe[o] = zr * scale;
        outIm[o] = zi * scale;
      }
    }
  }
  return { re: outRe, im: outIm };
}
