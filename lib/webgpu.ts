/**
 * WebGPU under Node: Google's Dawn (the optional `webgpu` npm package, a prebuilt addon) under
 * tfjs-backend-webgpu. Everything Node needs for it is done here, once:
 *
 * - Dawn's globals (GPUBufferUsage, GPUBuffer, …) that tfjs-webgpu reads, put on globalThis;
 * - the adapter: Dawn's native backend first (Vulkan on Linux, Metal on macOS, D3D12 on Windows),
 *   then OpenGL ES in compatibility mode (with EGL_PLATFORM=surfaceless on Linux, so that Mesa
 *   needs no display), the only way Dawn reaches Mesa's llvmpipe;
 * - the device, asked for the adapter's own limits (tfjs's request leaves the storage-buffer count
 *   at WebGPU's default, too few for the fused kernels' backward passes);
 * - a backend factory registered with tfjs directly (tfjs-webgpu registers its own only where
 *   navigator.gpu exists, and asks for no compatibility mode);
 * - errors: a lost device or an uncaptured error (a WGSL compile error names its kernel, the
 *   pipeline's label) fails the next read of a tensor, so that a training step throws instead of
 *   computing on; Dawn keeps no handle that stops the process from exiting.
 *
 * A software adapter (llvmpipe, lavapipe, SwiftShader, WARP) is taken only when asked for
 * (SEQMNIST_BACKEND=webgpu or useBackend('webgpu')); automatic selection wants a GPU.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import { webGpuInternals } from './tfjs-internals';

/** What a backend line says of the adapter. */
export interface WebGpuAdapter {
  vendor: string;
  architecture: string;
  /** the adapter's device or description, e.g. 'NVIDIA H200' or 'llvmpipe (LLVM 15.0.6, 256 bits)' */
  description: string;
  /** Dawn's native API under WebGPU: 'Vulkan', 'Metal', 'D3D12' or 'OpenGL ES' */
  api: string;
  /** a CPU/software adapter rather than a GPU */
  software: boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- Dawn's and WebGPU's objects, typed by no package we depend on */
type Gpu = { requestAdapter(options?: Record<string, unknown>): Promise<any> };
type Dawn = { create(flags: string[]): Gpu; globals: Record<string, unknown> };

let dawn: Dawn | undefined;
let adapterInUse: WebGpuAdapter | undefined;
/** Dawn's instances, one per native API tried (each loads its driver once). */
const instances: Record<string, Gpu> = {};
let deviceError: Error | undefined;
let lastFailure: string | undefined;
type WebGpuBackendClass = new (device: any, adapterInfo: any) => any;
let WebGPUBackend: WebGpuBackendClass | undefined;

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i;

/** The Dawn addon of the `webgpu` package for this platform; throws one line when it cannot load. */
function loadDawn(): Dawn {
  if (dawn) return dawn;
  let pkg: string;
  try {
    pkg = path.dirname(require.resolve('webgpu/package.json'));
  } catch {
    throw new Error("the optional package 'webgpu' (Dawn) is not installed: run npm install webgpu");
  }
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const addon = path.join(pkg, 'dist', `${process.platform}-${arch}`, 'dawn.node');
  if (!fs.existsSync(addon)) throw new Error(`the webgpu package has no Dawn build for ${process.platform}-${arch}`);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon, loaded only when WebGPU is wanted
    dawn = require(addon) as Dawn;
  } catch (e) {
    throw new Error(`Dawn (${addon}) failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  return dawn;
}

function nativeApi(): string {
  return process.platform === 'darwin' ? 'Metal' : process.platform === 'win32' ? 'D3D12' : 'Vulkan';
}

/** Vulkan drivers (ICD files) this Linux machine declares, other than Mesa's software lavapipe. */
export function hardwareVulkanDrivers(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || '').split(':').filter(Boolean);
  const dirs = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  const found = listed.length
    ? listed
    : dirs.flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d).map((f) => path.join(d, f)) : []));
  return found.filter((f) => f.endsWith('.json') && !/lvp_icd|lavapipe|swiftshader/i.test(path.basename(f)));
}

/**
 * Whether automatic selection should try WebGPU at all: on Linux only where a hardware Vulkan
 * driver is declared (else Dawn would only print its failures and find llvmpipe), elsewhere always.
 */
export function mayHaveGpu(): boolean {
  return process.platform !== 'linux' || hardwareVulkanDrivers().length > 0;
}

function describe(adapter: any, api: string): WebGpuAdapter {
  const info = adapter.info ?? {};
  const description = String(info.description || info.device || 'unknown adapter').trim();
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return {
    vendor: String(info.vendor ?? ''),
    architecture: String(info.architecture ?? ''),
    description:
      info.device && !String(info.description).includes(info.device) ? `${info.device}, ${description}` : description,
    api,
    software: info.isFallbackAdapter === true || SOFTWARE.test(text),
  };
}

/** The adapter line, e.g. 'NVIDIA H200 (nvidia, hopper) through Dawn/Vulkan'. */
export function adapterLine(a: WebGpuAdapter): string {
  const who = [a.vendor, a.architecture].filter(Boolean).join(', ');
  return `${a.description}${who ? ` (${who})` : ''} through Dawn/${a.api}${a.software ? ', a software adapter' : ''}`;
}

/** tfjs-webgpu's backend checks that navigator.gpu exists (Node 20 has no navigator, 21+ one without gpu). */
function setNavigatorGpu(gpu: Gpu): void {
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
}

/** Finds an adapter: native API first, then OpenGL ES in compatibility mode. Throws naming each try. */
async function findAdapter(allowSoftware: boolean): Promise<{ adapter: any; described: WebGpuAdapter }> {
  const d = loadDawn();
  if (process.platform === 'linux') process.env.EGL_PLATFORM ??= 'surfaceless';
  const tries: Array<{ api: string; flags: string[]; options: Record<string, unknown> }> = [];
  const failures: string[] = [];
  // on Linux without a Vulkan driver, Dawn would only print its failure to find one
  if (mayHaveGpu()) tries.push({ api: nativeApi(), flags: [], options: { powerPreference: 'high-performance' } });
  else failures.push('Vulkan: no hardware Vulkan driver declared');
  if (process.platform !== 'darwin') {
    tries.push({ api: 'OpenGL ES', flags: ['backend=opengles'], options: { featureLevel: 'compatibility' } });
  }
  for (const t of tries) {
    let adapter: any;
    try {
      const gpu = (instances[t.api] ??= d.create(t.flags));
      adapter = await gpu.requestAdapter(t.options);
      if (adapter) setNavigatorGpu(gpu);
    } catch (e) {
      failures.push(`${t.api}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    if (!adapter) {
      failures.push(`${t.api}: no adapter`);
      continue;
    }
    const described = describe(adapter, t.api);
    if (described.software && !allowSoftware) {
      failures.push(`${t.api}: only the software adapter ${described.description}`);
      continue;
    }
    return { adapter, described };
  }
  throw new Error(`no WebGPU adapter (tried ${failures.join('; ')})`);
}

/**
 * One line for an error Dawn reports: the kernel (the label of the object that failed, e.g. a
 * pipeline our WGSL runner named after its kernel) and the first line of Dawn's message.
 */
export function uncapturedErrorLine(message: string): string {
  const label = /Descriptor "+([^"\]]+)"+\]/.exec(message)?.[1] ?? /\[[A-Za-z]+ "([^"]+)"\]/.exec(message)?.[1];
  const first =
    message
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /error/i.test(l)) ?? message.trim().split('\n')[0];
  return `WebGPU error${label ? ` in kernel '${label}'` : ''}: ${first.replace(/^Error while parsing WGSL: /, 'WGSL ')}`;
}

/** Limits the fused kernels want raised to what the adapter offers (WebGPU's defaults are minimums). */
const RAISED_LIMITS = [
  'maxStorageBuffersPerShaderStage',
  'maxStorageBuffersInComputeStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
];

async function makeBackend(allowSoftware: boolean): Promise<tf.KernelBackend> {
  const { adapter, described } = await findAdapter(allowSoftware);
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const v = adapter.limits?.[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features?.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  device.lost.then((info: { reason: string; message: string }) => {
    if (info.reason !== 'destroyed') deviceError = new Error(`WebGPU device lost: ${info.message || info.reason}`);
  });
  device.addEventListener('uncapturederror', (event: { error: { message: string } }) => {
    deviceError ??= new Error(uncapturedErrorLine(event.error.message));
  });
  const backend = new WebGPUBackend!(device, adapter.info);
  // Every read waits on the GPU: the place where an error of an earlier dispatch surfaces.
  const read = backend.read.bind(backend);
  backend.read = async (dataId: object) => {
    if (deviceError) throw deviceError;
    const values = await read(dataId);
    if (deviceError) throw deviceError;
    return values;
  };
  // tfjs-webgpu reads synchronously through an OffscreenCanvas, which Node lacks: values still on
  // the CPU (tfjs's own kernels read those) are fine, a read of the GPU gets a clear error
  const readSync = backend.readSync.bind(backend);
  const gpu = webGpuInternals(backend)!;
  backend.readSync = (dataId: object) => {
    if (gpu.onCpu(dataId)) return readSync(dataId);
    throw new Error('synchronous read on the webgpu backend (dataSync/arraySync): use await data() or array()');
  };
  adapterInUse = described;
  return backend as tf.KernelBackend;
}

/**
 * Registers the 'webgpu' backend with tfjs (once). With `allowSoftware` false, its factory refuses a
 * software adapter. Throws one line when Dawn cannot load; adapter failures surface from setBackend.
 */
export function registerWebGpu(allowSoftware: boolean): void {
  loadDawn();
  // one device per process: re-registering would start a second Dawn device (and crash at exit)
  const started = tf.engine().registry.webgpu != null && adapterInUse != null;
  if (started && (allowSoftware || !adapterInUse!.software)) return;
  if (started) throw new Error(`only the software adapter ${adapterInUse!.description}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only with Dawn present; registers its kernels
  WebGPUBackend ??= (require('@tensorflow/tfjs-backend-webgpu') as { WebGPUBackend: WebGpuBackendClass }).WebGPUBackend;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  deviceError = undefined;
  lastFailure = undefined;
  tf.registerBackend(
    'webgpu',
    () =>
      makeBackend(allowSoftware).catch((e: Error) => {
        lastFailure = e.message;
        throw e;
      }),
    3,
  );
}

/** Why the last try to start the webgpu backend failed, if it did. */
export function webGpuFailure(): string | undefined {
  return lastFailure;
}

/** The adapter the webgpu backend runs on, once it is initialised. */
export function webGpuAdapter(): WebGpuAdapter | undefined {
  return adapterInUse;
}
/* eslint-enable @typescript-eslint/no-explicit-any */
