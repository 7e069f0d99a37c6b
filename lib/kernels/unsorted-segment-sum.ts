/**
 * UnsortedSegmentSum for the wasm backend, which lacks it: the gradient of gather (embedding
 * lookups, index permutations) needs it. Registered by lib/kernels/all.ts; tested against the cpu
 * kernel in test/backend.test.ts.
 */
import type { JsKernel } from './registry';

/** The JS fill of UnsortedSegmentSum, for wasm. */
export const unsortedSegmentSumKernel: JsKernel = {
  kernelName: 'UnsortedSegmentSum',
  backends: ['wasm'],
  inputs: ['x', 'segmentIds'],
  compute({ x, segmentIds }, attrs) {
    const numSegments = attrs.numSegments as number;
    const rows = segmentIds.values.length; // segmentIds covers x's leading axes
    const inner = rows === 0 ? 0 : x.values.length / rows;
    const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
    for (let r = 0; r < rows; r++) {
      const s = segmentIds.values[r];
      if (s < 0 || s >= numSegments) continue; // tf drops out-of-range ids
      const src = r * inner;
      const dst = s * inner;
      for (let j = 0; j < inner; j++) out[dst + j] += x.values[src + j];
    }
    return { shape: [numSegments, ...x.shape.slice(segmentIds.shape.length)], dtype: x.dtype, values: out };
  },
};
