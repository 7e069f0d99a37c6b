/**
 * The kernel registry: kernels a backend lacks (wasm has no UnsortedSegmentSum,
 * Conv2DBackpropFilter, FFT or complex numbers) and the fused kernels this project adds for speed.
 * Each is written once in plain JavaScript over typed arrays, added here by its own file through
 * defineJsKernel, and registered for every backend that lacks it; each is tested against the cpu
 * backend's own kernel or the simple composition of tfjs ops it replaces (test/kernels*.test.ts).
 * The registry lives apart from lib/kernels/index.ts, which only re-exports the kernel files, so
 * that those files import it without an import cycle.
 */
import * as tf from '@tensorflow/tfjs';
import { backendTraits } from '../backend-traits';
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

const kernels: JsKernel[] = [];

/**
 * Adds a JS kernel to the fill list; it is registered for the current backend now (if one is set)
 * and for any backend chosen later by initBackend/useBackend.
 */
export function defineJsKernel(kernel: JsKernel): void {
  kernels.push(kernel);
  const current = tf.engine().backendName;
  if (current) registerKernelFills(current);
}

function needs(kernel: JsKernel, backendName: string): boolean {
  // webgpu gets WGSL versions of its own (lib/kernels/*-webgpu.ts): a JS kernel would read its data back each call
  if (!backendTraits(backendName).jsFills) return false;
  if (kernel.backends !== '*' && !kernel.backends.includes(backendName)) return false;
  return tf.getKernel(kernel.kernelName, backendName) == null;
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

function shareIdentity(backendName: string): void {
  const current = tf.getKernel('Identity', 'wasm');
  if (backendName !== 'wasm' || !current || current.kernelFunc === sharingIdentity) return;
  copyingIdentity = current.kernelFunc;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharingIdentity });
}

/**
 * Registers every kernel of the fill list that `backendName` lacks (and, on wasm, the sharing
 * Identity). Called by lib/backend.ts on selection; safe to call again.
 */
export function registerKernelFills(backendName: string): void {
  shareIdentity(backendName);
  for (const kernel of kernels) {
    if (!needs(kernel, backendName)) continue;
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
