/**
 * (being written) the WGSL version of the fused eurnn kernels for the webgpu backend.
 */
export {};
