/**
 * What each tfjs backend is, asked in one place: whether its tensors live on a GPU (reads are
 * asynchronous, JS kernel fills never run there, one thread per step) and whether a training step
 * may be split over worker threads (the CPU backends). A new backend is one row here.
 */
import * as tf from '@tensorflow/tfjs';

/** The traits of one backend. */
export interface BackendTraits {
  /** Tensors live on a device: no JS fill, no synchronous reads, the fused kernels' device versions. */
  gpu: boolean;
  /** A training step may be split over worker threads, one per core (lib/train/parallel.ts). */
  workerThreads: boolean;
  /**
   * The fused kernels' JS versions may fill in for kernels it lacks (lib/kernels/registry.ts):
   * not on webgpu, whose data a JS kernel could only read back asynchronously (it has WGSL ones).
   */
  jsFills: boolean;
}

/** Every backend this project knows, fastest first, with its traits. */
export const BACKEND_TRAITS = {
  tensorflow: { gpu: true, workerThreads: false, jsFills: true },
  webgpu: { gpu: true, workerThreads: false, jsFills: false },
  wasm: { gpu: false, workerThreads: true, jsFills: true },
  cpu: { gpu: false, workerThreads: true, jsFills: true },
} as const satisfies Record<string, BackendTraits>;

/** A backend of this project, by name. */
export type BackendName = keyof typeof BACKEND_TRAITS;

/** The traits of `name` (default: the backend in use); a backend this project does not know has none. */
export function backendTraits(name: string = tf.getBackend()): BackendTraits {
  return (BACKEND_TRAITS as Record<string, BackendTraits>)[name] ?? { gpu: false, workerThreads: false, jsFills: true };
}

/** Whether `name` (default: the backend in use) keeps its tensors on a GPU. */
export function onGpu(name: string = tf.getBackend()): boolean {
  return backendTraits(name).gpu;
}
