/**
 * (being written) the WGSL version of the fused tanh-rnn kernels for the webgpu backend.
 */
export {};
