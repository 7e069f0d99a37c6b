/**
 * Every kernel this project registers, listed in one place, and registerKernels, which registers
 * for one backend those it needs. lib/backend.ts calls it when it selects a backend (initBackend,
 * useBackend; gradient worker threads select theirs with useBackend too): loading a kernel or model
 * module registers nothing, so what runs does not depend on which module happened to load first.
 *
 * - JS_KERNELS: written once in plain JavaScript over typed arrays (lib/kernels/registry.ts), for
 *   every backend whose traits take JS kernels (backendTraits(name).jsFills: not webgpu), each only
 *   where the backend lacks it: wasm's missing UnsortedSegmentSum and Conv2DBackpropFilter, and the
 *   fused kernels of our own (LSTM, EURNN, tanh RNN, linear scan).
 * - WASM_KERNELS: fused kernels working in tfjs-wasm's heap in place (the tanh RNN) or reading
 *   their inputs there (the LSTM), before the JS versions.
 * - WEBGPU_KERNELS: the fused kernels in WGSL, for webgpu.
 * - matMulAliasKernel(name) and MATMUL_GRADIENT: tfjs's BatchMatMul under another name, for every
 *   backend, with a gradient that multiplies untransposed operands (lib/kernels/matmul.ts).
 * - the sharing Identity on wasm (registerSharingIdentity, lib/kernels/registry.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { backendTraits } from '../backend-traits';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter';
import { eurnnBackwardKernel, eurnnForwardKernel, getEurnnEngine } from './eurnn';
import { EURNN_WEBGPU_KERNELS } from './eurnn-webgpu';
import {
  getLstmEngine,
  LSTM_WASM_KERNELS,
  lstmBackwardKeptKernel,
  lstmBackwardKernel,
  lstmForwardKernel,
} from './lstm';
import { LSTM_WEBGPU_KERNELS } from './lstm-webgpu';
import { MATMUL, MATMUL_GRADIENT, matMulAliasKernel } from './matmul';
import { JsKernel, registerKernelFills, registerOwnKernel, registerSharingIdentity } from './registry';
import { linearScanKernel, TANH_RNN_WASM_KERNELS, tanhRnnBackwardKernel, tanhRnnForwardKernel } from './tanh-rnn';
import { TANH_RNN_WEBGPU_KERNELS } from './tanh-rnn-webgpu';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum';

/** The JS kernels: fills for kernels a backend lacks, and the JS versions of the fused kernels. */
export const JS_KERNELS: readonly JsKernel[] = [
  // fills for kernels wasm lacks
  unsortedSegmentSumKernel,
  conv2dBackpropFilterKernel,
  // fused kernels of our own
  lstmForwardKernel,
  lstmBackwardKernel,
  lstmBackwardKeptKernel,
  eurnnForwardKernel,
  eurnnBackwardKernel,
  tanhRnnForwardKernel,
  tanhRnnBackwardKernel,
  linearScanKernel,
];

/** Kernels for the wasm backend that work in its heap, in place of the JS versions. */
export const WASM_KERNELS: readonly tf.KernelConfig[] = [...TANH_RNN_WASM_KERNELS, ...LSTM_WASM_KERNELS];

/** The fused kernels in WGSL, for the webgpu backend (no JS kernel runs there). */
export const WEBGPU_KERNELS: readonly tf.KernelConfig[] = [
  ...TANH_RNN_WEBGPU_KERNELS,
  ...LSTM_WEBGPU_KERNELS,
  ...EURNN_WEBGPU_KERNELS,
];

/**
 * Registers for `backendName` every kernel of ours it needs: the backend's own versions
 * (WASM_KERNELS, WEBGPU_KERNELS, replacing a JS version registered before), the MatMul alias and
 * its gradient, wasm's sharing Identity, then the JS kernels it lacks where its traits take them.
 * Idempotent: a kernel registered already is kept. Called by lib/backend.ts on selection.
 */
export function registerKernels(backendName: string): void {
  for (const config of [...WASM_KERNELS, ...WEBGPU_KERNELS]) {
    if (config.backendName === backendName) registerOwnKernel(config);
  }
  if (!tf.getKernel(MATMUL, backendName)) tf.registerKernel(matMulAliasKernel(backendName));
  if (tf.getGradient(MATMUL) !== MATMUL_GRADIENT) tf.registerGradient(MATMUL_GRADIENT);
  registerSharingIdentity(backendName);
  if (backendTraits(backendName).jsFills) registerKernelFills(backendName, JS_KERNELS);
}

/** What runs a fused kernel on `backendName`: its WGSL version where one is registered for it, else its engine. */
function runningKernel(webgpu: readonly tf.KernelConfig[], engine: () => string, backendName: string): string {
  return webgpu.some((k) => k.backendName === backendName) ? `${backendName} (WGSL)` : engine();
}

/**
 * What runs the fused LSTM kernel on `backendName` (default: the backend in use): 'webgpu (WGSL)'
 * on webgpu, else the JS kernel's engine ('wasm-simd' or 'js', getLstmEngine).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function lstmKernelEngine(backendName: string = tf.getBackend()): string {
  return runningKernel(LSTM_WEBGPU_KERNELS, getLstmEngine, backendName);
}

/**
 * What runs the fused EURNN kernel on `backendName` (default: the backend in use): 'webgpu (WGSL)'
 * on webgpu, else the JS kernel's engine ('wasm-simd' or 'js', getEurnnEngine).
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function eurnnKernelEngine(backendName: string = tf.getBackend()): string {
  return runningKernel(EURNN_WEBGPU_KERNELS, getEurnnEngine, backendName);
}
