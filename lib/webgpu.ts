/**
 * WebGPU for tfjs-backend-webgpu, from one of two implementations:
 *
 * - under Node, Google's Dawn (the optional `webgpu` npm package, a prebuilt addon);
 * - under Deno (its Jupyter kernel, `deno run`), Deno's own `navigator.gpu`: wgpu, Mozilla's
 *   implementation, on the platform's native API (Vulkan on Linux, Metal, D3D12), chosen through
 *   DENO_WEBGPU_BACKEND so that the backend line can name it (wgpu does not say which it took).
 *
 * Everything either needs is done here, once:
 *
 * - Dawn's globals (GPUBufferUsage, GPUBuffer, …) that tfjs-webgpu reads, put on globalThis (Deno
 *   has its own);
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
 * (SEQMNIST_BACKEND=webgpu or useBackend('webgpu')); automatic selection wants a GPU, and is quiet:
 * on Linux it looks only where a hardware Vulkan driver and a GPU device node are both present, and
 * it probes with Mesa's lavapipe and device-select layer kept out of the Vulkan loader (both only
 * print to stderr there: a lost Wayland connection, Dawn's refusal of lavapipe).
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
  /** the WebGPU implementation: Dawn (Node) or wgpu (Deno) */
  implementation: WebGpuImplementation;
  /** its native API under WebGPU: 'Vulkan', 'Metal', 'D3D12', 'OpenGL ES' (Dawn) or 'OpenGL' (wgpu) */
  api: string;
  /** a CPU/software adapter rather than a GPU */
  software: boolean;
}

/** Dawn under Node, wgpu under Deno. */
export type WebGpuImplementation = 'Dawn' | 'wgpu';

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

/** Deno's own navigator.gpu (wgpu); undefined under Node, where navigator.gpu is only ever Dawn's, set by us. */
function denoGpu(): Gpu | undefined {
  const g = globalThis as { Deno?: unknown; navigator?: { gpu?: Gpu } };
  return g.Deno !== undefined && g.navigator?.gpu ? g.navigator.gpu : undefined;
}

/**
 * The WebGPU implementation this runtime uses: wgpu under Deno, Dawn under Node.
 * @see README.md#backends
 */
export function webGpuImplementation(): WebGpuImplementation {
  return (globalThis as { Deno?: unknown }).Deno !== undefined ? 'wgpu' : 'Dawn';
}

/** DENO_WEBGPU_BACKEND's values (wgpu's backend names) and the API each one names. */
const WGPU_APIS: Record<string, string> = {
  vulkan: 'Vulkan',
  metal: 'Metal',
  dx12: 'D3D12',
  gl: 'OpenGL',
  opengl: 'OpenGL',
};

/** wgpu's backend: DENO_WEBGPU_BACKEND when set, else the platform's native API. */
function wgpuBackend(env: NodeJS.ProcessEnv = process.env): { name: string; api: string } {
  const set = env.DENO_WEBGPU_BACKEND?.trim().toLowerCase();
  const name = set || (process.platform === 'darwin' ? 'metal' : process.platform === 'win32' ? 'dx12' : 'vulkan');
  return { name, api: WGPU_APIS[name] ?? name };
}

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
 * GPU device nodes a hardware Vulkan driver could open: DRM render nodes (Mesa's and AMD's
 * drivers), NVIDIA's nodes, WSL's /dev/dxg. Mesa's hardware ICD files come with its Vulkan package
 * whether or not there is such a GPU, so a declared driver alone says nothing.
 */
export function gpuDeviceNodes(dev = '/dev'): string[] {
  const list = (dir: string, match: RegExp) =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => match.test(f))
          .map((f) => path.join(dir, f))
      : [];
  return [...list(path.join(dev, 'dri'), /^renderD\d+$/), ...list(dev, /^(nvidia\d+|dxg)$/)];
}

/**
 * Whether automatic selection should try WebGPU at all: on Linux only where a hardware Vulkan
 * driver is declared and a GPU device node exists (else the probe would only print its failures
 * and find a software adapter), elsewhere always. The reason when not, for the error line.
 */
export function gpuAbsence(env: NodeJS.ProcessEnv = process.env, dev = '/dev'): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const drivers = hardwareVulkanDrivers(env);
  if (drivers.length === 0) return 'no hardware Vulkan driver declared';
  if (gpuDeviceNodes(dev).length === 0) {
    const names = drivers.map((f) => path.basename(f, '.json')).join(', ');
    return `Vulkan drivers declared (${names}) but no GPU device (${dev}/dri/renderD*, ${dev}/nvidia*)`;
  }
  return undefined;
}

/** Whether automatic selection should try WebGPU at all (see gpuAbsence). */
export function mayHaveGpu(): boolean {
  return gpuAbsence() === undefined;
}

/**
 * Runs a probe with environment variables set for the native libraries it loads (the Vulkan loader
 * reads them when an instance is made), then puts the environment back.
 */
async function withEnv<T>(vars: Record<string, string | undefined>, probe: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) continue;
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await probe();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * What the Vulkan loader should see while we probe: Mesa's device-select layer off (it only orders
 * devices, which powerPreference does, and prints Wayland's complaint without a session), unless the
 * user steers it; for automatic selection, only the hardware drivers, so that a software lavapipe
 * is never loaded and Dawn does not print why it refuses it.
 */
function probeEnv(automatic: boolean): Record<string, string | undefined> {
  const env = process.env;
  const vars: Record<string, string | undefined> = {};
  if (process.platform !== 'linux') return vars;
  if (!env.MESA_VK_DEVICE_SELECT && env.NODEVICE_SELECT === undefined) vars.NODEVICE_SELECT = '1';
  if (automatic && !env.VK_DRIVER_FILES && !env.VK_ICD_FILENAMES) {
    const hardware = hardwareVulkanDrivers(env);
    if (hardware.length) vars.VK_DRIVER_FILES = hardware.join(':');
  }
  return vars;
}

/** PCI vendor ids (wgpu reports the vendor as a number; Dawn by name) and Mesa's Vulkan id. */
const VENDORS: Record<number, string> = {
  0x10de: 'nvidia',
  0x1002: 'amd',
  0x8086: 'intel',
  0x10005: 'mesa',
  0x13b5: 'arm',
  0x5143: 'qualcomm',
  0x106b: 'apple',
  0x1414: 'microsoft',
};

function describe(adapter: any, implementation: WebGpuImplementation, api: string): WebGpuAdapter {
  const info = adapter.info ?? {};
  const description = String(info.description || info.device || 'unknown adapter').trim();
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const vendor = String(info.vendor ?? '');
  // wgpu's device is a PCI id ('0' on a CPU adapter): not a name to print
  const device = /^\d*$/.test(String(info.device ?? '')) ? '' : String(info.device);
  return {
    vendor: /^\d+$/.test(vendor) ? (VENDORS[Number(vendor)] ?? `vendor 0x${Number(vendor).toString(16)}`) : vendor,
    architecture: String(info.architecture ?? ''),
    description: device && !description.includes(device) ? `${device}, ${description}` : description,
    implementation,
    api,
    software: info.isFallbackAdapter === true || SOFTWARE.test(text),
  };
}

/**
 * The adapter line, e.g. 'NVIDIA H200 (nvidia, hopper) through Dawn/Vulkan' or
 * 'llvmpipe (LLVM 15.0.6, 256 bits) (mesa) through wgpu/Vulkan, a software adapter'.
 */
export function adapterLine(a: WebGpuAdapter): string {
  const who = [a.vendor, a.architecture].filter(Boolean).join(', ');
  const through = `${a.implementation}/${a.api}`;
  return `${a.description}${who ? ` (${who})` : ''} through ${through}${a.software ? ', a software adapter' : ''}`;
}

/** tfjs-webgpu's backend checks that navigator.gpu exists (Node 20 has no navigator, 21+ one without gpu). */
function setNavigatorGpu(gpu: Gpu): void {
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
}

/**
 * Finds an adapter. wgpu (Deno): its native API. Dawn (Node): the native API, then, when asked for
 * by name, OpenGL ES in compatibility mode (the route to llvmpipe; automatic selection would only
 * refuse what it finds there). Throws naming each try.
 */
async function findAdapter(allowSoftware: boolean): Promise<{ adapter: any; described: WebGpuAdapter }> {
  const implementation = webGpuImplementation();
  const tries: Array<{ api: string; gpu: () => Gpu; options: Record<string, unknown>; env: Record<string, string> }> =
    [];
  const failures: string[] = [];
  const absent = gpuAbsence();
  if (implementation === 'wgpu') {
    const native = denoGpu();
    if (!native) throw new Error('no WebGPU adapter (this Deno has no navigator.gpu)');
    const backend = wgpuBackend();
    tries.push({
      api: backend.api,
      gpu: () => native,
      options: { powerPreference: 'high-performance' },
      env: { DENO_WEBGPU_BACKEND: backend.name },
    });
  } else {
    const d = loadDawn();
    if (process.platform === 'linux') process.env.EGL_PLATFORM ??= 'surfaceless';
    // on Linux without a GPU for a Vulkan driver, Dawn would only print its failure to find one
    if (!absent) {
      const api = nativeApi();
      tries.push({
        api,
        gpu: () => (instances[api] ??= d.create([])),
        options: { powerPreference: 'high-performance' },
        env: {},
      });
    } else failures.push(`${nativeApi()}: ${absent}`);
    if (process.platform !== 'darwin' && allowSoftware) {
      tries.push({
        api: 'OpenGL ES',
        gpu: () => (instances['OpenGL ES'] ??= d.create(['backend=opengles'])),
        options: { featureLevel: 'compatibility' },
        env: {},
      });
    }
  }
  for (const t of tries) {
    let adapter: any;
    try {
      const gpu = t.gpu();
      adapter = await withEnv({ ...probeEnv(!allowSoftware), ...t.env }, () => gpu.requestAdapter(t.options));
      if (adapter && implementation === 'Dawn') setNavigatorGpu(gpu);
    } catch (e) {
      failures.push(`${t.api}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    if (!adapter) {
      failures.push(`${t.api}: no adapter`);
      continue;
    }
    const described = describe(adapter, implementation, t.api);
    if (described.software && !allowSoftware) {
      failures.push(`${t.api}: only the software adapter ${described.description}`);
      continue;
    }
    return { adapter, described };
  }
  throw new Error(`no WebGPU adapter (tried ${failures.join('; ')})`);
}

/**
 * One line for an error Dawn or wgpu reports: the kernel (the label of the object that failed, e.g. a
 * pipeline our WGSL runner named after its kernel) and the first line of the message.
 */
export function uncapturedErrorLine(message: string): string {
  // Dawn: `[ShaderModuleDescriptor ""Name""]` / `[Device "Name"]`; wgpu: `Shader 'Name' parsing error: …`
  const label =
    /Descriptor "+([^"\]]+)"+\]/.exec(message)?.[1] ??
    /\[[A-Za-z]+ "([^"]+)"\]/.exec(message)?.[1] ??
    /^\s*Shader '([^']+)' /m.exec(message)?.[1];
  const first =
    message
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /error/i.test(l)) ?? message.trim().split('\n')[0];
  const text = first
    .replace(/^Error while parsing WGSL: /, 'WGSL ')
    .replace(/^Shader '[^']+' parsing error: /, 'WGSL ');
  return `WebGPU error${label ? ` in kernel '${label}'` : ''}: ${text}`;
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
 * software adapter. Throws one line when Dawn cannot load (Node); adapter failures surface from
 * setBackend.
 */
export function registerWebGpu(allowSoftware: boolean): void {
  if (webGpuImplementation() === 'Dawn') loadDawn();
  // one device per process: re-registering would start a second Dawn device (and crash at exit)
  const started = tf.engine().registry.webgpu != null && adapterInUse != null;
  if (started && (allowSoftware || !adapterInUse!.software)) return;
  if (started) throw new Error(`only the software adapter ${adapterInUse!.description}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only with a WebGPU present; registers its kernels
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
