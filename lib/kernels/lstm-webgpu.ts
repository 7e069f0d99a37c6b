/**
 * The fused LSTM kernels (lib/kernels/lstm.ts) on the webgpu backend, in WGSL.
 *
 * Forward, 2 dispatches: the input projection x·W for all steps at once (tfjs's BatchMatMul), then
 * the whole recurrence in one dispatch: one workgroup per sample, h and c in workgroup memory, the
 * threads over the 4·units gate columns (each adds the bias and h_{t-1}·U to its column and
 * activates it), then over the units (the cell update), two barriers per step.
 *
 * With attr `keep` (while a gradient is recorded) the recurrence also writes every step's activated
 * gates and c, kept for LSTM_SEQUENCE_GRAD_KEPT; LSTM_SEQUENCE_GRAD runs that forward again first.
 *
 * Backward: one dispatch runs backpropagation through time backwards over the steps (threads over
 * the gate columns for dz, then over the units for dh_{t-1} = U·dz and h_{t-1}), writing dz
 * [batch, steps, 4·units] and h_{t-1}; the gradients are then parallel reductions by tfjs's
 * kernels: dx = dz·Wᵀ, dW = xᵀ·dz, dU = h_{t-1}ᵀ·dz, db = Σ dz. 6 to 8 dispatches from kept
 * states, 8 to 10 recomputing the forward, whatever the number of steps.
 *
 * Gates and activations as in lstm.ts: columns [i, f, c, o], sigmoid gates, tanh candidate and output.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import { LSTM_SEQUENCE, LSTM_SEQUENCE_GRAD, LSTM_SEQUENCE_GRAD_KEPT } from './lstm';
import { callKernel, disposeIntermediates, maxWorkgroupSize, runWgsl } from './webgpu';

/** Workgroup size and workgroup-array capacity (in units) of the recurrence kernels for `units`. */
interface Layout {
  /** threads per workgroup (a power of two, at most the device's limit) */
  threads: number;
  /** units the workgroup arrays hold (a power of two ≥ units) */
  capacity: number;
}

/** Floats of workgroup memory per unit of capacity: the backward kernel's dz (4), dh, dc and dc_t. */
const SHARED_FLOATS_PER_UNIT = 7;

/** Workgroup memory every WebGPU device offers (maxComputeWorkgroupStorageSize's minimum): up to 512 units. */
const SHARED_BYTES = 16384;

function layoutFor(backend: KernelBackend, units: number): Layout {
  const columns = 2 ** Math.ceil(Math.log2(Math.max(32, 4 * units)));
  const capacity = columns / 4;
  if (SHARED_FLOATS_PER_UNIT * 4 * capacity > SHARED_BYTES) {
    throw new Error(
      `${LSTM_SEQUENCE}: ${units} units need ${SHARED_FLOATS_PER_UNIT * 4 * capacity} bytes of workgroup memory on webgpu (more than the ${SHARED_BYTES} every device has)`,
    );
  }
  return { threads: Math.min(columns, maxWorkgroupSize(backend)), capacity };
}

const ACTIVATIONS = `
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
// tanh from exp(-2|x|): no overflow for large |x|
fn tanh_(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}`;

/**
 * The forward recurrence over xw = x·W [batch·steps, 4·units]: h [batch, steps, units], and with
 * `keep` the backward pass's inputs too: gates (activated) and c, each [batch, steps, ·].
 */
function forwardCode({ threads, capacity }: Layout, keep: boolean): string {
  return `
const WG: u32 = ${threads}u;
var<workgroup> zs: array<f32, ${4 * capacity}>;
var<workgroup> hs: array<f32, ${capacity}>;
var<workgroup> cs: array<f32, ${capacity}>;
${ACTIVATIONS}

@compute @workgroup_size(${threads})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = params.units;
  let g4 = 4u * n;
  let steps = params.steps;
  let first = wid.x * steps; // the sample's first row of [batch·steps, ·]
  for (var k = lid.x; k < n; k += WG) {
    hs[k] = 0.0;
    cs[k] = 0.0;
  }
  workgroupBarrier();
  for (var t = 0u; t < steps; t++) {
    let row = first + t;
    for (var j = lid.x; j < g4; j += WG) {
      var z = xw[row * g4 + j] + bias[j];
      for (var k = 0u; k < n; k++) {
        z += hs[k] * recurrent[k * g4 + j];
      }
      let a = select(sigmoid_(z), tanh_(z), j / n == 2u);
      zs[j] = a;${keep ? '\n      gates[row * g4 + j] = a;' : ''}
    }
    workgroupBarrier();
    for (var k = lid.x; k < n; k += WG) {
      let c = zs[n + k] * cs[k] + zs[k] * zs[2u * n + k];
      let hk = zs[3u * n + k] * tanh_(c);
      cs[k] = c;
      hs[k] = hk;
      h[row * n + k] = hk;${keep ? '\n      cell[row * n + k] = c;' : ''}
    }
    workgroupBarrier();
  }
}`;
}

/** Backpropagation through time from the kept h, gates and c: dz [batch·steps, 4·units] and hPrev (h_{t-1}, 0 at t = 0). */
function backwardCode({ threads, capacity }: Layout): string {
  return `
const WG: u32 = ${threads}u;
var<workgroup> dzs: array<f32, ${4 * capacity}>;
var<workgroup> dhNext: array<f32, ${capacity}>;
var<workgroup> dcNext: array<f32, ${capacity}>;
var<workgroup> dct: array<f32, ${capacity}>;
${ACTIVATIONS}

@compute @workgroup_size(${threads})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = params.units;
  let g4 = 4u * n;
  let steps = params.steps;
  let first = wid.x * steps;
  for (var k = lid.x; k < n; k += WG) {
    dhNext[k] = 0.0;
    dcNext[k] = 0.0;
  }
  workgroupBarrier();
  for (var s = 0u; s < steps; s++) {
    let t = steps - 1u - s;
    let row = first + t;
    let g = row * g4;
    // dz of each gate column (the four columns of a unit each recompute its dc_t)
    for (var j = lid.x; j < g4; j += WG) {
      let k = j % n;
      let ig = gates[g + k];
      let fg = gates[g + n + k];
      let cg = gates[g + 2u * n + k];
      let og = gates[g + 3u * n + k];
      let tc = tanh_(cell[row * n + k]);
      let dht = dh[row * n + k] + dhNext[k];
      let dc = dcNext[k] + dht * og * (1.0 - tc * tc);
      var d: f32;
      switch (j / n) {
        case 0u: {
          d = dc * cg * ig * (1.0 - ig);
          dct[k] = dc;
        }
        case 1u: {
          var cp = 0.0;
          if (t > 0u) {
            cp = cell[(row - 1u) * n + k];
          }
          d = dc * cp * fg * (1.0 - fg);
        }
        case 2u: {
          d = dc * ig * (1.0 - cg * cg);
        }
        default: {
          d = dht * tc * og * (1.0 - og);
        }
      }
      dzs[j] = d;
      dz[g + j] = d;
    }
    workgroupBarrier();
    // dc_{t-1} = dc_t·f and dh_{t-1} = U·dz for each unit, and h_{t-1} for dU
    for (var k = lid.x; k < n; k += WG) {
      var hp = 0.0;
      if (t > 0u) {
        hp = h[(row - 1u) * n + k];
      }
      hPrev[row * n + k] = hp;
      dcNext[k] = dct[k] * gates[g + n + k];
      var sum = 0.0;
      for (var j = 0u; j < g4; j++) {
        sum += recurrent[k * g4 + j] * dzs[j];
      }
      dhNext[k] = sum;
    }
    workgroupBarrier();
  }
}`;
}

interface LstmInputs {
  x: TensorInfo;
  kernel: TensorInfo;
  recurrentKernel: TensorInfo;
  bias: TensorInfo;
}

function checkInputs(name: string, { x, kernel, recurrentKernel, bias }: LstmInputs) {
  if (x.shape.length !== 3) throw new Error(`${name}: x must be [batch, steps, features] (got [${x.shape}])`);
  const [batch, steps, features] = x.shape;
  const units = recurrentKernel.shape[0];
  const g4 = 4 * units;
  const ok =
    kernel.shape.join() === [features, g4].join() &&
    recurrentKernel.shape.join() === [units, g4].join() &&
    bias.shape.join() === [g4].join();
  if (!ok) {
    throw new Error(
      `${name}: expected kernel [${features}, 4·units], recurrentKernel [units, 4·units], bias [4·units] (got [${kernel.shape}], [${recurrentKernel.shape}], [${bias.shape}])`,
    );
  }
  for (const [what, t] of Object.entries({ x, kernel, recurrentKernel, bias }))
    if (t.dtype !== 'float32') throw new Error(`${name}: ${what} must be float32 (got ${t.dtype})`);
  return { batch, steps, features, units };
}

/** x·W for every step: [batch·steps, 4·units]. */
function inputProjection(backend: KernelBackend, x: TensorInfo, kernel: TensorInfo): TensorInfo {
  const [batch, steps, features] = x.shape;
  const rows = callKernel(backend, 'Reshape', { x }, { shape: [batch * steps, features] });
  const xw = callKernel(backend, 'BatchMatMul', { a: rows, b: kernel }, { transposeA: false, transposeB: false });
  disposeIntermediates(backend, rows);
  return xw;
}

/** The forward recurrence's dispatch (see forwardCode). */
function runForward(backend: KernelBackend, name: string, inputs: LstmInputs, keep: boolean): TensorInfo[] {
  const { batch, steps, units } = checkInputs(name, inputs);
  const layout = layoutFor(backend, units);
  const xw = inputProjection(backend, inputs.x, inputs.kernel);
  const perStep = (width: number) => ({ shape: [batch, steps, width] });
  const outputs = [{ name: 'h', ...perStep(units) }];
  if (keep) outputs.push({ name: 'gates', ...perStep(4 * units) }, { name: 'cell', ...perStep(units) });
  const result = runWgsl(backend, {
    name,
    code: forwardCode(layout, keep),
    inputs: [
      { name: 'xw', tensor: xw },
      { name: 'bias', tensor: inputs.bias },
      { name: 'recurrent', tensor: inputs.recurrentKernel },
    ],
    outputs,
    params: [
      { name: 'steps', type: 'u32', value: steps },
      { name: 'units', type: 'u32', value: units },
    ],
    workgroups: [batch],
  });
  disposeIntermediates(backend, xw);
  return result;
}

function checkDh(name: string, dh: TensorInfo, batch: number, steps: number, units: number): void {
  if (dh.dtype !== 'float32' || dh.shape.join() !== [batch, steps, units].join()) {
    throw new Error(`${name}: dh must be float32 [${batch}, ${steps}, ${units}] (got ${dh.dtype} [${dh.shape}])`);
  }
}

/** The four gradients from dh and the forward's h, gates and c (see backwardCode). */
function runBackward(
  backend: KernelBackend,
  name: string,
  inputs: Omit<LstmInputs, 'bias'> & { dh: TensorInfo },
  [h, gates, c]: TensorInfo[],
): TensorInfo[] {
  const { dh, x, kernel, recurrentKernel } = inputs;
  const [batch, steps, features] = x.shape;
  const units = recurrentKernel.shape[0];
  const [dz, hPrev] = runWgsl(backend, {
    name,
    code: backwardCode(layoutFor(backend, units)),
    inputs: [
      { name: 'dh', tensor: dh },
      { name: 'h', tensor: h },
      { name: 'gates', tensor: gates },
      { name: 'cell', tensor: c },
      { name: 'recurrent', tensor: recurrentKernel },
    ],
    outputs: [
      { name: 'dz', shape: [batch * steps, 4 * units] },
      { name: 'hPrev', shape: [batch * steps, units] },
    ],
    params: [
      { name: 'steps', type: 'u32', value: steps },
      { name: 'units', type: 'u32', value: units },
    ],
    workgroups: [batch],
  });
  const xRows = callKernel(backend, 'Reshape', { x }, { shape: [batch * steps, features] });
  const matMul = (a: TensorInfo, bt: TensorInfo, transposeA: boolean, transposeB: boolean) =>
    callKernel(backend, 'BatchMatMul', { a, b: bt }, { transposeA, transposeB });
  const dxRows = matMul(dz, kernel, false, true); // [batch·steps, features]
  const dx = callKernel(backend, 'Reshape', { x: dxRows }, { shape: [batch, steps, features] });
  const dKernel = matMul(xRows, dz, true, false);
  const dRecurrentKernel = matMul(hPrev, dz, true, false);
  const dBias = callKernel(backend, 'Sum', { x: dz }, { axis: [0], keepDims: false });
  disposeIntermediates(backend, dz, hPrev, xRows, dxRows);
  return [dx, dKernel, dRecurrentKernel, dBias];
}

/**
 * LSTM_SEQUENCE, LSTM_SEQUENCE_GRAD and LSTM_SEQUENCE_GRAD_KEPT in WGSL for the webgpu backend,
 * registered by lib/kernels/all.ts when webgpu is selected.
 */
export const LSTM_WEBGPU_KERNELS: readonly tf.KernelConfig[] = [
  {
    kernelName: LSTM_SEQUENCE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const out = runForward(backend as KernelBackend, LSTM_SEQUENCE, inputs as unknown as LstmInputs, !!attrs?.keep);
      return attrs?.keep ? out : out[0];
    },
  },
  {
    kernelName: LSTM_SEQUENCE_GRAD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs: named, backend: b }) => {
      const backend = b as KernelBackend;
      const inputs = named as unknown as LstmInputs & { dh: TensorInfo };
      const { batch, steps, units } = checkInputs(LSTM_SEQUENCE_GRAD, inputs);
      checkDh(LSTM_SEQUENCE_GRAD, inputs.dh, batch, steps, units);
      const kept = runForward(backend, LSTM_SEQUENCE_GRAD, inputs, true);
      const grads = runBackward(backend, LSTM_SEQUENCE_GRAD, inputs, kept);
      disposeIntermediates(backend, ...kept);
      return grads;
    },
  },
  {
    kernelName: LSTM_SEQUENCE_GRAD_KEPT,
    backendName: 'webgpu',
    kernelFunc: ({ inputs: named, backend: b }) => {
      const backend = b as KernelBackend;
      const inputs = named as unknown as Omit<LstmInputs, 'bias'> & Record<'dh' | 'h' | 'gates' | 'cell', TensorInfo>;
      const { x, kernel, recurrentKernel } = inputs;
      const units = recurrentKernel.shape[0];
      const bias = { dataId: {}, shape: [4 * units], dtype: 'float32' as const }; // only its shape is checked
      const { batch, steps } = checkInputs(LSTM_SEQUENCE_GRAD_KEPT, { x, kernel, recurrentKernel, bias });
      checkDh(LSTM_SEQUENCE_GRAD_KEPT, inputs.dh, batch, steps, units);
      for (const [name, width] of [
        ['h', units],
        ['gates', 4 * units],
        ['cell', units],
      ] as const) {
        const t = inputs[name];
        if (t.dtype !== 'float32' || t.shape.join() !== [batch, steps, width].join()) {
          throw new Error(
            `${LSTM_SEQUENCE_GRAD_KEPT}: ${name} must be float32 [${batch}, ${steps}, ${width}] (got ${t.dtype} [${t.shape}])`,
          );
        }
      }
      return runBackward(backend, LSTM_SEQUENCE_GRAD_KEPT, inputs, [inputs.h, inputs.gates, inputs.cell]);
    },
  },
];
