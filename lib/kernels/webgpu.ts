/**
 * The WGSL runner: the fused kernels' GPU versions on the webgpu backend (lib/webgpu.ts). A kernel
 * writes its WGSL body once; the runner declares its bindings, compiles and caches the pipeline
 * (labelled with the kernel's name, which a compile error then names), binds the tensors' GPU
 * buffers and records the dispatch into tfjs-webgpu's own command encoder, in order with tfjs's
 * kernels. Unlike tfjs's WebGPUProgram, one dispatch may write several outputs, which the
 * backward passes need. Nothing is read back to the CPU.
 *
 * Bindings, in this order: the inputs (`var<storage, read>`), the outputs
 * (`var<storage, read_write>`), then `params` (a uniform struct of scalars) if there are any.
 * Kernels for tfjs's own ops inside a fused kernel (a matMul for a weight gradient) go through
 * callKernel, tfjs's kernel function for that backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataType, KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { webGpuInternals, WebGpuInternals } from '../tfjs-internals';

/** A scalar parameter of a WGSL kernel, a field of its `params` uniform. */
export interface WgslParam {
  name: string;
  type: 'i32' | 'u32' | 'f32';
  value: number;
}

/** A binding: a tensor and the name the WGSL code calls it by. */
export interface WgslBinding {
  name: string;
  /** the WGSL element type (default f32) */
  type?: 'f32' | 'i32' | 'u32';
}

/** One dispatch of a WGSL kernel. */
export interface WgslDispatch {
  /** the kernel's name: the pipeline's label, named by compile errors */
  name: string;
  /** the kernel's WGSL after the bindings: helper functions and `@compute … fn main(…)` */
  code: string;
  inputs: Array<WgslBinding & { tensor: TensorInfo }>;
  outputs: Array<WgslBinding & { shape: number[]; dtype?: DataType }>;
  params?: WgslParam[];
  /** workgroups in x, y, z */
  workgroups: [number, number?, number?];
}

/** The binding declarations the runner puts before a kernel's code (exported for tests and errors). */
export function wgslDeclarations(d: Pick<WgslDispatch, 'inputs' | 'outputs' | 'params'>): string {
  const lines: string[] = [];
  let i = 0;
  for (const b of d.inputs)
    lines.push(`@group(0) @binding(${i++}) var<storage, read> ${b.name}: array<${b.type ?? 'f32'}>;`);
  for (const b of d.outputs) {
    lines.push(`@group(0) @binding(${i++}) var<storage, read_write> ${b.name}: array<${b.type ?? 'f32'}>;`);
  }
  if (d.params?.length) {
    lines.push(`struct Params {\n${d.params.map((p) => `  ${p.name}: ${p.type},`).join('\n')}\n};`);
    lines.push(`@group(0) @binding(${i}) var<uniform> params: Params;`);
  }
  return lines.join('\n');
}

const UNIFORM_TYPE = { i32: 'int32', u32: 'uint32', f32: 'float32' } as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GPUDevice and GPUComputePipeline, typed by no dependency
const pipelines = new WeakMap<object, Map<string, any>>();

function internalsOf(backend: KernelBackend, name: string): WebGpuInternals {
  const gpu = webGpuInternals(backend);
  if (!gpu) throw new Error(`${name}: runs on the webgpu backend only (got ${tf.getBackend()})`);
  return gpu;
}

/**
 * Runs one dispatch on the webgpu backend and returns its outputs (new tensors, uninitialised
 * until the kernel writes them: a kernel must write every element).
 */
export function runWgsl(backend: KernelBackend, d: WgslDispatch): TensorInfo[] {
  const gpu = internalsOf(backend, d.name);
  const code = `${wgslDeclarations(d)}\n${d.code}`;
  let cache = pipelines.get(gpu.device);
  if (!cache) pipelines.set(gpu.device, (cache = new Map()));
  let pipeline = cache.get(code);
  if (!pipeline) {
    const module = gpu.device.createShaderModule({ code, label: d.name });
    pipeline = gpu.device.createComputePipeline({
      layout: 'auto',
      label: d.name,
      compute: { module, entryPoint: 'main' },
    });
    cache.set(code, pipeline);
  }
  const outputs = d.outputs.map((o) => gpu.makeOutput(o.shape, o.dtype ?? 'float32'));
  const resources = [
    ...d.inputs.map((b) => ({ buffer: gpu.bufferOf(b.tensor) })),
    ...outputs.map((t) => ({ buffer: gpu.bufferOf(t) })),
  ];
  if (d.params?.length)
    resources.push(gpu.uniforms(d.params.map((p) => ({ type: UNIFORM_TYPE[p.type], value: p.value }))));
  const bindGroup = gpu.device.createBindGroup({
    label: d.name,
    layout: pipeline.getBindGroupLayout(0),
    entries: resources.map((resource, binding) => ({ binding, resource })),
  });
  const [x, y = 1, z = 1] = d.workgroups;
  gpu.dispatch(pipeline, bindGroup, [x, y, z], [...d.inputs.map((b) => b.tensor), ...outputs]);
  return outputs;
}

/** Runs tfjs's own kernel `kernelName` for `backend` (e.g. BatchMatMul) inside a kernel of ours. */
export function callKernel(
  backend: KernelBackend,
  kernelName: string,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const k = tf.getKernel(kernelName, 'webgpu');
  if (!k) throw new Error(`the webgpu backend has no ${kernelName} kernel`);
  return k.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

/** Disposes intermediate tensors a kernel made (tfjs disposes only what a kernel returns). */
export function disposeIntermediates(backend: KernelBackend, ...tensors: TensorInfo[]): void {
  for (const t of tensors) backend.disposeData(t.dataId);
}

/** A u32 field of a kernel's `params`. */
export const u32 = (name: string, value: number): WgslParam => ({ name, type: 'u32', value });

/** One of the device's limits, e.g. 'maxComputeWorkgroupStorageSize' (bytes of workgroup memory). */
export function deviceLimit(backend: KernelBackend, name: string): number {
  return internalsOf(backend, name).device.limits[name] as number;
}

/** The largest workgroup the device allows (maxComputeInvocationsPerWorkgroup). */
export function maxWorkgroupSize(backend: KernelBackend): number {
  return deviceLimit(backend, 'maxComputeInvocationsPerWorkgroup');
}

/**
 * Whether the device is Mesa's llvmpipe or lavapipe (gallivm), which ends a shader invocation's
 * loops, silently, after 65,535 iterations of all its loops together: kernels whose loops run
 * longer refuse to run there rather than leave outputs unwritten.
 */
export function loopLimitOf(backend: KernelBackend): number {
  const info = internalsOf(backend, 'loopLimitOf').device.adapterInfo ?? {};
  return /llvmpipe|lavapipe/i.test(`${info.device} ${info.description}`) ? 65535 : Infinity;
}
