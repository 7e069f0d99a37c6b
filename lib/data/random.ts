/**
 * NumPy's legacy `np.random.RandomState`, bit for bit, for the parts the walkthroughs use:
 * the psMNIST pixel permutation (`RandomState(0).permutation(784)` in KerasLMU's notebook),
 * shuffles, bounded integers and uniform doubles.
 *
 * Porting note: NumPy ≥ 1.17 keeps RandomState's streams frozen ("legacy"): MT19937 seeded with
 * `init_genrand(seed)` for an integer seed, 53-bit doubles from two 32-bit draws, and bounded
 * integers by masked rejection (`random_interval` / `random_bounded_uint64_fill` with
 * `use_masked=True`). Everything here follows those paths; test/fixtures/random-state.json pins
 * outputs taken from NumPy 1.24.
 */
import { nonNegativeInteger } from '../checks';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const MAX_UINT32 = 0xffffffff;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** The MT19937 state, as in the key/pos entries of NumPy's `get_state()`. */
export interface RandomStateState {
  /** 624 words of state. */
  key: Uint32Array;
  /** Position of the next word in `key` (624 = regenerate before the next draw). */
  pos: number;
}

/** An index-writable array of numbers: a typed array or a plain `number[]`. */
export type NumericArray = { length: number; [index: number]: number };

/** Smallest all-ones bit mask ≥ max, for max < 2**32. */
function maskFor(max: number): number {
  let mask = max;
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  return mask >>> 0;
}

/**
 * NumPy's legacy `np.random.RandomState(seed)`: the same numbers, in the same order, for
 * `random_sample`, `randint`, `permutation`, `shuffle` and `uniform`.
 *
 * @example
 * new RandomState(0).permutation(784) // Int32Array [693, 85, 647, 392, …]
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export class RandomState {
  private readonly key = new Uint32Array(N);
  private pos = N;

  /**
   * @param seed an integer in [0, 2**32 − 1], as NumPy accepts for an integer seed (default 0).
   */
  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Re-seeds in place, like `RandomState.seed(seed)`. */
  seed(seed: number): void {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_UINT32) {
      throw new Error(`seed must be an integer between 0 and 2**32 - 1 (got ${seed})`);
    }
    // init_genrand, which NumPy's _legacy_seeding uses for an integer seed
    const key = this.key;
    key[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = key[i - 1];
      key[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.pos = N;
  }

  /** A copy of the generator state (NumPy's `get_state()[1:3]`). */
  getState(): RandomStateState {
    return { key: this.key.slice(), pos: this.pos };
  }

  /** Restores a state taken by getState() (or NumPy's key and pos). */
  setState(state: RandomStateState): void {
    if (state.key.length !== N) throw new Error(`state key must hold ${N} words (got ${state.key.length})`);
    if (!Number.isInteger(state.pos) || state.pos < 0 || state.pos > N) {
      throw new Error(`state pos must be an integer in [0, ${N}] (got ${state.pos})`);
    }
    this.key.set(state.key);
    this.pos = state.pos;
  }

  private twist(): void {
    const key = this.key;
    let i = 0;
    let y: number;
    for (; i < N - M; i++) {
      y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
      key[i] = key[i + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
      key[i] = key[i + M - N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (key[N - 1] & UPPER_MASK) | (key[0] & LOWER_MASK);
    key[N - 1] = key[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }

  /** The next raw 32-bit output of MT19937, as an unsigned number. */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private nextDouble(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform integer in [0, max] by masked rejection (NumPy's `random_interval`, max < 2**32). */
  private interval(max: number): number {
    if (max === 0) return 0;
    if (max === MAX_UINT32) return this.nextUint32();
    const mask = maskFor(max);
    let value: number;
    do {
      value = (this.nextUint32() & mask) >>> 0;
    } while (value > max);
    return value;
  }

  /** Uniform doubles in [0, 1) with 53 random bits, like `random_sample()`. */
  randomSample(): number;
  randomSample(size: number): Float64Array;
  randomSample(size?: number): number | Float64Array {
    if (size === undefined) return this.nextDouble();
    const out = new Float64Array(nonNegativeInteger('size', size));
    for (let i = 0; i < out.length; i++) out[i] = this.nextDouble();
    return out;
  }

  /**
   * Uniform integers in [low, high), like `randint(low, high, size)`; `randint(high)` draws from
   * [0, high). Bounds must lie in the int32 range (results are Int32Array).
   */
  randint(high: number): number;
  randint(low: number, high: number | undefined): number;
  randint(low: number, high: number | undefined, size: number): Int32Array;
  randint(low: number, high?: number, size?: number): number | Int32Array {
    if (high === undefined) {
      high = low;
      low = 0;
    }
    for (const [name, v] of [
      ['low', low],
      ['high', high],
    ] as const) {
      if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX + 1) {
        throw new Error(`randint ${name} must be an integer in [-2**31, 2**31] (got ${v})`);
      }
    }
    if (low >= high) throw new Error(`randint needs low < high (got low=${low}, high=${high})`);
    const range = high - low - 1;
    if (size === undefined) return low + this.interval(range);
    const out = new Int32Array(nonNegativeInteger('size', size));
    for (let i = 0; i < out.length; i++) out[i] = low + this.interval(range);
    return out;
  }

  /**
   * Shuffles a 1-D array in place, like `shuffle(x)`: Fisher–Yates from the last element down,
   * swapping element i with `random_interval(i)`.
   */
  shuffle<T extends NumericArray>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /**
   * `permutation(n)`: a shuffled `arange(n)` as an Int32Array. `permutation(array)`: a shuffled
   * copy of a 1-D array, of the same type.
   */
  permutation(n: number): Int32Array;
  permutation<T extends NumericArray>(array: T): T;
  permutation(arg: number | NumericArray): NumericArray {
    if (typeof arg === 'number') {
      if (!Number.isInteger(arg) || arg < 0 || arg > INT32_MAX) {
        throw new Error(`permutation length must be a non-negative integer below 2**31 (got ${arg})`);
      }
      const out = new Int32Array(arg);
      for (let i = 0; i < arg; i++) out[i] = i;
      return this.shuffle(out);
    }
    const copy = (arg as { slice?: () => NumericArray }).slice?.() ?? Array.from(arg as ArrayLike<number>);
    return this.shuffle(copy);
  }

  /** Uniform doubles in [low, high), like `uniform(low, high, size)`: low + (high − low)·u. */
  uniform(low?: number, high?: number): number;
  uniform(low: number, high: number, size: number): Float64Array;
  uniform(low = 0, high = 1, size?: number): number | Float64Array {
    const range = high - low;
    if (!Number.isFinite(range)) {
      throw new Error(`uniform needs finite bounds with a finite difference (got low=${low}, high=${high})`);
    }
    if (size === undefined) return low + range * this.nextDouble();
    const out = new Float64Array(nonNegativeInteger('size', size));
    for (let i = 0; i < out.length; i++) out[i] = low + range * this.nextDouble();
    return out;
  }
}

/**
 * The psMNIST pixel order: `RandomState(seed).permutation(784)`, as KerasLMU's notebook draws it
 * with seed 0. Apply it with permutePixels().
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function psmnistPermutation(seed = 0): Int32Array {
  return new RandomState(seed).permutation(784);
}
