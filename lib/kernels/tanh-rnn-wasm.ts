/**
 * The tanh RNN recurrence (lib/kernels/tanh-rnn.ts) in WebAssembly SIMD, generated at run time for
 * one (units, steps) pair. Each time step is a [batch, units] × [units, units] product computed in
 * register tiles of 4 rows × 12 columns (16 of the 16 vector registers), with the activation (or,
 * going back, its derivative) applied to the tile before it is stored: one pass over the step's
 * data instead of a matMul, an add and a tanh dispatched per step. Going back, the step's
 * contribution hᵀ_{t−1}·dz_t to the recurrent kernel's gradient is added while both are in cache.
 * Arrays keep tfjs's [batch, steps, units] layout, so a step's rows are `steps·units` floats apart.
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
      f.addTo(off, 16 * COLS).addTo(count, 1).get(count).i32(full).i32LtS().brIf(0);
    });
  }
  if (rest > 0) body(rest);
}

/**
 * acc[r][c] += Σ_k A[r, k] · B[k, c], k < K (K a multiple of 2, possibly 0): A's rows `aStride`
 * bytes apart from `aPtr`, B's rows `bStride` bytes apart from `bPtr + off`.
 */
function emitProduct(
  f: FunctionBuilder,
  rows: number,
  cols: number,
  acc: number[],
  vec: number[],
  splat: number,
  args: { aPtr: number; aStride: number; bPtr: number; bStride: number; off: number; k: number; kStep: number; ap: number; bp: number; kk: number },
): void {
  const { aPtr, aStride, bPtr, bStride, off, k, kStep, ap, bp, kk } = args;
  f.block(() => {
    f.get(k).i32Eqz().brIf(0);
    f.get(aPtr).set(ap);
    f.get(bPtr).get(off).i32Add().set(bp);
    f.i32(0).set(kk);
    f.loop(() => {
      for (const u of [0, 1]) {
        for (const c of range(cols)) f.get(bp).load(u * bStride + 16 * c).set(vec[c]);
        for (const r of range(rows)) {
          f.get(ap).loadSplat(r * aStride + u * kStep).set(splat);
          for (const c of range(cols)) f.get(acc[r * COLS + c]).get(splat).get(vec[c]).mul().add().set(acc[r * COLS + c]);
        }
      }
      f.addTo(ap, 2 * kStep).addTo(bp, 2 * bStride).addTo(kk, 2).get(kk).get(k).i32LtS().brIf(0);
    });
  });
}

/**
 * forward{rows}(hPrev, u, zh, k): for `rows` samples of one step, h_t = tanh(z_t + h_{t−1}·U),
 * written over z_t (`zh`); k = units, or 0 at the first step (h_{−1} = 0).
 */
function buildForward(units: number, rowStride: number, rows: number): FunctionBuilder {
  const f = new FunctionBuilder(`forward${rows}`, 4);
  const [HP, U, ZH, K] = range(4);
  const acc = range(ROWS * COLS).map(() => f.local(V128));
  const vec = range(COLS).map(() => f.local(V128));
  const splat = f.local(V128);
  const s = range(4).map(() => f.local(V128)) as [number, number, number, number];
  const [off, ap, bp, kk, out] = range(5).map(() => f.local(I32));
  columnBlocks(f, units / 4, off, (cols) => {
    f.get(ZH).get(off).i32Add().set(out);
    for (const r of range(rows)) for (const c of range(cols)) f.get(out).load(r * rowStride + 16 * c).set(acc[r * COLS + c]);
    emitProduct(f, rows, cols, acc, vec, splat, { aPtr: HP, aStride: rowStride, bPtr: U, bStride: 4 * units, off, k: K, kStep: 4, ap, bp, kk });
    for (const r of range(rows)) {
      for (const c of range(cols)) {
        f.get(out);
        emitTanh(f, acc[r * COLS + c], s);
        f.store(r * rowStride + 16 * c);
      }
    }
  });
  return f;
}

/**
 * backward{rows}(dzNext, ut, dzh, h, k): for `rows` samples of step t, dz_t = (dh_t + dz_{t+1}·Uᵀ)
 * ⊙ (1 − h_t²), written over dh_t (`dzh`); k = units, or 0 at the last step.
 */
function buildBackward(units: number, rowStride: number, rows: number): FunctionBuilder {
  const f = new FunctionBuilder(`backward${rows}`, 5);
  const [DZN, UT, DZH, H, K] = range(5);
  const acc = range(ROWS * COLS).map(() => f.local(V128));
  const vec = range(COLS).map(() => f.local(V128));
  const splat = f.local(V128);
  const hv = f.local(V128);
  const [off, ap, bp, kk, out, hp] = range(6).map(() => f.local(I32));
  columnBlocks(f, units / 4, off, (cols) => {
    for (const r of range(rows)) for (const c of range(cols)) f.f32x4(0).set(acc[r * COLS + c]);
    emitProduct(f, rows, cols, acc, vec, splat, { aPtr: DZN, aStride: rowStride, bPtr: UT, bStride: 4 * units, off, k: K, kStep: 4, ap, bp, kk });
    f.get(DZH).get(off).i32Add().set(out);
    f.get(H).get(off).i32Add().set(hp);
    for (const r of range(rows)) {
      for (const c of range(cols)) {
        const at = r * rowStride + 16 * c;
        f.get(hp).load(at).set(hv);
        f.get(out);
        f.get(out).load(at).get(acc[r * COLS + c]).add();
        f.f32x4(1).get(hv).get(hv).mul().sub().mul();
        f.store(at);
      }
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
    for (const r of range(ROWS)) for (const c of range(cols)) f.get(out).load(r * stride + 16 * c).set(acc[r * COLS + c]);
    f.get(HP).set(ap);
    f.get(DZ).get(off).i32Add().set(bp);
    f.i32(0).set(kk);
    f.loop(() => {
      for (const c of range(cols)) f.get(bp).load(16 * c).set(vec[c]);
      for (const r of range(ROWS)) {
        f.get(ap).loadSplat(4 * r).set(splat);
        for (const c of range(cols)) f.get(acc[r * COLS + c]).get(splat).get(vec[c]).mul().add().set(acc[r * COLS + c]);
      }
      f.addTo(ap, rowStride).addTo(bp, rowStride).addTo(kk, 1).get(kk).get(B).i32LtS().brIf(0);
    });
    for (const r of range(ROWS)) for (const c of range(cols)) f.get(out).get(acc[r * COLS + c]).store(r * stride + 16 * c);
  });
  return f;
}

interface Exports {
  [name: string]: (...args: number[]) => void;
}

/** One generated module with its own memory (per thread, per (units, steps)). */
export class TanhRnnWasm {
  private readonly exports: Exports;
  private readonly memory: WebAssembly.Memory;
  private readonly rowStride: number;

  constructor(
    readonly units: number,
    readonly steps: number,
  ) {
    if (!tanhRnnWasmSupports(units)) throw new Error(`tanh RNN (wasm): units must be a multiple of 4 (got ${units})`);
    this.rowStride = 4 * steps * units;
    const fns = [...range(ROWS).flatMap((r) => [buildForward(units, this.rowStride, r + 1), buildBackward(units, this.rowStride, r + 1)]), buildGradU(units, this.rowStride)];
    this.memory = new WebAssembly.Memory({ initial: 1 });
    this.exports = new WebAssembly.Instance(new WebAssembly.Module(assembleModule(fns)), { env: { memory: this.memory } }).exports as unknown as Exports;
  }

  /** Grows the memory to `bytes` and returns a float view of it. */
  private heap(bytes: number): Float32Array {
    const need = Math.ceil(bytes / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) this.memory.grow(need);
    return new Float32Array(this.memory.buffer);
  }

  /** h [batch, steps, units] from z [batch, steps, units] and U [units, units]; a view of this module's memory when `view`. */
  forward(z: Float32Array, u: Float32Array, batch: number, view: boolean): Float32Array {
    const n = this.units;
    const per = this.steps * n;
    const uAt = 0;
    const zAt = 4 * n * n;
    const heap = this.heap(zAt + 4 * batch * per);
    heap.set(u, uAt / 4);
    heap.set(z, zAt / 4);
    const step = 4 * n;
    for (let t = 0; t < this.steps; t++) {
      for (let b0 = 0; b0 < batch; b0 += ROWS) {
        const rows = Math.min(ROWS, batch - b0);
        const row = zAt + b0 * this.rowStride + t * step;
        this.exports[`forward${rows}`](t === 0 ? row : row - step, uAt, row, t === 0 ? 0 : n);
      }
    }
    const h = new Float32Array(this.memory.buffer, zAt, batch * per);
    return view ? h : h.slice();
  }

  /**
   * dz [batch, steps, units] (a view when `view`) and dU [units, units] from the gradient dh of
   * the loss w.r.t. h, h itself and U.
   */
  backward(dh: Float32Array, h: Float32Array, u: Float32Array, batch: number, view: boolean): { dz: Float32Array; dU: Float32Array } {
    const n = this.units;
    const per = this.steps * n;
    const utAt = 0;
    const duAt = 4 * n * n;
    const dzAt = 8 * n * n;
    const hAt = dzAt + 4 * batch * per;
    const heap = this.heap(hAt + 4 * batch * per);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) heap[utAt / 4 + j * n + i] = u[i * n + j];
    heap.fill(0, duAt / 4, duAt / 4 + n * n);
    heap.set(dh, dzAt / 4);
    heap.set(h, hAt / 4);
    const step = 4 * n;
    for (let t = this.steps - 1; t >= 0; t--) {
      for (let b0 = 0; b0 < batch; b0 += ROWS) {
        const rows = Math.min(ROWS, batch - b0);
        const row = b0 * this.rowStride + t * step;
        const last = t === this.steps - 1;
        this.exports[`backward${rows}`](last ? dzAt + row : dzAt + row + step, utAt, dzAt + row, hAt + row, last ? 0 : n);
      }
      // dU += h_{t−1}ᵀ dz_t
      if (t > 0) for (let k0 = 0; k0 < n; k0 += ROWS) this.exports.gradU(hAt + (t - 1) * step + 4 * k0, dzAt + t * step, duAt + k0 * step, batch);
    }
    const dz = new Float32Array(this.memory.buffer, dzAt, batch * per);
    return { dz: view ? dz : dz.slice(), dU: heap.slice(duAt / 4, duAt / 4 + n * n) };
  }
}

const instances = new Map<string, TanhRnnWasm>();

/** This thread's module for (units, steps). */
export function tanhRnnWasm(units: number, steps: number): TanhRnnWasm {
  const key = `${units}/${steps}`;
  let inst = instances.get(key);
  if (!inst) {
    // one module at a time: each holds memory for a whole batch of sequences
    instances.clear();
    inst = new TanhRnnWasm(units, steps);
    instances.set(key, inst);
  }
  return inst;
}
