/**
 * A fused LSTM layer: all time steps in one kernel, forward and backward.
 *
 * tfjs-layers' LSTM runs a dozen small ops per time step (matMul, add, four activations, slices,
 * products), so 196 pixel steps × 3 layers dispatch thousands of kernels per training step and the
 * step time goes to dispatch. Here one kernel runs the whole layer, one sample at a time (its
 * state stays in a few locals, the weights in the L1 cache). When a gradient is being recorded the
 * forward also outputs every step's activated gates and cell state (batch × steps × 5·units
 * floats: 512 × 196 × 40 × 4 B ≈ 16 MB per 8-unit pixel layer), kept with h for the gradient, and
 * the backward kernel reads them instead of running the forward again. Otherwise (inference, or a
 * direct call of LSTM_SEQUENCE_GRAD) nothing is kept and the backward recomputes each sample's
 * forward first.
 *
 * Gates follow Keras: the 4·units columns are [i, f, c, o]; i, f, o use the sigmoid
 * (Keras's recurrent_activation='sigmoid'), the candidate c and the output use tanh.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import { EngineSwitch, FusedEngine } from './engine';
import { type JsKernel, type KernelArray, requireKernel } from './registry';
import { activeGradientTape, type WasmHeap, wasmHeap, writeKernelOutput } from '../tfjs-internals';
import {
  keptStates,
  type LstmBackwardArrays,
  type LstmBackwardResult,
  type LstmForwardArrays,
  type LstmForwardResult,
  lstmWasmAvailable,
  lstmWasmBackward,
  lstmWasmBackwardAt,
  lstmWasmBackwardScratch,
  lstmWasmForward,
  lstmWasmForwardAt,
  lstmWasmForwardKeeping,
  lstmWasmStack,
  lstmWasmSupports,
  type LstmLayerWeights,
  type LstmStackPass,
} from './lstm-wasm';

export type {
  LstmBackwardArrays,
  LstmBackwardResult,
  LstmForwardArrays,
  LstmForwardResult,
  LstmLayerWeights,
  LstmStackPass,
} from './lstm-wasm';

/**
 * Kernel names: JS versions for every backend but webgpu (lstmForwardKernel, lstmBackwardKernel,
 * lstmBackwardKeptKernel), WGSL ones there (lib/kernels/lstm-webgpu.ts), registered by
 * lib/kernels/all.ts.
 *
 * - LSTM_SEQUENCE (x, kernel, recurrentKernel, bias; attr `keep`): h [batch, steps, units], or with
 *   `keep` true [h, gates [batch, steps, 4·units], cell [batch, steps, units]].
 * - LSTM_SEQUENCE_GRAD (dh, x, kernel, recurrentKernel, bias): [dx, dKernel, dRecurrentKernel,
 *   dBias], recomputing the forward.
 * - LSTM_SEQUENCE_GRAD_KEPT (dh, x, kernel, recurrentKernel, h, gates, cell): the same gradients
 *   from what the forward kept.
 */
export const LSTM_SEQUENCE = 'SeqmnistLstmSequence';
export const LSTM_SEQUENCE_GRAD = 'SeqmnistLstmSequenceGrad';
export const LSTM_SEQUENCE_GRAD_KEPT = 'SeqmnistLstmSequenceGradKept';

/**
 * Which implementation runs the recurrence: WebAssembly SIMD where the runtime has it (for units a
 * multiple of 4 up to 32), else plain JS.
 */
export type LstmEngine = FusedEngine;

const engine = new EngineSwitch('LSTM', lstmWasmAvailable);

/**
 * Picks the implementation of the fused recurrence ('wasm-simd' by default where available, 'js'
 * otherwise). Both are tested against tfjs-layers' LSTM.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function setLstmEngine(name: LstmEngine): void {
  engine.set(name);
}

/** The implementation in use. */
export function getLstmEngine(): LstmEngine {
  return engine.get();
}

const useWasm = (units: number, features: number): boolean =>
  getLstmEngine() === 'wasm-simd' && lstmWasmSupports(units, features);

/**
 * One sample's forward pass in plain JavaScript: fills h [steps, units] (at `hAt`), gates
 * [steps, 4·units] (activated i, f, g, o, at `gAt`) and c [steps, units] (at `cAt`) from
 * x [steps, features] at `xAt`.
 */
function sampleForwardJs(
  a: LstmForwardArrays,
  xAt: number,
  h: Float32Array,
  hAt: number,
  gates: Float32Array,
  gAt: number,
  c: Float32Array,
  cAt: number,
): void {
  const { x, kernel: w, recurrentKernel: u, bias, steps, features, units: n } = a;
  const g4 = 4 * n;
  const z = new Float64Array(g4);
  for (let t = 0; t < steps; t++) {
    for (let j = 0; j < g4; j++) z[j] = bias[j];
    for (let k = 0; k < features; k++) {
      const xk = x[xAt + t * features + k];
      for (let j = 0; j < g4; j++) z[j] += xk * w[k * g4 + j];
    }
    if (t > 0) {
      for (let k = 0; k < n; k++) {
        const hk = h[hAt + (t - 1) * n + k];
        for (let j = 0; j < g4; j++) z[j] += hk * u[k * g4 + j];
      }
    }
    for (let k = 0; k < n; k++) {
      const i = 1 / (1 + Math.exp(-z[k]));
      const f = 1 / (1 + Math.exp(-z[n + k]));
      const g = Math.tanh(z[2 * n + k]);
      const o = 1 / (1 + Math.exp(-z[3 * n + k]));
      const ct = f * (t > 0 ? c[cAt + (t - 1) * n + k] : 0) + i * g;
      c[cAt + t * n + k] = ct;
      h[hAt + t * n + k] = o * Math.tanh(ct);
      gates[gAt + t * g4 + k] = i;
      gates[gAt + t * g4 + n + k] = f;
      gates[gAt + t * g4 + 2 * n + k] = g;
      gates[gAt + t * g4 + 3 * n + k] = o;
    }
  }
}

/** The forward pass in plain JavaScript (reference and fallback of the WebAssembly version): h [batch, steps, units]. */
export function lstmForwardJs(a: LstmForwardArrays): Float32Array {
  const { batch, steps, features, units: n } = a;
  const h = new Float32Array(batch * steps * n);
  const gates = new Float32Array(steps * 4 * n);
  const c = new Float32Array(steps * n);
  for (let b = 0; b < batch; b++) sampleForwardJs(a, b * steps * features, h, b * steps * n, gates, 0, c, 0);
  return h;
}

/** The forward pass in plain JavaScript keeping every step's gates and cell state for lstmBackwardJs. */
export function lstmForwardKeepingJs(a: LstmForwardArrays): LstmForwardResult {
  const { batch, steps, features, units: n } = a;
  const cells = batch * steps * n;
  const h = new Float32Array(cells);
  const gates = new Float32Array(4 * cells);
  const cell = new Float32Array(cells);
  for (let b = 0; b < batch; b++) {
    const at = b * steps * n;
    sampleForwardJs(a, b * steps * features, h, at, gates, 4 * at, cell, at);
  }
  return { h, gates, cell };
}

/**
 * Backpropagation through time in plain JavaScript, from the states the forward kept when `a` has
 * them (h, gates, cell), else recomputing each sample's forward pass first.
 */
export function lstmBackwardJs(a: LstmBackwardArrays): LstmBackwardResult {
  const { x, kernel: w, recurrentKernel: u, batch, steps, features, units: n, dh } = a;
  const kept = keptStates(a);
  const g4 = 4 * n;
  const dx = new Float32Array(batch * steps * features);
  const dW = new Float64Array(features * g4);
  const dU = new Float64Array(n * g4);
  const db = new Float64Array(g4);
  const h = kept?.h ?? new Float32Array(steps * n);
  const gates = kept?.gates ?? new Float32Array(steps * g4);
  const c = kept?.cell ?? new Float32Array(steps * n);
  const dhNext = new Float64Array(n);
  const dcNext = new Float64Array(n);
  const dz = new Float64Array(g4);
  for (let b = 0; b < batch; b++) {
    const xAt = b * steps * features;
    const at = kept ? b * steps * n : 0; // the sample's h and c (its gates at 4·at)
    if (!kept) sampleForwardJs(a, xAt, h, 0, gates, 0, c, 0);
    dhNext.fill(0);
    dcNext.fill(0);
    for (let t = steps - 1; t >= 0; t--) {
      const gAt = 4 * at + t * g4;
      for (let k = 0; k < n; k++) {
        const i = gates[gAt + k];
        const f = gates[gAt + n + k];
        const g = gates[gAt + 2 * n + k];
        const o = gates[gAt + 3 * n + k];
        const tc = Math.tanh(c[at + t * n + k]);
        const dht = dh[(b * steps + t) * n + k] + dhNext[k];
        const dct = dcNext[k] + dht * o * (1 - tc * tc);
        const cp = t > 0 ? c[at + (t - 1) * n + k] : 0;
        dz[k] = dct * g * i * (1 - i);
        dz[n + k] = dct * cp * f * (1 - f);
        dz[2 * n + k] = dct * i * (1 - g * g);
        dz[3 * n + k] = dht * tc * o * (1 - o);
        dcNext[k] = dct * f;
      }
      for (let j = 0; j < g4; j++) db[j] += dz[j];
      for (let k = 0; k < features; k++) {
        const xk = x[xAt + t * features + k];
        let s = 0;
        for (let j = 0; j < g4; j++) {
          s += w[k * g4 + j] * dz[j];
          dW[k * g4 + j] += xk * dz[j];
        }
        dx[xAt + t * features + k] = s;
      }
      for (let k = 0; k < n; k++) {
        let s = 0;
        for (let j = 0; j < g4; j++) s += u[k * g4 + j] * dz[j];
        dhNext[k] = s;
        if (t > 0) {
          const hp = h[at + (t - 1) * n + k];
          for (let j = 0; j < g4; j++) dU[k * g4 + j] += hp * dz[j];
        }
      }
    }
  }
  return { dx, dKernel: Float32Array.from(dW), dRecurrentKernel: Float32Array.from(dU), dBias: Float32Array.from(db) };
}

function layerArrays(x: KernelArray, w: KernelArray, u: KernelArray, b: KernelArray): LstmForwardArrays {
  if (x.shape.length !== 3) throw new Error(`${LSTM_SEQUENCE}: x must be [batch, steps, features] (got [${x.shape}])`);
  const [batch, steps, features] = x.shape;
  const units = u.shape[0];
  const g4 = 4 * units;
  const ok =
    w.shape.length === 2 &&
    w.shape[0] === features &&
    w.shape[1] === g4 &&
    u.shape.length === 2 &&
    u.shape[1] === g4 &&
    b.shape.length === 1 &&
    b.shape[0] === g4;
  if (!ok) {
    throw new Error(
      `${LSTM_SEQUENCE}: expected kernel [${features}, 4·units], recurrentKernel [units, 4·units], bias [4·units] (got [${w.shape}], [${u.shape}], [${b.shape}])`,
    );
  }
  const f32 = (a: KernelArray, name: string): Float32Array => {
    if (!(a.values instanceof Float32Array))
      throw new Error(`${LSTM_SEQUENCE}: ${name} must be float32 (got ${a.dtype})`);
    return a.values;
  };
  return {
    batch,
    steps,
    features,
    units,
    x: f32(x, 'x'),
    kernel: f32(w, 'kernel'),
    recurrentKernel: f32(u, 'recurrentKernel'),
    bias: f32(b, 'bias'),
  };
}

/**
 * The forward pass on arrays keeping its states, by the engine in use (wasm-SIMD where it takes
 * the sizes, else JS). With `copy` false the wasm engine's arrays are views of its memory, valid
 * until its next call.
 */
export function lstmForwardKeeping(a: LstmForwardArrays, copy = true): LstmForwardResult {
  return useWasm(a.units, a.features) ? lstmWasmForwardKeeping(a, copy) : lstmForwardKeepingJs(a);
}

/** Backpropagation through time on arrays, by the engine in use (see lstmForwardKeeping). */
export function lstmBackward(a: LstmBackwardArrays, copy = true): LstmBackwardResult {
  return useWasm(a.units, a.features) ? lstmWasmBackward(a, copy) : lstmBackwardJs(a);
}

/**
 * Stacked LSTM layers over a batch `x` [batch, steps, features], forward now and backward when
 * asked (see LstmStackPass), by the engine in use: wasm-SIMD where it takes every layer's sizes,
 * its arrays in one memory (lstmWasmStack), else JS on arrays passed from layer to layer.
 */
export function lstmStack(
  layers: LstmLayerWeights[],
  x: Float32Array,
  [batch, steps, features]: readonly number[],
): LstmStackPass {
  const widths = [features, ...layers.map((l) => l.units)];
  if (layers.every((l, i) => useWasm(l.units, widths[i]))) return lstmWasmStack(layers, x, batch, steps, features);
  const passes: { a: LstmForwardArrays; r: LstmForwardResult }[] = [];
  layers.forEach((l, i) => {
    const a: LstmForwardArrays = { ...l, x: i ? passes[i - 1].r.h : x, batch, steps, features: widths[i] };
    passes.push({ a, r: lstmForwardKeepingJs(a) });
  });
  return {
    h: passes[passes.length - 1].r.h,
    backward(dh) {
      const grads: Omit<LstmBackwardResult, 'dx'>[] = [];
      for (let i = passes.length - 1; i >= 0; i--) {
        const { dx, ...g } = lstmBackwardJs({ ...passes[i].a, ...passes[i].r, dh });
        grads.unshift(g);
        dh = dx;
      }
      return grads;
    },
  };
}

// wasm's makeOutput copies kernel outputs into its heap, so views of our module's memory do there
const outputsAreCopied = () => tf.getBackend() === 'wasm';

const f32Array = (shape: number[], values: Float32Array): KernelArray => ({ shape, dtype: 'float32', values });

/**
 * LSTM_SEQUENCE in JS (the wasm-SIMD or plain JS engine), for every backend that takes JS kernels:
 * h, or with attr `keep` [h, gates, cell].
 */
export const lstmForwardKernel: JsKernel = {
  kernelName: LSTM_SEQUENCE,
  backends: '*',
  inputs: ['x', 'kernel', 'recurrentKernel', 'bias'],
  compute({ x, kernel, recurrentKernel, bias }, attrs) {
    const a = layerArrays(x, kernel, recurrentKernel, bias);
    const { batch, steps, units } = a;
    if (!attrs.keep) {
      const wasm = useWasm(units, a.features);
      return f32Array([batch, steps, units], wasm ? lstmWasmForward(a, !outputsAreCopied()) : lstmForwardJs(a));
    }
    const r = lstmForwardKeeping(a, !outputsAreCopied());
    return [
      f32Array([batch, steps, units], r.h),
      f32Array([batch, steps, 4 * units], r.gates),
      f32Array([batch, steps, units], r.cell),
    ];
  },
};

function checkDh(name: string, dh: KernelArray, a: LstmForwardArrays): Float32Array {
  if (dh.shape.join() !== [a.batch, a.steps, a.units].join() || !(dh.values instanceof Float32Array)) {
    throw new Error(`${name}: dh must be float32 [${a.batch}, ${a.steps}, ${a.units}] (got ${dh.dtype} [${dh.shape}])`);
  }
  return dh.values;
}

function backward(args: LstmBackwardArrays, shapes: number[][]): KernelArray[] {
  const r = lstmBackward(args, !outputsAreCopied());
  return [r.dx, r.dKernel, r.dRecurrentKernel, r.dBias].map((values, i) => f32Array(shapes[i].slice(), values));
}

/** LSTM_SEQUENCE_GRAD in JS: the gradients of x, kernel, recurrent kernel and bias, recomputing the forward. */
export const lstmBackwardKernel: JsKernel = {
  kernelName: LSTM_SEQUENCE_GRAD,
  backends: '*',
  inputs: ['dh', 'x', 'kernel', 'recurrentKernel', 'bias'],
  compute({ dh, x, kernel, recurrentKernel, bias }) {
    const a = layerArrays(x, kernel, recurrentKernel, bias);
    const args = { ...a, dh: checkDh(LSTM_SEQUENCE_GRAD, dh, a) };
    return backward(args, [x.shape, kernel.shape, recurrentKernel.shape, bias.shape]);
  },
};

/** LSTM_SEQUENCE_GRAD_KEPT's inputs, checked, as the backward pass takes them. */
function keptArrays({
  dh,
  x,
  kernel,
  recurrentKernel,
  h,
  gates,
  cell,
}: Record<string, KernelArray>): LstmBackwardArrays {
  const g4 = kernel.shape[1];
  // the bias only enters the forward: a placeholder of the right shape passes the checks
  const bias: KernelArray = f32Array([g4], new Float32Array(g4));
  const a = layerArrays(x, kernel, recurrentKernel, bias);
  const { batch, steps, units } = a;
  for (const [name, t] of Object.entries({ h, gates, cell })) {
    const shape = [batch, steps, name === 'gates' ? 4 * units : units];
    if (t.shape.join() !== shape.join() || !(t.values instanceof Float32Array))
      throw new Error(`${LSTM_SEQUENCE_GRAD_KEPT}: ${name} must be float32 [${shape}] (got ${t.dtype} [${t.shape}])`);
  }
  return {
    ...a,
    dh: checkDh(LSTM_SEQUENCE_GRAD_KEPT, dh, a),
    h: h.values as Float32Array,
    gates: gates.values as Float32Array,
    cell: cell.values as Float32Array,
  };
}

/** LSTM_SEQUENCE_GRAD_KEPT in JS: the same gradients from the h, gates and cell the forward kept. */
export const lstmBackwardKeptKernel: JsKernel = {
  kernelName: LSTM_SEQUENCE_GRAD_KEPT,
  backends: '*',
  inputs: ['dh', 'x', 'kernel', 'recurrentKernel', 'h', 'gates', 'cell'],
  compute(args) {
    const a = keptArrays(args);
    return backward(a, [args.x.shape, args.kernel.shape, args.recurrentKernel.shape, [4 * a.units]]);
  },
};

/** The inputs as a JS kernel sees them, float32 ones as views of tfjs-wasm's heap (readSync would copy each). */
function heapArrays(
  kernel: JsKernel,
  backend: KernelBackend,
  heap: WasmHeap | undefined,
  inputs: Record<string, TensorInfo>,
): Record<string, KernelArray> {
  const args: Record<string, KernelArray> = {};
  for (const name of kernel.inputs) {
    const t = inputs[name];
    if (t == null) throw new Error(`${kernel.kernelName}: missing input '${name}'`);
    const values =
      heap && t.dtype === 'float32'
        ? new Float32Array(heap.memory.buffer, heap.addressOf(t.dataId), tf.util.sizeFromShape(t.shape))
        : (backend.readSync(t.dataId) as Float32Array | Int32Array);
    args[name] = { shape: t.shape.slice(), dtype: t.dtype, values };
  }
  return args;
}

/**
 * The wasm backend's version of a JS kernel: with the wasm-SIMD engine it runs in tfjs-wasm's heap
 * in place (inputs read and outputs written there: the kept states are 5·units floats per step,
 * which copies in and out would cost about as much as recomputing them); `inHeap` does that and
 * returns undefined where it cannot (no heap, or sizes the wasm engine does not take). Otherwise
 * the JS kernel runs on views of its inputs in the heap, its outputs copied in.
 */
function wasmKernel(
  kernel: JsKernel,
  inHeap: (
    heap: WasmHeap,
    args: Record<string, KernelArray>,
    inputs: Record<string, TensorInfo>,
    attrs: tf.NamedAttrMap,
  ) => TensorInfo | TensorInfo[] | undefined,
): tf.KernelConfig {
  return {
    kernelName: kernel.kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend: kb, attrs = {} }) => {
      const backend = kb as KernelBackend;
      const heap = wasmHeap(backend);
      const named = inputs as Record<string, TensorInfo>;
      const args = heapArrays(kernel, backend, heap, named);
      const out = heap && inHeap(heap, args, named, attrs);
      if (out) return out;
      // views made after any growth of the heap: the kernel allocates nothing there before it returns
      const result = kernel.compute(heapArrays(kernel, backend, heap, named), attrs);
      const write = (r: KernelArray) => writeKernelOutput(backend, r.shape, r.dtype, r.values);
      return Array.isArray(result) ? result.map(write) : write(result);
    },
  };
}

const addressesOf = (heap: WasmHeap, tensors: Record<string, TensorInfo>) =>
  Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, heap.addressOf(t.dataId)]));

function forwardInHeap(
  heap: WasmHeap,
  args: Record<string, KernelArray>,
  inputs: Record<string, TensorInfo>,
  attrs: tf.NamedAttrMap,
): TensorInfo | TensorInfo[] | undefined {
  const a = layerArrays(args.x, args.kernel, args.recurrentKernel, args.bias);
  const { batch, steps, units: n } = a;
  if (!useWasm(n, a.features)) return undefined;
  const keep = !!attrs.keep;
  const h = heap.makeOutput([batch, steps, n], 'float32');
  const kept = keep
    ? [heap.makeOutput([batch, steps, 4 * n], 'float32'), heap.makeOutput([batch, steps, n], 'float32')]
    : [];
  const scratch = keep ? 0 : heap.malloc(4 * 5 * n * steps);
  try {
    const at = addressesOf(heap, { ...inputs, h });
    const [gates, cell] = keep ? kept.map((t) => heap.addressOf(t.dataId)) : [scratch, scratch + 16 * n * steps];
    lstmWasmForwardAt(
      heap.memory,
      a,
      { x: at.x, kernel: at.kernel, recurrentKernel: at.recurrentKernel, bias: at.bias, h: at.h, gates, cell },
      keep,
    );
  } finally {
    if (scratch) heap.free(scratch);
  }
  return keep ? [h, ...kept] : h;
}

function backwardInHeap(
  heap: WasmHeap,
  a: LstmBackwardArrays,
  inputs: Record<string, TensorInfo>,
  shapes: number[][],
): TensorInfo[] | undefined {
  const { steps, units: n, features } = a;
  if (!useWasm(n, features)) return undefined;
  const kept = keptStates(a) !== undefined;
  const g4 = 4 * n;
  const dx = heap.makeOutput(shapes[0].slice(), 'float32');
  const scratch = heap.malloc(4 * lstmWasmBackwardScratch(a, kept));
  let grads: Omit<LstmBackwardResult, 'dx'>;
  try {
    const at = addressesOf(heap, { ...inputs, dx });
    const ut = scratch;
    const dz = ut + 4 * g4 * n;
    const gradsAt = dz + 4 * g4;
    const totalAt = gradsAt + 4 * (features + n + 1) * g4;
    const sample = totalAt + 8 * (features + n + 1) * g4; // a sample's h, gates and cell, recomputed
    grads = lstmWasmBackwardAt(
      heap.memory,
      a,
      {
        x: at.x,
        kernel: at.kernel,
        recurrentKernel: at.recurrentKernel,
        // the bias enters only the recomputed forward: the kept gates have it already
        bias: kept ? 0 : at.bias,
        h: kept ? at.h : sample,
        gates: kept ? at.gates : sample + 4 * n * steps,
        cell: kept ? at.cell : sample + 20 * n * steps,
        dh: at.dh,
        dx: at.dx,
        ut,
        dz,
        grads: gradsAt,
        total: totalAt,
      },
      kept,
    );
  } finally {
    heap.free(scratch);
  }
  const weights = [grads.dKernel, grads.dRecurrentKernel, grads.dBias];
  return [dx, ...weights.map((values, i) => heap.makeOutput(shapes[i + 1].slice(), 'float32', values))];
}

/**
 * The LSTM kernels for the wasm backend, in place of the JS fills (same engines, same arithmetic):
 * the wasm-SIMD engine works in tfjs-wasm's heap (see wasmKernel).
 */
export const LSTM_WASM_KERNELS: readonly tf.KernelConfig[] = [
  wasmKernel(lstmForwardKernel, forwardInHeap),
  wasmKernel(lstmBackwardKernel, (heap, { dh, x, kernel, recurrentKernel, bias }, inputs) => {
    const a = layerArrays(x, kernel, recurrentKernel, bias);
    const args = { ...a, dh: checkDh(LSTM_SEQUENCE_GRAD, dh, a) };
    return backwardInHeap(heap, args, inputs, [x.shape, kernel.shape, recurrentKernel.shape, bias.shape]);
  }),
  wasmKernel(lstmBackwardKeptKernel, (heap, args, inputs) => {
    const a = keptArrays(args);
    return backwardInHeap(heap, a, inputs, [
      args.x.shape,
      args.kernel.shape,
      args.recurrentKernel.shape,
      [a.units * 4],
    ]);
  }),
];

type LstmInputs = [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];

/** The op as recorded for a gradient: the forward keeps h, gates and cell; the backward reads them. */
const fusedKeeping = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, kernel, recurrentKernel, bias, save] = args as LstmInputs;
  const [h, gates, cell] = tf
    .engine()
    .runKernel(LSTM_SEQUENCE, { x, kernel, recurrentKernel, bias }, { keep: true }) as tf.Tensor[];
  save([x, kernel, recurrentKernel, h, gates, cell]);
  return {
    value: h,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, w, u, hs, gs, cs] = saved;
      return tf
        .engine()
        .runKernel(
          LSTM_SEQUENCE_GRAD_KEPT,
          { dh: dy, x: xs, kernel: w, recurrentKernel: u, h: hs, gates: gs, cell: cs },
          {},
        ) as tf.Tensor[];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]);

/** The op run where no gradient is recorded: h only (a gradient, if asked for, recomputes the forward). */
const fused = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, kernel, recurrentKernel, bias, save] = args as LstmInputs;
  const h = tf.engine().runKernel(LSTM_SEQUENCE, { x, kernel, recurrentKernel, bias }, { keep: false }) as tf.Tensor;
  save([x, kernel, recurrentKernel, bias]);
  return {
    value: h,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, w, u, b] = saved;
      return tf
        .engine()
        .runKernel(LSTM_SEQUENCE_GRAD, { dh: dy, x: xs, kernel: w, recurrentKernel: u, bias: b }, {}) as tf.Tensor[];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]);

/**
 * A whole LSTM layer over all steps in one kernel (zero initial state): `x` [batch, steps,
 * features], kernel W [features, 4·units], recurrent kernel U [units, 4·units], bias [4·units]
 * → hidden states [batch, steps, units]. Differentiable in all four.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function lstmSequence(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  bias: tf.Tensor1D,
): tf.Tensor3D {
  if (x.rank !== 3) throw new Error(`lstmSequence: x must be [batch, steps, features] (got [${x.shape}])`);
  const features = x.shape[2];
  if (kernel.rank !== 2 || kernel.shape[0] !== features) {
    throw new Error(
      `lstmSequence: kernel must be [${features}, 4·units] for ${features} input features (got [${kernel.shape}])`,
    );
  }
  const g4 = kernel.shape[1];
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[1] !== g4 || 4 * recurrentKernel.shape[0] !== g4) {
    throw new Error(
      `lstmSequence: recurrentKernel must be [units, 4·units] with 4·units = ${g4} (got [${recurrentKernel.shape}])`,
    );
  }
  if (bias.rank !== 1 || bias.shape[0] !== g4)
    throw new Error(`lstmSequence: bias must be [${g4}] (got [${bias.shape}])`);
  requireKernel(LSTM_SEQUENCE);
  // keep the states only while a gradient is being recorded (tf.grads, variableGrads, minimize)
  const op = activeGradientTape() ? fusedKeeping : fused;
  return op(x, kernel, recurrentKernel, bias) as tf.Tensor3D;
}
