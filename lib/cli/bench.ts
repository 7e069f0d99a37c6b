/**
 * `bench`: one training step (forward, backward, update) of every walkthrough at its original
 * batch size, timed the same way for all (median after a warm-up), on the backend chosen as for
 * every command or named by `--backend`, and the PyTorch peers of ../shared/anchors/torch_models.py
 * timed in the same run, on the CPU or (`--device cuda`) on CUDA.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { deviceDescription, initBackend, useBackend } from '../backend';
import { projectRoot } from '../root';
import { trainStep } from '../train/loop';
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
  torchPeer?: string;
  /** Where the peer ran: 'cpu', or e.g. 'cuda (NVIDIA H200)'. */
  torchDevice?: string;
  torchMsPerStep?: number;
  ratioToTorch?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Milliseconds of each of `reps` training steps of a walkthrough at its defaults (its model,
 * optimiser, loss, batch size and threads) after one warm-up step, on random data.
 */
export async function timeSteps(w: AnyWalkthrough, reps: number): Promise<number[]> {
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
    const times: number[] = [];
    for (let i = 0; i <= reps; i++) {
      const t0 = process.hrtime.bigint();
      await trainStep(model, { x, y }, { optimizer, loss: w.loss, workers });
      if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6); // step 0 warms up: compilation, first allocations
    }
    return times;
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

/** Times the PyTorch peers in this same run; ms/step by peer name. */
export function torchTimes(peers: string[], options: TorchOptions = {}): Map<string, number> {
  const script = anchorsScript();
  const args = [script, ...peers, '--device', torchDevice(options.device ?? 'cpu')];
  if (options.reps !== undefined) args.push('--reps', String(options.reps));
  const out = spawnSync(options.python ?? DEFAULT_PYTHON, args, { encoding: 'utf8', timeout: limit(options) });
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
  return times;
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
  for (const w of list) {
    const ms = median(await timeSteps(w, options.reps));
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
    });
    say(`${w.name}: ${ms.toFixed(1)} ms/step (${backend}, ${threads} thread${threads > 1 ? 's' : ''})`);
  }
  if (torch) {
    const peerOf = new Map(list.map((w) => [w.name, w.torchPeer]));
    const times = torchTimes([...new Set([...peerOf.values()].filter((p): p is string => !!p))], torch);
    for (const r of results) {
      const peer = peerOf.get(r.name);
      const t = peer ? times.get(peer) : undefined;
      if (t === undefined) continue;
      Object.assign(r, { torchPeer: peer, torchDevice: peersOn, torchMsPerStep: t, ratioToTorch: r.msPerStep / t });
      say(
        `${r.name}: PyTorch peer ${peer} ${t.toFixed(1)} ms/step on ${peersOn}; ours/PyTorch = ${r.ratioToTorch!.toFixed(2)}`,
      );
    }
  }
  return results;
}
