/**
 * Every private tfjs internal this library relies on, in one place, so that a tfjs upgrade has one
 * file to check. Written against tfjs 4.22.0 (@tensorflow/tfjs, tfjs-backend-wasm and
 * tfjs-node-gpu 4.22.0); each helper says what it reaches and why the public API does not suffice.
 * Everything else in lib/ uses tfjs's public API only.
 *
 * - writeKernelOutput: kernels of our own return their outputs through the backend's makeTensorInfo
 *   (cpu, tensorflow) or makeOutput (wasm); tfjs has no public way for a kernel to create one.
 * - shareTensorData: the sharing Identity of lib/kernels/registry.ts counts a reference to its
 *   input's data, as tfjs-wasm's own Reshape does, which relies on how the engine counts them.
 * - wasmHeap: the fused kernels on wasm work in tfjs-wasm's WebAssembly memory (its allocator and
 *   where each tensor lives) instead of copying 66 MB arrays in and out.
 * - usesGpuDevice: whether tfjs-node-gpu runs on CUDA, for the device line a training log records.
 * - webGpuInternals: the fused WGSL kernels bind tensors' GPU buffers and record their dispatches
 *   into tfjs-webgpu's own command encoder, so that they run in order with tfjs's kernels; tfjs's
 *   WebGPUProgram allows one output per dispatch and generates the shader's bindings itself.
 * - variableOf: the tf.Variable behind a layer's weight, which optimizers update.
 * - activeGradientTape / isOnGradientTape: whether a gradient is being recorded and whether a
 *   tensor is on its path, so that the LMU can take its input as data (no gradient back to it).
 * - renameWeight / resetDropoutMasks: the LMU names its hidden cell's weights apart from its own,
 *   and redraws the cell's dropout masks for each sequence, as tfjs's RNN layers do.
 * - InitializerBase: the base class of initialisers of our own, which tfjs does not export.
 * - rmspropSlots: tf.RMSPropOptimizer's state, which lib/train/rmsprop.ts's ArrayRMSProp updates on
 *   arrays in its place (tfjs keeps it in private fields), so that checkpoints stay tfjs's.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs';

// ---- kernel outputs ---------------------------------------------------------------------------------

/** The methods backends use to create their kernels' outputs (not on tfjs's KernelBackend). */
interface OutputMaker {
  /** cpu, tensorflow */
  makeTensorInfo?(shape: number[], dtype: DataType, values?: Float32Array | Int32Array): TensorInfo;
  /** wasm: a new tensor in its memory (at `memoryOffset` if given), `values` copied in if given */
  makeOutput?(shape: number[], dtype: DataType, memoryOffset?: number, values?: Float32Array | Int32Array): TensorInfo;
}

/**
 * A new output tensor of a kernel running on `backend`, holding `values` (copied where the backend
 * keeps tensors elsewhere, as wasm does). Throws for a backend with neither way of making one.
 */
export function writeKernelOutput(
  backend: KernelBackend,
  shape: number[],
  dtype: DataType,
  values: Float32Array | Int32Array,
): TensorInfo {
  const b = backend as unknown as OutputMaker;
  if (typeof b.makeTensorInfo === 'function') return b.makeTensorInfo(shape, dtype, values);
  if (typeof b.makeOutput === 'function') return b.makeOutput(shape, dtype, undefined, values);
  throw new Error(`backend ${tf.getBackend()} cannot take kernel outputs (no makeTensorInfo/makeOutput)`);
}

/**
 * A kernel output that shares `x`'s data rather than copying it: the backend counts one more
 * reference, and the engine drops one when either tensor is disposed (tfjs 4.22's Reshape on wasm
 * and Identity on cpu do the same). Tensors are immutable, so sharing is safe.
 */
export function shareTensorData(backend: KernelBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

// ---- tfjs-wasm's memory -----------------------------------------------------------------------------

/** tfjs-wasm's BackendWasm as 4.22.0 has it (backend_wasm.ts). */
interface BackendWasmInternals {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(address: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number, values?: Float32Array | Int32Array): TensorInfo;
}

/** The wasm backend's memory and allocator, as a kernel working in place uses them. */
export interface WasmHeap {
  /** The WebAssembly memory that holds the backend's tensors (the same object when it grows). */
  memory: WebAssembly.Memory;
  /** Allocates `bytes` in `memory`; returns the byte address. */
  malloc(bytes: number): number;
  free(address: number): void;
  /** The byte address of a tensor's data in `memory`. */
  addressOf(dataId: object): number;
  /** A new tensor of the backend, allocated in `memory` (uninitialised) or holding a copy of `values`. */
  makeOutput(shape: number[], dtype: DataType, values?: Float32Array | Int32Array): TensorInfo;
}

/** The heap of the wasm backend `backend`, or undefined when it does not look as tfjs-wasm 4.22 does. */
export function wasmHeap(backend: KernelBackend): WasmHeap | undefined {
  const b = backend as unknown as Partial<BackendWasmInternals>;
  const ok =
    b.wasm?.asm?.memory instanceof WebAssembly.Memory &&
    typeof b.wasm._malloc === 'function' &&
    typeof b.wasm._free === 'function' &&
    b.dataIdMap != null &&
    typeof b.makeOutput === 'function';
  if (!ok) return undefined;
  const be = b as BackendWasmInternals;
  return {
    memory: be.wasm.asm.memory,
    malloc: (bytes) => be.wasm._malloc(bytes),
    free: (address) => be.wasm._free(address),
    addressOf: (dataId) => be.dataIdMap.get(dataId).memoryOffset,
    makeOutput: (shape, dtype, values) => be.makeOutput(shape, dtype, undefined, values),
  };
}

// ---- tfjs-webgpu's buffers and command encoder ------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any -- WebGPU's objects: no package we depend on types them */
/** tfjs-webgpu's WebGPUBackend as 4.22.0 has it (backend_webgpu.ts). */
interface WebGpuBackendFields {
  device: any;
  tensorMap: { get(dataId: object): { resource: any; dtype: DataType; values: unknown } };
  commandQueueOwnedIds: WeakSet<object>;
  commandEncoder: any;
  computePassEncoder: any;
  dispatchCountInPass: number;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: DataType): TensorInfo;
  makeUniforms(uniforms: Array<{ type: 'int32' | 'uint32' | 'float32'; data: number[] }>): any;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** What the WGSL runner (lib/kernels/webgpu.ts) needs of the webgpu backend. */
export interface WebGpuInternals {
  /** the GPUDevice */
  device: any;
  /** the GPU buffer holding a tensor (uploaded first if it is still on the CPU) */
  bufferOf(t: TensorInfo): any;
  /** whether a tensor's values are still held on the CPU (not yet uploaded) */
  onCpu(dataId: object): boolean;
  /** a new tensor with an uninitialised GPU buffer */
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  /** a uniform-buffer binding for scalar parameters, released after the next submit */
  uniforms(values: Array<{ type: 'int32' | 'uint32' | 'float32'; value: number }>): any;
  /**
   * Records one dispatch into tfjs's compute pass, after every op recorded so far, and submits
   * when tfjs's batch is full; the tensors it touches stay alive until then.
   */
  dispatch(pipeline: any, bindGroup: any, workgroups: [number, number, number], touched: TensorInfo[]): void;
}

/** The webgpu backend's internals, or undefined when `backend` does not look as tfjs-webgpu 4.22 does. */
export function webGpuInternals(backend: KernelBackend): WebGpuInternals | undefined {
  const b = backend as unknown as Partial<WebGpuBackendFields>;
  if (!b.device || !b.tensorMap || typeof b.uploadToGPU !== 'function' || typeof b.makeUniforms !== 'function') {
    return undefined;
  }
  const be = b as WebGpuBackendFields;
  return {
    device: be.device,
    bufferOf(t) {
      be.uploadToGPU(t.dataId);
      return be.tensorMap.get(t.dataId).resource;
    },
    onCpu: (dataId) => be.tensorMap.get(dataId).values != null || be.tensorMap.get(dataId).dtype === 'string',
    makeOutput(shape, dtype) {
      const t = be.makeTensorInfo(shape, dtype);
      be.uploadToGPU(t.dataId);
      return t;
    },
    uniforms: (values) => be.makeUniforms(values.map((v) => ({ type: v.type, data: [v.value] }))),
    dispatch(pipeline, bindGroup, workgroups, touched) {
      for (const t of touched) be.commandQueueOwnedIds.add(t.dataId);
      be.ensureCommandEncoderReady();
      be.computePassEncoder ??= be.commandEncoder.beginComputePass({});
      be.computePassEncoder.setPipeline(pipeline);
      be.computePassEncoder.setBindGroup(0, bindGroup);
      be.computePassEncoder.dispatchWorkgroups(...workgroups);
      be.dispatchCountInPass++;
      if (tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') <= be.dispatchCountInPass) {
        be.endComputePassEncoder();
        be.submitQueue();
      }
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// ---- backends -----------------------------------------------------------------------------------------

/** True when the backend (default: the one in use) is tfjs-node-gpu running on a CUDA device. */
export function usesGpuDevice(backend: KernelBackend = tf.backend()): boolean {
  // tfjs-node's NodeJSKernelBackend sets these two; other backends have neither
  const b = backend as unknown as { isUsingGpuDevice?: boolean; isGPUPackage?: boolean };
  return Boolean(b.isUsingGpuDevice || b.isGPUPackage);
}

// ---- layers and gradients ---------------------------------------------------------------------------

/**
 * The tf.Variable behind a layer's weight (what an optimizer updates). LayerVariable keeps it in a
 * protected field `val`; its public read() returns the same object but is typed as a Tensor.
 */
export function variableOf(weight: tf.LayerVariable): tf.Variable {
  return (weight as unknown as { val: tf.Variable }).val;
}

/** An op recorded on the engine's gradient tape (tfjs-core's TapeNode, of which we read the outputs). */
export interface TapeNodeOutputs {
  outputs: tf.Tensor[];
}

/** The engine's state as tfjs-core 4.22 keeps it (engine.ts, EngineState). */
interface EngineStateInternals {
  state: { gradientDepth: number; activeTape: TapeNodeOutputs[] | null };
}

/**
 * The ops recorded so far for the gradient being computed (inside tf.grad, tf.variableGrads,
 * optimizer.minimize…), or undefined when no gradient is being recorded.
 */
export function activeGradientTape(): readonly TapeNodeOutputs[] | undefined {
  const { state } = tf.engine() as unknown as EngineStateInternals;
  return state.gradientDepth > 0 && state.activeTape ? state.activeTape : undefined;
}

/** True when `x` is the output of an op recorded for the gradient being computed (false when none is). */
export function isOnGradientTape(x: tf.Tensor): boolean {
  const tape = activeGradientTape();
  return tape != null && tape.some((node) => node.outputs.some((o) => o.id === x.id));
}

/** tf.RMSPropOptimizer's private state (tfjs-core 4.22, optimizers/rmsprop_optimizer.ts), by position. */
export interface RmspropSlots {
  centered: boolean;
  accumulatedMeanSquares: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedMoments: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

/** The state of a tf.RMSPropOptimizer: its slots are created at its first update of a variable. */
export function rmspropSlots(optimizer: tf.RMSPropOptimizer): RmspropSlots {
  return optimizer as unknown as RmspropSlots;
}

// ---- layers' own state (lib/models) -------------------------------------------------------------

/**
 * Renames a layer weight as saved files and messages show it. LayerVariable keeps the name in
 * `originalName`, read-only in its typings; the LMU moves its hidden cell's weights under
 * `<layer>/hidden_cell/` so that they do not clash with its own.
 */
export function renameWeight(weight: tf.LayerVariable, name: string): void {
  (weight as unknown as { originalName: string }).originalName = name;
}

/** The dropout masks a tfjs RNN cell draws on its first step and keeps (RNNCell's fields in 4.22). */
interface CellDropoutMasks {
  dropoutMask?: tf.Tensor | tf.Tensor[] | null;
  recurrentDropoutMask?: tf.Tensor | tf.Tensor[] | null;
}

/**
 * Drops the dropout masks a tfjs RNN cell kept from its last sequence, so that the next sequence
 * draws new ones for its own batch, as tfjs 4.22's RNN layers do at the start of each call. A cell
 * without masks is left as it is.
 */
export function resetDropoutMasks(cell: tf.layers.Layer): void {
  const c = cell as unknown as CellDropoutMasks;
  if (c.dropoutMask != null) {
    tf.dispose(c.dropoutMask);
    c.dropoutMask = null;
  }
  if (c.recurrentDropoutMask != null) {
    tf.dispose(c.recurrentDropoutMask);
    c.recurrentDropoutMask = null;
  }
}

/**
 * tfjs-layers' Initializer base class, for initialisers of our own: tfjs exports only the
 * factories (tf.initializers.*), and in 4.22 Zeros extends the base class directly.
 */
export const InitializerBase = Object.getPrototypeOf(tf.initializers.zeros().constructor) as new () => ReturnType<
  typeof tf.initializers.zeros
>;
