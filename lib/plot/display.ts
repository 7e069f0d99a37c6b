/**
 * Rich display in the two Jupyter kernels the notebooks run under, tslab and Deno's, with a
 * plain-text fallback everywhere else (the CLI, tests, `deno run`).
 *
 * - Deno's kernel: its public display API, `Deno.jupyter.display(bundle, { raw: true })`, which
 *   sends a multi-MIME bundle as one output and overwrites an output in place by `display_id`
 *   (`update: true`). `Deno.jupyter` exists only inside `deno jupyter`: elsewhere reading it throws.
 * - tslab: the lib is compiled to dist/ and may be loaded under a different tslab installation than
 *   the kernel's, so it never imports tslab: it finds the running kernel's copy through the
 *   `globalThis.__tslab__` hook that tslab installs for notebook cells. A multi-MIME bundle goes
 *   straight to the kernel's internal `tslab/dist/jupyter.js` writer (tslab's public `display`
 *   sends one MIME type per message); without that writer we fall back to the public `display`
 *   with the richest single MIME type.
 */
import { randomBytes } from 'crypto';
import * as path from 'path';

/**
 * A Jupyter MIME bundle: MIME type → payload. Text types and base64 images are strings;
 * JSON types (`application/…+json`) may be objects.
 */
export type MimeBundle = Record<string, string | object>;

export interface DisplayOptions {
  /** Jupyter display id: outputs sharing an id can be overwritten in place. Default: none. */
  id?: string;
  /** Overwrite the output that carries `id` (update_display_data) instead of adding one. Default false. */
  update?: boolean;
}

/** The message tslab's kernel writes for display_data / update_display_data (see tslab/dist/public.js). */
interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type KernelWriter = (msg: DisplayMessage, update: boolean) => void;

/** The part of tslab's public module we use. */
interface TslabPublic {
  display?: { raw?(contentType: string, b: string | Uint8Array): unknown; text?(s: string): void };
  newDisplay?(): { raw?(contentType: string, b: string | Uint8Array): unknown };
}

/** Single-MIME fallbacks, richest first. JSON types are left out: tslab's `raw` sends strings only. */
const FALLBACK_ORDER = [
  'text/html',
  'image/svg+xml',
  'image/png',
  'image/jpeg',
  'text/markdown',
  'text/latex',
  'text/plain',
];

function tslabHook(): { require(name: string): unknown } | undefined {
  const hook = (globalThis as { __tslab__?: { require?: unknown } }).__tslab__;
  return hook && typeof hook.require === 'function' ? (hook as { require(name: string): unknown }) : undefined;
}

/** The running kernel's public tslab module, or undefined outside tslab. */
function kernelTslab(): TslabPublic | undefined {
  const hook = tslabHook();
  if (!hook) return undefined;
  try {
    const mod = hook.require('tslab');
    return mod && typeof mod === 'object' ? (mod as TslabPublic) : undefined;
  } catch {
    return undefined;
  }
}

/** Deno's display API, the part we use (lib.deno.d.ts, `Deno.jupyter`). */
interface DenoJupyter {
  display(obj: unknown, options: { raw?: boolean; update?: boolean; display_id?: string }): Promise<void>;
}

/** `Deno.jupyter` inside Deno's Jupyter kernel; undefined under Node and in `deno run`. */
function denoJupyter(): DenoJupyter | undefined {
  const deno = (globalThis as { Deno?: { jupyter?: DenoJupyter } }).Deno;
  if (!deno) return undefined;
  try {
    // a getter that throws outside `deno jupyter`
    const jupyter = deno.jupyter;
    return typeof jupyter?.display === 'function' ? jupyter : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Jupyter kernel this code runs in: 'deno' (Deno's kernel), 'tslab', or undefined outside a
 * notebook (the CLI, tests, a terminal REPL).
 * @see README.md#running-the-notebooks
 */
export function notebookKernel(): 'deno' | 'tslab' | undefined {
  if (denoJupyter()) return 'deno';
  return inTslab() ? 'tslab' : undefined;
}

const JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/**
 * The kernel's display writer: `lastWriteDisplayData` of the loaded tslab/dist/jupyter.js, which
 * tslab sets at each execute request. Prefers the jupyter.js beside the kernel's public module.
 */
function kernelWriter(pub: TslabPublic | undefined): KernelWriter | undefined {
  const cache = require.cache;
  const writerOf = (key: string): KernelWriter | undefined => {
    const w = (cache[key]?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    return typeof w === 'function' ? (w as KernelWriter) : undefined;
  };
  if (pub) {
    for (const [key, mod] of Object.entries(cache)) {
      if (mod?.exports === pub) {
        const w = writerOf(path.join(path.dirname(key), 'jupyter.js'));
        if (w) return w;
      }
    }
  }
  for (const key of Object.keys(cache)) {
    if (JUPYTER_MODULE.test(key)) {
      const w = writerOf(key);
      if (w) return w;
    }
  }
  return undefined;
}

/** True when some loaded tslab/dist/jupyter.js module is present (a kernel, or tslab's REPL). */
function jupyterModuleLoaded(): boolean {
  return Object.keys(require.cache).some((key) => JUPYTER_MODULE.test(key));
}

/**
 * True inside a Jupyter kernel, tslab's or Deno's (a notebook cell, or code it started), false in
 * the CLI, tests, `deno run` and tslab's terminal REPL.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function inNotebook(): boolean {
  return notebookKernel() !== undefined;
}

function inTslab(): boolean {
  const pub = kernelTslab();
  if (!pub) return false;
  if (kernelWriter(pub)) return true;
  // a tslab whose internals we cannot see: trust the hook unless its jupyter module is idle
  return !jupyterModuleLoaded();
}

function checkBundle(bundle: MimeBundle): void {
  if (bundle == null || typeof bundle !== 'object' || Array.isArray(bundle)) {
    throw new Error(`bundle must be an object mapping MIME types to payloads (got ${String(bundle)})`);
  }
  const types = Object.keys(bundle);
  if (types.length === 0) throw new Error('bundle must hold at least one MIME type (got {})');
  for (const type of types) {
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(type))
      throw new Error(`bundle key must be a MIME type like 'text/html' (got '${type}')`);
    const value = bundle[type];
    if (typeof value !== 'string' && !(type.endsWith('json') && value != null && typeof value === 'object')) {
      throw new Error(
        `bundle['${type}'] must be a string${type.endsWith('json') ? ' or a JSON object' : ''} (got ${typeof value})`,
      );
    }
  }
}

/** The line printed for a bundle outside a notebook. */
function plainText(bundle: MimeBundle): string {
  const text = bundle['text/plain'];
  if (typeof text === 'string') return text;
  return `<${Object.keys(bundle).join(', ')}>`;
}

/**
 * Shows a multi-MIME bundle: in a notebook as one output whose frontend picks the richest type
 * it renders; elsewhere prints its text/plain line. With `{id, update: true}` it overwrites the
 * output shown earlier with that id.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function displayBundle(bundle: MimeBundle, opts: DisplayOptions = {}): void {
  checkBundle(bundle);
  if (opts.update && !opts.id) throw new Error(`update needs a display id (got id ${String(opts.id)})`);
  const deno = denoJupyter();
  if (deno) {
    const data: MimeBundle = 'text/plain' in bundle ? bundle : { ...bundle, 'text/plain': plainText(bundle) };
    // sent before the call returns; the promise only reports a failure, on stdout as the fallback would
    deno
      .display(data, { raw: true, update: !!opts.update, ...(opts.id ? { display_id: opts.id } : {}) })
      .catch(() => console.log(plainText(bundle)));
    return;
  }
  const pub = kernelTslab();
  if (pub) {
    const write = kernelWriter(pub);
    if (write) {
      const data: MimeBundle = 'text/plain' in bundle ? bundle : { ...bundle, 'text/plain': plainText(bundle) };
      write({ data, metadata: {}, transient: opts.id ? { display_id: opts.id } : {} }, !!opts.update);
      return;
    }
    if (fallbackDisplay(pub, bundle, opts)) return;
  }
  process.stdout.write(plainText(bundle) + '\n');
}

/** tslab's public API: one MIME type per output. Returns false when it is not usable. */
function fallbackDisplay(pub: TslabPublic, bundle: MimeBundle, opts: DisplayOptions): boolean {
  const type = FALLBACK_ORDER.find((t) => typeof bundle[t] === 'string');
  if (!type) return false;
  try {
    if (opts.id) {
      // public displays own their ids; keep one per id of ours so updates land on the same output
      let shown = fallbackHandles.get(opts.id);
      if (!shown && pub.newDisplay) {
        shown = pub.newDisplay();
        fallbackHandles.set(opts.id, shown);
      }
      if (shown?.raw) {
        shown.raw(type, bundle[type] as string);
        return true;
      }
    }
    if (pub.display?.raw) {
      pub.display.raw(type, bundle[type] as string);
      return true;
    }
  } catch {
    // tslab's "Not ready": its REPL, not a kernel
  }
  return false;
}
const fallbackHandles = new Map<string, { raw?(contentType: string, b: string | Uint8Array): unknown }>();

/** One notebook output that can be shown, then overwritten in place (e.g. a live progress bar). */
export interface DisplayHandle {
  /** The Jupyter display id. */
  readonly id: string;
  /** The first call adds the output; later calls overwrite it. */
  show(bundle: MimeBundle): void;
}

/**
 * A handle on one output that later calls overwrite (update_display_data, in both kernels), like
 * tslab's `newDisplay()` but for multi-MIME bundles. Outside a notebook each call prints a line.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function newDisplayHandle(): DisplayHandle {
  const id = randomBytes(8).toString('hex');
  let shown = false;
  return {
    id,
    show(bundle: MimeBundle): void {
      displayBundle(bundle, { id, update: shown });
      shown = true;
    },
  };
}

/**
 * Escapes text for HTML element content and attribute values.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Shows a long text (e.g. a training log) folded under a one-line summary: in a notebook an HTML
 * `<details>` element that opens on a click, so the log does not push what follows off the page;
 * elsewhere the summary and the whole text on stdout.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function showDetails(summary: string, text: string): void {
  if (typeof summary !== 'string' || typeof text !== 'string') {
    throw new Error(`summary and text must be strings (got ${typeof summary} and ${typeof text})`);
  }
  displayBundle({
    'text/html':
      `<details class="seqmnist-details"><summary>${escapeHtml(summary)}</summary>` +
      `<pre style="max-height:20em;overflow:auto">${escapeHtml(text)}</pre></details>`,
    'text/plain': `${summary}\n${text}`,
  });
}
