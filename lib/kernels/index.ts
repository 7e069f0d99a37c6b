/**
 * The kernels: the registry's parts (lib/kernels/registry.ts), the kernels a backend lacks, the
 * fused kernels of our own, and the lists that register them (lib/kernels/all.ts). Re-exports
 * only: loading this file, or any kernel file, registers nothing; lib/backend.ts registers the
 * kernels a backend needs when it selects it.
 */
export * from './registry';
export * from './all';

// fills for kernels wasm lacks
export * from './unsorted-segment-sum';
export * from './conv2d-backprop-filter';

// fused kernels of our own, for every backend
export * from './lstm';
export * from './eurnn';
export * from './matmul';
export * from './tanh-rnn';

// their WGSL versions for the webgpu backend (lib/kernels/webgpu.ts runs them)
export * from './webgpu';
export * from './tanh-rnn-webgpu';
export * from './lstm-webgpu';
export * from './eurnn-webgpu';
