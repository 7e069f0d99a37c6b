import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from '../lib/cli/args';
import { bench, benchOptions, checkTorch, torchTimes } from '../lib/cli/bench';
import { getWalkthrough } from '../lib/walkthroughs/registry';

/**
 * A stand-in for Python with PyTorch: answers bench's probe as a PyTorch with (`cuda`) or without
 * CUDA, and as the anchors prints one peer's line, noting the arguments it was given in `calls`.
 */
function fakePython(cuda: boolean): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-gpu-bench-'));
  const file = path.join(dir, 'python3');
  fs.writeFileSync(
    file,
    `#!/bin/sh
if [ "$1" = -c ]; then
  echo '{"version": "9.9.9${cuda ? '+cu' : '+cpu'}", "cuda": ${cuda ? 'true' : 'false'}, "name": "${cuda ? 'Fake GPU' : ''}"}'
  exit 0
fi
echo "$@" >>"${dir}/calls"
echo "lstm-row       batch= 512 T=  14 params=   1914     12.5 ms/step (Fake GPU)"
`,
    { mode: 0o755 },
  );
  return file;
}

const flags = (...argv: string[]) => parseArgs(['bench', ...argv]).flags;

test('bench flags: --backend takes any name, --device and --python need --torch, --device is cpu or cuda[:N]', () => {
  assert.deepEqual(benchOptions(flags('--backend', 'webgpu')), {
    reps: 5,
    json: undefined,
    backend: 'webgpu',
    torch: undefined,
    device: undefined,
    python: undefined,
    torchReps: undefined,
  });
  const o = benchOptions(flags('--torch', '--device', 'cuda:1', '--python', '/opt/py/bin/python3', '--reps', '2'));
  assert.deepEqual([o.device, o.python, o.reps, o.torchReps], ['cuda:1', '/opt/py/bin/python3', 2, 2]);
  assert.throws(() => flags('--backend', ''), /--backend needs a name \(got ''\)/);
  assert.throws(() => flags('--device'), /flag --device needs a value/);
  assert.throws(
    () => benchOptions(flags('--device', 'cuda')),
    /^Error: --device applies to the PyTorch peers: add --torch$/,
  );
  assert.throws(() => benchOptions(flags('--python', 'python3')), /--python applies to the PyTorch peers: add --torch/);
  assert.throws(
    () => benchOptions(flags('--torch', '--device', 'tpu')),
    /^Error: --device must be cpu, cuda or cuda:N \(got 'tpu'\)$/,
  );
});

test('bench --backend with an unknown name fails before timing anything, naming the backends', async () => {
  await assert.rejects(
    bench([getWalkthrough('lstm-row')], { reps: 1, backend: 'metal', json: true }),
    /^Error: unknown backend 'metal' \(expected one of: tensorflow, webgpu, wasm, cpu\)$/,
  );
});

test('bench --torch --device cuda where PyTorch has no CUDA: one line naming the Python, before any step', async () => {
  const python = fakePython(false);
  const w = getWalkthrough('lstm-row');
  const untimed = {
    ...w,
    buildModel: () => {
      throw new Error('a step was timed');
    },
  };
  await assert.rejects(
    bench([untimed], { reps: 1, backend: 'cpu', json: true, torch: true, device: 'cuda', python }),
    (e: Error) => {
      assert.equal(
        e.message,
        `--device cuda: the PyTorch of ${python} (torch 9.9.9+cpu) has no CUDA (torch.cuda.is_available() is False)`,
      );
      return true;
    },
  );
  assert.equal(fs.existsSync(path.join(path.dirname(python), 'calls')), false, 'the peers were not run');
  assert.throws(
    () => checkTorch({ device: 'cuda', python: path.join(path.dirname(python), 'no-such-python') }),
    /^Error: --device cuda: .*no-such-python cannot start PyTorch: no such program/,
  );
});

test('bench --torch --device cuda passes the device and reps to the anchors and records where the peer ran', async () => {
  const python = fakePython(true);
  assert.deepEqual(checkTorch({ device: 'cuda', python }), { version: '9.9.9+cu', device: 'cuda (Fake GPU)' });
  assert.deepEqual([...torchTimes(['lstm-row'], { device: 'cuda', python, reps: 2 })], [['lstm-row', 12.5]]);
  const [r] = await bench([getWalkthrough('lstm-row')], {
    reps: 1,
    backend: 'cpu',
    json: true,
    torch: true,
    device: 'cuda',
    python,
    torchReps: 1,
  });
  assert.equal(r.backend, 'cpu');
  assert.match(r.device, /pure JavaScript/);
  assert.deepEqual([r.torchPeer, r.torchDevice, r.torchMsPerStep], ['lstm-row', 'cuda (Fake GPU)', 12.5]);
  assert.equal(r.ratioToTorch, r.msPerStep / 12.5);
  const calls = fs
    .readFileSync(path.join(path.dirname(python), 'calls'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(calls.length, 2);
  assert.match(calls[0], /torch_models\.py lstm-row --device cuda --reps 2$/);
  assert.match(calls[1], /torch_models\.py lstm-row --device cuda --reps 1$/);
});
