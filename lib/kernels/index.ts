/**
 * The kernels: the registry (lib/kernels/registry.ts), the kernels a backend lacks, and the fused
 * kernels of our own. Loading a kernel file registers its kernels (see registry.ts).
 */
export * from './registry';

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
