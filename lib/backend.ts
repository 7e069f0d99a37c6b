/**
 * Backend selection: the fastest tfjs backend that works here, in the order
 * tfjs-node-gpu (`tensorflow`) → `wasm` → `cpu`, overridable with SEQMNIST_BACKEND or useBackend().
 * Kernels that a backend lacks are filled in one place, lib/kernels/.
 */
import * as tf from '@tensorflow/tfjs';
import * as os from 'os';
import { requestedBackend } from './settings';
import { usesGpuDevice } from './tfjs-internals';
import { registerKernelFills } from './kernels/registry';
// the fills for kernels wasm lacks register themselves on load (the fused kernels load with their ops)
import './kernels/unsorted-segment-sum';
import './kernels/conv2d-backprop-filter';

/** The backends this project knows, fastest first. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

let ready: Promise<BackendName> | undefined;

function checkName(name: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`unknown backend '${name}' (expected one of: ${BACKENDS.join(', ')})`);
  }
  return name as BackendName;
}

/** Loads the module that registers a backend; false when it cannot load here. */
function loadBackendModule(name: BackendName): boolean {
  try {
    if (name === 'tensorflow') {
      // Optional dependency: absent or without libtensorflow/CUDA, this throws and we fall back.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when asked for, and may be missing
      require('@tensorflow/tfjs-node-gpu');
    } else if (name === 'wasm') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- registers the backend on load, only when chosen
      require('@tensorflow/tfjs-backend-wasm');
    }
    return tf.findBackendFactory(name) != null;
  } catch {
    return false;
  }
}

async function trySetBackend(name: BackendName): Promise<boolean> {
  if (!loadBackendModule(name)) return false;
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

function cpuDescription(): string {
  return `${os.cpus()[0]?.model?.trim() ?? 'CPU'} (${os.cpus().length} cores)`;
}

/**
 * What a training log records as its device: the GPU or CPU libtensorflow used, else the CPU and
 * its cores, e.g. 'AMD EPYC (2 cores)' (the threads a training used are logged beside it).
 */
export function trainingDevice(): string {
  return tf.getBackend() === 'tensorflow' ? deviceDescription('tensorflow') : cpuDescription();
}

/** Human-readable device line for the backend in use. */
export function deviceDescription(name: BackendName = tf.getBackend() as BackendName): string {
  const cpu = cpuDescription();
  if (name === 'tensorflow') {
    // tfjs-node-gpu reports whether it was built against CUDA; the device list is TensorFlow's own.
    return usesGpuDevice() ? 'GPU (CUDA, libtensorflow)' : `${cpu} (libtensorflow)`;
  }
  if (name === 'wasm') return `${cpu}, WebAssembly SIMD, 1 thread`;
  return `${cpu}, pure JavaScript`;
}

async function select(requested?: string): Promise<BackendName> {
  const order: BackendName[] = requested ? [checkName(requested)] : [...BACKENDS];
  for (const name of order) {
    if (await trySetBackend(name)) {
      registerKernelFills(name);
      return name;
    }
  }
  throw new Error(
    requested
      ? `backend '${requested}' could not be initialised here` +
          (requested === 'tensorflow' ? ' (@tensorflow/tfjs-node-gpu needs CUDA 11.2 + cuDNN 8.1; see README)' : '')
      : `no tfjs backend could be initialised (tried ${BACKENDS.join(', ')})`,
  );
}

/**
 * Initialises the backend once: SEQMNIST_BACKEND if set, else the fastest that works.
 * Prints one line naming the backend and the device. Later calls return the same promise.
 * @see notebooks/00-data-psmnist.ipynb
 */
export function initBackend(options: { quiet?: boolean } = {}): Promise<BackendName> {
  if (!ready) {
    ready = select(requestedBackend()).then((name) => {
      if (!options.quiet) console.log(`backend: ${name} on ${deviceDescription(name)}`);
      return name;
    });
    ready.catch(() => (ready = undefined));
  }
  return ready;
}

/**
 * Switches to the named backend ('tensorflow', 'wasm' or 'cpu'), throwing if it is unknown or cannot start.
 * @see notebooks/00-data-psmnist.ipynb
 */
export async function useBackend(name: string, options: { quiet?: boolean } = {}): Promise<BackendName> {
  const chosen = select(name);
  ready = chosen;
  const picked = await chosen.catch((e) => {
    ready = undefined;
    throw e;
  });
  if (!options.quiet) console.log(`backend: ${picked} on ${deviceDescription(picked)}`);
  return picked;
}
