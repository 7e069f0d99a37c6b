/**
 * A stand-in for a running tslab kernel, as the lib finds one: `globalThis.__tslab__.require`
 * returning tslab's public module, and a loaded tslab/dist/jupyter.js whose
 * `lastWriteDisplayData` records the display messages instead of sending them.
 */
import * as path from 'path';

export interface DisplayMessage {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

export interface FakeKernel {
  /** What went to lastWriteDisplayData, in order. */
  messages: Array<{ msg: DisplayMessage; update: boolean }>;
  /** What went to the public display's raw() (the single-MIME fallback). */
  raw: Array<{ type: string; value: unknown; id?: string }>;
  uninstall(): void;
}

/** `withWriter: false` leaves jupyter.js out (a tslab whose internals the lib cannot see). */
export function installFakeKernel(options: { withWriter?: boolean } = {}): FakeKernel {
  const root = path.join(path.sep, 'fake-kernel', 'node_modules', 'tslab', 'dist');
  const publicFile = path.join(root, 'public.js');
  const jupyterFile = path.join(root, 'jupyter.js');
  const kernel: FakeKernel = { messages: [], raw: [], uninstall };
  let next = 0;
  const displayFor = (id?: string) => ({
    raw(type: string, value: unknown) {
      kernel.raw.push({ type, value, id });
    },
  });
  const pub = { display: displayFor(), newDisplay: () => displayFor(`fake-${next++}`) };
  const jupyter = {
    lastWriteDisplayData: (msg: DisplayMessage, update: boolean) => kernel.messages.push({ msg, update }),
  };
  const entry = (filename: string, exports: unknown) =>
    ({ id: filename, filename, exports, loaded: true, children: [], paths: [] }) as unknown as NodeModule;
  require.cache[publicFile] = entry(publicFile, pub);
  if (options.withWriter ?? true) require.cache[jupyterFile] = entry(jupyterFile, jupyter);
  const g = globalThis as { __tslab__?: unknown };
  const previous = g.__tslab__;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- stands in for tslab's own require
  g.__tslab__ = { exports: {}, require: (name: string) => (name === 'tslab' ? pub : require(name)) };

  function uninstall(): void {
    delete require.cache[publicFile];
    delete require.cache[jupyterFile];
    g.__tslab__ = previous;
  }
  return kernel;
}

/** Captures process.stdout.write while `fn` runs. */
export function captureStdout(fn: () => void): string {
  const original = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = original;
  }
  return out;
}
