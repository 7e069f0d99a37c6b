/**
 * A fused tanh RNN over all steps in one kernel, the hidden cell of the LMU walkthroughs (Keras's
 * SimpleRNNCell) once the share of its inputs has been computed for all steps at once:
 *
 *   h_t = tanh(scale·p_t + x_t·w + b + h_{t−1}·U),  h_{−1} = 0,
 *
 * with p [batch, steps, units] (the memory's share, e.g. a convolution), a scalar scale (the
 * LMU's input encoder), x [batch, steps, 1] the input sequence (data: no gradient flows back to
 * it), w [1, units], b [units] and U [units, units]. tfjs would otherwise dispatch a matMul, an
 * add and a tanh per step (tfjs-wasm's tanh alone takes ~0.6 ms on [100, 212]), 784 times forward
 * and more backward. Forward keeps only h; backward returns the gradients of p, scale, w, b, U
 * from one sweep back over the steps.
 *
 * Its linear sibling, linearScan, gives the states s_t of s_{t+1} = g_t + s_t·M (the LMU's memory
 * state before each chunk of its convolution) in the same generated code, for data (no gradient).
 *
 * On the wasm backend the kernels work where tfjs keeps the tensors (its WebAssembly memory), so
 * the [100, 784, 212] arrays (66 MB each) are not copied in and out: TANH_RNN_WASM_KERNELS are
 * registered for 'wasm' as they are rather than as JS kernels (lib/kernels/registry.ts), which are
 * handed copies. lib/kernels/all.ts lists and registers them all; loading this file registers nothing.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import { wasmHeap, writeKernelOutput } from '../tfjs-internals';
import { EngineSwitch, FusedEngine } from './engine';
import { type JsKernel, type KernelArray, requireKernel } from './registry';
import { BackwardAt, ForwardAt, tanhRnnWasm, tanhRnnWasmAvailable, tanhRnnWasmSupports } from './tanh-rnn-wasm';

/**
 * Kernel names: JS versions for every backend but webgpu (tanhRnnForwardKernel, tanhRnnBackwardKernel,
 * linearScanKernel), working in place on wasm (TANH_RNN_WASM_KERNELS), WGSL ones on webgpu
 * (lib/kernels/tanh-rnn-webgpu.ts), registered by lib/kernels/all.ts.
 */
export const TANH_RNN = 'SeqmnistTanhRnn';
export const TANH_RNN_GRAD = 'SeqmnistTanhRnnGrad';
export const LINEAR_SCAN = 'SeqmnistLinearScan';

/** Which implementation runs the recurrence: WebAssembly SIMD (units a multiple of 4) or plain JS. */
export type TanhRnnEngine = FusedEngine;

const engine = new EngineSwitch('tanh RNN', tanhRnnWasmAvailable);

/**
 * Picks the implementation of the fused recurrence ('wasm-simd' by default where available, 'js'
 * otherwise). Both are tested against the composition of tfjs ops.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function setTanhRnnEngine(name: TanhRnnEngine): void {
  engine.set(name);
}

/** The implementation in use. */
export function getTanhRnnEngine(): TanhRnnEngine {
  return engine.get();
}

const useWasm = (units: number) => getTanhRnnEngine() === 'wasm-simd' && tanhRnnWasmSupports(units);

/** The arrays of one forward pass, row-major. */
export interface TanhRnnArrays {
  /** [batch, steps, units] */
  p: Float32Array;
  scale: number;
  /** [batch, steps] */
  x: Float32Array;
  /** [units] */
  w: Float32Array;
  /** [units] */
  b: Float32Array;
  /** [units, units] */
  u: Float32Array;
  batch: number;
  steps: number;
  units: number;
}

/** The gradients of one backward pass. */
export interface TanhRnnGradients {
  /** scale·dz, [batch, steps, units] */
  dp: Float32Array;
  dscale: number;
  dw: Float32Array;
  db: Float32Array;
  /** [units, units] */
  du: Float32Array;
}

/** h [batch, steps, units], in plain JS. */
export function tanhRnnForwardJs(a: TanhRnnArrays): Float32Array {
  const { batch, steps, units: n } = a;
  const h = new Float32Array(batch * steps * n);
  const acc = new Float64Array(n);
  for (let s = 0; s < batch; s++) {
    for (let t = 0; t < steps; t++) {
      const at = (s * steps + t) * n;
      const xt = a.x[s * steps + t];
      for (let j = 0; j < n; j++) acc[j] = a.scale * a.p[at + j] + xt * a.w[j] + a.b[j];
      if (t > 0) {
        for (let k = 0; k < n; k++) {
          const hk = h[at - n + k];
          for (let j = 0; j < n; j++) acc[j] += hk * a.u[k * n + j];
        }
      }
      for (let j = 0; j < n; j++) h[at + j] = Math.tanh(acc[j]);
    }
  }
  return h;
}

/**
 * The gradients from dh (the loss's gradient w.r.t. every h_t, or w.r.t. the last step's only:
 * [batch, units]) and h, in plain JS.
 */
export function tanhRnnBackwardJs(a: TanhRnnArrays, h: Float32Array, dhIn: Float32Array): TanhRnnGradients {
  const { batch, steps, units: n } = a;
  const dh = dhIn.length === batch * n && steps > 1 ? expandLast(dhIn, batch, steps, n) : dhIn;
  const dp = new Float32Array(batch * steps * n);
  const du = new Float64Array(n * n);
  const dw = new Float64Array(n);
  const db = new Float64Array(n);
  let dscale = 0;
  const dz = new Float64Array(n);
  const carry = new Float64Array(n);
  for (let s = 0; s < batch; s++) {
    carry.fill(0);
    for (let t = steps - 1; t >= 0; t--) {
      const at = (s * steps + t) * n;
      const xt = a.x[s * steps + t];
      for (let j = 0; j < n; j++) {
        const hj = h[at + j];
        dz[j] = (dh[at + j] + carry[j]) * (1 - hj * hj);
        dp[at + j] = a.scale * dz[j];
        db[j] += dz[j];
        dw[j] += xt * dz[j];
        dscale += dz[j] * a.p[at + j];
      }
      carry.fill(0);
      if (t === 0) continue;
      for (let k = 0; k < n; k++) {
        const hk = h[at - n + k];
        let c = 0;
        for (let j = 0; j < n; j++) {
          c += a.u[k * n + j] * dz[j];
          du[k * n + j] += hk * dz[j];
        }
        carry[k] = c;
      }
    }
  }
  return { dp, dscale, dw: Float32Array.from(dw), db: Float32Array.from(db), du: Float32Array.from(du) };
}

/** [batch, units] → [batch, steps, units], zero but at the last step. */
function expandLast(last: Float32Array, batch: number, steps: number, n: number): Float32Array {
  const full = new Float32Array(batch * steps * n);
  for (let b = 0; b < batch; b++) full.set(last.subarray(b * n, (b + 1) * n), (b * steps + steps - 1) * n);
  return full;
}

/** The last step of h [batch, steps, units]: [batch, units]. */
function lastOf(h: Float32Array, batch: number, steps: number, n: number): Float32Array {
  const out = new Float32Array(batch * n);
  for (let b = 0; b < batch; b++) out.set(h.subarray((b * steps + steps - 1) * n, (b * steps + steps) * n), b * n);
  return out;
}

// ---- shapes ---------------------------------------------------------------------------------------

interface Shaped {
  shape: number[];
  dtype: string;
}

/** [batch, steps, units] after checking every input's shape and dtype (shared with the WGSL kernels). */
export function checkShapes(kernel: string, t: Record<string, Shaped>): [number, number, number] {
  const { p, scale, x, inputKernel, bias, recurrentKernel } = t;
  if (p.shape.length !== 3) throw new Error(`${kernel}: p must be [batch, steps, units] (got [${p.shape}])`);
  const [batch, steps, units] = p.shape;
  const expect = (name: string, s: Shaped | undefined, shape: number[]) => {
    if (!s) return;
    if (s.shape.join() !== shape.join()) throw new Error(`${kernel}: ${name} must be [${shape}] (got [${s.shape}])`);
    if (s.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32 (got ${s.dtype})`);
  };
  expect('p', p, [batch, steps, units]);
  expect('scale', scale, []);
  expect('x', x, [batch, steps, 1]);
  expect('inputKernel', inputKernel, [1, units]);
  expect('bias', bias, [units]);
  expect('recurrentKernel', recurrentKernel, [units, units]);
  expect('dh', t.dh, t.dh?.shape.length === 2 ? [batch, units] : [batch, steps, units]);
  expect('h', t.h, [batch, steps, units]);
  return [batch, steps, units];
}

function arrays(a: Record<string, KernelArray>, batch: number, steps: number, units: number): TanhRnnArrays {
  const f = (k: string) => a[k].values as Float32Array;
  return {
    p: f('p'),
    scale: f('scale')[0],
    x: f('x'),
    w: f('inputKernel'),
    b: f('bias'),
    u: f('recurrentKernel'),
    batch,
    steps,
    units,
  };
}

// ---- our own memory (the backends other than wasm) ----------------------------------------------

/** A memory of ours for the copying path: grows to fit, reused between calls. */
let ownMemory: WebAssembly.Memory | undefined;

/** Lays out `sizes` (floats) in our memory, 16-byte aligned; returns byte addresses and a float view. */
function ownLayout(sizes: Record<string, number>): {
  at: Record<string, number>;
  heap: Float32Array;
  memory: WebAssembly.Memory;
} {
  const at: Record<string, number> = {};
  let end = 0;
  for (const [k, n] of Object.entries(sizes)) {
    at[k] = end;
    end += Math.ceil((4 * n) / 16) * 16;
  }
  ownMemory ??= new WebAssembly.Memory({ initial: 1 });
  const need = Math.ceil(end / 65536) - ownMemory.buffer.byteLength / 65536;
  if (need > 0) ownMemory.grow(need);
  return { at, heap: new Float32Array(ownMemory.buffer), memory: ownMemory };
}

function forwardCopying(a: TanhRnnArrays): Float32Array {
  const { batch, steps, units: n } = a;
  const size = batch * steps * n;
  const { at, heap, memory } = ownLayout({ p: size, x: batch * steps, w: n, b: n, u: n * n, scale: 4, h: size });
  heap.set(a.p, at.p / 4);
  heap.set(a.x, at.x / 4);
  heap.set(a.w, at.w / 4);
  heap.set(a.b, at.b / 4);
  heap.set(a.u, at.u / 4);
  heap.fill(a.scale, at.scale / 4, at.scale / 4 + 4);
  tanhRnnWasm(memory, n, steps).forward(at as unknown as ForwardAt, batch);
  return heap.slice(at.h / 4, at.h / 4 + size);
}

function backwardCopying(a: TanhRnnArrays, h: Float32Array, dh: Float32Array): TanhRnnGradients {
  const { batch, steps, units: n } = a;
  const size = batch * steps * n;
  const last = dh.length === batch * n && steps > 1;
  const { at, heap, memory } = ownLayout({
    dh: dh.length,
    h: size,
    p: size,
    x: batch * steps,
    ut: n * n,
    scale: 4,
    dp: size,
    du: n * n,
    sums: 3 * n,
  });
  heap.set(dh, at.dh / 4);
  if (last) at.dhLast = at.dh;
  heap.set(h, at.h / 4);
  heap.set(a.p, at.p / 4);
  heap.set(a.x, at.x / 4);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) heap[at.ut / 4 + j * n + i] = a.u[i * n + j];
  heap.fill(a.scale, at.scale / 4, at.scale / 4 + 4);
  heap.fill(0, at.du / 4, at.du / 4 + n * n);
  const r = tanhRnnWasm(memory, n, steps).backward(at as unknown as BackwardAt, batch, a.scale);
  const view = new Float32Array(memory.buffer);
  return {
    dp: view.slice(at.dp / 4, at.dp / 4 + size),
    dscale: r.dscale,
    dw: Float32Array.from(r.dw),
    db: Float32Array.from(r.db),
    du: view.slice(at.du / 4, at.du / 4 + n * n),
  };
}

const FORWARD_INPUTS = ['p', 'scale', 'x', 'inputKernel', 'bias', 'recurrentKernel'];
const BACKWARD_INPUTS = ['dh', 'h', 'p', 'scale', 'x', 'inputKernel', 'bias', 'recurrentKernel'];

/** TANH_RNN in JS: h [batch, steps, units] and the last step's h [batch, units]. */
export const tanhRnnForwardKernel: JsKernel = {
  kernelName: TANH_RNN,
  backends: '*',
  inputs: FORWARD_INPUTS,
  compute(inputs) {
    const [batch, steps, units] = checkShapes(TANH_RNN, inputs);
    const a = arrays(inputs, batch, steps, units);
    const h = useWasm(units) ? forwardCopying(a) : tanhRnnForwardJs(a);
    return [
      { shape: [batch, steps, units], dtype: 'float32', values: h },
      { shape: [batch, units], dtype: 'float32', values: lastOf(h, batch, steps, units) },
    ];
  },
};

function gradientOutputs(g: TanhRnnGradients, batch: number, steps: number, units: number): KernelArray[] {
  return [
    { shape: [batch, steps, units], dtype: 'float32', values: g.dp },
    { shape: [], dtype: 'float32', values: Float32Array.of(g.dscale) },
    { shape: [1, units], dtype: 'float32', values: g.dw },
    { shape: [units], dtype: 'float32', values: g.db },
    { shape: [units, units], dtype: 'float32', values: g.du },
  ];
}

/** TANH_RNN_GRAD in JS: the gradients of p, scale, w, b and U. */
export const tanhRnnBackwardKernel: JsKernel = {
  kernelName: TANH_RNN_GRAD,
  backends: '*',
  inputs: BACKWARD_INPUTS,
  compute(inputs) {
    const [batch, steps, units] = checkShapes(TANH_RNN_GRAD, inputs);
    const a = arrays(inputs, batch, steps, units);
    const h = inputs.h.values as Float32Array;
    const dh = inputs.dh.values as Float32Array;
    const g = useWasm(units) ? backwardCopying(a, h, dh) : tanhRnnBackwardJs(a, h, dh);
    return gradientOutputs(g, batch, steps, units);
  },
};

/** The states s_t (s_0 = 0, s_{t+1} = g_t + s_t·M) for g [batch, steps, n], M [n, n], in plain JS. */
export function linearScanJs(g: Float32Array, m: Float32Array, batch: number, steps: number, n: number): Float32Array {
  const s = new Float32Array(batch * steps * n);
  const acc = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    for (let t = 1; t < steps; t++) {
      const at = (b * steps + t) * n;
      for (let j = 0; j < n; j++) acc[j] = g[at - n + j];
      for (let k = 0; k < n; k++) {
        const sk = s[at - n + k];
        for (let j = 0; j < n; j++) acc[j] += sk * m[k * n + j];
      }
      for (let j = 0; j < n; j++) s[at + j] = acc[j];
    }
  }
  return s;
}

/** [batch, steps, n] after checking LINEAR_SCAN's g [batch, steps, n] and m [n, n] (shared with the WGSL kernel). */
export function checkScanShapes(g: Shaped, m: Shaped): [number, number, number] {
  if (g.shape.length !== 3) throw new Error(`${LINEAR_SCAN}: g must be [batch, steps, n] (got [${g.shape}])`);
  const [batch, steps, n] = g.shape;
  if (m.shape.join() !== [n, n].join()) throw new Error(`${LINEAR_SCAN}: m must be [${n}, ${n}] (got [${m.shape}])`);
  if (g.dtype !== 'float32' || m.dtype !== 'float32') throw new Error(`${LINEAR_SCAN}: inputs must be float32`);
  return [batch, steps, n];
}

/** LINEAR_SCAN in JS: the states s [batch, steps, n]. */
export const linearScanKernel: JsKernel = {
  kernelName: LINEAR_SCAN,
  backends: '*',
  inputs: ['g', 'm'],
  compute({ g, m }) {
    const [batch, steps, n] = checkScanShapes(g, m);
    if (!(g.values instanceof Float32Array) || !(m.values instanceof Float32Array))
      throw new Error(`${LINEAR_SCAN}: inputs must be float32`);
    let s: Float32Array;
    if (useWasm(n)) {
      const size = batch * steps * n;
      const { at, heap, memory } = ownLayout({ g: size, m: n * n, s: size });
      heap.set(g.values, at.g / 4);
      heap.set(m.values, at.m / 4);
      tanhRnnWasm(memory, n, steps).linearScan({ g: at.g, m: at.m, s: at.s }, batch);
      s = new Float32Array(memory.buffer).slice(at.s / 4, at.s / 4 + size);
    } else {
      s = linearScanJs(g.values, m.values, batch, steps, n);
    }
    return { shape: [batch, steps, n], dtype: 'float32', values: s };
  },
};

/**
 * The states before each step of the linear recurrence s_{t+1} = g_t + s_t·M, s_0 = 0:
 * g [batch, steps, n], M [n, n] → s [batch, steps, n], in one kernel. Not differentiable (for
 * data: the LMU's memory states of an input sequence).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function linearScan(g: tf.Tensor3D, m: tf.Tensor2D): tf.Tensor3D {
  if (g.rank !== 3) throw new Error(`linearScan: g must be [batch, steps, n] (got [${g.shape}])`);
  const n = g.shape[2];
  if (m.rank !== 2 || m.shape[0] !== n || m.shape[1] !== n)
    throw new Error(`linearScan: m must be [${n}, ${n}] (got [${m.shape}])`);
  requireKernel(LINEAR_SCAN);
  return tf.engine().runKernel(LINEAR_SCAN, { g, m }, {}) as tf.Tensor3D;
}

// ---- in place on the wasm backend ---------------------------------------------------------------

function readAll(be: KernelBackend, inputs: Record<string, TensorInfo>, names: string[]): Record<string, KernelArray> {
  const out: Record<string, KernelArray> = {};
  for (const k of names)
    out[k] = { shape: inputs[k].shape, dtype: inputs[k].dtype, values: be.readSync(inputs[k].dataId) as Float32Array };
  return out;
}

/**
 * TANH_RNN and TANH_RNN_GRAD for the wasm backend, reading and writing tfjs-wasm's heap in place
 * (the JS kernels' path when the heap cannot be reached or the JS engine is chosen).
 */
export const TANH_RNN_WASM_KERNELS: readonly tf.KernelConfig[] = [
  {
    kernelName: TANH_RNN,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend: kb }) => {
      const backend = kb as KernelBackend;
      const ins = inputs as Record<string, TensorInfo>;
      const [batch, steps, units] = checkShapes(TANH_RNN, ins);
      const be = wasmHeap(backend);
      if (!be || !useWasm(units)) {
        const a = arrays(readAll(backend, ins, FORWARD_INPUTS), batch, steps, units);
        const h = useWasm(units) ? forwardCopying(a) : tanhRnnForwardJs(a);
        return [
          writeKernelOutput(backend, [batch, steps, units], 'float32', h),
          writeKernelOutput(backend, [batch, units], 'float32', lastOf(h, batch, steps, units)),
        ];
      }
      const scale = (backend.readSync(ins.scale.dataId) as Float32Array)[0];
      const out = be.makeOutput([batch, steps, units], 'float32');
      const outLast = be.makeOutput([batch, units], 'float32');
      const scratch = be.malloc(16);
      try {
        const memory = be.memory;
        new Float32Array(memory.buffer, scratch, 4).fill(scale);
        const at = (k: string) => be.addressOf(ins[k].dataId);
        tanhRnnWasm(memory, units, steps).forward(
          {
            p: at('p'),
            x: at('x'),
            w: at('inputKernel'),
            b: at('bias'),
            u: at('recurrentKernel'),
            scale: scratch,
            h: be.addressOf(out.dataId),
          },
          batch,
        );
        const heap = new Float32Array(memory.buffer);
        const h = be.addressOf(out.dataId) / 4;
        const last = be.addressOf(outLast.dataId) / 4;
        for (let b = 0; b < batch; b++)
          heap.copyWithin(last + b * units, h + (b * steps + steps - 1) * units, h + (b * steps + steps) * units);
      } finally {
        be.free(scratch);
      }
      return [out, outLast];
    },
  },
  {
    kernelName: TANH_RNN_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend: kb }) => {
      const backend = kb as KernelBackend;
      const ins = inputs as Record<string, TensorInfo>;
      const [batch, steps, units] = checkShapes(TANH_RNN_GRAD, ins);
      const be = wasmHeap(backend);
      const n = units;
      let g: TanhRnnGradients;
      if (!be || !useWasm(units)) {
        const arr = readAll(backend, ins, BACKWARD_INPUTS);
        const a = arrays(arr, batch, steps, units);
        const h = arr.h.values as Float32Array;
        const dh = arr.dh.values as Float32Array;
        g = useWasm(units) ? backwardCopying(a, h, dh) : tanhRnnBackwardJs(a, h, dh);
      } else {
        const scale = (backend.readSync(ins.scale.dataId) as Float32Array)[0];
        const dp = be.makeOutput([batch, steps, units], 'float32');
        const scratch = be.malloc(4 * (4 + 2 * n * n + 3 * n));
        try {
          const memory = be.memory;
          const heap = new Float32Array(memory.buffer);
          const at = (k: string) => be.addressOf(ins[k].dataId);
          const s = scratch / 4;
          heap.fill(scale, s, s + 4);
          const ut = s + 4;
          const du = ut + n * n;
          const u = at('recurrentKernel') / 4;
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) heap[ut + j * n + i] = heap[u + i * n + j];
          heap.fill(0, du, du + n * n);
          const r = tanhRnnWasm(memory, units, steps).backward(
            {
              dh: at('dh'),
              dhLast: ins.dh.shape.length === 2 && steps > 1 ? at('dh') : undefined,
              h: at('h'),
              p: at('p'),
              x: at('x'),
              ut: 4 * ut,
              scale: scratch,
              dp: be.addressOf(dp.dataId),
              du: 4 * du,
              sums: 4 * (du + n * n),
            },
            batch,
            scale,
          );
          const dU = new Float32Array(memory.buffer).slice(du, du + n * n);
          g = {
            dp: new Float32Array(0),
            dscale: r.dscale,
            dw: Float32Array.from(r.dw),
            db: Float32Array.from(r.db),
            du: dU,
          };
        } finally {
          be.free(scratch);
        }
        const rest = gradientOutputs(g, batch, steps, units).slice(1);
        return [dp, ...rest.map((o) => be.makeOutput(o.shape, 'float32', o.values))];
      }
      return gradientOutputs(g, batch, steps, units).map((o) =>
        writeKernelOutput(backend, o.shape, 'float32', o.values),
      );
    },
  },
];

function makeFused(returnSequences: boolean) {
  return tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [p, scale, x, inputKernel, bias, recurrentKernel, save] = args as [
      tf.Tensor3D,
      tf.Scalar,
      tf.Tensor3D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.Tensor2D,
      tf.GradSaveFunc,
    ];
    const [h, last] = tf
      .engine()
      .runKernel(TANH_RNN, { p, scale, x, inputKernel, bias, recurrentKernel }, {}) as tf.Tensor[];
    save([h, p, scale, x, inputKernel, bias, recurrentKernel]);
    return {
      value: returnSequences ? h : last,
      gradFunc: (dh: tf.Tensor, saved: tf.Tensor[]) => {
        const [hs, ps, ss, xs, ws, bs, us] = saved;
        const [dp, dscale, dw, db, du] = tf
          .engine()
          .runKernel(
            TANH_RNN_GRAD,
            { dh, h: hs, p: ps, scale: ss, x: xs, inputKernel: ws, bias: bs, recurrentKernel: us },
            {},
          ) as tf.Tensor[];
        // x is data: no gradient flows back to it
        return [dp, dscale, tf.zerosLike(xs), dw, db, du];
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]);
}
const fused = { sequences: makeFused(true), last: makeFused(false) };

/** The inputs of tanhRnnSequence besides p and U; each defaults to a neutral value. */
export interface TanhRnnInputs {
  /** Scalar multiplying p. Default 1. */
  scale?: tf.Scalar;
  /** Input sequence [batch, steps, 1], data: no gradient flows back to it. Default zeros. */
  x?: tf.Tensor3D;
  /** Its kernel [1, units]. Default zeros. */
  inputKernel?: tf.Tensor2D;
  /** [units]. Default zeros. */
  bias?: tf.Tensor1D;
  /** Return h for every step ([batch, steps, units]) or the last ([batch, units]). Default true. */
  returnSequences?: boolean;
}

/**
 * The tanh RNN over all steps in one kernel: h_t = tanh(scale·p_t + x_t·w + b + h_{t−1}·U) with
 * h_{−1} = 0, for p [batch, steps, units] and U [units, units] → h [batch, steps, units] (or
 * the last step's, [batch, units], with `returnSequences: false`).
 * Differentiable in p, scale, w, b and U; `x` is taken as data (its gradient is zero).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function tanhRnnSequence(
  p: tf.Tensor3D,
  recurrentKernel: tf.Tensor2D,
  inputs: TanhRnnInputs & { returnSequences: false },
): tf.Tensor2D;
export function tanhRnnSequence(p: tf.Tensor3D, recurrentKernel: tf.Tensor2D, inputs?: TanhRnnInputs): tf.Tensor3D;
export function tanhRnnSequence(
  p: tf.Tensor3D,
  recurrentKernel: tf.Tensor2D,
  inputs: TanhRnnInputs = {},
): tf.Tensor3D | tf.Tensor2D {
  if (p.rank !== 3) throw new Error(`tanhRnnSequence: p must be [batch, steps, units] (got [${p.shape}])`);
  const [batch, steps, units] = p.shape;
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[0] !== units || recurrentKernel.shape[1] !== units) {
    throw new Error(
      `tanhRnnSequence: recurrentKernel must be [${units}, ${units}] for ${units} units (got [${recurrentKernel.shape}])`,
    );
  }
  requireKernel(TANH_RNN);
  return tf.tidy(() => {
    const scale = inputs.scale ?? tf.scalar(1);
    const x = inputs.x ?? tf.zeros([batch, steps, 1]);
    const w = inputs.inputKernel ?? tf.zeros([1, units]);
    const b = inputs.bias ?? tf.zeros([units]);
    checkShapes('tanhRnnSequence', { p, scale, x, inputKernel: w, bias: b, recurrentKernel });
    return (inputs.returnSequences === false ? fused.last : fused.sequences)(
      p,
      scale,
      x,
      w,
      b,
      recurrentKernel,
    ) as tf.Tensor3D;
  });
}
