/**
 * The tanh RNN recurrence of lib/kernels/tanh-rnn.ts in WebAssembly SIMD, generated at run time
 * for one (units, steps) pair. Each time step is a [batch, units] × [units, units] product
 * computed in register tiles of 4 rows × 12 columns (16 vector registers), with the step's input
 * share added before and the activation (or, going back, its derivative and the gradients' sums)
 * applied to the tile before it is stored: one pass over the step's data instead of a matMul, an
 * add and a tanh dispatched per step. Going back, the step's share hᵀ_{t−1}·dz_t of the recurrent
 * kernel's gradient is added while both are in cache.
 *
 * Arrays keep tfjs's [batch, steps, units] layout, so one step's rows are `steps·units` floats
 * apart. The functions take byte addresses in one memory: on the wasm backend, tfjs's own (the
 * tensors are read and written where they lie, no copies); elsewhere, a memory of this module's.
 */
import { assembleModule, emitTanh, FunctionBuilder, I32, V128, wasmSimdAvailable } from './wasm-asm';

/** Rows (samples) per register tile. */
const ROWS = 4;
/** Vectors of four columns per register tile. */
const COLS = 3;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Units the WebAssembly version handles: a multiple of 4 (whole vectors). */
export function tanhRnnWasmSupports(units: number): boolean {
  return Number.isInteger(units) && units > 0 && units % 4 === 0 && units <= 4096;
}

let simd: boolean | undefined;
/** True when this runtime has WebAssembly SIMD. */
export function tanhRnnWasmAvailable(): boolean {
  return (simd ??= wasmSimdAvailable());
}

/**
 * Emits a loop over the column blocks of a row tile: `body(cols)` computes one block of `cols`
 * vectors at byte offset `off` (a local) from the columns' start; full blocks loop, the remainder
 * is emitted once.
 */
function columnBlocks(f: FunctionBuilder, vectors: number, off: number, body: (cols: number) => void): void {
  const full = Math.floor(vectors / COLS);
  const rest = vectors % COLS;
  const count = f.local(I32);
  f.i32(0).set(off);
  if (full > 0) {
    f.i32(0).set(count);
    f.loop(() => {
      body(COLS);
      f.addTo(off, 16 * COLS)
        .addTo(count, 1)
        .get(count)
        .i32(full)
        .i32LtS()
        .brIf(0);
    });
  }
  if (rest > 0) body(rest);
}

/**
 * acc[r][c] += Σ_k A[r, k] · B[k, c] for k < K (K even, possibly 0): A's rows `aStride` bytes
 * apart from `aPtr`, B's rows `bStride` bytes apart from `bPtr + off`.
 */
function emitProduct(
  f: FunctionBuilder,
  rows: number,
  cols: number,
  acc: number[],
  vec: number[],
  splat: number,
  a: {
    aPtr: number;
    aStride: number;
    bPtr: number;
    bStride: number;
    off: number;
    k: number;
    ap: number;
    bp: number;
    kk: number;
  },
): void {
  f.block(() => {
    f.get(a.k).i32Eqz().brIf(0);
    f.get(a.aPtr).set(a.ap);
    f.get(a.bPtr).get(a.off).i32Add().set(a.bp);
    f.i32(0).set(a.kk);
    f.loop(() => {
      for (const u of [0, 1]) {
        for (const c of range(cols))
          f.get(a.bp)
            .load(u * a.bStride + 16 * c)
            .set(vec[c]);
        for (const r of range(rows)) {
          f.get(a.ap)
            .loadSplat(r * a.aStride + 4 * u)
            .set(splat);
          for (const c of range(cols))
            f.get(acc[r * COLS + c])
              .get(splat)
              .get(vec[c])
              .mul()
              .add()
              .set(acc[r * COLS + c]);
        }
      }
      f.addTo(a.ap, 8)
        .addTo(a.bp, 2 * a.bStride)
        .addTo(a.kk, 2)
        .get(a.kk)
        .get(a.k)
        .i32LtS()
        .brIf(0);
    });
  });
}

/**
 * forward{rows}(p, x, hPrev, hOut, k, u, w, b, scale): for `rows` samples of one step,
 * h_t = tanh(scale·p_t + x_t·w + b + h_{t−1}·U); k = units, or 0 at the first step (h_{−1} = 0).
 * `scale` points at the scale in four lanes. `linear`: linear{rows}, h_t = p_t + h_{t−1}·U (x, w,
 * b and scale unused).
 */
function buildForward(
  units: number,
  rowStride: number,
  xStride: number,
  rows: number,
  linear = false,
): FunctionBuilder {
  const f = new FunctionBuilder(`${linear ? 'linear' : 'forward'}${rows}`, 9);
  const [P, X, HP, HO, K, U, W, B, SCALE] = range(9);
  const acc = range(ROWS * COLS).map(() => f.local(V128));
  const vec = range(COLS).map(() => f.local(V128));
  const splat = f.local(V128);
  const scale = f.local(V128);
  const s = range(4).map(() => f.local(V128)) as [number, number, number, number];
  const [off, ap, bp, kk, at] = range(5).map(() => f.local(I32));
  if (!linear) f.get(SCALE).load(0).set(scale);
  columnBlocks(f, units / 4, off, (cols) => {
    // the input share: scale·p + x·w + b (linear: p)
    f.get(P).get(off).i32Add().set(at);
    if (linear) {
      for (const r of range(rows))
        for (const c of range(cols))
          f.get(at)
            .load(r * rowStride + 16 * c)
            .set(acc[r * COLS + c]);
    } else {
      for (const c of range(cols))
        f.get(W)
          .get(off)
          .i32Add()
          .load(16 * c)
          .set(vec[c]);
      for (const r of range(rows)) {
        f.get(X)
          .loadSplat(r * xStride)
          .set(splat);
        for (const c of range(cols)) {
          f.get(at)
            .load(r * rowStride + 16 * c)
            .get(scale)
            .mul();
          f.get(splat).get(vec[c]).mul().add();
          f.get(B)
            .get(off)
            .i32Add()
            .load(16 * c)
            .add();
          f.set(acc[r * COLS + c]);
        }
      }
    }
    emitProduct(f, rows, cols, acc, vec, splat, {
      aPtr: HP,
      aStride: rowStride,
      bPtr: U,
      bStride: 4 * units,
      off,
      k: K,
      ap,
      bp,
      kk,
    });
    f.get(HO).get(off).i32Add().set(at);
    for (const r of range(rows)) {
      for (const c of range(cols)) {
        f.get(at);
        if (linear) f.get(acc[r * COLS + c]);
        else emitTanh(f, acc[r * COLS + c], s);
        f.store(r * rowStride + 16 * c);
      }
    }
  });
  return f;
}

/**
 * backward{rows}(dzNext, ut, dh, h, p, x, dzOut, k, sums): for `rows` samples of step t,
 * dz_t = (dh_t + dz_{t+1}·Uᵀ) ⊙ (1 − h_t²), stored at dzOut; k = units, or 0 at the last step.
 * Adds Σ dz, Σ x·dz and Σ dz ⊙ p over the rows to the three `units`-long sums at `sums`.
 * `withDh` false: backwardNoDh{rows}, for steps whose dh is zero (dh unused). dh may be dzOut.
 */
function buildBackward(
  units: number,
  rowStride: number,
  xStride: number,
  rows: number,
  withDh = true,
): FunctionBuilder {
  const f = new FunctionBuilder(`${withDh ? 'backward' : 'backwardNoDh'}${rows}`, 9);
  const [DZN, UT, DH, H, P, X, DZ, K, SUMS] = range(9);
  const acc = range(ROWS * COLS).map(() => f.local(V128));
  const vec = range(COLS).map(() => f.local(V128));
  const splat = f.local(V128);
  const t1 = f.local(V128);
  const [off, ap, bp, kk, at] = range(5).map(() => f.local(I32));
  const n4 = 4 * units;
  columnBlocks(f, units / 4, off, (cols) => {
    for (const r of range(rows)) for (const c of range(cols)) f.f32x4(0).set(acc[r * COLS + c]);
    emitProduct(f, rows, cols, acc, vec, splat, {
      aPtr: DZN,
      aStride: rowStride,
      bPtr: UT,
      bStride: n4,
      off,
      k: K,
      ap,
      bp,
      kk,
    });
    // dz = (dh + carry)(1 − h²), stored
    for (const r of range(rows)) {
      for (const c of range(cols)) {
        const o = r * rowStride + 16 * c;
        const v = acc[r * COLS + c];
        f.get(H).get(off).i32Add().load(o).set(t1);
        if (withDh) f.get(DH).get(off).i32Add().load(o).get(v).add();
        else f.get(v);
        f.f32x4(1).get(t1).get(t1).mul().sub().mul().set(v);
        f.get(DZ).get(off).i32Add().get(v).store(o);
      }
    }
    // the step's sums over its rows: Σ dz (bias), Σ x·dz (input kernel), Σ dz·p (scale)
    f.get(SUMS).get(off).i32Add().set(at);
    for (const c of range(cols)) {
      f.f32x4(0).set(vec[c]);
    }
    for (const [part, term] of [
      [0, (r: number, c: number) => void f.get(acc[r * COLS + c])],
      [
        1,
        (r: number, c: number) =>
          void f
            .get(acc[r * COLS + c])
            .get(splat)
            .mul(),
      ],
      [
        2,
        (r: number, c: number) =>
          void f
            .get(acc[r * COLS + c])
            .get(P)
            .get(off)
            .i32Add()
            .load(r * rowStride + 16 * c)
            .mul(),
      ],
    ] as [number, (r: number, c: number) => void][]) {
      for (const c of range(cols))
        f.get(at)
          .load(part * n4 + 16 * c)
          .set(vec[c]);
      for (const r of range(rows)) {
        if (part === 1)
          f.get(X)
            .loadSplat(r * xStride)
            .set(splat);
        for (const c of range(cols)) {
          f.get(vec[c]);
          term(r, c);
          f.add().set(vec[c]);
        }
      }
      for (const c of range(cols))
        f.get(at)
          .get(vec[c])
          .store(part * n4 + 16 * c);
    }
  });
  return f;
}

/**
 * gradU(hPrev, dz, du, b): du[k0 + r, :] += Σ_samples hPrev[s, k0 + r] · dz[s, :] for the 4 rows
 * of the recurrent kernel's gradient at `du` (hPrev points at column k0), over `b` samples.
 */
function buildGradU(units: number, rowStride: number): FunctionBuilder {
  const f = new FunctionBuilder('gradU', 4);
  const [HP, DZ, DU, B] = range(4);
  const acc = range(ROWS * COLS).map(() => f.local(V128));
  const vec = range(COLS).map(() => f.local(V128));
  const splat = f.local(V128);
  const [off, ap, bp, kk, out] = range(5).map(() => f.local(I32));
  const stride = 4 * units;
  columnBlocks(f, units / 4, off, (cols) => {
    f.get(DU).get(off).i32Add().set(out);
    for (const r of range(ROWS))
      for (const c of range(cols))
        f.get(out)
          .load(r * stride + 16 * c)
          .set(acc[r * COLS + c]);
    f.get(HP).set(ap);
    f.get(DZ).get(off).i32Add().set(bp);
    f.i32(0).set(kk);
    f.loop(() => {
      for (const c of range(cols))
        f.get(bp)
          .load(16 * c)
          .set(vec[c]);
      for (const r of range(ROWS)) {
        f.get(ap)
          .loadSplat(4 * r)
          .set(splat);
        for (const c of range(cols))
          f.get(acc[r * COLS + c])
            .get(splat)
            .get(vec[c])
            .mul()
            .add()
            .set(acc[r * COLS + c]);
      }
      f.addTo(ap, rowStride).addTo(bp, rowStride).addTo(kk, 1).get(kk).get(B).i32LtS().brIf(0);
    });
    for (const r of range(ROWS))
      for (const c of range(cols))
        f.get(out)
          .get(acc[r * COLS + c])
          .store(r * stride + 16 * c);
  });
  return f;
}

/** scaleRows(ptr, rows, scale): multiplies `rows` rows of one step (rowStride apart) by the scale at `scale`. */
function buildScaleRows(units: number, rowStride: number): FunctionBuilder {
  const f = new FunctionBuilder('scaleRows', 3);
  const [PTR, N, SCALE] = range(3);
  const scale = f.local(V128);
  const [r, at] = range(2).map(() => f.local(I32));
  f.get(SCALE).load(0).set(scale);
  f.i32(0).set(r);
  f.get(PTR).set(at);
  f.loop(() => {
    for (let v = 0; v < units / 4; v++)
      f.get(at)
        .get(at)
        .load(16 * v)
        .get(scale)
        .mul()
        .store(16 * v);
    f.addTo(at, rowStride).addTo(r, 1).get(r).get(N).i32LtS().brIf(0);
  });
  return f;
}

type Fn = (...args: number[]) => void;

/** Byte addresses of a forward pass's arrays (all in the instance's memory). */
export interface ForwardAt {
  /** [batch, steps, units] */
  p: number;
  /** [batch, steps] */
  x: number;
  /** [units] */
  w: number;
  /** [units] */
  b: number;
  /** [units, units] */
  u: number;
  /** 16 bytes: the scale in four lanes. */
  scale: number;
  /** [batch, steps, units] output. */
  h: number;
}

/** Byte addresses of a backward pass's arrays. */
export interface BackwardAt {
  /** [batch, steps, units] input (unused with dhLast). */
  dh: number;
  /** [batch, units]: dh of the last step, all others zero (instead of dh). */
  dhLast?: number;
  h: number;
  p: number;
  /** [batch, steps] */
  x: number;
  /** Uᵀ [units, units] (filled by the caller). */
  ut: number;
  scale: number;
  /** [batch, steps, units] output: scale·dz. */
  dp: number;
  /** [units, units] output, zeroed by the caller: Σ_t h_{t−1}ᵀ dz_t. */
  du: number;
  /** [3·units] scratch: one step's sums. */
  sums: number;
}

/** One generated module on one memory, for (units, steps). */
export class TanhRnnWasm {
  private readonly fns: Record<string, Fn>;
  private readonly rowStride: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly units: number,
    readonly steps: number,
  ) {
    if (!tanhRnnWasmSupports(units)) throw new Error(`tanh RNN (wasm): units must be a multiple of 4 (got ${units})`);
    this.rowStride = 4 * steps * units;
    const xStride = 4 * steps;
    const fns = [
      ...range(ROWS).flatMap((r) => [
        buildForward(units, this.rowStride, xStride, r + 1),
        buildForward(units, this.rowStride, xStride, r + 1, true),
        buildBackward(units, this.rowStride, xStride, r + 1),
        buildBackward(units, this.rowStride, xStride, r + 1, false),
      ]),
      buildGradU(units, this.rowStride),
      buildScaleRows(units, this.rowStride),
    ];
    this.fns = new WebAssembly.Instance(new WebAssembly.Module(assembleModule(fns)), { env: { memory } })
      .exports as unknown as Record<string, Fn>;
  }

  /** h for `batch` sequences. */
  forward(at: ForwardAt, batch: number): void {
    const n = this.units;
    const step = 4 * n;
    const rs = this.rowStride;
    for (let t = 0; t < this.steps; t++) {
      for (let b0 = 0; b0 < batch; b0 += ROWS) {
        const rows = Math.min(ROWS, batch - b0);
        const row = b0 * rs + t * step;
        const prev = t === 0 ? row : row - step;
        this.fns[`forward${rows}`](
          at.p + row,
          at.x + 4 * (b0 * this.steps + t),
          at.h + prev,
          at.h + row,
          t === 0 ? 0 : n,
          at.u,
          at.w,
          at.b,
          at.scale,
        );
      }
    }
  }

  /**
   * The states before each step of the linear recurrence s_{t+1} = g_t + s_t·M, s_0 = 0, for
   * `batch` sequences: g and s [batch, steps, units], M [units, units] (s may not overlap g).
   */
  linearScan(at: { g: number; m: number; s: number }, batch: number): void {
    const n = this.units;
    const step = 4 * n;
    const rs = this.rowStride;
    for (let b0 = 0; b0 < batch; b0 += ROWS) {
      const rows = Math.min(ROWS, batch - b0);
      for (let r = 0; r < rows; r++) new Float32Array(this.memory.buffer, at.s + (b0 + r) * rs, n).fill(0);
      for (let t = 0; t + 1 < this.steps; t++) {
        const row = b0 * rs + t * step;
        this.fns[`linear${rows}`](at.g + row, 0, at.s + row, at.s + row + step, n, at.m, 0, 0, 0);
      }
    }
  }

  /**
   * dp = scale·dz and du (accumulated), and the sums Σ dz (db), Σ x·dz (dw), Σ dz ⊙ p (dscale)
   * in float64, for `batch` sequences; `scale` is the number at `at.scale`.
   */
  backward(at: BackwardAt, batch: number, scale: number): { db: Float64Array; dw: Float64Array; dscale: number } {
    const n = this.units;
    const step = 4 * n;
    const rs = this.rowStride;
    const db = new Float64Array(n);
    const dw = new Float64Array(n);
    let dscale = 0;
    const lastStep = (this.steps - 1) * step;
    if (at.dhLast !== undefined) {
      // dh is zero but at the last step: put it where that step's dz goes, and read it from there
      const src = new Float32Array(this.memory.buffer, at.dhLast, batch * n);
      for (let b = 0; b < batch; b++)
        new Float32Array(this.memory.buffer, at.dp + b * rs + lastStep, n).set(src.subarray(b * n, (b + 1) * n));
    }
    for (let t = this.steps - 1; t >= 0; t--) {
      new Float32Array(this.memory.buffer, at.sums, 3 * n).fill(0);
      const last = t === this.steps - 1;
      const dh = at.dhLast === undefined ? at.dh : at.dp;
      const fn = at.dhLast === undefined || last ? 'backward' : 'backwardNoDh';
      for (let b0 = 0; b0 < batch; b0 += ROWS) {
        const rows = Math.min(ROWS, batch - b0);
        const row = b0 * rs + t * step;
        this.fns[`${fn}${rows}`](
          at.dp + (last ? row : row + step),
          at.ut,
          dh + row,
          at.h + row,
          at.p + row,
          at.x + 4 * (b0 * this.steps + t),
          at.dp + row,
          last ? 0 : n,
          at.sums,
        );
      }
      // dU += h_{t−1}ᵀ dz_t
      if (t > 0)
        for (let k0 = 0; k0 < n; k0 += ROWS)
          this.fns.gradU(at.h + (t - 1) * step + 4 * k0, at.dp + t * step, at.du + k0 * step, batch);
      // dz_{t+1} has had its last use: scale it
      if (!last && scale !== 1) this.fns.scaleRows(at.dp + (t + 1) * step, batch, at.scale);
      const sums = new Float32Array(this.memory.buffer, at.sums, 3 * n);
      for (let j = 0; j < n; j++) {
        db[j] += sums[j];
        dw[j] += sums[n + j];
        dscale += sums[2 * n + j];
      }
    }
    if (scale !== 1) this.fns.scaleRows(at.dp, batch, at.scale);
    return { db, dw, dscale };
  }
}

const instances = new WeakMap<WebAssembly.Memory, Map<string, TanhRnnWasm>>();

/** The module for (units, steps) on `memory` (one per memory: tfjs's, per thread, or our own). */
export function tanhRnnWasm(memory: WebAssembly.Memory, units: number, steps: number): TanhRnnWasm {
  let byShape = instances.get(memory);
  if (!byShape) instances.set(memory, (byShape = new Map()));
  const key = `${units}/${steps}`;
  let inst = byShape.get(key);
  if (!inst) byShape.set(key, (inst = new TanhRnnWasm(memory, units, steps)));
  return inst;
}
