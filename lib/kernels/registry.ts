/**
 * The kernel registry's parts: the JsKernel type (a kernel written once in plain JavaScript over
 * typed arrays), the wrapper that registers such kernels for a backend that lacks them, and wasm's
 * sharing Identity. The kernels themselves are values exported by their own files (wasm has no
 * UnsortedSegmentSum or Conv2DBackpropFilter; the fused kernels are ours), and nothing registers
 * on load: lib/kernels/all.ts lists them and registers them for a backend when lib/backend.ts
 * selects it. Each is tested against the cpu backend's own kernel or the simple composition of
 * tfjs ops it replaces (test/kernels*.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { DataType, KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { shareTensorData, writeKernelOutput } from '../tfjs-internals';

/** A tensor as a JS kernel sees it. */
export interface KernelArray {
  shape: number[];
  dtype: DataType;
  values: Float32Array | Int32Array;
}

/** What a JS kernel returns: one output or several. */
export type KernelResult = KernelArray | KernelArray[];

/** A kernel written once in JavaScript, registered for the backends named in `backends` ('*' = all). */
export interface JsKernel {
  kernelName: string;
  /** The backends that need this kernel; '*' for a kernel of our own that every backend uses. */
  backends: string[] | '*';
  /** Input names in the order tfjs passes them (e.g. ['x', 'segmentIds']). */
  inputs: string[];
  compute(inputs: Record<string, KernelArray>, attrs: NamedAttrMap): KernelResult;
}

function readArray(backend: KernelBackend, t: TensorInfo): KernelArray {
  const values = backend.readSync(t.dataId) as Float32Array | Int32Array;
  return { shape: t.shape.slice(), dtype: t.dtype, values };
}

function writeArray(backend: KernelBackend, a: KernelArray): TensorInfo {
  return writeKernelOutput(backend, a.shape, a.dtype, a.values);
}

/**
 * tfjs saves the tensors a gradient needs through `Identity` (a clone per saved tensor), and
 * tfjs-wasm's Identity copies the data: 33 MB per [50, 784, 212] activation saved, ~3 ms each on
 * every LMU step. Tensors are immutable, so the clone can share the data and count a reference,
 * as tfjs-wasm's own Reshape and the cpu backend's Identity do.
 */
let copyingIdentity: tf.KernelFunc | undefined;

const sharingIdentity: tf.KernelFunc = (args) => {
  const x = (args.inputs as Record<string, TensorInfo>).x;
  if (x.dtype === 'string') return copyingIdentity!(args); // strings live in JS, not in the heap
  return shareTensorData(args.backend as KernelBackend, x);
};

/**
 * On wasm, replaces tfjs-wasm's copying Identity with the sharing one (once: safe to call again);
 * on any other backend, does nothing.
 */
export function registerSharingIdentity(backendName: string): void {
  const current = tf.getKernel('Identity', 'wasm');
  if (backendName !== 'wasm' || !current || current.kernelFunc === sharingIdentity) return;
  copyingIdentity = current.kernelFunc;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharingIdentity });
}

/**
 * Registers for `backendName` each kernel of `kernels` that it needs (its `backends` name it, or
 * '*') and lacks, wrapped so that it reads its inputs into typed arrays and writes its outputs
 * back. A kernel the backend has already (its own, or one registered before) is skipped, so this
 * is safe to call again. Which backends take JS kernels at all is the caller's question
 * (lib/kernels/all.ts asks lib/backend-traits.ts).
 */
export function registerKernelFills(backendName: string, kernels: readonly JsKernel[]): void {
  for (const kernel of kernels) {
    if (kernel.backends !== '*' && !kernel.backends.includes(backendName)) continue;
    if (tf.getKernel(kernel.kernelName, backendName) != null) continue;
    tf.registerKernel({
      kernelName: kernel.kernelName,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const args: Record<string, KernelArray> = {};
        for (const name of kernel.inputs) {
          const t = (inputs as Record<string, TensorInfo>)[name];
          if (t == null) throw new Error(`${kernel.kernelName}: missing input '${name}'`);
          args[name] = readArray(backend as KernelBackend, t);
        }
        const result = kernel.compute(args, attrs ?? {});
        return Array.isArray(result)
          ? result.map((r) => writeArray(backend as KernelBackend, r))
          : writeArray(backend as KernelBackend, result);
      },
    });
  }
}

/**
 * Registers `config` as the kernel for its backend, replacing another one of the same name (a JS
 * fill, or an older registration); does nothing when it is registered already. For the kernels
 * that work on a backend's own memory (tfjs-wasm's heap, WebGPU buffers).
 */
export function registerOwnKernel(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current?.kernelFunc === config.kernelFunc) return;
  if (current) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Throws unless `kernelName` is registered for the backend in use: our kernels are registered when
 * lib/backend.ts selects a backend, not when their module loads, so a backend set by
 * tf.setBackend() alone lacks them. One registry lookup; called by the ops before they run one.
 */
export function requireKernel(kernelName: string): void {
  // no backend yet: tfjs would start its best one at the first op (cpu here), which has none of ours
  const backendName = tf.getBackend() ?? (tf.engine().backend && tf.getBackend());
  if (tf.getKernel(kernelName, backendName) != null) return;
  throw new Error(
    `kernel ${kernelName} is not registered for backend '${backendName}': ` +
      'choose the backend with initBackend() or useBackend() (lib/backend.ts)',
  );
}
