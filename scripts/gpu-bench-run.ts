/**
 * The GPU bench's bundle entry (scripts/gpu-bench.sh bundles it with esbuild into one file that
 * runs on a bare Node binary): `gpu-bench OUTDIR` runs the whole measurement, anything else is the
 * seqmnist command line (bin/seqmnist.ts), which the measurement runs once per walkthrough.
 *
 * The measurement: the GPU and driver (nvidia-smi), Vulkan's devices (vulkaninfo), the WebGPU
 * adapter, then per walkthrough one child `bench NAME --backend webgpu --torch --device cuda --json`
 * with a time limit (a fair share of what is left of the deadline), so that one slow model cannot
 * eat the others' time; a walkthrough that fails or runs out of time still gets its PyTorch peer
 * timed alone. It writes OUTDIR/gpu-bench.json after every walkthrough (a bench record as
 * benchmarks/ keeps them: date, machine, results) and the children's output to OUTDIR/bench.log.
 *
 * Environment (set by scripts/gpu-bench.sh): GPU_BENCH_DEADLINE (Unix seconds to be done by),
 * GPU_BENCH_PYTHON (the Python with PyTorch), GPU_BENCH_TORCH_DEVICE (default cuda),
 * GPU_BENCH_REPS (timed steps, default 5), GPU_BENCH_MODELS (walkthroughs, default all),
 * GPU_BENCH_ALLOW_SOFTWARE=1 (bench on a software adapter such as llvmpipe, for testing the script),
 * GPU_BENCH_BACKEND (the tfjs backend to bench, default webgpu; another tests the script's other steps quickly),
 * GPU_BENCH_COMMAND (the command line to record), GPU_BENCH_DENO (a Deno binary: each walkthrough is
 * then benched a second time under Deno, on its own WebGPU, wgpu, beside Dawn's figure).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { deviceDescription, useBackend } from '../lib/backend';
import { BenchResult, checkTorch, torchTimes } from '../lib/cli/bench';
import { main } from '../lib/cli/main';
import { getWalkthrough, WALKTHROUGHS } from '../lib/walkthroughs/registry';
import { writeFileAtomically } from '../lib/files';
import { webGpuAdapter } from '../lib/webgpu';

/** One walkthrough's line of the record: bench's result, or what became of it. */
interface GpuBenchResult extends Partial<BenchResult> {
  name: string;
  /** 'ok'; 'timeout' or 'failed' (then `error`); 'skipped' (no adapter, or no time left). */
  status: 'ok' | 'timeout' | 'failed' | 'skipped';
  error?: string;
  torchError?: string;
  /** Wall-clock seconds of its child processes. */
  seconds?: number;
  /** The same step under Deno, on wgpu (GPU_BENCH_DENO): ms per step, or what became of it. */
  wgpuMsPerStep?: number;
  wgpuStatus?: 'ok' | 'timeout' | 'failed' | 'skipped';
  wgpuError?: string;
  /** wgpuMsPerStep / torchMsPerStep. */
  wgpuRatioToTorch?: number;
}

/** The record gpu-bench.json holds. */
interface GpuBenchRecord {
  date: string;
  machine: string;
  gpu: string | null;
  driver: string | null;
  vulkanDevices: string[];
  /** The tfjs backend benched (webgpu) and its adapter line. */
  backend: string;
  adapter: string | null;
  /** The adapter line under Deno (wgpu), and Deno's version; null without GPU_BENCH_DENO. */
  wgpuAdapter: string | null;
  deno: string | null;
  node: string;
  tfjs: string;
  torch: string | null;
  torchDevice: string | null;
  command: string;
  conditions: string;
  results: GpuBenchResult[];
  totalSeconds: number;
  errors: string[];
}

/** Runs a program with a limit; its output, status and seconds, appended to the log. */
function runLogged(log: string, program: string, args: string[], timeoutMs: number, env = process.env) {
  const started = Date.now();
  const out = spawnSync(program, args, {
    encoding: 'utf8',
    timeout: Math.max(1000, Math.round(timeoutMs)),
    killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
    env,
  });
  const seconds = (Date.now() - started) / 1000;
  const timedOut = (out.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const status = timedOut
    ? `killed after ${Math.round(timeoutMs / 1000)} s`
    : out.error
      ? out.error.message
      : out.status;
  fs.appendFileSync(
    log,
    `\n===== ${[program, ...args].join(' ')}\n----- exit ${status}, ${seconds.toFixed(1)} s\n` +
      `${out.stdout ?? ''}${out.stderr ? `----- stderr\n${out.stderr}` : ''}`,
  );
  return { ok: out.status === 0, timedOut, stdout: out.stdout ?? '', stderr: out.stderr ?? '', seconds };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

/** nvidia-smi's GPU name and driver, and vulkaninfo's devices, each written whole to the system log. */
function systemInfo(log: string): { gpu: string | null; driver: string | null; vulkanDevices: string[] } {
  const smi = runLogged(
    log,
    'nvidia-smi',
    ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'],
    30e3,
  );
  const [gpu, driver] = smi.ok ? lastLine(smi.stdout).split(/,\s*/) : [null, null];
  if (smi.ok) runLogged(log, 'nvidia-smi', [], 30e3);
  const vk = runLogged(log, 'vulkaninfo', ['--summary'], 30e3);
  const vulkanDevices = vk.ok ? [...vk.stdout.matchAll(/deviceName\s*=\s*(.+)/g)].map((m) => m[1].trim()) : [];
  return { gpu: gpu ?? null, driver: driver ?? null, vulkanDevices };
}

/** `gpu-bench-adapter`: starts the webgpu backend and prints its device line and whether it is software. */
async function printAdapter(): Promise<void> {
  const backend = await useBackend('webgpu', { quiet: true });
  console.log(JSON.stringify({ adapter: deviceDescription(backend), software: webGpuAdapter()?.software ?? true }));
}

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (!v) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer (got '${v}')`);
  return n;
}

/** The whole measurement, written to `out` (see the file's comment). */
async function gpuBench(out: string): Promise<void> {
  const started = Date.now();
  const deadline = process.env.GPU_BENCH_DEADLINE ? Number(process.env.GPU_BENCH_DEADLINE) * 1000 : started + 420e3;
  const left = () => deadline - Date.now();
  const reps = envInt('GPU_BENCH_REPS', 5);
  const python = process.env.GPU_BENCH_PYTHON || 'python3';
  const device = process.env.GPU_BENCH_TORCH_DEVICE || 'cuda';
  const allowSoftware = process.env.GPU_BENCH_ALLOW_SOFTWARE === '1';
  const backend = process.env.GPU_BENCH_BACKEND || 'webgpu';
  const names = (process.env.GPU_BENCH_MODELS || '').split(/[\s,]+/).filter(Boolean);
  const list = names.length ? names.map(getWalkthrough) : [...WALKTHROUGHS];
  fs.mkdirSync(out, { recursive: true });
  const log = path.join(out, 'bench.log');
  const self = [__filename];
  const deno = backend === 'webgpu' ? process.env.GPU_BENCH_DENO || undefined : undefined;
  const underDeno = ['run', '-A', __filename];
  const record: GpuBenchRecord = {
    date: new Date().toISOString(),
    machine: '',
    ...systemInfo(path.join(out, 'system.log')),
    backend,
    adapter: null,
    wgpuAdapter: null,
    deno: null,
    node: process.version,
    tfjs: tf.version.tfjs,
    torch: null,
    torchDevice: null,
    command: process.env.GPU_BENCH_COMMAND || `gpu-bench ${out}`,
    conditions:
      `${reps} timed step${reps > 1 ? 's' : ''} after one warm-up each (the peers: ${reps} after the anchors' warm-up), ` +
      `ours and PyTorch's in one run per walkthrough, each with a time limit; ${os.cpus().length} CPU cores`,
    results: [],
    totalSeconds: 0,
    errors: [],
  };
  const save = () => {
    record.totalSeconds = (Date.now() - started) / 1000;
    record.machine = [
      record.gpu ? `${record.gpu}${record.driver ? ` (driver ${record.driver})` : ''}` : 'no nvidia-smi',
      record.adapter
        ? `webgpu on ${record.adapter}`
        : backend === 'webgpu'
          ? 'no WebGPU adapter'
          : `backend ${backend}`,
      ...(deno ? [record.wgpuAdapter ? `wgpu: ${record.wgpuAdapter}` : 'no wgpu adapter'] : []),
      record.torch ? `PyTorch ${record.torch} on ${record.torchDevice}` : 'no PyTorch',
    ].join('; ');
    writeFileAtomically(path.join(out, 'gpu-bench.json'), JSON.stringify(record, null, 2) + '\n');
  };

  // the adapter first: on a software adapter the numbers would say nothing of a GPU
  let usable = true;
  if (backend === 'webgpu') {
    const probe = runLogged(log, process.execPath, [...self, 'gpu-bench-adapter'], Math.min(90e3, left() / 4));
    usable = probe.ok;
    if (probe.ok) {
      const a = JSON.parse(lastLine(probe.stdout)) as { adapter: string; software: boolean };
      record.adapter = a.adapter;
      if (a.software && !allowSoftware) {
        usable = false;
        record.errors.push(
          `webgpu: only a software adapter (${a.adapter}); GPU_BENCH_ALLOW_SOFTWARE=1 benches it anyway`,
        );
      }
    } else {
      record.errors.push(`webgpu: ${probe.timedOut ? 'the adapter did not start in time' : lastLine(probe.stderr)}`);
    }
  }
  let wgpuUsable = deno !== undefined;
  if (deno) {
    const version = runLogged(log, deno, ['--version'], 30e3);
    record.deno = version.ok ? version.stdout.split('\n')[0].trim() : null;
    const probe = runLogged(log, deno, [...underDeno, 'gpu-bench-adapter'], Math.min(90e3, left() / 4));
    wgpuUsable = probe.ok;
    if (probe.ok) {
      const a = JSON.parse(lastLine(probe.stdout)) as { adapter: string; software: boolean };
      record.wgpuAdapter = a.adapter;
      if (a.software && !allowSoftware) {
        wgpuUsable = false;
        record.errors.push(`wgpu: only a software adapter (${a.adapter})`);
      }
    } else {
      record.errors.push(`wgpu: ${probe.timedOut ? 'the adapter did not start in time' : lastLine(probe.stderr)}`);
    }
  }
  let torchOk = true;
  try {
    const t = checkTorch({ device, python, timeoutMs: 120e3 });
    Object.assign(record, { torch: t.version, torchDevice: t.device });
  } catch (e) {
    torchOk = false;
    record.errors.push((e as Error).message);
  }
  save();

  const peerTimes = new Map<string, number>();
  /** Peers whose run failed: not tried again for the next walkthrough that shares them. */
  const failedPeers = new Set<string>();
  const peerWanted = (peer?: string): peer is string =>
    torchOk && peer !== undefined && !peerTimes.has(peer) && !failedPeers.has(peer);
  for (let i = 0; i < list.length; i++) {
    const w = list[i];
    const r: GpuBenchResult = { name: w.name, status: 'skipped' };
    record.results.push(r);
    const peer = w.torchPeer;
    const share = left() / (list.length - i);
    if (share < 10e3) {
      r.error = 'no time left';
      continue;
    }
    if (usable) {
      // ours and the peer in one child; if the peer is what failed, ours again alone
      for (const withTorch of peerWanted(peer) ? [true, false] : [false]) {
        const args = ['bench', w.name, '--backend', backend, '--reps', String(reps), '--json'];
        if (withTorch) args.push('--torch', '--device', device, '--python', python);
        // with Deno, Dawn's run leaves half of the share for wgpu's
        const limit = Math.min((deno ? share / 2 : share) - (r.seconds ?? 0) * 1000, left());
        const child = runLogged(log, process.execPath, [...self, ...args], limit);
        r.seconds = (r.seconds ?? 0) + child.seconds;
        if (child.ok) {
          const [got] = JSON.parse(child.stdout) as BenchResult[];
          Object.assign(r, got, { status: 'ok', error: undefined });
          if (got.torchPeer && got.torchMsPerStep !== undefined) peerTimes.set(got.torchPeer, got.torchMsPerStep);
          break;
        }
        r.status = child.timedOut ? 'timeout' : 'failed';
        r.error = child.timedOut ? `killed after ${Math.round(limit / 1000)} s` : lastLine(child.stderr);
        if (!/PyTorch peers failed/.test(r.error) || limit < 10e3) break;
        r.torchError = r.error;
        failedPeers.add(peer!);
      }
    } else r.error = `no usable ${backend} backend`;
    if (deno) {
      const limit = Math.min(share - (r.seconds ?? 0) * 1000, left());
      r.wgpuStatus = 'skipped';
      if (!wgpuUsable) r.wgpuError = 'no usable wgpu adapter';
      else if (limit < 5e3) r.wgpuError = 'no time left';
      else {
        const args = ['bench', w.name, '--backend', backend, '--reps', String(reps), '--json'];
        const child = runLogged(log, deno, [...underDeno, ...args], limit);
        r.seconds = (r.seconds ?? 0) + child.seconds;
        if (child.ok) {
          r.wgpuMsPerStep = (JSON.parse(child.stdout) as BenchResult[])[0].msPerStep;
          r.wgpuStatus = 'ok';
        } else {
          r.wgpuStatus = child.timedOut ? 'timeout' : 'failed';
          r.wgpuError = child.timedOut ? `killed after ${Math.round(limit / 1000)} s` : lastLine(child.stderr);
        }
      }
    }
    // the peer alone, where the combined run did not time it
    if (peerWanted(peer) && left() > 10e3) {
      try {
        const t = torchTimes([peer], { device, python, reps, timeoutMs: left() / (list.length - i) });
        if (t.has(peer)) peerTimes.set(peer, t.get(peer)!);
      } catch (e) {
        r.torchError = (e as Error).message;
        failedPeers.add(peer);
      }
    }
    if (peer !== undefined && peerTimes.has(peer)) {
      const t = peerTimes.get(peer)!;
      Object.assign(r, { torchPeer: peer, torchDevice: record.torchDevice, torchMsPerStep: t });
      if (r.msPerStep !== undefined) r.ratioToTorch = r.msPerStep / t;
      if (r.wgpuMsPerStep !== undefined) r.wgpuRatioToTorch = r.wgpuMsPerStep / t;
    }
    save();
  }
  save();
  console.log(
    record.results
      .map((r) => {
        const ours = r.msPerStep !== undefined ? `${r.msPerStep.toFixed(1)} ms/step` : `${r.status} (${r.error})`;
        const peer = r.torchMsPerStep !== undefined ? `, PyTorch ${r.torchMsPerStep.toFixed(1)} ms/step` : '';
        const ratio = r.ratioToTorch !== undefined ? `, ratio ${r.ratioToTorch.toFixed(2)}` : '';
        const wgpu =
          r.wgpuMsPerStep !== undefined
            ? `; wgpu ${r.wgpuMsPerStep.toFixed(1)} ms/step`
            : r.wgpuStatus
              ? `; wgpu ${r.wgpuStatus} (${r.wgpuError})`
              : '';
        return `${r.name}: ${backend} ${ours}${peer}${ratio}${wgpu}`;
      })
      .join('\n'),
  );
  console.log(`wrote ${path.join(out, 'gpu-bench.json')} (${record.totalSeconds.toFixed(0)} s)`);
}

const argv = process.argv.slice(2);
const command =
  argv[0] === 'gpu-bench' && argv.length === 2
    ? gpuBench(argv[1])
    : argv[0] === 'gpu-bench-adapter'
      ? printAdapter()
      : main(argv);
command.then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`seqmnist: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
