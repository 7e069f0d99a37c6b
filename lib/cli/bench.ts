/**
 * `bench`: one training step (forward, backward, update) of every walkthrough at its original
 * batch size, timed the same way for all (median after a warm-up), on the backend chosen as for
 * every command or named by `--backend`, and the PyTorch peers of ../shared/anchors/torch_models.py
 * timed in the same run, on the CPU or (`--device cuda`) on CUDA. Beside the time, the peak
 * resident memory: ours during the timed steps (each walkthrough in a process of its own when more
 * than one is benched, so that none inherits another's heap), the peer's over its whole process
 * (one process per peer, measured from outside by /usr/bin/time, since the anchors are not ours).
 */
import { fork, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { deviceDescription, initBackend, useBackend } from '../backend';
import { projectRoot } from '../root';
import { trainStep } from '../train/loop';
import { peakRssMiB, resetPeakRss } from '../train/memory';
import { GradientWorkers } from '../train/parallel';
import type { AnyWalkthrough } from '../walkthroughs/run';
import type { Flags } from './args';

/** The flags `bench` accepts. */
export const BENCH_FLAGS: readonly (keyof Flags)[] = ['json', 'reps', 'backend', 'torch', 'device', 'python'];

/** How `bench` runs. */
export interface BenchOptions {
  /** Timed steps after the warm-up. */
  reps: number;
  /** Print nothing but return the results. */
  json?: boolean;
  /** The tfjs backend to time (as SEQMNIST_BACKEND, which it overrides); default: the one every command picks. */
  backend?: string;
  /** Time the PyTorch peers in the same run. */
  torch?: boolean;
  /** Where the peers run: 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** The Python that has PyTorch (default /usr/bin/python3, Debian's python3-torch). */
  python?: string;
  /** The peers' timed steps (default: the anchors' own, 3 on the CPU and 20 on CUDA). */
  torchReps?: number;
  /**
   * Time each walkthrough in a child process of its own (lib/cli/bench-child.ts), so that its
   * memory figure holds only its own heap. Default: when more than one walkthrough is benched.
   */
  isolate?: boolean;
}

/** `bench`'s options from its parsed flags; `--device` and `--python` without `--torch` are refused. */
export function benchOptions(flags: Flags): BenchOptions {
  const { json, reps, backend, torch, device, python } = flags;
  const stray = device !== undefined ? '--device' : python !== undefined ? '--python' : undefined;
  if (stray && !torch) throw new Error(`${stray} applies to the PyTorch peers: add --torch`);
  if (device !== undefined) torchDevice(device);
  return { reps: reps ?? 5, json, backend, torch, device, python, torchReps: reps };
}

/** One bench result (`bench --json` prints an array of these). */
export interface BenchResult {
  name: string;
  backend: string;
  /** The backend's device line, e.g. 'NVIDIA H200 (nvidia, hopper) through Dawn/Vulkan'. */
  device: string;
  threads: number;
  batchSize: number;
  msPerStep: number;
  samplesPerSecond: number;
  /**
   * The process's peak resident memory during the timed steps, MiB (worker threads included: they
   * share the process). On Linux the kernel's high-water mark, reset after the warm-up.
   */
  peakRssMiB: number;
  torchPeer?: string;
  /** Where the peer ran: 'cpu', or e.g. 'cuda (NVIDIA H200)'. */
  torchDevice?: string;
  torchMsPerStep?: number;
  ratioToTorch?: number;
  /** The peer's process's peak resident memory, MiB (import, warm-up and timed steps; /usr/bin/time's %M). */
  torchPeakRssMiB?: number;
  /** peakRssMiB / torchPeakRssMiB. */
  rssRatioToTorch?: number;
}

/** What timing one walkthrough's steps gives. */
export interface StepTimes {
  /** Milliseconds of each timed step. */
  times: number[];
  /** Peak resident memory during the timed steps, MiB (see BenchResult.peakRssMiB). */
  peakRssMiB: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The warm-up before the timed steps: at least this many steps, and at least this long. */
export const WARM_UP_STEPS = 1;
export const WARM_UP_MS = 3000;

/**
 * Milliseconds of each of `reps` training steps of a walkthrough at its defaults (its model,
 * optimiser, loss, batch size and threads) after a warm-up (WARM_UP_STEPS steps and WARM_UP_MS),
 * on random data, and the process's peak resident memory during them.
 */
export async function timeSteps(w: AnyWalkthrough, reps: number): Promise<StepTimes> {
  const config = w.config();
  const threads = w.threads(config);
  const { steps, featuresPerStep } = w.input(config);
  const model = w.buildModel(config);
  const optimizer = w.optimizer(config);
  const recipe = w.modelRecipe?.(config);
  const workers = recipe && threads > 1 ? await GradientWorkers.start(recipe, { threads }) : undefined;
  const x = tf.randomUniform([config.batchSize, steps, featuresPerStep], 0, 1, 'float32', 1);
  const y = tf.randomUniform([config.batchSize], 0, 10, 'int32', 2);
  try {
    const step = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await trainStep(model, { x, y }, { optimizer, loss: w.loss, workers });
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    // the warm-up: compilation, first allocations, and V8 moving the WebAssembly kernels from its
    // baseline compiler to its optimising one on every thread (lstm-row's first ~20 steps took up to
    // three times as long as its later ones)
    const start = process.hrtime.bigint();
    for (let i = 0; i < WARM_UP_STEPS || Number(process.hrtime.bigint() - start) / 1e6 < WARM_UP_MS; i++) await step();
    resetPeakRss();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) times.push(await step());
    return { times, peakRssMiB: peakRssMiB() };
  } finally {
    await workers?.terminate();
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

/** A torch device the peers may run on ('cpu', 'cuda', 'cuda:N'), else an error naming the value. */
function torchDevice(device: string): string {
  if (!/^(cpu|cuda(:\d+)?)$/.test(device)) throw new Error(`--device must be cpu, cuda or cuda:N (got '${device}')`);
  return device;
}

/** Where the PyTorch peers run and with which Python. */
export interface TorchOptions {
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** Default /usr/bin/python3 (Debian's python3-torch). */
  python?: string;
  /** Timed steps per peer (default: the anchors' own). */
  reps?: number;
  /** Give up on the peers after this long (default: no limit). */
  timeoutMs?: number;
}

const DEFAULT_PYTHON = '/usr/bin/python3';

/**
 * The peers' script: torch_models.py beside this file where scripts/gpu-bench.sh's bundle carries
 * it, else ../shared/anchors/ beside the checkout.
 */
export function anchorsScript(): string {
  const carried = path.join(__dirname, 'anchors', 'torch_models.py');
  return fs.existsSync(carried) ? carried : path.resolve(projectRoot(), '..', 'shared', 'anchors', 'torch_models.py');
}

/** spawnSync's time limit: whole milliseconds. */
function limit(options: TorchOptions): number | undefined {
  return options.timeoutMs === undefined ? undefined : Math.max(1, Math.round(options.timeoutMs));
}

/** The last line of a failed child's output, or why it did not run. */
function failure(out: ReturnType<typeof spawnSync>, timeoutMs?: number): string {
  const code = (out.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT') return `timed out after ${Math.round((timeoutMs ?? 0) / 1000)} s`;
  if (code === 'ENOENT') return `no such program`;
  return (String(out.stderr ?? '') || out.error?.message || `exit status ${out.status}`).trim().split('\n').pop()!;
}

const PROBE = `import json, sys, torch
d = torch.device(sys.argv[1])
ok = d.type != "cuda" or torch.cuda.is_available()
print(json.dumps({"version": torch.__version__, "cuda": ok, "name": torch.cuda.get_device_name(d) if d.type == "cuda" and ok else ""}))`;

/**
 * What the peers will run on, e.g. 'cuda (NVIDIA H200)', and PyTorch's version; one line of error
 * when that Python has no PyTorch, or no CUDA for a CUDA device. Starts PyTorch once (a second or two).
 */
export function checkTorch(options: TorchOptions = {}): { version: string; device: string } {
  const python = options.python ?? DEFAULT_PYTHON;
  const device = torchDevice(options.device ?? 'cpu');
  const out = spawnSync(python, ['-c', PROBE, device], { encoding: 'utf8', timeout: limit(options) });
  if (out.status !== 0) {
    throw new Error(
      `--device ${device}: ${python} cannot start PyTorch: ${failure(out, options.timeoutMs)} ` +
        `(install with: apt-get install python3-torch python3-scipy, or give --python PATH)`,
    );
  }
  const found = JSON.parse(out.stdout.trim().split('\n').pop()!) as { version: string; cuda: boolean; name: string };
  if (!found.cuda) {
    throw new Error(
      `--device ${device}: the PyTorch of ${python} (torch ${found.version}) has no CUDA (torch.cuda.is_available() is False)`,
    );
  }
  return { version: found.version, device: found.name ? `${device} (${found.name})` : device };
}

/** GNU time, which reports a child's peak resident memory (Debian's `time` package). */
const GNU_TIME = '/usr/bin/time';

/**
 * Runs the anchors for `peers`; their ms/step by peer name, and the process's peak resident memory
 * in MiB where GNU time is installed to measure it (ru_maxrss of the child, from outside).
 */
function runAnchors(peers: string[], options: TorchOptions): { times: Map<string, number>; peakRssMiB?: number } {
  const script = anchorsScript();
  const args = [script, ...peers, '--device', torchDevice(options.device ?? 'cpu')];
  if (options.reps !== undefined) args.push('--reps', String(options.reps));
  const python = options.python ?? DEFAULT_PYTHON;
  let rssFile: string | undefined;
  let command = python;
  if (fs.existsSync(GNU_TIME)) {
    rssFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-bench-')), 'maxrss');
    args.unshift('-f', '%M', '-o', rssFile, python);
    command = GNU_TIME;
  }
  try {
    const out = spawnSync(command, args, { encoding: 'utf8', timeout: limit(options) });
    if (out.status !== 0) {
      throw new Error(
        `PyTorch peers failed (${script}): ${failure(out, options.timeoutMs)} (install with: apt-get install python3-torch python3-scipy)`,
      );
    }
    const times = new Map<string, number>();
    for (const line of out.stdout.split('\n')) {
      const m = /^(\S+)\s.*?([\d.]+) ms\/step/.exec(line);
      if (m) times.set(m[1], Number(m[2]));
    }
    const kb =
      rssFile && fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN;
    return { times, peakRssMiB: Number.isFinite(kb) && kb > 0 ? kb / 1024 : undefined };
  } finally {
    if (rssFile) fs.rmSync(path.dirname(rssFile), { recursive: true, force: true });
  }
}

/** Times the PyTorch peers in this same run (in one process); ms/step by peer name. */
export function torchTimes(peers: string[], options: TorchOptions = {}): Map<string, number> {
  return runAnchors(peers, options).times;
}

/**
 * Times one PyTorch peer in a process of its own: its ms/step, and the process's peak resident
 * memory in MiB (undefined where /usr/bin/time is missing).
 */
export function torchPeer(peer: string, options: TorchOptions = {}): { msPerStep?: number; peakRssMiB?: number } {
  const r = runAnchors([peer], options);
  return { msPerStep: r.times.get(peer), peakRssMiB: r.peakRssMiB };
}

/**
 * Times one walkthrough in a child process (lib/cli/bench-child.ts) on `backend`, with this
 * process's environment (SEQMNIST_THREADS and the rest); its output is kept apart from ours.
 */
function timeStepsIsolated(w: AnyWalkthrough, reps: number, backend: string): Promise<StepTimes> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'bench-child.js'), [w.name, String(reps), backend], { silent: true });
    let stderr = '';
    let result: StepTimes | undefined;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.resume();
    child.on('message', (m: StepTimes) => (result = m));
    child.on('error', reject);
    child.on('exit', (code) =>
      result && code === 0
        ? resolve(result)
        : reject(new Error(`bench of ${w.name} failed (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`)),
    );
  });
}

/**
 * Benchmarks the walkthroughs' training steps (and with `torch` their PyTorch peers); prints one
 * line per result unless `json`, where it prints nothing but returns the results. A bad backend
 * name, device or a PyTorch without CUDA fails before any step is timed.
 */
export async function bench(list: AnyWalkthrough[], options: BenchOptions): Promise<BenchResult[]> {
  const say = options.json ? () => undefined : (line: string) => console.log(line);
  const quiet = options.json;
  const backend = options.backend ? await useBackend(options.backend, { quiet }) : await initBackend({ quiet });
  const device = deviceDescription(backend);
  const torch = options.torch ? { ...options, reps: options.torchReps } : undefined;
  const peersOn = torch && (torch.device ?? 'cpu') !== 'cpu' ? checkTorch(torch).device : (torch?.device ?? 'cpu');
  const results: BenchResult[] = [];
  const isolate = options.isolate ?? list.length > 1;
  for (const w of list) {
    const steps = isolate ? await timeStepsIsolated(w, options.reps, backend) : await timeSteps(w, options.reps);
    const ms = median(steps.times);
    const config = w.config();
    const { batchSize } = config;
    const threads = w.threads(config);
    results.push({
      name: w.name,
      backend,
      device,
      threads,
      batchSize,
      msPerStep: ms,
      samplesPerSecond: (batchSize * 1000) / ms,
      peakRssMiB: steps.peakRssMiB,
    });
    say(
      `${w.name}: ${ms.toFixed(1)} ms/step (${backend}, ${threads} thread${threads > 1 ? 's' : ''}), peak RSS ${steps.peakRssMiB.toFixed(0)} MiB`,
    );
  }
  if (torch) {
    const peerOf = new Map(list.map((w) => [w.name, w.torchPeer]));
    const peers = new Map<string, ReturnType<typeof torchPeer>>();
    for (const peer of new Set([...peerOf.values()].filter((p): p is string => !!p)))
      peers.set(peer, torchPeer(peer, torch));
    for (const r of results) {
      const peer = peerOf.get(r.name);
      const p = peer ? peers.get(peer) : undefined;
      if (p?.msPerStep === undefined) continue;
      const t = p.msPerStep;
      Object.assign(r, { torchPeer: peer, torchDevice: peersOn, torchMsPerStep: t, ratioToTorch: r.msPerStep / t });
      if (p.peakRssMiB !== undefined)
        Object.assign(r, { torchPeakRssMiB: p.peakRssMiB, rssRatioToTorch: r.peakRssMiB / p.peakRssMiB });
      const memory = p.peakRssMiB === undefined ? '' : `, peak RSS ${p.peakRssMiB.toFixed(0)} MiB`;
      say(
        `${r.name}: PyTorch peer ${peer} ${t.toFixed(1)} ms/step on ${peersOn}${memory}; ours/PyTorch = ${r.ratioToTorch!.toFixed(2)}`,
      );
    }
  }
  return results;
}
