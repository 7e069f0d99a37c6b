/**
 * The fused EURNN recurrence of lib/kernels/eurnn.ts (EURNN_SEQUENCE, EURNN_SEQUENCE_GRAD) in WGSL
 * for the webgpu backend, run by lib/kernels/webgpu.ts. The same arithmetic as the JS reference
 * (eurnnForwardJs, eurnnBackwardJs), in float32: each recurrence loops over time inside one
 * dispatch, one workgroup per batch row, thread l owning hidden units l, l + WG, … and mixing units
 * (pairs) l, l + WG, …; the complex state in workgroup memory, one barrier after each sublayer of
 * the unitary layer and one after modReLU. The mixing units' cos/sin come from a small dispatch
 * first (coefficients [capacity, N/2, 4], as mixingCoefficients lays them out).
 *
 * - Forward: the coefficients, then one dispatch running all steps, writing h_T [batch, 2·N]. The
 *   input projection x_t·kernel + bias is computed in the loop (features is 1 in the walkthrough,
 *   so it costs less than a [batch·steps, N] buffer).
 * - Backward: the coefficients, then one dispatch per batch row that runs the forward pass keeping
 *   the state every K ≈ √steps steps (checkpoints), then, segment by segment from the last, runs
 *   the segment's K steps again keeping their pre-activations z (a tape of K steps), and goes back
 *   through them as the JS reference does: modReLU backward from the tape, the unitary layer's
 *   output u = z − x_t·kernel − bias undone sublayer by sublayer (its inverse is its adjoint). It
 *   writes dz's real parts of every step [batch·steps, N] and, per batch row, the sums over time
 *   of the gradients of the angles (in registers), the modReLU bias, the bias and the kernel.
 *   A simple dispatch makes dx = dz·kernelᵀ, another sums the rows over the batch. (tfjs's
 *   BatchMatMul for dx and dkernel took seconds on llvmpipe at the walkthrough's size: with one
 *   feature, its 32×32 tiles are mostly empty.)
 * - Every step's state (EURNN_STATES, eurnnStatesWebgpu): the forward pass writing each step's
 *   state, for the per-step twin of notebook 06 (EURNNSteps in lib/models/eurnn.ts).
 *
 * Dispatches per call: forward 2, backward 4 (coefficients, recurrence, dx, batch sum), every
 * step's state 2. Nothing is read back to the CPU. Memory: the backward's dz is batch·steps·N
 * floats (80 MB at the walkthrough's batch of 100), its checkpoints and tape batch·(steps/K + K)·2N
 * floats (11 MB).
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import { EURNN_SEQUENCE, EURNN_SEQUENCE_GRAD, eurnnShapes } from './eurnn';
import { MODRELU_EPS } from './eurnn-wasm';
import { requireKernel } from './registry';
import { deviceLimit, disposeIntermediates, maxWorkgroupSize, runWgsl, u32, WgslParam } from './webgpu';

/** Threads per workgroup at most (fewer for small hidden sizes, or where the device allows fewer). */
const WORKGROUP = 256;

/** Threads per workgroup of the simple parallel dispatches (coefficients, dx, batch sum). */
const SMALL_WORKGROUP = 64;

/** Kernel name (webgpu only): every step's state, for eurnnStatesWebgpu. */
export const EURNN_STATES = 'SeqmnistEurnnStates';

type Inputs = Record<string, TensorInfo>;
type Sizes = ReturnType<typeof eurnnShapes>;

/** Checks the inputs' shapes and dtypes; returns the sizes. */
function sizesOf(kernel: string, ins: Inputs): Sizes {
  const { x, kernel: w, bias, angles, modBias } = ins;
  const d = eurnnShapes(x.shape, w.shape, bias.shape, angles.shape, modBias.shape);
  for (const [name, t] of Object.entries(ins)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32 (got ${t.dtype})`);
  }
  return d;
}

/**
 * Workgroup size and hidden units per thread (powers of two, so that few shader variants exist),
 * checked against the device's workgroup memory for `floatsPerSlot` floats per unit slot.
 */
function layout(backend: KernelBackend, kernel: string, n: number, floatsPerSlot: number) {
  let wg = 32;
  while (wg < n && wg < WORKGROUP) wg *= 2;
  wg = Math.min(wg, maxWorkgroupSize(backend));
  let per = 1;
  while (per * wg < n) per *= 2;
  const bytes = 4 * floatsPerSlot * per * wg;
  const limit = deviceLimit(backend, 'maxComputeWorkgroupStorageSize');
  if (bytes > limit) {
    throw new Error(
      `${kernel}: hidden size ${n} needs ${bytes} bytes of workgroup memory (this device allows ${limit})`,
    );
  }
  return `const WG: u32 = ${wg}u;\nconst PER: u32 = ${per}u;\nconst SLOTS: u32 = WG * PER;\nconst EPS: f32 = ${MODRELU_EPS};`;
}

/** Throws unless a buffer of `floats` float32s can be bound on this device. */
function checkBinding(backend: KernelBackend, kernel: string, what: string, floats: number): void {
  const limit = deviceLimit(backend, 'maxStorageBufferBindingSize');
  if (4 * floats > limit) {
    throw new Error(`${kernel}: ${what} needs ${4 * floats} bytes, over this device's ${limit}-byte binding limit`);
  }
}

/**
 * Coefficients c = cos θ, s = sin θ, cp = cos φ, sp = sin φ of mixing unit k of sublayer i at
 * (i·N/2 + k)·4, with φ = angles[2k, i], θ = angles[2k+1, i] (mixingCoefficients' layout). The
 * angles are first reduced to [−π, π], where GPUs' sin and cos are accurate.
 */
const COEF_CODE = `
const TWO_PI: f32 = 6.283185307179586;
fn reduced(a: f32) -> f32 { return a - TWO_PI * round(a / TWO_PI); }

@compute @workgroup_size(${SMALL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let h = params.n / 2u;
  let cap = params.cap;
  let e = gid.x;
  if (e >= cap * h) { return; }
  let i = e / h;
  let k = e % h;
  let phi = reduced(angles[2u * k * cap + i]);
  let theta = reduced(angles[(2u * k + 1u) * cap + i]);
  coef[4u * e] = cos(theta);
  coef[4u * e + 1u] = sin(theta);
  coef[4u * e + 2u] = cos(phi);
  coef[4u * e + 3u] = sin(phi);
}`;

function coefficients(backend: KernelBackend, kernel: string, angles: TensorInfo, d: Sizes): TensorInfo {
  const units = (d.capacity * d.hiddenSize) / 2;
  return runWgsl(backend, {
    name: `${kernel}Coefficients`,
    code: COEF_CODE,
    inputs: [{ name: 'angles', tensor: angles }],
    outputs: [{ name: 'coef', shape: [units * 4] }],
    params: [u32('n', d.hiddenSize), u32('cap', d.capacity)],
    workgroups: [Math.ceil(units / SMALL_WORKGROUP)],
  })[0];
}

/**
 * What the forward and backward recurrences share: the state `sre`/`sim` in two halves (the
 * step's input and modReLU's output), the unitary layer applied in place to one half, modReLU
 * from one half into the other (in the backward pass keeping z in `scratch` at `tape`).
 */
const forwardParts = (tape: boolean) => `
var<workgroup> sre: array<f32, 2u * SLOTS>;
var<workgroup> sim: array<f32, 2u * SLOTS>;

/** x_t·kernel + bias for hidden unit j of batch row \`row\`. */
fn projection(row: u32, t: u32, j: u32) -> f32 {
  let nf = params.features;
  let xo = (row * params.steps + t) * nf;
  var acc = bias[j];
  for (var k = 0u; k < nf; k++) { acc += win[k * params.n + j] * x[xo + k]; }
  return acc;
}

/** The unitary layer on the half at \`base\`, in place; a barrier after each sublayer. */
fn rotate(base: u32, lid: u32) {
  let n = params.n;
  let h = n / 2u;
  for (var i = 0u; i < params.cap; i++) {
    let off = i % 2u; // odd sublayers pair (2k + 1, 2k + 2 mod N)
    for (var q = 0u; q < PER; q++) {
      let k = lid + q * WG;
      if (k < h) {
        let p0 = base + 2u * k + off;
        let p1 = base + (2u * k + off + 1u) % n;
        let o = (i * h + k) * 4u;
        let c = coef[o];
        let s = coef[o + 1u];
        let cp = coef[o + 2u];
        let sp = coef[o + 3u];
        let x0r = sre[p0];
        let x0i = sim[p0];
        let x1r = sre[p1];
        let x1i = sim[p1];
        let tr = c * x0r - s * x1r;
        let ti = c * x0i - s * x1i;
        sre[p1] = s * x0r + c * x1r;
        sim[p1] = s * x0i + c * x1i;
        sre[p0] = cp * tr - sp * ti;
        sim[p0] = cp * ti + sp * tr;
      }
    }
    workgroupBarrier();
  }
}

/**
 * modReLU of z = U h + x_t·kernel + bias from the half at \`cur\` into the half at \`nxt\` (with an
 * odd capacity U's output is rolled by one place: z_j comes from slot j + 1). No barrier.
 */
fn activate(row: u32, t: u32, lid: u32, cur: u32, nxt: u32${tape ? ', tape: u32' : ''}) {
  let n = params.n;
  let shift = params.cap % 2u;
  for (var q = 0u; q < PER; q++) {
    let j = lid + q * WG;
    if (j < n) {
      let src = cur + (j + shift) % n;
      let zr = sre[src] + projection(row, t, j);
      let zi = sim[src];
      ${tape ? 'if (tape != NO_TAPE) {\n        scratch[tape + j] = zr;\n        scratch[tape + n + j] = zi;\n      }' : ''}
      let r = sqrt(zr * zr + zi * zi) + EPS;
      let act = r + modBias[j];
      let scale = select(0.0, act / r, act > 0.0);
      sre[nxt + j] = zr * scale;
      sim[nxt + j] = zi * scale;
    }
  }
}

/** Zeroes the half at 0 (the initial state), no barrier. */
fn clearState(lid: u32) {
  for (var q = 0u; q < PER; q++) {
    sre[lid + q * WG] = 0.0;
    sim[lid + q * WG] = 0.0;
  }
}
`;

/**
 * The forward recurrence: the last state into `last` [batch, 2·N] or, with `allSteps`, every step's
 * state into `re` and `im` [batch, steps, N].
 */
const forwardCode = (allSteps: boolean) => `${forwardParts(false)}
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) w: vec3<u32>) {
  let lid = l.x;
  let row = w.x;
  let n = params.n;
  clearState(lid);
  workgroupBarrier();
  for (var t = 0u; t < params.steps; t++) {
    let cur = (t % 2u) * SLOTS;
    rotate(cur, lid);
    activate(row, t, lid, cur, SLOTS - cur);${
      allSteps
        ? `
    for (var q = 0u; q < PER; q++) {
      let j = lid + q * WG;
      if (j < n) {
        re[(row * params.steps + t) * n + j] = sre[SLOTS - cur + j];
        im[(row * params.steps + t) * n + j] = sim[SLOTS - cur + j];
      }
    }`
        : ''
    }
    workgroupBarrier();
  }${
    allSteps
      ? ''
      : `
  let fin = (params.steps % 2u) * SLOTS;
  for (var q = 0u; q < PER; q++) {
    let j = lid + q * WG;
    if (j < n) {
      last[row * 2u * n + j] = sre[fin + j];
      last[row * 2u * n + n + j] = sim[fin + j];
    }
  }`
  }
}`;

/**
 * Back through time for one batch row. The gradient g = dL/dh lives in `gre`/`gim` in two halves
 * (modReLU's backward writes it rolled by one place with an odd capacity); u, the unitary layer's
 * output being undone, reuses the state's first half.
 */
const BACKWARD_CODE = `${forwardParts(true)}
const NO_TAPE: u32 = 0xffffffffu;
var<workgroup> gre: array<f32, 2u * SLOTS>;
var<workgroup> gim: array<f32, 2u * SLOTS>;

/** The unitary layer's backward on g (half at \`gb\`) and u, in place, from its last sublayer. */
fn unrotate(gb: u32, lid: u32, dAngles: ptr<function, array<f32, 2u * CAP * PER>>) {
  let n = params.n;
  let h = n / 2u;
  let cap = CAP;
  for (var ii = 0u; ii < cap; ii++) {
    let i = cap - 1u - ii;
    let off = i % 2u;
    for (var q = 0u; q < PER; q++) {
      let k = lid + q * WG;
      if (k < h) {
        let a0 = 2u * k + off;
        let a1 = (2u * k + off + 1u) % n;
        let o = (i * h + k) * 4u;
        let c = coef[o];
        let s = coef[o + 1u];
        let cp = coef[o + 2u];
        let sp = coef[o + 3u];
        let y0r = sre[a0];
        let y0i = sim[a0];
        let y1r = sre[a1];
        let y1i = sim[a1];
        let g0r = gre[gb + a0];
        let g0i = gim[gb + a0];
        let g1r = gre[gb + a1];
        let g1i = gim[gb + a1];
        // t = e^{−iφ} y0, gt = e^{−iφ} g0
        let tr = cp * y0r + sp * y0i;
        let ti = cp * y0i - sp * y0r;
        let gtr = cp * g0r + sp * g0i;
        let gti = cp * g0i - sp * g0r;
        (*dAngles)[2u * (q * CAP + i)] += g0i * y0r - g0r * y0i;
        (*dAngles)[2u * (q * CAP + i) + 1u] += g1r * tr + g1i * ti - gtr * y1r - gti * y1i;
        gre[gb + a0] = c * gtr + s * g1r;
        gim[gb + a0] = c * gti + s * g1i;
        gre[gb + a1] = c * g1r - s * gtr;
        gim[gb + a1] = c * g1i - s * gti;
        sre[a0] = c * tr + s * y1r;
        sim[a0] = c * ti + s * y1i;
        sre[a1] = c * y1r - s * tr;
        sim[a1] = c * y1i - s * ti;
      }
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) w: vec3<u32>) {
  let lid = l.x;
  let row = w.x;
  let n = params.n;
  let cap = params.cap;
  let steps = params.steps;
  let seg = params.seg;
  let shift = cap % 2u;
  let base = row * (params.segs + seg) * 2u * n; // this row's scratch
  let tapeAt = base + params.segs * 2u * n;
  let nf = params.features;
  // this row's gradient sums: angles [N, cap], modReLU bias [N], bias [N], kernel [features, N]
  let acc = row * (cap + 2u + nf) * n;
  var dAngles: array<f32, 2u * CAP * PER>; // (φ, θ) of the thread's mixing units
  var dMod: array<f32, PER>;
  var dBias: array<f32, PER>;
  for (var q = 0u; q < PER; q++) {
    let j = lid + q * WG;
    if (j < n) {
      for (var f = 0u; f < nf; f++) { rows[acc + (cap + 2u + f) * n + j] = 0.0; }
    }
  }

  // forward, keeping the state before every segment
  clearState(lid);
  workgroupBarrier();
  for (var t = 0u; t < steps; t++) {
    let cur = (t % 2u) * SLOTS;
    if (t % seg == 0u) {
      for (var q = 0u; q < PER; q++) {
        let j = lid + q * WG;
        if (j < n) {
          scratch[base + (t / seg) * 2u * n + j] = sre[cur + j];
          scratch[base + (t / seg) * 2u * n + n + j] = sim[cur + j];
        }
      }
      workgroupBarrier(); // before rotate() changes the state
    }
    rotate(cur, lid);
    activate(row, t, lid, cur, SLOTS - cur, NO_TAPE);
    workgroupBarrier();
  }

  // g = dL/dh_T
  for (var q = 0u; q < PER; q++) {
    let j = lid + q * WG;
    if (j < n) {
      gre[j] = dy[row * 2u * n + j];
      gim[j] = dy[row * 2u * n + n + j];
    }
  }
  var gc = 0u; // the half of g holding dL/dh_t
  for (var si = 0u; si < params.segs; si++) {
    let s = params.segs - 1u - si;
    let t0 = s * seg;
    let t1 = min(t0 + seg, steps);
    // the segment's forward again, from its checkpoint, keeping z
    for (var q = 0u; q < PER; q++) {
      let j = lid + q * WG;
      if (j < n) {
        sre[j] = scratch[base + s * 2u * n + j];
        sim[j] = scratch[base + s * 2u * n + n + j];
      }
    }
    workgroupBarrier();
    for (var t = t0; t < t1; t++) {
      let cur = ((t - t0) % 2u) * SLOTS;
      rotate(cur, lid);
      activate(row, t, lid, cur, SLOTS - cur, tapeAt + (t - t0) * 2u * n);
      workgroupBarrier();
    }
    // back through the segment
    for (var ti = t0; ti < t1; ti++) {
      let t = t1 - 1u - (ti - t0);
      let gn = SLOTS - gc;
      let zAt = tapeAt + (t - t0) * 2u * n;
      for (var q = 0u; q < PER; q++) {
        let j = lid + q * WG;
        if (j < n) {
          // modReLU backward; u = z − x_t·kernel − bias is the unitary layer's output
          let zr = scratch[zAt + j];
          let zi = scratch[zAt + n + j];
          let gr = gre[gc + j];
          let gi = gim[gc + j];
          let m = sqrt(zr * zr + zi * zi);
          let r = m + EPS;
          let bm = modBias[j];
          let act = r + bm;
          var dr = 0.0;
          var di = 0.0;
          if (act > 0.0) {
            let dot = gr * zr + gi * zi;
            dMod[q] += dot / r;
            let k2 = (bm * dot) / (r * r * max(m, 1e-30));
            dr = gr * (act / r) - k2 * zr;
            di = gi * (act / r) - k2 * zi;
          }
          dBias[q] += dr;
          dz[(row * steps + t) * n + j] = dr;
          // the projection again, and dkernel[k, j] += x_t[k]·dr
          let xo = (row * steps + t) * nf;
          var proj = bias[j];
          for (var k = 0u; k < nf; k++) {
            let xk = x[xo + k];
            proj += win[k * n + j] * xk;
            rows[acc + (cap + 2u + k) * n + j] += xk * dr;
          }
          let to = (j + shift) % n;
          sre[to] = zr - proj;
          sim[to] = zi;
          gre[gn + to] = dr;
          gim[gn + to] = di;
        }
      }
      workgroupBarrier();
      gc = gn;
      // the first step's unitary layer acts on the zero state
      if (t > 0u) { unrotate(gc, lid, &dAngles); }
    }
  }
  for (var q = 0u; q < PER; q++) {
    let j = lid + q * WG;
    if (j < n) {
      rows[acc + cap * n + j] = dMod[q];
      rows[acc + (cap + 1u) * n + j] = dBias[q];
    }
    let k = lid + q * WG;
    if (k < n / 2u) {
      for (var i = 0u; i < cap; i++) {
        rows[acc + 2u * k * cap + i] = dAngles[2u * (q * CAP + i)];
        rows[acc + (2u * k + 1u) * cap + i] = dAngles[2u * (q * CAP + i) + 1u];
      }
    }
  }
}`;

/** Sums the rows' gradient parts over the batch into the angles', modReLU bias', bias' and kernel's gradients. */
const BATCH_SUM_CODE = `
@compute @workgroup_size(${SMALL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = params.n;
  let cap = params.cap;
  let width = (cap + 2u + params.features) * n;
  let e = gid.x;
  if (e >= width) { return; }
  var s = 0.0;
  for (var b = 0u; b < params.batch; b++) { s += rows[b * width + e]; }
  if (e < cap * n) {
    dAngles[e] = s;
  } else if (e < (cap + 1u) * n) {
    dModBias[e - cap * n] = s;
  } else if (e < (cap + 2u) * n) {
    dBias[e - (cap + 1u) * n] = s;
  } else {
    dKernel[e - (cap + 2u) * n] = s;
  }
}`;

/** dx = dz·kernelᵀ: one thread per (batch row, step, feature), over a grid of \`params.across\` threads per row of workgroups. */
const DX_CODE = `
@compute @workgroup_size(${SMALL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = params.n;
  let nf = params.features;
  let e = gid.y * params.across + gid.x;
  if (e >= params.total) { return; }
  let at = (e / nf) * n;
  let k = e % nf;
  var s = 0.0;
  for (var j = 0u; j < n; j++) { s += dz[at + j] * win[k * n + j]; }
  dx[e] = s;
}`;

function sizeParams(d: Sizes): WgslParam[] {
  return [u32('steps', d.steps), u32('features', d.features), u32('n', d.hiddenSize), u32('cap', d.capacity)];
}

/** The forward recurrence: h_T [batch, 2·N], or with `allSteps` every step's [batch, steps, N] real and imaginary parts. */
function forward(backend: KernelBackend, ins: Inputs, allSteps: boolean): TensorInfo[] {
  const name = allSteps ? EURNN_STATES : EURNN_SEQUENCE;
  const d = sizesOf(name, ins);
  const header = layout(backend, name, d.hiddenSize, 4);
  if (allSteps) checkBinding(backend, name, "every step's state", d.batch * d.steps * d.hiddenSize);
  const coef = coefficients(backend, name, ins.angles, d);
  const out = runWgsl(backend, {
    name,
    code: `${header}\n${forwardCode(allSteps)}`,
    inputs: [
      { name: 'x', tensor: ins.x },
      { name: 'win', tensor: ins.kernel },
      { name: 'bias', tensor: ins.bias },
      { name: 'modBias', tensor: ins.modBias },
      { name: 'coef', tensor: coef },
    ],
    outputs: allSteps
      ? [
          { name: 're', shape: [d.batch, d.steps, d.hiddenSize] },
          { name: 'im', shape: [d.batch, d.steps, d.hiddenSize] },
        ]
      : [{ name: 'last', shape: [d.batch, 2 * d.hiddenSize] }],
    params: sizeParams(d),
    workgroups: [d.batch],
  });
  disposeIntermediates(backend, coef);
  return out;
}

function backward(backend: KernelBackend, ins: Inputs): TensorInfo[] {
  const d = sizesOf(EURNN_SEQUENCE_GRAD, ins);
  const { batch, steps, features, hiddenSize: n, capacity: cap } = d;
  if (ins.dy.shape.join() !== [batch, 2 * n].join()) {
    throw new Error(`${EURNN_SEQUENCE_GRAD}: dy must be [${batch}, ${2 * n}] (got shape [${ins.dy.shape.join(', ')}])`);
  }
  // the capacity fixes the size of each thread's angle sums
  const header = `${layout(backend, EURNN_SEQUENCE_GRAD, n, 8)}\nconst CAP: u32 = ${cap}u;`;
  const seg = Math.ceil(Math.sqrt(steps));
  const segs = Math.ceil(steps / seg);
  checkBinding(backend, EURNN_SEQUENCE_GRAD, 'dz of every step', batch * steps * n);
  checkBinding(backend, EURNN_SEQUENCE_GRAD, 'the checkpoints and tape', batch * (segs + seg) * 2 * n);
  const coef = coefficients(backend, EURNN_SEQUENCE_GRAD, ins.angles, d);
  const [dz, rows, scratch] = runWgsl(backend, {
    name: EURNN_SEQUENCE_GRAD,
    code: `${header}\n${BACKWARD_CODE}`,
    inputs: [
      { name: 'x', tensor: ins.x },
      { name: 'win', tensor: ins.kernel },
      { name: 'bias', tensor: ins.bias },
      { name: 'modBias', tensor: ins.modBias },
      { name: 'coef', tensor: coef },
      { name: 'dy', tensor: ins.dy },
    ],
    outputs: [
      { name: 'dz', shape: [batch * steps, n] },
      { name: 'rows', shape: [batch, (cap + 2 + features) * n] },
      { name: 'scratch', shape: [batch * (segs + seg) * 2 * n] },
    ],
    params: [...sizeParams(d), u32('seg', seg), u32('segs', segs)],
    workgroups: [batch],
  });
  const total = batch * steps * features;
  const groups = Math.ceil(total / SMALL_WORKGROUP);
  const limit = deviceLimit(backend, 'maxComputeWorkgroupsPerDimension');
  const across = Math.min(groups, limit);
  const [dx] = runWgsl(backend, {
    name: `${EURNN_SEQUENCE_GRAD}Dx`,
    code: DX_CODE,
    inputs: [
      { name: 'dz', tensor: dz },
      { name: 'win', tensor: ins.kernel },
    ],
    outputs: [{ name: 'dx', shape: [batch, steps, features] }],
    params: [u32('n', n), u32('features', features), u32('total', total), u32('across', across * SMALL_WORKGROUP)],
    workgroups: [across, Math.ceil(groups / across)],
  });
  const [dAngles, dModBias, dBias, dKernel] = runWgsl(backend, {
    name: `${EURNN_SEQUENCE_GRAD}BatchSum`,
    code: BATCH_SUM_CODE,
    inputs: [{ name: 'rows', tensor: rows }],
    outputs: [
      { name: 'dAngles', shape: [n, cap] },
      { name: 'dModBias', shape: [n] },
      { name: 'dBias', shape: [n] },
      { name: 'dKernel', shape: [features, n] },
    ],
    params: [u32('batch', batch), u32('n', n), u32('cap', cap), u32('features', features)],
    workgroups: [Math.ceil(((cap + 2 + features) * n) / SMALL_WORKGROUP)],
  });
  disposeIntermediates(backend, coef, dz, rows, scratch);
  return [dx, dKernel, dBias, dAngles, dModBias];
}

/**
 * Every step's state of every sample on the webgpu backend: [batch, steps, N] real and imaginary
 * parts, computed on the GPU as eurnnStatesJs computes them on the CPU. For inference only (no
 * gradient): EURNNSteps (lib/models/eurnn.ts) on webgpu, where the CPU cannot read the weights
 * synchronously.
 * @see notebooks/06-compare.ipynb
 */
export function eurnnStatesWebgpu(
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor,
  angles: tf.Tensor,
  modBias: tf.Tensor,
): { re: tf.Tensor3D; im: tf.Tensor3D } {
  eurnnShapes(x.shape, kernel.shape, bias.shape, angles.shape, modBias.shape);
  requireKernel(EURNN_STATES);
  const [re, im] = tf.engine().runKernel(EURNN_STATES, { x, kernel, bias, angles, modBias }, {}) as tf.Tensor3D[];
  return { re, im };
}

const KERNELS: Array<[string, (backend: KernelBackend, inputs: Inputs) => TensorInfo | TensorInfo[]]> = [
  [EURNN_SEQUENCE, (backend, ins) => forward(backend, ins, false)[0]],
  [EURNN_SEQUENCE_GRAD, backward],
  [EURNN_STATES, (backend, ins) => forward(backend, ins, true)],
];

/**
 * EURNN_SEQUENCE, EURNN_SEQUENCE_GRAD and EURNN_STATES in WGSL for the webgpu backend, registered by
 * lib/kernels/all.ts when webgpu is selected.
 */
export const EURNN_WEBGPU_KERNELS: readonly tf.KernelConfig[] = KERNELS.map(([kernelName, run]) => ({
  kernelName,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend }) => run(backend as KernelBackend, inputs as Inputs),
}));
