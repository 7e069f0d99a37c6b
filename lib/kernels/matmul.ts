/**
 * A matrix product whose gradients tfjs-wasm computes fast. tfjs differentiates matMul with
 * transposed matMuls (dA = dY·Bᵀ, dB = Aᵀ·dY), and tfjs-wasm runs a matMul with a transposed
 * operand ~10× slower than a plain one (2 against 20–30 GFLOP/s on [4900, 272] × [4900, 3392]).
 * This op is the backend's own BatchMatMul under another name, so that its gradient can transpose
 * explicitly (a copy) and then multiply plainly. As for any registered gradient, tfjs asks only
 * for the gradients of inputs on the path to the variables.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { requireKernel } from './registry';

/**
 * Kernel name: the backend's BatchMatMul under another name, registered with its gradient for
 * every backend by lib/kernels/all.ts (matMulAliasKernel, MATMUL_GRADIENT).
 */
export const MATMUL = 'SeqmnistMatMul';

/** MATMUL for `backendName`: its BatchMatMul, untransposed. */
export function matMulAliasKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: MATMUL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const k = tf.getKernel('BatchMatMul', backendName);
      if (!k) throw new Error(`${MATMUL}: backend ${backendName} has no BatchMatMul`);
      return k.kernelFunc({
        inputs,
        backend,
        attrs: { ...(attrs as NamedAttrMap), transposeA: false, transposeB: false },
      }) as TensorInfo;
    },
  };
}

/** a·b for a [batch, m, k] and b [batch, k, n] through the renamed kernel. */
function run(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return tf.engine().runKernel(MATMUL, { a, b }, { transposeA: false, transposeB: false }) as tf.Tensor3D;
}

const swap = (t: tf.Tensor3D) => tf.transpose(t, [0, 2, 1]) as tf.Tensor3D;

/** MATMUL's gradient: transposed operands copied, then plain products. */
export const MATMUL_GRADIENT: tf.GradConfig = {
  kernelName: MATMUL,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
    const [a, b] = saved as tf.Tensor3D[];
    const d = dy as tf.Tensor3D;
    // dB = Aᵀ·dY, or (dYᵀ·A)ᵀ when dY is the wide operand (XNNPACK repacks the right operand on every call)
    const viaDy = (attrs as { bGradViaDy?: boolean }).bGradViaDy === true;
    return {
      a: () => run(d, swap(b)),
      b: () => (viaDy ? swap(run(swap(d), a)) : run(swap(a), d)),
    };
  },
};

/**
 * a·b for a [m, k] and b [k, n], differentiable with plain (untransposed) matMuls only. With
 * `bGradViaDy`, b's gradient Aᵀ·dY is computed as (dYᵀ·A)ᵀ: faster when dY is much wider than A.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function matMulFastGrad(a: tf.Tensor2D, b: tf.Tensor2D, options: { bGradViaDy?: boolean } = {}): tf.Tensor2D {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
    throw new Error(`matMulFastGrad: expected [m, k] × [k, n] (got [${a.shape}] × [${b.shape}])`);
  }
  requireKernel(MATMUL);
  return tf.tidy(() => {
    const a3 = tf.reshape(a, [1, a.shape[0], a.shape[1]]) as tf.Tensor3D;
    const b3 = tf.reshape(b, [1, b.shape[0], b.shape[1]]) as tf.Tensor3D;
    const y = tf
      .engine()
      .runKernel(
        MATMUL,
        { a: a3, b: b3 },
        { transposeA: false, transposeB: false, bGradViaDy: options.bGradViaDy === true },
      ) as tf.Tensor3D;
    return tf.reshape(y, [a.shape[0], b.shape[1]]) as tf.Tensor2D;
  });
}
