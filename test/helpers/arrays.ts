/** Arrays for kernel tests: seeded inputs and the error measure the webgpu kernel tests share. */
import assert from 'node:assert/strict';

/** Seeded uniform values in [-scale, scale). */
export function seededValues(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** max |got − want| / (1 + max |want|) */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let diff = 0;
  let size = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    size = Math.max(size, Math.abs(want[i]));
  }
  return diff / (1 + size);
}
