/**
 * The engine switch of the fused kernels (tanh RNN, LSTM, EURNN): each runs its recurrence either in
 * WebAssembly SIMD or in plain JavaScript (the reference, and the fallback where SIMD is missing).
 */

/** Which implementation runs a fused recurrence: WebAssembly SIMD or plain JS. */
export type FusedEngine = 'wasm-simd' | 'js';

/** One fused kernel's engine: 'wasm-simd' by default where available, 'js' otherwise. */
export class EngineSwitch {
  private chosen: FusedEngine | undefined;

  /**
   * @param label the kernel's name in error messages ("LSTM engine must be …")
   * @param wasmAvailable whether this runtime can run the kernel's WebAssembly SIMD code
   */
  constructor(
    private readonly label: string,
    private readonly wasmAvailable: () => boolean,
  ) {}

  /** Picks the engine; throws for an unknown name, or for 'wasm-simd' where SIMD is missing. */
  set(name: FusedEngine): void {
    if (name !== 'wasm-simd' && name !== 'js')
      throw new Error(`${this.label} engine must be 'wasm-simd' or 'js' (got '${name}')`);
    if (name === 'wasm-simd' && !this.wasmAvailable()) {
      throw new Error(`${this.label} engine wasm-simd is not available here (WebAssembly SIMD missing)`);
    }
    this.chosen = name;
  }

  /** The engine in use (the default is decided on first use). */
  get(): FusedEngine {
    return (this.chosen ??= this.wasmAvailable() ? 'wasm-simd' : 'js');
  }
}
