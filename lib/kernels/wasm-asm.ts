/**
 * A minimal WebAssembly assembler: enough of the binary format and of the SIMD instruction set to
 * write small numeric kernels as code generated at run time (so the source of truth is this
 * TypeScript, with no toolchain to install). One module has one imported memory ('env', 'memory')
 * and functions whose parameters are i32 and that return nothing.
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const f32Bytes = (values: number[]): number[] => Array.from(new Uint8Array(new Float32Array(values).buffer));
const i32Bytes = (values: number[]): number[] => Array.from(new Uint8Array(new Int32Array(values).buffer));

/** SIMD opcodes (after the 0xfd prefix) used here. */
const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  load64Splat: 0x0a,
  store: 0x0b,
  const: 0x0c,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  and: 0x4e,
  or: 0x50,
  bitselect: 0x52,
  f32x4Lt: 0x43,
  f32x4Floor: 0x68,
  i32x4Shl: 0xab,
  i32x4Add: 0xae,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f32x4Min: 0xe8,
  f32x4Max: 0xe9,
  i32x4TruncSatF32x4S: 0xf8,
  f64x2PromoteLowF32x4: 0x5f,
  f64x2Add: 0xf0,
} as const;

/** The body of one function: locals and instructions, written as method calls. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];

  constructor(
    readonly name: string,
    readonly paramCount: number,
  ) {}

  /** A new local of the given type; returns its index. */
  local(type: number): number {
    this.localTypes.push(type);
    return this.paramCount + this.localTypes.length - 1;
  }

  get(i: number): this {
    this.code.push(0x20, ...uleb(i));
    return this;
  }
  set(i: number): this {
    this.code.push(0x21, ...uleb(i));
    return this;
  }
  tee(i: number): this {
    this.code.push(0x22, ...uleb(i));
    return this;
  }
  i32(value: number): this {
    this.code.push(0x41, ...sleb(value | 0));
    return this;
  }
  i32Add(): this {
    this.code.push(0x6a);
    return this;
  }
  i32Sub(): this {
    this.code.push(0x6b);
    return this;
  }
  i32LtS(): this {
    this.code.push(0x48);
    return this;
  }
  i32GtS(): this {
    this.code.push(0x4a);
    return this;
  }
  i32GeS(): this {
    this.code.push(0x4e);
    return this;
  }
  i32Eqz(): this {
    this.code.push(0x45);
    return this;
  }
  /** select: the first of two values (same type) when the i32 on top is non-zero, else the second. */
  select(): this {
    this.code.push(0x1b);
    return this;
  }
  /** local += delta (i32). */
  addTo(i: number, delta: number): this {
    return this.get(i).i32(delta).i32Add().set(i);
  }
  /** `loop` with a void block type; `br_if 0` inside jumps back to its start. */
  loop(body: () => void): this {
    this.code.push(0x03, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }
  /** `block`; `br_if 0` inside jumps past its end. */
  block(body: () => void): this {
    this.code.push(0x02, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d, ...uleb(depth));
    return this;
  }
  private simd(op: number, ...imm: number[]): this {
    this.code.push(0xfd, ...uleb(op), ...imm);
    return this;
  }
  /** v128.load from (address on the stack) + offset bytes. */
  load(offset = 0): this {
    return this.simd(SIMD.load, 4, ...uleb(offset));
  }
  /** Loads one f32 and splats it to all four lanes. */
  loadSplat(offset = 0): this {
    return this.simd(SIMD.load32Splat, 2, ...uleb(offset));
  }
  /** Loads two f32 (8 bytes) into lanes 0–1 and again into 2–3. */
  loadPairSplat(offset = 0): this {
    return this.simd(SIMD.load64Splat, 3, ...uleb(offset));
  }
  /** f64x2.promote_low_f32x4: lanes 0 and 1 as two f64. */
  promoteLow(): this {
    return this.simd(SIMD.f64x2PromoteLowF32x4);
  }
  /** f64x2.add. */
  f64x2Add(): this {
    return this.simd(SIMD.f64x2Add);
  }
  /** f32x4.extract_lane: one lane as an f32. */
  extractLane(lane: number): this {
    return this.simd(SIMD.f32x4ExtractLane, lane);
  }
  f32Add(): this {
    this.code.push(0x92);
    return this;
  }
  /** f32.store: stack holds address then value. */
  f32Store(offset = 0): this {
    this.code.push(0x38, 2, ...uleb(offset));
    return this;
  }
  /** The sum of the four lanes of local `v`, as an f32 on the stack. */
  horizontalSum(v: number): this {
    return this.get(v)
      .extractLane(0)
      .get(v)
      .extractLane(1)
      .f32Add()
      .get(v)
      .extractLane(2)
      .f32Add()
      .get(v)
      .extractLane(3)
      .f32Add();
  }
  /** v128.store: stack holds address then value. */
  store(offset = 0): this {
    return this.simd(SIMD.store, 4, ...uleb(offset));
  }
  f32x4(value: number): this {
    return this.simd(SIMD.const, ...f32Bytes([value, value, value, value]));
  }
  i32x4(value: number): this {
    return this.simd(SIMD.const, ...i32Bytes([value, value, value, value]));
  }
  add(): this {
    return this.simd(SIMD.f32x4Add);
  }
  sub(): this {
    return this.simd(SIMD.f32x4Sub);
  }
  mul(): this {
    return this.simd(SIMD.f32x4Mul);
  }
  div(): this {
    return this.simd(SIMD.f32x4Div);
  }
  min(): this {
    return this.simd(SIMD.f32x4Min);
  }
  max(): this {
    return this.simd(SIMD.f32x4Max);
  }
  neg(): this {
    return this.simd(SIMD.f32x4Neg);
  }
  abs(): this {
    return this.simd(SIMD.f32x4Abs);
  }
  floor(): this {
    return this.simd(SIMD.f32x4Floor);
  }
  lt(): this {
    return this.simd(SIMD.f32x4Lt);
  }
  and(): this {
    return this.simd(SIMD.and);
  }
  or(): this {
    return this.simd(SIMD.or);
  }
  /** bitselect(a, b, mask): a where mask bits are 1, else b. */
  bitselect(): this {
    return this.simd(SIMD.bitselect);
  }
  truncToI32(): this {
    return this.simd(SIMD.i32x4TruncSatF32x4S);
  }
  i32x4Add(): this {
    return this.simd(SIMD.i32x4Add);
  }
  /** i32x4.shl by a scalar i32 count on the stack. */
  i32x4Shl(): this {
    return this.simd(SIMD.i32x4Shl);
  }

  /** The encoded function body (locals + code + end). */
  encode(): number[] {
    const groups: [number, number][] = [];
    for (const type of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === type) last[0]++;
      else groups.push([1, type]);
    }
    const body = [
      ...uleb(groups.length),
      ...groups.flatMap(([count, type]) => [...uleb(count), type]),
      ...this.code,
      0x0b,
    ];
    return [...uleb(body.length), ...body];
  }
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function name(s: string): number[] {
  const bytes = Array.from(Buffer.from(s, 'utf8'));
  return [...uleb(bytes.length), ...bytes];
}

/** Encodes a module importing memory 'env.memory' and exporting `functions` by name. */
export function assembleModule(functions: FunctionBuilder[]): Uint8Array {
  const paramCounts = [...new Set(functions.map((f) => f.paramCount))];
  const types = paramCounts.flatMap((p) => [0x60, ...uleb(p), ...new Array<number>(p).fill(I32), 0]);
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [...uleb(paramCounts.length), ...types]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [...uleb(functions.length), ...functions.flatMap((f) => uleb(paramCounts.indexOf(f.paramCount)))]),
    ...section(7, [...uleb(functions.length), ...functions.flatMap((f, i) => [...name(f.name), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(functions.length), ...functions.flatMap((f) => f.encode())]),
  ];
  return new Uint8Array(bytes);
}

/** True when this runtime compiles WebAssembly SIMD. */
export function wasmSimdAvailable(): boolean {
  try {
    const f = new FunctionBuilder('probe', 1);
    const v = f.local(V128);
    f.f32x4(1).set(v);
    return typeof WebAssembly === 'object' && WebAssembly.validate(assembleModule([f]));
  } catch {
    return false;
  }
}

// ---- vector math on f32x4 values -----------------------------------------------------------------

/**
 * Emits e^x for the f32x4 in local `x`, leaving the result on the stack (Cephes expf: range
 * reduction by ln 2, degree-6 polynomial, 2^n from the exponent bits; ~1 ulp). `tmp` and `n`
 * are scratch v128 locals.
 */
export function emitExp(f: FunctionBuilder, x: number, tmp: number, n: number): void {
  // x = clamp(x); n = floor(x·log2 e + 0.5); r = x − n·ln2 (in two parts for precision)
  f.get(x).f32x4(88.3762626647949).min().f32x4(-87.3365447504019).max().set(tmp);
  f.get(tmp).f32x4(1.4426950408889634).mul().f32x4(0.5).add().floor().set(n);
  f.get(tmp).get(n).f32x4(0.693359375).mul().sub().get(n).f32x4(-2.1219444e-4).mul().sub().set(tmp);
  // p(r) = ((((c0 r + c1) r + c2) r + c3) r + c4) r + c5) r² + r + 1
  f.f32x4(1.98756915e-4).get(tmp).mul().f32x4(1.3981999507e-3).add();
  f.get(tmp).mul().f32x4(8.3334519073e-3).add();
  f.get(tmp).mul().f32x4(4.1665795894e-2).add();
  f.get(tmp).mul().f32x4(1.6666665459e-1).add();
  f.get(tmp).mul().f32x4(5.0000001201e-1).add();
  f.get(tmp).mul().get(tmp).mul().get(tmp).add().f32x4(1).add();
  // × 2^n, built from the exponent bits
  f.get(n).truncToI32().i32x4(127).i32x4Add().i32(23).i32x4Shl().mul();
}

/** Emits sigmoid(x) = 1 / (1 + e^−x) for local `x`, result on the stack. */
export function emitSigmoid(f: FunctionBuilder, x: number, s: [number, number, number]): void {
  f.get(x).neg().set(s[0]);
  f.f32x4(1);
  f.f32x4(1);
  emitExp(f, s[0], s[1], s[2]);
  f.add().div();
}

/**
 * Emits tanh(x) for local `x`, result on the stack: Cephes tanhf's odd polynomial for |x| < 0.625
 * and 1 − 2/(e^{2|x|} + 1) with x's sign above.
 */
export function emitTanh(f: FunctionBuilder, x: number, s: [number, number, number, number]): void {
  const [ax, e, t1, t2] = s;
  f.get(x).abs().set(ax);
  // large: 1 − 2/(e^{2|x|} + 1), sign bit of x or-ed in
  f.get(ax).get(ax).add().set(e);
  f.f32x4(1).f32x4(2);
  emitExp(f, e, t1, t2);
  f.f32x4(1).add().div().sub();
  f.get(x).i32x4(-0x80000000).and().or().set(e);
  // small: x + x·s·P(s), s = x²
  f.get(x).get(x).mul().set(t1);
  f.f32x4(-5.70498872745e-3).get(t1).mul().f32x4(2.06390887954e-2).add();
  f.get(t1).mul().f32x4(-5.37397155531e-2).add();
  f.get(t1).mul().f32x4(1.33314422036e-1).add();
  f.get(t1).mul().f32x4(-3.33332819422e-1).add();
  f.get(t1).mul().get(x).mul().get(x).add();
  // choose by |x| < 0.625
  f.get(e).get(ax).f32x4(0.625).lt().bitselect();
}
