/**
 * The fused tanh RNN of lib/kernels/tanh-rnn.ts (TANH_RNN, TANH_RNN_GRAD, LINEAR_SCAN) in WGSL for
 * the webgpu backend, run by lib/kernels/webgpu.ts. On a GPU the cost of a 784-step recurrence is
 * its number of dispatches, so each recurrence loops over time inside one dispatch: one workgroup
 * per batch row, thread j owning units j, j + WG, … (WG = 256 threads or the device's maximum),
 * the state of the step before in workgroup memory (two halves used in turn, so one barrier per
 * step suffices), the matrix read from its storage buffer.
 *
 * - Forward: one dispatch writes h [batch, steps, units] and the last step's h [batch, units].
 * - Backward: U is transposed (tfjs's Transpose), then one dispatch runs back over the steps and
 *   writes dp = scale·dz, dz shifted one step back (dz_{t+1} at t, 0 at the last step, so that
 *   dU = Σ h_tᵀ·dz_{t+1} is one BatchMatMul of h and it) and, per batch row, the sums over time
 *   of dz, x·dz and p⊙dz, which three Sums reduce over the batch to db, dw and dscale.
 * - Linear scan: one dispatch writes s [batch, steps, n] (s_0 = 0, s_{t+1} = g_t + s_t·M).
 *
 * Dispatches per call: forward 1, backward 6 (Transpose, the recurrence, BatchMatMul, 3 Sums),
 * linear scan 1. Nothing is read back to the CPU (scale stays on the GPU).
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import { checkScanShapes, checkShapes, LINEAR_SCAN, TANH_RNN, TANH_RNN_GRAD } from './tanh-rnn';
import { callKernel, deviceLimit, disposeIntermediates, loopLimitOf, maxWorkgroupSize, runWgsl, u32 } from './webgpu';

/** Threads per workgroup, unless the device allows fewer. */
const WORKGROUP = 256;

/**
 * The tanh argument is clamped here (tanh(±15) is ±1 in float32), in case a driver's tanh is exp-based and
 * overflows far out (tfjs-webgpu's own Tanh avoids the builtin); llvmpipe's is exact there.
 */
const TANH_CLAMP = 15;

/** Rows of the matrix taken per iteration of the matrix loop, written out (see GALLIVM_LOOP_LIMIT). */
const UNROLL = 16;

/**
 * Workgroup size and units per thread (a power of two, so that few shader variants exist) for a
 * recurrence of `units` units over `steps` steps, its workgroup memory two vectors of the units.
 */
function layout(backend: KernelBackend, kernel: string, steps: number, units: number) {
  const wg = Math.min(WORKGROUP, maxWorkgroupSize(backend));
  let per = 1;
  while (per * wg < units) per *= 2;
  const bytes = 2 * 4 * per * wg;
  const limit = deviceLimit(backend, 'maxComputeWorkgroupStorageSize');
  if (bytes > limit) {
    throw new Error(`${kernel}: ${units} units need ${bytes} bytes of workgroup memory (this device allows ${limit})`);
  }
  // with the matrix loop unrolled, [·, 784, 212] takes ~16,000 iterations (see loopLimitOf)
  const iterations = steps * (2 + per * (Math.ceil(units / UNROLL) + 4));
  const loopLimit = loopLimitOf(backend);
  if (iterations > loopLimit) {
    throw new Error(
      `${kernel}: ${steps} steps of ${units} units take ~${iterations} loop iterations per thread, ` +
        `more than Mesa's llvmpipe runs (${loopLimit})`,
    );
  }
  return `const WG: u32 = ${wg}u;\nconst PER: u32 = ${per}u;\nconst SLOTS: u32 = WG * PER;`;
}

/**
 * WGSL adding Σ_k vec[base + k]·mat[k, j] (mat [n, n] row-major) to acc[r] for each unit
 * j = lid.x + r·WG of the thread, UNROLL rows per iteration; `vec` must hold zeros from n on to
 * the next multiple of UNROLL (the rows past n are read clamped and multiplied by them).
 */
function matVecCode(acc: string, vec: string, base: string, mat: string): string {
  const rows = Array.from(
    { length: UNROLL },
    (_, i) => `      ${acc}[r] += ${vec}[${base} + k + ${i}u] * ${mat}[min(k + ${i}u, n - 1u) * n + j];`,
  );
  return `for (var r = 0u; r < PER; r++) {
    let j = min(lid.x + r * WG, n - 1u);
    for (var k = 0u; k < n; k += ${UNROLL}u) {
${rows.join('\n')}
    }
  }`;
}

/** The same tensor under another shape (no copy, no new reference). */
const reshaped = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });

/**
 * The loop shared by the forward pass and the linear scan: per batch row (workgroup), per step,
 * acc_j = <start_j> + Σ_k state_k·m[k, j]; the next state is <next> of acc; <emit> writes the
 * outputs of step t. `state` holds the previous state in half `prev` and takes the next in `next`,
 * zero past the last unit.
 */
function recurrenceCode(o: { start: string; next: string; emit: string; matrix: string }): string {
  return `
var<workgroup> state: array<f32, 2u * SLOTS>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = params.units;
  let steps = params.steps;
  let row = wid.x;
  for (var r = 0u; r < PER; r++) { state[lid.x + r * WG] = 0.0; }
  workgroupBarrier();
  for (var t = 0u; t < steps; t++) {
    let prev = (t % 2u) * SLOTS;
    let next = SLOTS - prev;
    let at = (row * steps + t) * n;
    var acc: array<f32, PER>;
    for (var r = 0u; r < PER; r++) {
      let j = min(lid.x + r * WG, n - 1u);
      acc[r] = ${o.start};
    }
    ${matVecCode('acc', 'state', 'prev', o.matrix)}
    for (var r = 0u; r < PER; r++) {
      let j = lid.x + r * WG;
      let v = ${o.next};
      state[next + j] = select(0.0, v, j < n);
      if (j < n) { ${o.emit} }
    }
    workgroupBarrier();
  }
}`;
}

const FORWARD_CODE = recurrenceCode({
  start: 'scale[0] * p[at + j] + x[row * steps + t] * w[j] + b[j]',
  matrix: 'u',
  next: `tanh(clamp(acc[r], -${TANH_CLAMP}.0, ${TANH_CLAMP}.0))`,
  emit: 'h[at + j] = v; if (t + 1u == steps) { last[row * n + j] = v; }',
});

// s_t (the state before step t) is written, then s_{t+1} = g_t + s_t·M computed
const SCAN_CODE = recurrenceCode({
  start: 'g[at + j]',
  matrix: 'm',
  next: 'acc[r]',
  emit: 's[at + j] = state[prev + j];',
});

/**
 * Back over the steps for one batch row: dz_t = (dh_t + carry_t)⊙(1 − h_t²), carry_{t−1} = U·dz_t
 * (ut = Uᵀ, so that threads read neighbouring floats). dz of the step is shared in workgroup
 * memory (two halves in turn); carry and the row's sums stay in each thread's registers.
 */
const BACKWARD_CODE = `
var<workgroup> dzs: array<f32, 2u * SLOTS>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = params.units;
  let steps = params.steps;
  let batch = params.batch;
  let row = wid.x;
  let sc = scale[0];
  var carry: array<f32, PER>;
  var sumDz: array<f32, PER>;
  var sumXDz: array<f32, PER>;
  var sumPDz: array<f32, PER>;
  for (var i = 0u; i < steps; i++) {
    let t = steps - 1u - i;
    let half = (i % 2u) * SLOTS;
    let at = (row * steps + t) * n;
    let xt = x[row * steps + t];
    for (var r = 0u; r < PER; r++) {
      let j = lid.x + r * WG;
      let jj = min(j, n - 1u);
      var g = carry[r];
      if (params.dhAll == 1u) {
        g += dh[at + jj];
      } else if (i == 0u) {
        g += dh[row * n + jj];
      }
      let hj = h[at + jj];
      let d = select(0.0, g * (1.0 - hj * hj), j < n);
      dzs[half + j] = d;
      if (j < n) {
        dp[at + j] = sc * d;
        if (t > 0u) { dzNext[at - n + j] = d; }
        if (i == 0u) { dzNext[at + j] = 0.0; }
        sumDz[r] += d;
        sumXDz[r] += xt * d;
        sumPDz[r] += p[at + j] * d;
      }
    }
    workgroupBarrier();
    if (t > 0u) {
      for (var r = 0u; r < PER; r++) { carry[r] = 0.0; }
      ${matVecCode('carry', 'dzs', 'half', 'ut')}
    }
  }
  for (var r = 0u; r < PER; r++) {
    let j = lid.x + r * WG;
    if (j < n) {
      dbRows[j * batch + row] = sumDz[r];
      dwRows[j * batch + row] = sumXDz[r];
      dscaleRows[j * batch + row] = sumPDz[r];
    }
  }
}`;

type Inputs = Record<string, TensorInfo>;

function forward(backend: KernelBackend, ins: Inputs): TensorInfo[] {
  const [batch, steps, units] = checkShapes(TANH_RNN, ins);
  const header = layout(backend, TANH_RNN, steps, units);
  return runWgsl(backend, {
    name: TANH_RNN,
    code: `${header}\n${FORWARD_CODE}`,
    inputs: [
      { name: 'p', tensor: ins.p },
      { name: 'scale', tensor: ins.scale },
      { name: 'x', tensor: ins.x },
      { name: 'w', tensor: ins.inputKernel },
      { name: 'b', tensor: ins.bias },
      { name: 'u', tensor: ins.recurrentKernel },
    ],
    outputs: [
      { name: 'h', shape: [batch, steps, units] },
      { name: 'last', shape: [batch, units] },
    ],
    params: [u32('steps', steps), u32('units', units)],
    workgroups: [batch],
  });
}

function backward(backend: KernelBackend, ins: Inputs): TensorInfo[] {
  const [batch, steps, units] = checkShapes(TANH_RNN_GRAD, ins);
  const header = layout(backend, TANH_RNN_GRAD, steps, units);
  const ut = callKernel(backend, 'Transpose', { x: ins.recurrentKernel }, { perm: [1, 0] });
  const [dp, dzNext, dbRows, dwRows, dscaleRows] = runWgsl(backend, {
    name: TANH_RNN_GRAD,
    code: `${header}\n${BACKWARD_CODE}`,
    inputs: [
      { name: 'dh', tensor: ins.dh },
      { name: 'h', tensor: ins.h },
      { name: 'p', tensor: ins.p },
      { name: 'scale', tensor: ins.scale },
      { name: 'x', tensor: ins.x },
      { name: 'ut', tensor: ut },
    ],
    outputs: [
      { name: 'dp', shape: [batch, steps, units] },
      { name: 'dzNext', shape: [batch, steps, units] },
      { name: 'dbRows', shape: [units, batch] },
      { name: 'dwRows', shape: [units, batch] },
      { name: 'dscaleRows', shape: [units * batch] },
    ],
    params: [
      u32('batch', batch),
      u32('steps', steps),
      u32('units', units),
      u32('dhAll', ins.dh.shape.length === 3 ? 1 : 0),
    ],
    workgroups: [batch],
  });
  const rows = [1, batch * steps, units];
  const du = callKernel(
    backend,
    'BatchMatMul',
    { a: reshaped(ins.h, rows), b: reshaped(dzNext, rows) },
    { transposeA: true, transposeB: false },
  );
  const sum = (t: TensorInfo) => callKernel(backend, 'Sum', { x: t }, { axis: [t.shape.length - 1], keepDims: false });
  const db = sum(dbRows);
  const dw = sum(dwRows);
  const dscale = sum(dscaleRows);
  disposeIntermediates(backend, ut, dzNext, dbRows, dwRows, dscaleRows);
  return [dp, dscale, reshaped(dw, [1, units]), db, reshaped(du, [units, units])];
}

function scan(backend: KernelBackend, { g, m }: Inputs): TensorInfo {
  const [batch, steps, n] = checkScanShapes(g, m);
  const header = layout(backend, LINEAR_SCAN, steps, n);
  return runWgsl(backend, {
    name: LINEAR_SCAN,
    code: `${header}\n${SCAN_CODE}`,
    inputs: [
      { name: 'g', tensor: g },
      { name: 'm', tensor: m },
    ],
    outputs: [{ name: 's', shape: [batch, steps, n] }],
    params: [u32('steps', steps), u32('units', n)],
    workgroups: [batch],
  })[0];
}

const KERNELS: Array<[string, (backend: KernelBackend, inputs: Inputs) => TensorInfo | TensorInfo[]]> = [
  [TANH_RNN, forward],
  [TANH_RNN_GRAD, backward],
  [LINEAR_SCAN, scan],
];

/**
 * TANH_RNN, TANH_RNN_GRAD and LINEAR_SCAN in WGSL for the webgpu backend, registered by
 * lib/kernels/all.ts when webgpu is selected.
 */
export const TANH_RNN_WEBGPU_KERNELS: readonly tf.KernelConfig[] = KERNELS.map(([kernelName, run]) => ({
  kernelName,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => run(backend as KernelBackend, inputs as Inputs),
}));
