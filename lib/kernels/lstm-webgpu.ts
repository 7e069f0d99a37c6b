/**
 * (being written) the WGSL version of the fused lstm kernels for the webgpu backend.
 */
export {};
