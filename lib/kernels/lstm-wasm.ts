/**
 * The fused LSTM layer in WebAssembly SIMD, generated at run time for one (units, features) pair
 * and unrolled over both (units a multiple of 4 up to 32; other sizes use the JS version in
 * lstm.ts). Same arithmetic as lstmForwardJs/lstmBackwardJs, in float32 with four lanes and
 * Cephes-style exp/tanh (≈1e-7 absolute error). Work goes one sample at a time. The forward can
 * keep every step's activated gates and cell state (batch × steps × 5·units floats) for the
 * backward, which then reads them instead of running the sample's forward again; without them
 * (or for inference) a sample's gates and cell states (steps × 5·units floats) go to a scratch
 * area that stays in the cache. The module works in a memory of its own (lstmWasmForward,
 * lstmWasmBackward: arrays copied in and out) or in tfjs-wasm's heap, on tensors in place
 * (lstmWasmForwardAt, lstmWasmBackwardAt: lib/kernels/lstm.ts's LSTM_WASM_KERNELS).
 */
import { assembleModule, emitSigmoid, emitTanh, FunctionBuilder, I32, V128, wasmSimdAvailable } from './wasm-asm';

/** The arrays of one LSTM layer over a batch, row-major. */
export interface LstmForwardArrays {
  /** [batch, steps, features] inputs. */
  x: Float32Array;
  /** [features, 4·units] input kernel W. */
  kernel: Float32Array;
  /** [units, 4·units] recurrent kernel U. */
  recurrentKernel: Float32Array;
  /** [4·units] bias. */
  bias: Float32Array;
  batch: number;
  steps: number;
  features: number;
  units: number;
}

/** What the forward pass keeps for the backward: every step's activated gates and cell state. */
export interface LstmStates {
  /** [batch, steps, 4·units] activated gates i, f, g, o. */
  gates: Float32Array;
  /** [batch, steps, units] cell states c_t. */
  cell: Float32Array;
}

/** The forward pass's outputs when it keeps its states: h and the states. */
export interface LstmForwardResult extends LstmStates {
  /** [batch, steps, units] hidden states. */
  h: Float32Array;
}

/**
 * The backward pass's inputs: the forward's and dL/dh for every step, and optionally what the
 * forward kept (h, gates and cell, all three): without them each sample's forward is recomputed.
 */
export interface LstmBackwardArrays extends LstmForwardArrays, Partial<LstmForwardResult> {
  /** [batch, steps, units] gradient of the loss with respect to h_t. */
  dh: Float32Array;
}

/** The kept h, gates and cell of `a` (checked for size), or undefined when it has none. */
export function keptStates(a: LstmBackwardArrays): LstmForwardResult | undefined {
  const { h, gates, cell, batch, steps, units } = a;
  if (h === undefined && gates === undefined && cell === undefined) return undefined;
  const cells = batch * steps * units;
  if (h?.length !== cells || gates?.length !== 4 * cells || cell?.length !== cells) {
    throw new Error(
      `LSTM backward: the kept h, gates and cell must be [${batch}, ${steps}, ${units}], [${batch}, ${steps}, ${4 * units}] and [${batch}, ${steps}, ${units}] (got ${h?.length}, ${gates?.length}, ${cell?.length} floats)`,
    );
  }
  return { h, gates, cell };
}

/** Gradients of the loss with respect to the layer's inputs and weights. */
export interface LstmBackwardResult {
  /** [batch, steps, features] */
  dx: Float32Array;
  /** [features, 4·units] */
  dKernel: Float32Array;
  /** [units, 4·units] */
  dRecurrentKernel: Float32Array;
  /** [4·units] */
  dBias: Float32Array;
}

/** Hidden sizes the WebAssembly version handles (unrolled code grows with units²). */
export function lstmWasmSupports(units: number, features = 1): boolean {
  return units % 4 === 0 && units > 0 && units <= 32 && features >= 1 && features <= 64;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * forward(x, w, u, bias, h, gates, c, steps) for ONE sample: byte addresses of x [steps, features],
 * W [features, 4n], U [n, 4n], b [4n], and the outputs h [steps, n], gates [steps, 4n] (i, f, g, o
 * activated), c [steps, n].
 */
function buildForward(n: number, features: number): FunctionBuilder {
  const g4 = 4 * n;
  const nv = n / 4; // vectors per gate
  const f = new FunctionBuilder('forward', 8);
  const [X, W, U, BIAS, H, GATES, C, STEPS] = range(8);
  const t = f.local(I32);
  const acc = range(4 * nv).map(() => f.local(V128));
  const cell = range(nv).map(() => f.local(V128));
  const sv = f.local(V128);
  const [gi, gf, gg, go] = range(4).map(() => f.local(V128));
  const s = range(4).map(() => f.local(V128)) as [number, number, number, number];
  const s3 = s.slice(0, 3) as [number, number, number];

  for (const v of range(nv)) f.f32x4(0).set(cell[v]);
  f.i32(0).set(t);
  f.loop(() => {
    // z = b + x_t·W + h_{t−1}·U, one vector of four gate columns at a time
    for (const v of range(4 * nv))
      f.get(BIAS)
        .load(16 * v)
        .set(acc[v]);
    for (const k of range(features)) {
      f.get(X)
        .loadSplat(4 * k)
        .set(sv);
      for (const v of range(4 * nv))
        f.get(acc[v])
          .get(sv)
          .get(W)
          .load(4 * (k * g4 + 4 * v))
          .mul()
          .add()
          .set(acc[v]);
    }
    f.block(() => {
      f.get(t).i32Eqz().brIf(0);
      for (const k of range(n)) {
        f.get(H)
          .i32(-4 * n)
          .i32Add()
          .loadSplat(4 * k)
          .set(sv);
        for (const v of range(4 * nv))
          f.get(acc[v])
            .get(sv)
            .get(U)
            .load(4 * (k * g4 + 4 * v))
            .mul()
            .add()
            .set(acc[v]);
      }
    });
    for (const v of range(nv)) {
      emitSigmoid(f, acc[v], s3);
      f.set(gi);
      emitSigmoid(f, acc[nv + v], s3);
      f.set(gf);
      emitTanh(f, acc[2 * nv + v], s);
      f.set(gg);
      emitSigmoid(f, acc[3 * nv + v], s3);
      f.set(go);
      f.get(gf).get(cell[v]).mul().get(gi).get(gg).mul().add().set(cell[v]);
      f.get(H);
      emitTanh(f, cell[v], s);
      f.get(go)
        .mul()
        .store(16 * v);
      f.get(C)
        .get(cell[v])
        .store(16 * v);
      [gi, gf, gg, go].forEach((gate, q) =>
        f
          .get(GATES)
          .get(gate)
          .store(16 * (q * nv + v)),
      );
    }
    f.addTo(X, 4 * features)
      .addTo(GATES, 4 * g4)
      .addTo(H, 4 * n)
      .addTo(C, 4 * n);
    f.addTo(t, 1).get(t).get(STEPS).i32LtS().brIf(0);
  });
  return f;
}

/**
 * backward(x, dh, w, u, ut, h, gates, c, dz, dx, dw, du, db, steps) for ONE sample, from the h,
 * gates and c that forward() filled (kept, or recomputed just before): the per-step pointers (x, dh, h, gates, c, dx) point at the
 * sample's LAST step and walk backwards. `ut` is Uᵀ [4n, n]; `dz` is scratch of 4n floats; dw, du
 * and db are accumulated into.
 */
function buildBackward(n: number, features: number): FunctionBuilder {
  const g4 = 4 * n;
  const nv = n / 4;
  const f = new FunctionBuilder('backward', 14);
  const [X, DH, W, , UT, H, GATES, C, DZ, DX, DW, DU, DB, STEPS] = range(14);
  const t = f.local(I32);
  const dhNext = range(nv).map(() => f.local(V128));
  const dcNext = range(nv).map(() => f.local(V128));
  const dz = range(4 * nv).map(() => f.local(V128));
  const [gi, gf, gg, go, tc, dht, dct, cp, sv, notFirst] = range(10).map(() => f.local(V128));
  const s = range(4).map(() => f.local(V128)) as [number, number, number, number];
  const accumulate = (base: number, offset: number, scale: number | undefined, value: number) => {
    f.get(base).get(base).load(offset).get(value);
    if (scale !== undefined) f.get(scale).mul();
    f.add().store(offset);
  };

  for (const v of range(nv)) f.f32x4(0).set(dhNext[v]).f32x4(0).set(dcNext[v]);
  f.get(STEPS).i32(-1).i32Add().set(t);
  f.loop(() => {
    // all-ones lanes when t > 0: masks c_{t−1}, which is 0 at t = 0
    f.i32x4(-1).i32x4(0).get(t).i32(0).i32GtS().select().set(notFirst);
    for (const v of range(nv)) {
      [gi, gf, gg, go].forEach((gate, q) =>
        f
          .get(GATES)
          .load(16 * (q * nv + v))
          .set(gate),
      );
      f.get(C)
        .load(16 * v)
        .set(sv);
      emitTanh(f, sv, s);
      f.set(tc);
      f.get(DH)
        .load(16 * v)
        .get(dhNext[v])
        .add()
        .set(dht);
      // dc = dcNext + dh·o·(1 − tanh²c)
      f.get(dcNext[v]).get(dht).get(go).mul().f32x4(1).get(tc).get(tc).mul().sub().mul().add().set(dct);
      f.get(C)
        .i32(-4 * n)
        .i32Add()
        .load(16 * v)
        .get(notFirst)
        .and()
        .set(cp);
      // dz_i = dc·g·i(1−i), dz_f = dc·c_{t−1}·f(1−f), dz_g = dc·i·(1−g²), dz_o = dh·tanh(c)·o(1−o)
      f.get(dct).get(gg).mul().get(gi).mul().f32x4(1).get(gi).sub().mul().set(dz[v]);
      f.get(dct)
        .get(cp)
        .mul()
        .get(gf)
        .mul()
        .f32x4(1)
        .get(gf)
        .sub()
        .mul()
        .set(dz[nv + v]);
      f.get(dct)
        .get(gi)
        .mul()
        .f32x4(1)
        .get(gg)
        .get(gg)
        .mul()
        .sub()
        .mul()
        .set(dz[2 * nv + v]);
      f.get(dht)
        .get(tc)
        .mul()
        .get(go)
        .mul()
        .f32x4(1)
        .get(go)
        .sub()
        .mul()
        .set(dz[3 * nv + v]);
      f.get(dct).get(gf).mul().set(dcNext[v]);
      for (const q of range(4))
        f.get(DZ)
          .get(dz[q * nv + v])
          .store(16 * (q * nv + v));
    }
    // dx_t = dz·Wᵀ; dW += x_tᵀ·dz; db += dz
    for (const k of range(features)) {
      f.f32x4(0);
      for (const v of range(4 * nv))
        f.get(dz[v])
          .get(W)
          .load(4 * (k * g4 + 4 * v))
          .mul()
          .add();
      f.set(sv)
        .get(DX)
        .horizontalSum(sv)
        .f32Store(4 * k);
      f.get(X)
        .loadSplat(4 * k)
        .set(sv);
      for (const v of range(4 * nv)) accumulate(DW, 4 * (k * g4 + 4 * v), sv, dz[v]);
    }
    for (const v of range(4 * nv)) accumulate(DB, 16 * v, undefined, dz[v]);
    // dh_{t−1} = dz·Uᵀ
    for (const w of range(nv)) f.f32x4(0).set(dhNext[w]);
    for (const j of range(g4)) {
      f.get(DZ)
        .loadSplat(4 * j)
        .set(sv);
      for (const w of range(nv))
        f.get(dhNext[w])
          .get(sv)
          .get(UT)
          .load(4 * (j * n + 4 * w))
          .mul()
          .add()
          .set(dhNext[w]);
    }
    // dU += h_{t−1}ᵀ·dz (nothing at t = 0, where h_{t−1} = 0)
    f.block(() => {
      f.get(t).i32Eqz().brIf(0);
      for (const k of range(n)) {
        f.get(H)
          .i32(-4 * n)
          .i32Add()
          .loadSplat(4 * k)
          .set(sv);
        for (const v of range(4 * nv)) accumulate(DU, 4 * (k * g4 + 4 * v), sv, dz[v]);
      }
    });
    f.addTo(X, -4 * features)
      .addTo(DX, -4 * features)
      .addTo(DH, -4 * n)
      .addTo(H, -4 * n)
      .addTo(C, -4 * n)
      .addTo(GATES, -4 * g4);
    f.addTo(t, -1).get(t).i32(0).i32GeS().brIf(0);
  });
  return f;
}

/**
 * accumulate(src, total, vectors): total (float64) += src (float32), four floats a turn, and src ← 0:
 * a sample's gradient sums added up across samples in float64, as lstmBackwardJs does, without
 * a JS loop over (features + units + 1) × 4·units floats per sample (a sixth of lstm-row's step).
 */
function buildAccumulate(): FunctionBuilder {
  const f = new FunctionBuilder('accumulate', 3);
  const [SRC, TOTAL, VECTORS] = range(3);
  f.loop(() => {
    for (const half of [0, 1]) {
      f.get(TOTAL)
        .get(TOTAL)
        .load(16 * half)
        .get(SRC)
        .loadPairSplat(8 * half)
        .promoteLow()
        .f64x2Add()
        .store(16 * half);
    }
    f.get(SRC).f32x4(0).store(0);
    f.addTo(SRC, 16).addTo(TOTAL, 32).addTo(VECTORS, -1);
    f.get(VECTORS).i32(0).i32GtS().brIf(0);
  });
  return f;
}

interface LstmModule {
  forward(x: number, w: number, u: number, bias: number, h: number, gates: number, c: number, steps: number): void;
  backward(
    x: number,
    dh: number,
    w: number,
    u: number,
    ut: number,
    h: number,
    gates: number,
    c: number,
    dz: number,
    dx: number,
    dw: number,
    du: number,
    db: number,
    steps: number,
  ): void;
  accumulate(src: number, total: number, vectors: number): void;
}

let memory: WebAssembly.Memory | undefined;
/** The compiled modules by (units, features), and their instances by the memory they work in. */
const compiled = new Map<string, WebAssembly.Module>();
const instances = new WeakMap<WebAssembly.Memory, Map<string, LstmModule>>();
let available: boolean | undefined;

/** True when WebAssembly SIMD works here. */
export function lstmWasmAvailable(): boolean {
  return (available ??= wasmSimdAvailable());
}

function moduleFor(units: number, features: number, mem: WebAssembly.Memory): LstmModule {
  const key = `${units}x${features}`;
  let byKey = instances.get(mem);
  if (!byKey) instances.set(mem, (byKey = new Map()));
  let m = byKey.get(key);
  if (!m) {
    let module = compiled.get(key);
    if (!module) {
      module = new WebAssembly.Module(
        assembleModule([buildForward(units, features), buildBackward(units, features), buildAccumulate()]),
      );
      compiled.set(key, module);
    }
    m = new WebAssembly.Instance(module, { env: { memory: mem } }).exports as unknown as LstmModule;
    byKey.set(key, m);
  }
  return m;
}

/** Lays out float arrays in `mem` (default: the shared memory), 16-byte aligned after 64 bytes of slack. */
function layout(sizes: number[], mem: WebAssembly.Memory = memory!): { offsets: number[]; buffer: ArrayBuffer } {
  const offsets: number[] = [];
  let at = 64;
  for (const size of sizes) {
    offsets.push(at);
    at += Math.ceil((4 * size) / 16) * 16;
  }
  const needed = Math.ceil(at / 65536) - mem.buffer.byteLength / 65536;
  if (needed > 0) mem.grow(needed);
  return { offsets, buffer: mem.buffer };
}

function check(units: number, features: number, mem?: WebAssembly.Memory): LstmModule {
  if (!lstmWasmSupports(units, features)) {
    throw new Error(
      `the WebAssembly LSTM needs units a multiple of 4 up to 32 and 1–64 features (got ${units} units, ${features} features)`,
    );
  }
  return moduleFor(units, features, mem ?? (memory ??= new WebAssembly.Memory({ initial: 1 })));
}

/** A layer's sizes. */
export type LstmDims = Pick<LstmForwardArrays, 'batch' | 'steps' | 'features' | 'units'>;

/**
 * Byte addresses of the forward pass's arrays in a memory: x, kernel, recurrentKernel, bias as in
 * LstmForwardArrays, h [batch, steps, units], and gates and cell: [batch, steps, ·] when kept, else
 * one sample's scratch ([steps, ·]).
 */
export interface LstmForwardAt {
  x: number;
  kernel: number;
  recurrentKernel: number;
  bias: number;
  h: number;
  gates: number;
  cell: number;
}

/**
 * Byte addresses of the backward pass's arrays: the forward's (h, gates and cell [batch, steps, ·]
 * when kept, else one sample's scratch that the forward is recomputed into), dh, dx [batch, steps,
 * features], and scratch: ut (4·units × units floats), dz (4·units), grads ((features + units
 * + 1) × 4·units) and total (as many float64, 8-byte aligned).
 */
export interface LstmBackwardAt extends LstmForwardAt {
  dh: number;
  dx: number;
  ut: number;
  dz: number;
  grads: number;
  total: number;
}

function forwardAt(m: LstmModule, d: LstmDims, at: LstmForwardAt, keep: boolean): void {
  const { batch, steps, features, units: n } = d;
  for (let b = 0; b < batch; b++) {
    const s = keep ? b : 0;
    m.forward(
      at.x + 4 * features * steps * b,
      at.kernel,
      at.recurrentKernel,
      at.bias,
      at.h + 4 * n * steps * b,
      at.gates + 16 * n * steps * s,
      at.cell + 4 * n * steps * s,
      steps,
    );
  }
}

/** The gradients of the weights; dx is written at `at.dx`. */
function backwardAt(
  m: LstmModule,
  mem: WebAssembly.Memory,
  d: LstmDims,
  at: LstmBackwardAt,
  kept: boolean,
): Omit<LstmBackwardResult, 'dx'> {
  const { batch, steps, features, units: n } = d;
  const g4 = 4 * n;
  const u = new Float32Array(mem.buffer, at.recurrentKernel, n * g4);
  const ut = new Float32Array(mem.buffer, at.ut, g4 * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < g4; j++) ut[j * n + k] = u[k * g4 + j];
  // per-sample sums (float32, ≤ steps terms) are added up across samples in float64
  const size = (features + n + 1) * g4;
  new Float32Array(mem.buffer, at.grads, size).fill(0);
  const total = new Float64Array(mem.buffer, at.total, size).fill(0);
  const last = 4 * (steps - 1);
  for (let b = 0; b < batch; b++) {
    const xb = at.x + 4 * features * steps * b;
    const s = kept ? b : 0;
    const [hb, gb, cb] = [at.h + 4 * n * steps * s, at.gates + 4 * g4 * steps * s, at.cell + 4 * n * steps * s];
    if (!kept) m.forward(xb, at.kernel, at.recurrentKernel, at.bias, hb, gb, cb, steps);
    m.backward(
      xb + features * last,
      at.dh + 4 * n * steps * b + n * last,
      at.kernel,
      at.recurrentKernel,
      at.ut,
      hb + n * last,
      gb + g4 * last,
      cb + n * last,
      at.dz,
      at.dx + 4 * features * steps * b + features * last,
      at.grads,
      at.grads + 4 * features * g4,
      at.grads + 4 * (features + n) * g4,
      steps,
    );
    m.accumulate(at.grads, at.total, size / 4);
  }
  return {
    dKernel: Float32Array.from(total.subarray(0, features * g4)),
    dRecurrentKernel: Float32Array.from(total.subarray(features * g4, (features + n) * g4)),
    dBias: Float32Array.from(total.subarray((features + n) * g4)),
  };
}

/**
 * The forward pass in `mem` (tfjs-wasm's heap), on arrays already there: see LstmForwardAt. With
 * `keep`, gates and cell are kept for every sample.
 */
export function lstmWasmForwardAt(mem: WebAssembly.Memory, d: LstmDims, at: LstmForwardAt, keep: boolean): void {
  forwardAt(check(d.units, d.features, mem), d, at, keep);
}

/**
 * Floats of scratch lstmWasmBackwardAt needs beyond its arrays: ut, dz, grads, total (float64:
 * two floats each), and without kept states a sample's h, gates and cell.
 */
export function lstmWasmBackwardScratch(d: LstmDims, kept: boolean): number {
  const g4 = 4 * d.units;
  return g4 * d.units + g4 + 3 * (d.features + d.units + 1) * g4 + (kept ? 0 : 6 * d.units * d.steps);
}

/**
 * Backpropagation through time in `mem` (tfjs-wasm's heap), on arrays already there (see
 * LstmBackwardAt): from the kept states, or recomputing each sample's forward into scratch.
 * Writes dx; returns the weights' gradients.
 */
export function lstmWasmBackwardAt(
  mem: WebAssembly.Memory,
  d: LstmDims,
  at: LstmBackwardAt,
  kept: boolean,
): Omit<LstmBackwardResult, 'dx'> {
  return backwardAt(check(d.units, d.features, mem), mem, d, at, kept);
}

function forwardIn(a: LstmForwardArrays, keep: boolean): { h: Float32Array; gates: Float32Array; cell: Float32Array } {
  const { batch, steps, units: n, features } = a;
  const m = check(n, features);
  const g4 = 4 * n;
  const cells = batch * steps;
  const kept = keep ? batch : 1; // samples whose gates and cell states are kept (else one scratch)
  const sizes = [features * g4, n * g4, g4, features * cells, n * cells, g4 * steps * kept, n * steps * kept];
  const { offsets, buffer } = layout(sizes);
  const [wAt, uAt, bAt, xAt, hAt, gAt, cAt] = offsets;
  new Float32Array(buffer, wAt, features * g4).set(a.kernel);
  new Float32Array(buffer, uAt, n * g4).set(a.recurrentKernel);
  new Float32Array(buffer, bAt, g4).set(a.bias);
  new Float32Array(buffer, xAt, features * cells).set(a.x);
  const at = { x: xAt, kernel: wAt, recurrentKernel: uAt, bias: bAt, h: hAt, gates: gAt, cell: cAt };
  forwardAt(m, a, at, keep);
  return {
    h: new Float32Array(buffer, hAt, sizes[4]),
    gates: new Float32Array(buffer, gAt, sizes[5]),
    cell: new Float32Array(buffer, cAt, sizes[6]),
  };
}

/**
 * The forward pass (see lstmForwardJs); returns h [batch, steps, units]. With `copy` false the
 * result is a view of the module's memory, valid until the next call.
 */
export function lstmWasmForward(a: LstmForwardArrays, copy = true): Float32Array {
  const { h } = forwardIn(a, false);
  return copy ? h.slice() : h;
}

/**
 * The forward pass keeping its states for lstmWasmBackward: h, gates and cell (see
 * LstmForwardResult). With `copy` false they are views of the module's memory, valid until the next call.
 */
export function lstmWasmForwardKeeping(a: LstmForwardArrays, copy = true): LstmForwardResult {
  const r = forwardIn(a, true);
  return copy ? { h: r.h.slice(), gates: r.gates.slice(), cell: r.cell.slice() } : r;
}

/**
 * Backpropagation through time (see lstmBackwardJs), from the states the forward kept when `a` has
 * them, else recomputing each sample's forward first. With `copy` false, dx is a view (see
 * lstmWasmForward).
 */
export function lstmWasmBackward(a: LstmBackwardArrays, copy = true): LstmBackwardResult {
  const { batch, steps, units: n, features } = a;
  const m = check(n, features);
  const kept = keptStates(a);
  const g4 = 4 * n;
  const cells = batch * steps;
  const per = kept ? cells : steps; // floats per unit of h, gates and cell: all samples', or one's scratch
  const sizes = [
    features * g4,
    n * g4,
    g4 * n,
    g4,
    features * cells,
    n * cells,
    features * cells,
    n * per,
    g4 * per,
    n * per,
    g4,
    (features + n + 1) * g4,
    2 * (features + n + 1) * g4,
  ];
  const { offsets, buffer } = layout(sizes);
  const [wAt, uAt, utAt, bAt, xAt, dhAt, dxAt, hAt, gAt, cAt, dzAt, gradsAt, totalAt] = offsets;
  new Float32Array(buffer, wAt, features * g4).set(a.kernel);
  new Float32Array(buffer, uAt, n * g4).set(a.recurrentKernel);
  new Float32Array(buffer, bAt, g4).set(a.bias);
  new Float32Array(buffer, xAt, features * cells).set(a.x);
  new Float32Array(buffer, dhAt, n * cells).set(a.dh);
  if (kept) {
    new Float32Array(buffer, hAt, n * cells).set(kept.h);
    new Float32Array(buffer, gAt, g4 * cells).set(kept.gates);
    new Float32Array(buffer, cAt, n * cells).set(kept.cell);
  }
  const at = {
    x: xAt,
    kernel: wAt,
    recurrentKernel: uAt,
    bias: bAt,
    h: hAt,
    gates: gAt,
    cell: cAt,
    dh: dhAt,
    dx: dxAt,
    ut: utAt,
    dz: dzAt,
    grads: gradsAt,
    total: totalAt,
  };
  const grads = backwardAt(m, memory!, a, at, kept !== undefined);
  const dx = new Float32Array(buffer, dxAt, features * cells);
  return { dx: copy ? dx.slice() : dx, ...grads };
}

/** One layer's weights in a stack (LstmForwardArrays' kernel, recurrent kernel, bias and units). */
export type LstmLayerWeights = Pick<LstmForwardArrays, 'kernel' | 'recurrentKernel' | 'bias' | 'units'>;

/**
 * A stack of LSTM layers run forward over a batch, its states kept for `backward`: `h` is the top
 * layer's hidden states [batch, steps, units]; `backward(dh)` takes dL/dh of the top layer and
 * returns each layer's weight gradients, bottom first.
 */
export interface LstmStackPass {
  h: Float32Array;
  backward(dh: Float32Array): Omit<LstmBackwardResult, 'dx'>[];
}

let stackMemory: WebAssembly.Memory | undefined;
/** Stack passes begun: a pass's backward must come before the next pass's forward, which reuses the memory. */
let stackPasses = 0;

/**
 * lstmWasmForwardKeeping and lstmWasmBackward for stacked layers, with every array in one memory
 * of the stack's own: each layer reads the hidden states of the one below where they are and the
 * backward passes dx down in place, so nothing is copied between the layers (lstm-pixel keeps
 * 16 MB of states per layer). `h` is a view of that memory, and `backward` reads the states
 * there: both hold until the next stack's forward (a late backward is refused).
 */
export function lstmWasmStack(
  layers: LstmLayerWeights[],
  x: Float32Array,
  batch: number,
  steps: number,
  features: number,
): LstmStackPass {
  const mem = (stackMemory ??= new WebAssembly.Memory({ initial: 1 }));
  const dims: LstmDims[] = layers.map((l, i) => ({
    batch,
    steps,
    features: i ? layers[i - 1].units : features,
    units: l.units,
  }));
  const modules = dims.map((d) => check(d.units, d.features, mem));
  const cells = batch * steps;
  const widest = Math.max(...dims.map((d) => Math.max(d.features, d.units)));
  const scratch = Math.max(...dims.map((d) => lstmWasmBackwardScratch(d, true)));
  const sizes = [features * cells, widest * cells, widest * cells, scratch];
  for (const d of dims) {
    const g4 = 4 * d.units;
    sizes.push(d.features * g4, d.units * g4, g4, d.units * cells, g4 * cells, d.units * cells);
  }
  const { offsets, buffer } = layout(sizes, mem);
  const [xAt, dhAt, dxAt, scratchAt] = offsets;
  const at: LstmForwardAt[] = [];
  dims.forEach((_, i) => {
    const [kernel, recurrentKernel, bias, h, gates, cell] = offsets.slice(4 + 6 * i, 10 + 6 * i);
    at.push({ x: i ? at[i - 1].h : xAt, kernel, recurrentKernel, bias, h, gates, cell }); // the layer below's h
  });
  const pass = ++stackPasses;
  new Float32Array(buffer, xAt, x.length).set(x);
  layers.forEach((l, i) => {
    new Float32Array(buffer, at[i].kernel, l.kernel.length).set(l.kernel);
    new Float32Array(buffer, at[i].recurrentKernel, l.recurrentKernel.length).set(l.recurrentKernel);
    new Float32Array(buffer, at[i].bias, l.bias.length).set(l.bias);
  });
  dims.forEach((d, i) => forwardAt(modules[i], d, at[i], true));
  const top = dims[dims.length - 1];
  return {
    h: new Float32Array(buffer, at[at.length - 1].h, top.units * cells),
    backward(dh: Float32Array): Omit<LstmBackwardResult, 'dx'>[] {
      if (pass !== stackPasses)
        throw new Error('LSTM stack backward: another stack ran forward since, over its states');
      if (dh.length !== top.units * cells) {
        throw new Error(`LSTM stack backward: dh must be [${batch}, ${steps}, ${top.units}] (got ${dh.length} floats)`);
      }
      let [from, to] = [dhAt, dxAt];
      new Float32Array(mem.buffer, from, dh.length).set(dh);
      const out: Omit<LstmBackwardResult, 'dx'>[] = [];
      for (let i = dims.length - 1; i >= 0; i--) {
        const g4 = 4 * dims[i].units;
        const ut = scratchAt;
        const dz = ut + 4 * g4 * dims[i].units;
        const grads = dz + 4 * g4;
        const total = grads + 4 * (dims[i].features + dims[i].units + 1) * g4;
        // the bias enters only a recomputed forward: the kept gates have it already
        const where = { ...at[i], bias: 0, dh: from, dx: to, ut, dz, grads, total };
        out.unshift(backwardAt(modules[i], mem, dims[i], where, true));
        [from, to] = [to, from];
      }
      return out;
    },
  };
}
