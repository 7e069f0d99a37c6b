/**
 * The Legendre Memory Unit's linear system in float64: the continuous A, B of Voelker et al. (2019),
 * their zero-order-hold discretisation through a matrix exponential (Padé approximant with scaling
 * and squaring), and the impulse response H[t] = Āᵗ B̄, from which lib/models/lmu-convolution.ts
 * builds the constants of its chunked convolution.
 */
import { positiveInteger, positiveNumber, nonNegativeInteger } from '../checks';

/** How the continuous system is discretised (KerasLMU's `discretizer`). */
export type LmuDiscretizer = 'zoh' | 'euler';

/** A discrete LMU system m_t = Ā m_{t−1} + B̄ u_t, row-major float64. */
export interface LmuStateSpace {
  /** Ā, [order, order] row-major. */
  A: Float64Array;
  /** B̄, [order]. */
  B: Float64Array;
}

/** Throws unless `d` is 'zoh' or 'euler'. */
export function checkDiscretizer(d: unknown): LmuDiscretizer {
  if (d !== 'zoh' && d !== 'euler') throw new Error(`discretizer must be 'zoh' or 'euler' (got ${JSON.stringify(d)})`);
  return d;
}

/**
 * The continuous LMU system: A_ij = (2i+1)/θ · (−1 if i < j, else (−1)^(i−j+1)),
 * B_i = (2i+1)(−1)^i / θ (row-major float64).
 */
export function lmuContinuous(order: number, theta: number): LmuStateSpace {
  positiveInteger('order', order);
  positiveNumber('theta', theta);
  const A = new Float64Array(order * order);
  const B = new Float64Array(order);
  for (let i = 0; i < order; i++) {
    const r = (2 * i + 1) / theta;
    for (let j = 0; j < order; j++) A[i * order + j] = (i < j ? -1 : (i - j + 1) % 2 === 0 ? 1 : -1) * r;
    B[i] = (i % 2 === 0 ? 1 : -1) * r;
  }
  return { A, B };
}

// ---- dense float64 linear algebra (small, row-major, n×n) ---------------------------------------

/** C = A·B for n×n float64 matrices, row-major. */
export function matrixMultiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  return matMul(a, b, n);
}

function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j] += aik * b[bk + j];
    }
  }
  return c;
}

/** Σ coefficients[k] · terms[k] (+ coefficients of the identity on the diagonal). */
function combine(n: number, terms: Float64Array[], coefficients: number[], identity = 0): Float64Array {
  const out = new Float64Array(n * n);
  terms.forEach((t, k) => {
    const c = coefficients[k];
    for (let i = 0; i < out.length; i++) out[i] += c * t[i];
  });
  for (let i = 0; i < n; i++) out[i * n + i] += identity;
  return out;
}

/** Solves P X = Q for X (n×n) by LU with partial pivoting. */
function solve(p: Float64Array, q: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(p);
  const x = Float64Array.from(q);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[piv * n + col])) piv = r;
    if (a[piv * n + col] === 0) throw new Error('matrix exponential: singular Padé denominator');
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        [a[col * n + j], a[piv * n + j]] = [a[piv * n + j], a[col * n + j]];
        [x[col * n + j], x[piv * n + j]] = [x[piv * n + j], x[col * n + j]];
      }
    }
    const d = a[col * n + col];
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col] / d;
      if (f === 0) continue;
      for (let j = col; j < n; j++) a[r * n + j] -= f * a[col * n + j];
      for (let j = 0; j < n; j++) x[r * n + j] -= f * x[col * n + j];
    }
  }
  for (let col = n - 1; col >= 0; col--) {
    const d = a[col * n + col];
    for (let j = 0; j < n; j++) x[col * n + j] /= d;
    for (let r = 0; r < col; r++) {
      const f = a[r * n + col];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) x[r * n + j] -= f * x[col * n + j];
    }
  }
  return x;
}

function norm1(a: Float64Array, n: number): number {
  let best = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(a[i * n + j]);
    best = Math.max(best, s);
  }
  return best;
}

// Higham (2005), "The scaling and squaring method for the matrix exponential revisited": the
// largest 1-norm for which the degree-m Padé approximant is accurate to double precision
const PADE_THETA: [number, number][] = [
  [3, 1.495585217958292e-2],
  [5, 2.53939833006323e-1],
  [7, 9.504178996162932e-1],
  [9, 2.097847961257068],
];
const PADE_B: Record<number, number[]> = {
  3: [120, 60, 12, 1],
  5: [30240, 15120, 3360, 420, 30, 1],
  7: [17297280, 8648640, 1995840, 277200, 25200, 1512, 56, 1],
  9: [17643225600, 8821612800, 2075673600, 302702400, 30270240, 2162160, 110880, 3960, 90, 1],
  13: [
    64764752532480000, 32382376266240000, 7771770303897600, 1187353796428800, 129060195264000, 10559470521600,
    670442572800, 33522128640, 1323241920, 40840800, 960960, 16380, 182, 1,
  ],
};
const THETA_13 = 5.371920351148152;

/**
 * e^M for a square float64 matrix (row-major, n×n): Higham's scaling and squaring with a
 * Padé approximant of degree 3, 5, 7, 9 or 13, as MATLAB's expm and SciPy's before 1.9.
 */
export function matrixExponential(m: Float64Array, n: number): Float64Array {
  if (!Number.isInteger(n) || n < 1 || m.length !== n * n)
    throw new Error(`matrixExponential: expected an ${n}×${n} matrix (got ${m.length} values)`);
  const norm = norm1(m, n);
  if (!Number.isFinite(norm)) throw new Error('matrixExponential: the matrix has non-finite entries');
  let a = m;
  let s = 0;
  let degree = 13;
  const small = PADE_THETA.find(([, theta]) => norm <= theta);
  if (small) degree = small[0];
  else {
    s = Math.max(0, Math.ceil(Math.log2(norm / THETA_13)));
    if (s > 0) a = m.map((v) => v / 2 ** s);
  }
  const b = PADE_B[degree];
  const a2 = matMul(a, a, n);
  let u: Float64Array;
  let v: Float64Array;
  if (degree < 13) {
    // powers A², A⁴, …; U = A Σ b_{2k+1} A^{2k}, V = Σ b_{2k} A^{2k}
    const powers = [a2];
    for (let k = 2; 2 * k <= degree; k++) powers.push(matMul(powers[powers.length - 1], a2, n));
    const odd = combine(
      n,
      powers,
      powers.map((_, k) => b[2 * k + 3]),
      b[1],
    );
    u = matMul(a, odd, n);
    v = combine(
      n,
      powers,
      powers.map((_, k) => b[2 * k + 2]),
      b[0],
    );
  } else {
    const a4 = matMul(a2, a2, n);
    const a6 = matMul(a4, a2, n);
    const inner = matMul(a6, combine(n, [a6, a4, a2], [b[13], b[11], b[9]]), n);
    u = matMul(a, combine(n, [inner, a6, a4, a2], [1, b[7], b[5], b[3]], b[1]), n);
    const innerV = matMul(a6, combine(n, [a6, a4, a2], [b[12], b[10], b[8]]), n);
    v = combine(n, [innerV, a6, a4, a2], [1, b[6], b[4], b[2]], b[0]);
  }
  let r = solve(combine(n, [v, u], [1, -1]), combine(n, [v, u], [1, 1]), n);
  for (let k = 0; k < s; k++) r = matMul(r, r, n);
  return r;
}

const cache = new Map<string, LmuStateSpace>();

/**
 * The LMU's discrete system for `order` Legendre coefficients of a window of `theta` steps:
 * zero-order hold with dt = 1 (`'zoh'`, through e^[[A, B], [0, 0]], as
 * `scipy.signal.cont2discrete(..., method='zoh')`), or Euler (`'euler'`: Ā = I + A, B̄ = B).
 * Row-major float64; Ā is applied as m_t = Ā m_{t−1} + B̄ u_t.
 *
 * @example lmuStateSpace(4, 10).A[0] // 0.8942245250378473
 * @see notebooks/02-nengo-lmu-psmnist.ipynb
 */
export function lmuStateSpace(order: number, theta: number, discretizer: LmuDiscretizer = 'zoh'): LmuStateSpace {
  positiveInteger('order', order);
  positiveNumber('theta', theta);
  checkDiscretizer(discretizer);
  const key = `${order}/${theta}/${discretizer}`;
  const hit = cache.get(key);
  if (hit) return { A: hit.A.slice(), B: hit.B.slice() };
  const { A, B } = lmuContinuous(order, theta);
  let result: LmuStateSpace;
  if (discretizer === 'euler') {
    for (let i = 0; i < order; i++) A[i * order + i] += 1;
    result = { A, B };
  } else {
    const n = order + 1;
    const aug = new Float64Array(n * n);
    for (let i = 0; i < order; i++) {
      aug.set(A.subarray(i * order, (i + 1) * order), i * n);
      aug[i * n + order] = B[i];
    }
    const e = matrixExponential(aug, n);
    const Ad = new Float64Array(order * order);
    const Bd = new Float64Array(order);
    for (let i = 0; i < order; i++) {
      Ad.set(e.subarray(i * n, i * n + order), i * order);
      Bd[i] = e[i * n + order];
    }
    result = { A: Ad, B: Bd };
  }
  cache.set(key, result);
  return { A: result.A.slice(), B: result.B.slice() };
}

/**
 * The impulse response of the discrete system, H[t] = Āᵗ B̄ for t < steps: [steps, order]
 * row-major float64 (KerasLMU's feedforward path convolves u with it).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function lmuImpulseResponse(system: LmuStateSpace, steps: number): Float64Array {
  positiveInteger('steps', steps);
  const order = system.B.length;
  const H = new Float64Array(steps * order);
  H.set(system.B, 0);
  for (let t = 1; t < steps; t++) {
    const prev = (t - 1) * order;
    for (let i = 0; i < order; i++) {
      let s = 0;
      for (let j = 0; j < order; j++) s += system.A[i * order + j] * H[prev + j];
      H[t * order + i] = s;
    }
  }
  return H;
}

/** Āᵏ, row-major float64. */
export function matrixPower(A: Float64Array, order: number, k: number): Float64Array {
  nonNegativeInteger('power', k);
  let result = new Float64Array(order * order);
  for (let i = 0; i < order; i++) result[i * order + i] = 1;
  let base = A;
  for (let e = k; e > 0; e >>= 1) {
    if (e & 1) result = matMul(result, base, order);
    if (e > 1) base = matMul(base, base, order);
  }
  return result;
}
