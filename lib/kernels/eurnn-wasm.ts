/**
 * The EURNN recurrence in WebAssembly SIMD, generated at run time with lib/kernels/wasm-asm.ts.
 *
 * Four samples run side by side, one per f32x4 lane, so every instruction is the scalar
 * recurrence of lib/kernels/eurnn.ts (`eurnnForwardJs`, `eurnnBackwardJs`) done for four
 * sequences at once: no shuffles, the angles broadcast. A module is generated for one
 * (hiddenSize, capacity, features) and runs any number of steps. One `EurnnWasm` holds one module
 * instance with its own memory; each thread (the main one and the workers of lib/kernels/eurnn.ts)
 * has its own. No tfjs here: the workers load this file alone.
 *
 * Memory (bytes; a slot is one complex number of 4 lanes, re then im, 32 bytes):
 *   params  [w (features × N), inputBias (N), modBias (N)] f32 scalars
 *   coef    [capacity][N/2][cos θ, sin θ, cos φ, sin φ] f32 scalars
 *   state   N + 1 slots (the extra slot holds a copy of slot 0 for the wrap-around pair)
 *   work    N + 1 double slots [g (re, im), u (re, im)]: gradient and unitary output, backward
 *   acc     per unit j: [dW (features), dInputBias, dModBias] f32x4 sums; then per sublayer and
 *           mixing unit [dφ, dθ]
 *   x, dx   one group's inputs and their gradients, [steps][features] f32x4
 *   tape    one group's pre-activations z_t, [steps][N] slots
 */
import { FunctionBuilder, I32, V128, assembleModule, wasmSimdAvailable } from './wasm-asm';

/** modReLU adds this to |z| before dividing, as torch_eunn does. */
export const MODRELU_EPS = 1e-5;
/** |z| is floored at this in the backward pass so that z = 0 gives a zero gradient, not 0/0. */
const TINY = 1e-30;
/** Samples per SIMD group. */
export const LANES = 4;

/** f32x4.sqrt, missing from wasm-asm's builder. */
class Builder extends FunctionBuilder {
  sqrt(): this {
    this.code.push(0xfd, 0xe3, 0x01);
    return this;
  }
}

/** The sizes a module is generated for. */
export interface EurnnShape {
  /** Complex components of the hidden state (even). */
  hiddenSize: number;
  /** Sublayers of mixing units. */
  capacity: number;
  /** Input features per step. */
  features: number;
}

interface Layout {
  params: number;
  coef: number;
  state: number;
  work: number;
  acc: number;
  accAngles: number;
  x: number;
  dx: number;
  tape: number;
  end: number;
}

const align = (n: number) => Math.ceil(n / 64) * 64;

function layout(s: EurnnShape, steps: number): Layout {
  const n = s.hiddenSize;
  const f = s.features;
  let at = 64;
  const take = (bytes: number) => {
    const start = at;
    at = align(at + bytes);
    return start;
  };
  const params = take((f + 2) * n * 4);
  const coef = take(s.capacity * (n / 2) * 16);
  const state = take((n + 1) * 32);
  const work = take((n + 1) * 64);
  const acc = take(n * (f + 2) * 16);
  const accAngles = take(s.capacity * (n / 2) * 32);
  const x = take(steps * f * 16);
  const dx = take(steps * f * 16);
  const tape = take(steps * n * 32);
  return { params, coef, state, work, acc, accAngles, x, dx, tape, end: at };
}

/** Emits `loop { body; p += step; if (p < end) continue }` (at least one pass). */
function doWhile(f: Builder, p: number, step: number, end: number, body: () => void): void {
  f.loop(() => {
    body();
    f.addTo(p, step);
    f.get(p).get(end).i32LtS().brIf(0);
  });
}

/** Copies `bytes` (a multiple of 16) from [base + from] to [base + to]. */
function copy(f: Builder, base: number, from: number, to: number, bytes: number): void {
  for (let o = 0; o < bytes; o += 16)
    f.get(base)
      .get(base)
      .load(from + o)
      .store(to + o);
}

/**
 * forward(params, coef, x, state, tape, tapeStride, steps): runs one group through all steps from
 * the zero state; the last state is left in `state`, and z_t is written to tape + t·tapeStride
 * (tapeStride 0 keeps only the last).
 */
function emitForward(s: EurnnShape): Builder {
  const n = s.hiddenSize;
  const nf = s.features;
  const slotsBytes = n * 32;
  const shift = s.capacity % 2; // an odd number of rolls leaves the state rolled by one place
  const f = new Builder('forward', 7);
  const [P, COEF, X, S, TAPE, TAPE_STRIDE, STEPS] = [0, 1, 2, 3, 4, 5, 6];
  const p = f.local(I32);
  const end = f.local(I32);
  const cp = f.local(I32);
  const q = f.local(I32);
  const z = f.local(I32);
  const v = () => f.local(V128);
  const [x0r, x0i, x1r, x1i, c, sn, co, si, tr, ti, zr, zi, r, a] = Array.from({ length: 14 }, v);
  const xt = Array.from({ length: nf }, v);

  // zero state
  f.get(S).set(p);
  f.get(S)
    .i32(slotsBytes + 32)
    .i32Add()
    .set(end);
  doWhile(f, p, 16, end, () => f.get(p).f32x4(0).store());

  f.loop(() => {
    // the unitary layer: capacity sublayers of 2×2 mixing units, in place
    f.get(COEF).set(cp);
    for (let i = 0; i < s.capacity; i++) {
      const off = (i % 2) * 32; // odd sublayers pair (2k+1, 2k+2): the vector rolled by one place
      if (off) copy(f, S, 0, slotsBytes, 32);
      f.get(S).set(p);
      f.get(S).i32(slotsBytes).i32Add().set(end);
      doWhile(f, p, 64, end, () => {
        f.get(p).load(off).set(x0r);
        f.get(p)
          .load(off + 16)
          .set(x0i);
        f.get(p)
          .load(off + 32)
          .set(x1r);
        f.get(p)
          .load(off + 48)
          .set(x1i);
        f.get(cp).loadSplat(0).set(c);
        f.get(cp).loadSplat(4).set(sn);
        f.get(cp).loadSplat(8).set(co);
        f.get(cp).loadSplat(12).set(si);
        // t = c·x0 − s·x1; y1 = s·x0 + c·x1; y0 = e^{iφ}·t
        f.get(c).get(x0r).mul().get(sn).get(x1r).mul().sub().set(tr);
        f.get(c).get(x0i).mul().get(sn).get(x1i).mul().sub().set(ti);
        f.get(p)
          .get(sn)
          .get(x0r)
          .mul()
          .get(c)
          .get(x1r)
          .mul()
          .add()
          .store(off + 32);
        f.get(p)
          .get(sn)
          .get(x0i)
          .mul()
          .get(c)
          .get(x1i)
          .mul()
          .add()
          .store(off + 48);
        f.get(p).get(co).get(tr).mul().get(si).get(ti).mul().sub().store(off);
        f.get(p)
          .get(co)
          .get(ti)
          .mul()
          .get(si)
          .get(tr)
          .mul()
          .add()
          .store(off + 16);
        f.addTo(cp, 16);
      });
      if (off) copy(f, S, slotsBytes, 0, 32);
    }
    // z = U h + W x_t + b; h = modReLU(z)
    if (shift) copy(f, S, 0, slotsBytes, 32);
    for (let k = 0; k < nf; k++)
      f.get(X)
        .load(16 * k)
        .set(xt[k]);
    f.get(S).set(p);
    f.get(S).i32(slotsBytes).i32Add().set(end);
    f.get(P).set(q);
    f.get(TAPE).set(z);
    doWhile(f, p, 32, end, () => {
      f.get(p).load(32 * shift);
      for (let k = 0; k < nf; k++)
        f.get(q)
          .loadSplat(4 * n * k)
          .get(xt[k])
          .mul()
          .add();
      f.get(q)
        .loadSplat(4 * n * nf)
        .add()
        .set(zr);
      f.get(p)
        .load(32 * shift + 16)
        .set(zi);
      f.get(z).get(zr).store(0);
      f.get(z).get(zi).store(16);
      f.get(zr).get(zr).mul().get(zi).get(zi).mul().add().sqrt().f32x4(MODRELU_EPS).add().set(r);
      f.get(r)
        .get(q)
        .loadSplat(4 * n * (nf + 1))
        .add()
        .set(a);
      // scale = relu(r + b) / r
      f.f32x4(0).get(a).lt().get(a).get(r).div().and().set(a);
      f.get(p).get(zr).get(a).mul().store(0);
      f.get(p).get(zi).get(a).mul().store(16);
      f.addTo(q, 4);
      f.addTo(z, 32);
    });
    f.get(X)
      .i32(16 * nf)
      .i32Add()
      .set(X);
    f.get(TAPE).get(TAPE_STRIDE).i32Add().set(TAPE);
    f.get(STEPS).i32(1).i32Sub().tee(STEPS).i32(0).i32GtS().brIf(0);
  });
  return f;
}

/**
 * backward(params, coef, xLast, dxLast, tapeLast, steps, work, acc, accAngles): backpropagation
 * through time for one group whose tape the forward pass filled, from dL/dh_T in the work slots'
 * g; adds the weight gradients into acc/accAngles and writes dL/dx_t.
 */
function emitBackward(s: EurnnShape): Builder {
  const n = s.hiddenSize;
  const nf = s.features;
  const shift = s.capacity % 2;
  const f = new Builder('backward', 9);
  const [P, COEF, X, DX, TAPE, STEPS, WORK, ACC, ACC_ANG] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const wp = f.local(I32);
  const end = f.local(I32);
  const q = f.local(I32);
  const z = f.local(I32);
  const ac = f.local(I32);
  const cp = f.local(I32);
  const ap = f.local(I32);
  const v = () => f.local(V128);
  const [zr, zi, gr, gi, m, r, b, a, mask, dot, k2, dzr, dzi] = Array.from({ length: 13 }, v);
  const [y0r, y0i, y1r, y1i, g0r, g0i, g1r, g1i, c, sn, co, si, tr, ti, gtr, gti] = Array.from({ length: 16 }, v);
  const xt = Array.from({ length: nf }, v);
  const dxs = Array.from({ length: nf }, v);
  const accOff = (k: number) => 16 * k; // dW_k; then dInputBias at 16·nf, dModBias at 16·(nf + 1)
  const accStride = 16 * (nf + 2);
  const slot = 64; // work slot: g re, g im, u re, u im

  f.loop(() => {
    for (let k = 0; k < nf; k++) {
      f.get(X)
        .load(16 * k)
        .set(xt[k]);
      f.f32x4(0).set(dxs[k]);
    }
    // modReLU backward. With an odd capacity the output is the state rolled by one place: the
    // gradient for z_j goes to slot j + 1, so j runs downwards and slot j + 1 is free to take it.
    const modBody = () => {
      f.get(z).load(0).set(zr);
      f.get(z).load(16).set(zi);
      f.get(wp).load(0).set(gr);
      f.get(wp).load(16).set(gi);
      f.get(zr).get(zr).mul().get(zi).get(zi).mul().add().sqrt().set(m);
      f.get(m).f32x4(MODRELU_EPS).add().set(r);
      f.get(q)
        .loadSplat(4 * n * (nf + 1))
        .set(b);
      f.get(r).get(b).add().set(a);
      f.f32x4(0).get(a).lt().set(mask);
      f.get(gr).get(zr).mul().get(gi).get(zi).mul().add().set(dot);
      // dL/db = <g, z>/r where active
      f.get(ac)
        .get(ac)
        .load(accOff(nf + 1))
        .get(dot)
        .get(r)
        .div()
        .get(mask)
        .and()
        .add()
        .store(accOff(nf + 1));
      // dz = g·(a/r) − (b·<g, z>/(r²·|z|))·z where active
      f.get(b).get(dot).mul().get(r).get(r).mul().get(m).f32x4(TINY).max().mul().div().set(k2);
      f.get(a).get(r).div().set(a);
      f.get(gr).get(a).mul().get(k2).get(zr).mul().sub().get(mask).and().set(dzr);
      f.get(gi).get(a).mul().get(k2).get(zi).mul().sub().get(mask).and().set(dzi);
      for (let k = 0; k < nf; k++) {
        f.get(ac).get(ac).load(accOff(k)).get(dzr).get(xt[k]).mul().add().store(accOff(k));
        f.get(dxs[k])
          .get(dzr)
          .get(q)
          .loadSplat(4 * n * k)
          .mul()
          .add()
          .set(dxs[k]);
      }
      f.get(ac).get(ac).load(accOff(nf)).get(dzr).add().store(accOff(nf));
      f.get(wp)
        .get(dzr)
        .store(slot * shift);
      f.get(wp)
        .get(dzi)
        .store(slot * shift + 16);
      // u = z − W x_t − b: the unitary layer's output, from which the backward pass inverts it
      f.get(wp).get(zr);
      for (let k = 0; k < nf; k++)
        f.get(q)
          .loadSplat(4 * n * k)
          .get(xt[k])
          .mul()
          .sub();
      f.get(q)
        .loadSplat(4 * n * nf)
        .sub()
        .store(slot * shift + 32);
      f.get(wp)
        .get(zi)
        .store(slot * shift + 48);
    };
    if (shift) {
      f.get(WORK)
        .i32(slot * (n - 1))
        .i32Add()
        .set(wp);
      f.get(TAPE)
        .i32(32 * (n - 1))
        .i32Add()
        .set(z);
      f.get(P)
        .i32(4 * (n - 1))
        .i32Add()
        .set(q);
      f.get(ACC)
        .i32(accStride * (n - 1))
        .i32Add()
        .set(ac);
      f.loop(() => {
        modBody();
        f.get(wp).i32(slot).i32Sub().set(wp);
        f.get(z).i32(32).i32Sub().set(z);
        f.get(ac).i32(accStride).i32Sub().set(ac);
        f.get(q).i32(4).i32Sub().tee(q).get(P).i32(-1).i32Add().i32GtS().brIf(0);
      });
      copy(f, WORK, slot * n, 0, slot);
    } else {
      f.get(WORK).set(wp);
      f.get(WORK)
        .i32(slot * n)
        .i32Add()
        .set(end);
      f.get(TAPE).set(z);
      f.get(P).set(q);
      f.get(ACC).set(ac);
      doWhile(f, wp, slot, end, () => {
        modBody();
        f.addTo(z, 32);
        f.addTo(q, 4);
        f.addTo(ac, accStride);
      });
    }
    for (let k = 0; k < nf; k++)
      f.get(DX)
        .get(dxs[k])
        .store(16 * k);

    // the unitary layer backward, last sublayer first; skipped at t = 0 (its input is the zero state)
    f.block(() => {
      f.get(STEPS).i32(2).i32LtS().brIf(0);
      for (let i = s.capacity - 1; i >= 0; i--) {
        const off = (i % 2) * slot;
        const invert = i > 0; // the first sublayer's input is not needed
        if (off) copy(f, WORK, 0, slot * n, slot);
        f.get(WORK).set(wp);
        f.get(WORK)
          .i32(slot * n)
          .i32Add()
          .set(end);
        f.get(COEF)
          .i32(i * (n / 2) * 16)
          .i32Add()
          .set(cp);
        f.get(ACC_ANG)
          .i32(i * (n / 2) * 32)
          .i32Add()
          .set(ap);
        doWhile(f, wp, 2 * slot, end, () => {
          f.get(wp)
            .load(off + 32)
            .set(y0r);
          f.get(wp)
            .load(off + 48)
            .set(y0i);
          f.get(wp)
            .load(off + slot + 32)
            .set(y1r);
          f.get(wp)
            .load(off + slot + 48)
            .set(y1i);
          f.get(wp).load(off).set(g0r);
          f.get(wp)
            .load(off + 16)
            .set(g0i);
          f.get(wp)
            .load(off + slot)
            .set(g1r);
          f.get(wp)
            .load(off + slot + 16)
            .set(g1i);
          f.get(cp).loadSplat(0).set(c);
          f.get(cp).loadSplat(4).set(sn);
          f.get(cp).loadSplat(8).set(co);
          f.get(cp).loadSplat(12).set(si);
          // t = e^{−iφ} y0 and gt = e^{−iφ} g0
          f.get(co).get(y0r).mul().get(si).get(y0i).mul().add().set(tr);
          f.get(co).get(y0i).mul().get(si).get(y0r).mul().sub().set(ti);
          f.get(co).get(g0r).mul().get(si).get(g0i).mul().add().set(gtr);
          f.get(co).get(g0i).mul().get(si).get(g0r).mul().sub().set(gti);
          // dφ += <g0, i·y0>; dθ += <g1, t> − <gt, y1>
          f.get(ap).get(ap).load(0).get(g0i).get(y0r).mul().get(g0r).get(y0i).mul().sub().add().store(0);
          f.get(ap).get(ap).load(16);
          f.get(g1r).get(tr).mul().get(g1i).get(ti).mul().add();
          f.get(gtr).get(y1r).mul().get(gti).get(y1i).mul().add().sub().add().store(16);
          // the adjoint: g0 ← c·gt + s·g1, g1 ← c·g1 − s·gt
          f.get(wp).get(c).get(gtr).mul().get(sn).get(g1r).mul().add().store(off);
          f.get(wp)
            .get(c)
            .get(gti)
            .mul()
            .get(sn)
            .get(g1i)
            .mul()
            .add()
            .store(off + 16);
          f.get(wp)
            .get(c)
            .get(g1r)
            .mul()
            .get(sn)
            .get(gtr)
            .mul()
            .sub()
            .store(off + slot);
          f.get(wp)
            .get(c)
            .get(g1i)
            .mul()
            .get(sn)
            .get(gti)
            .mul()
            .sub()
            .store(off + slot + 16);
          if (invert) {
            f.get(wp)
              .get(c)
              .get(tr)
              .mul()
              .get(sn)
              .get(y1r)
              .mul()
              .add()
              .store(off + 32);
            f.get(wp)
              .get(c)
              .get(ti)
              .mul()
              .get(sn)
              .get(y1i)
              .mul()
              .add()
              .store(off + 48);
            f.get(wp)
              .get(c)
              .get(y1r)
              .mul()
              .get(sn)
              .get(tr)
              .mul()
              .sub()
              .store(off + slot + 32);
            f.get(wp)
              .get(c)
              .get(y1i)
              .mul()
              .get(sn)
              .get(ti)
              .mul()
              .sub()
              .store(off + slot + 48);
          }
          f.addTo(cp, 16);
          f.addTo(ap, 32);
        });
        if (off) copy(f, WORK, slot * n, 0, slot);
      }
    });
    f.get(X)
      .i32(16 * nf)
      .i32Sub()
      .set(X);
    f.get(DX)
      .i32(16 * nf)
      .i32Sub()
      .set(DX);
    f.get(TAPE)
      .i32(32 * n)
      .i32Sub()
      .set(TAPE);
    f.get(STEPS).i32(1).i32Sub().tee(STEPS).i32(0).i32GtS().brIf(0);
  });
  return f;
}

interface Exports {
  forward(p: number, coef: number, x: number, state: number, tape: number, tapeStride: number, steps: number): void;
  backward(
    p: number,
    coef: number,
    xLast: number,
    dxLast: number,
    tapeLast: number,
    steps: number,
    work: number,
    acc: number,
    accAngles: number,
  ): void;
}

const modules = new Map<string, WebAssembly.Module>();

function moduleFor(s: EurnnShape): WebAssembly.Module {
  const key = `${s.hiddenSize}/${s.capacity}/${s.features}`;
  let m = modules.get(key);
  if (!m) {
    m = new WebAssembly.Module(assembleModule([emitForward(s), emitBackward(s)]));
    modules.set(key, m);
  }
  return m;
}

/** True when the WebAssembly SIMD engine can run here. */
export function eurnnWasmAvailable(): boolean {
  return wasmSimdAvailable();
}

/** The weights as the kernel uses them: flat float32, shapes as in eurnnSequence. */
export interface EurnnWeights {
  /** [features, N] input kernel. */
  kernel: Float32Array;
  /** [N] input bias. */
  bias: Float32Array;
  /** [N, capacity]: unit k of sublayer i has φ = angles[2k, i], θ = angles[2k + 1, i]. */
  angles: Float32Array;
  /** [N] modReLU bias. */
  modBias: Float32Array;
}

/** Sample-major inputs of one share of a batch. */
export interface EurnnBatch extends EurnnShape {
  /** [batch, steps, features]. */
  x: Float32Array;
  batch: number;
  steps: number;
}

/** Gradients of one share of a batch, summed over its samples in float64. */
export interface EurnnGradSums {
  /** [batch, steps, features]. */
  dx: Float32Array;
  kernel: Float64Array;
  bias: Float64Array;
  angles: Float64Array;
  modBias: Float64Array;
}

/** cos θ, sin θ, cos φ, sin φ per sublayer and mixing unit, as the modules read them. */
export function mixingCoefficients(angles: ArrayLike<number>, hiddenSize: number, capacity: number): Float64Array {
  const h = hiddenSize / 2;
  const coef = new Float64Array(capacity * h * 4);
  for (let i = 0; i < capacity; i++) {
    for (let k = 0; k < h; k++) {
      const phi = angles[2 * k * capacity + i];
      const theta = angles[(2 * k + 1) * capacity + i];
      const o = (i * h + k) * 4;
      coef[o] = Math.cos(theta);
      coef[o + 1] = Math.sin(theta);
      coef[o + 2] = Math.cos(phi);
      coef[o + 3] = Math.sin(phi);
    }
  }
  return coef;
}

/** One instance of the generated module with its own memory, for one thread. */
export class EurnnWasm {
  private readonly exports: Exports;
  private readonly memory: WebAssembly.Memory;
  private steps = 0;
  private at!: Layout;

  constructor(readonly shape: EurnnShape) {
    this.memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(moduleFor(shape), { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as Exports;
  }

  private prepare(steps: number, w: EurnnWeights): Float32Array {
    if (steps !== this.steps) {
      this.at = layout(this.shape, steps);
      const need = Math.ceil(this.at.end / 65536) - this.memory.buffer.byteLength / 65536;
      if (need > 0) this.memory.grow(need);
      this.steps = steps;
    }
    const heap = new Float32Array(this.memory.buffer);
    const n = this.shape.hiddenSize;
    const p = this.at.params / 4;
    heap.set(w.kernel, p);
    heap.set(w.bias, p + this.shape.features * n);
    heap.set(w.modBias, p + (this.shape.features + 1) * n);
    heap.set(mixingCoefficients(w.angles, n, this.shape.capacity), this.at.coef / 4);
    return heap;
  }

  /** Packs samples [b0, b0 + 4) of x into the group layout [steps][features][lane] (zeros past the batch). */
  private packX(heap: Float32Array, a: EurnnBatch, b0: number): void {
    const { steps, features: nf } = a;
    const base = this.at.x / 4;
    const per = steps * nf;
    for (let lane = 0; lane < LANES; lane++) {
      const b = b0 + lane;
      if (b < a.batch) {
        const src = b * per;
        for (let i = 0; i < per; i++) heap[base + i * 4 + lane] = a.x[src + i];
      } else {
        for (let i = 0; i < per; i++) heap[base + i * 4 + lane] = 0;
      }
    }
  }

  /** Last states of the batch's samples, written into hRe/hIm ([batch, N] each). */
  forward(a: EurnnBatch, w: EurnnWeights, hRe: Float32Array, hIm: Float32Array): void {
    const heap = this.prepare(a.steps, w);
    const n = this.shape.hiddenSize;
    const at = this.at;
    for (let b0 = 0; b0 < a.batch; b0 += LANES) {
      this.packX(heap, a, b0);
      this.exports.forward(at.params, at.coef, at.x, at.state, at.tape, 0, a.steps);
      const s = at.state / 4;
      for (let lane = 0; lane < LANES && b0 + lane < a.batch; lane++) {
        const o = (b0 + lane) * n;
        for (let j = 0; j < n; j++) {
          hRe[o + j] = heap[s + j * 8 + lane];
          hIm[o + j] = heap[s + j * 8 + 4 + lane];
        }
      }
    }
  }

  /** Gradients of the share given dL/dh_T ([batch, N] each), summed over its samples. */
  backward(a: EurnnBatch, w: EurnnWeights, dyRe: Float32Array, dyIm: Float32Array): EurnnGradSums {
    const heap = this.prepare(a.steps, w);
    const { hiddenSize: n, capacity, features: nf } = this.shape;
    const at = this.at;
    const h = n / 2;
    const out: EurnnGradSums = {
      dx: new Float32Array(a.batch * a.steps * nf),
      kernel: new Float64Array(nf * n),
      bias: new Float64Array(n),
      angles: new Float64Array(n * capacity),
      modBias: new Float64Array(n),
    };
    const accStride = 4 * (nf + 2);
    heap.fill(0, at.acc / 4, at.accAngles / 4 + capacity * h * 8);
    for (let b0 = 0; b0 < a.batch; b0 += LANES) {
      this.packX(heap, a, b0);
      this.exports.forward(at.params, at.coef, at.x, at.state, at.tape, 32 * n, a.steps);
      const wk = at.work / 4;
      for (let lane = 0; lane < LANES; lane++) {
        const b = b0 + lane;
        for (let j = 0; j < n; j++) {
          heap[wk + j * 16 + lane] = b < a.batch ? dyRe[b * n + j] : 0;
          heap[wk + j * 16 + 4 + lane] = b < a.batch ? dyIm[b * n + j] : 0;
        }
      }
      const last = a.steps - 1;
      this.exports.backward(
        at.params,
        at.coef,
        at.x + last * nf * 16,
        at.dx + last * nf * 16,
        at.tape + last * n * 32,
        a.steps,
        at.work,
        at.acc,
        at.accAngles,
      );
      // lanes and groups are summed in float64
      const ac = at.acc / 4;
      for (let j = 0; j < n; j++) {
        const o = ac + j * accStride;
        for (let lane = 0; lane < LANES; lane++) {
          for (let k = 0; k < nf; k++) out.kernel[k * n + j] += heap[o + 4 * k + lane];
          out.bias[j] += heap[o + 4 * nf + lane];
          out.modBias[j] += heap[o + 4 * (nf + 1) + lane];
        }
      }
      const aa = at.accAngles / 4;
      for (let i = 0; i < capacity; i++) {
        for (let k = 0; k < h; k++) {
          const o = aa + (i * h + k) * 8;
          for (let lane = 0; lane < LANES; lane++) {
            out.angles[2 * k * capacity + i] += heap[o + lane];
            out.angles[(2 * k + 1) * capacity + i] += heap[o + 4 + lane];
          }
        }
      }
      heap.fill(0, ac, aa + capacity * h * 8);
      const dxs = at.dx / 4;
      const per = a.steps * nf;
      for (let lane = 0; lane < LANES && b0 + lane < a.batch; lane++) {
        const o = (b0 + lane) * per;
        for (let i = 0; i < per; i++) out.dx[o + i] = heap[dxs + i * 4 + lane];
      }
    }
    return out;
  }
}

// ---- jobs: what the calling thread and the workers run ------------------------------------------

/** A request to a worker and its answer (lib/kernels/eurnn-worker.ts). */
export type EurnnJob =
  | { op: 'forward'; batch: EurnnBatch; weights: EurnnWeights }
  | { op: 'backward'; batch: EurnnBatch; weights: EurnnWeights; dyRe: Float32Array; dyIm: Float32Array };
export type EurnnReply = { hRe: Float32Array; hIm: Float32Array } | EurnnGradSums | { error: string };

const instances = new Map<string, EurnnWasm>();

/** This thread's wasm instance for a shape (used by the workers too). */
export function wasmInstance(shape: EurnnShape): EurnnWasm {
  const key = `${shape.hiddenSize}/${shape.capacity}/${shape.features}`;
  let inst = instances.get(key);
  if (!inst) {
    inst = new EurnnWasm({ hiddenSize: shape.hiddenSize, capacity: shape.capacity, features: shape.features });
    instances.set(key, inst);
  }
  return inst;
}

/** Runs a job on this thread with the wasm engine. */
export function runJob(job: EurnnJob): EurnnReply {
  const inst = wasmInstance(job.batch);
  if (job.op === 'forward') {
    const n = job.batch.hiddenSize;
    const hRe = new Float32Array(job.batch.batch * n);
    const hIm = new Float32Array(job.batch.batch * n);
    inst.forward(job.batch, job.weights, hRe, hIm);
    return { hRe, hIm };
  }
  return inst.backward(job.batch, job.weights, job.dyRe, job.dyIm);
}
