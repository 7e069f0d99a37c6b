/**
 * Backend selection: the fastest tfjs backend that works here, in the order
 * tfjs-node-gpu (`tensorflow`) → `webgpu` → `wasm` → `cpu`, overridable with SEQMNIST_BACKEND or
 * useBackend(). Automatic selection takes webgpu only on a GPU adapter; asked for by name, it takes
 * a software one too (Mesa's llvmpipe in CI). On selection, the kernels of lib/kernels/ that the
 * backend needs (fills for kernels it lacks, the fused kernels) are registered by
 * lib/kernels/all.ts: a backend set with tf.setBackend() alone has none of them.
 */
import * as tf from '@tensorflow/tfjs';
import * as os from 'os';
import { BACKEND_TRAITS, BackendName, onGpu } from './backend-traits';
import { requestedBackend } from './settings';
import { usesGpuDevice } from './tfjs-internals';
// every kernel of ours (fills for kernels a backend lacks, the fused kernels), registered on selection
import { registerKernels } from './kernels/all';
import { adapterLine, gpuAbsence, registerWebGpu, webGpuAdapter, webGpuFailure } from './webgpu';

/** The backends this project knows, fastest first. */
export const BACKENDS = Object.keys(BACKEND_TRAITS) as BackendName[];
export type { BackendName };

let ready: Promise<BackendName> | undefined;

function checkName(name: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`unknown backend '${name}' (expected one of: ${BACKENDS.join(', ')})`);
  }
  return name as BackendName;
}

/** Why each backend tried last could not start, for the error that names them. */
const failures = new Map<BackendName, string>();

/** Loads the module that registers a backend; false when it cannot load here. */
function loadBackendModule(name: BackendName, requested: boolean): boolean {
  try {
    if (name === 'webgpu') {
      // automatic selection wants a GPU: on Linux, only where a hardware Vulkan driver and a GPU device are present
      const absent = requested ? undefined : gpuAbsence();
      if (absent) {
        failures.set(name, absent);
        return false;
      }
      registerWebGpu(requested);
      return true;
    }
    if (name === 'tensorflow') {
      // Optional dependency: absent or without libtensorflow/CUDA, this throws and we fall back.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when asked for, and may be missing
      require('@tensorflow/tfjs-node-gpu');
    } else if (name === 'wasm') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- registers the backend on load, only when chosen
      require('@tensorflow/tfjs-backend-wasm');
    }
    return tf.findBackendFactory(name) != null;
  } catch (e) {
    failures.set(name, (e as Error).message.split('\n')[0]);
    return false;
  }
}

async function trySetBackend(name: BackendName, requested: boolean): Promise<boolean> {
  failures.delete(name);
  if (!loadBackendModule(name, requested)) return false;
  try {
    // tfjs logs a failed factory with console.warn; our error names the reason instead
    const warn = console.warn;
    console.warn = name === 'webgpu' ? () => {} : warn;
    const ok = await tf.setBackend(name).finally(() => (console.warn = warn));
    if (!ok && name === 'webgpu') failures.set(name, webGpuFailure() ?? 'could not start');
    return ok;
  } catch (e) {
    failures.set(name, (e as Error).message.split('\n')[0]);
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
  const name = tf.getBackend();
  return onGpu(name) ? deviceDescription(name as BackendName) : cpuDescription();
}

/** Human-readable device line for the backend in use. */
export function deviceDescription(name: BackendName = tf.getBackend() as BackendName): string {
  const cpu = cpuDescription();
  if (name === 'tensorflow') {
    // tfjs-node-gpu reports whether it was built against CUDA; the device list is TensorFlow's own.
    return usesGpuDevice() ? 'GPU (CUDA, libtensorflow)' : `${cpu} (libtensorflow)`;
  }
  if (name === 'webgpu') {
    const a = webGpuAdapter();
    return a ? adapterLine(a) : 'WebGPU (adapter not started)';
  }
  if (name === 'wasm') return `${cpu}, WebAssembly SIMD, 1 thread`;
  return `${cpu}, pure JavaScript`;
}

async function select(requested?: string): Promise<BackendName> {
  const order: BackendName[] = requested ? [checkName(requested)] : [...BACKENDS];
  for (const name of order) {
    if (await trySetBackend(name, requested !== undefined)) {
      registerKernels(name);
      return name;
    }
  }
  const why = (name: BackendName) => (failures.has(name) ? `: ${failures.get(name)}` : '');
  throw new Error(
    requested
      ? `backend '${requested}' could not be initialised here${why(requested as BackendName)}` +
          (requested === 'tensorflow' ? ' (@tensorflow/tfjs-node-gpu needs CUDA 11.2 + cuDNN 8.1; see README)' : '')
      : `no tfjs backend could be initialised (tried ${order.map((n) => n + why(n)).join('; ')})`,
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
 * Switches to the named backend ('tensorflow', 'webgpu', 'wasm' or 'cpu'), throwing if it is unknown or cannot start.
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
