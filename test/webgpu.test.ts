/**
 * The webgpu backend (lib/webgpu.ts): here Mesa's llvmpipe through Dawn's OpenGL ES under Node, and
 * lavapipe through wgpu's Vulkan under Deno (test/deno.test.ts runs this file there), which
 * `useBackend('webgpu')` accepts and automatic selection does not. Each walkthrough's training step
 * runs on it with a handful of GPU→CPU reads; errors surface as one line.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { deviceDescription, useBackend } from '../lib/backend';
import * as fs from 'fs';
import * as os from 'os';
import {
  adapterLine,
  gpuAbsence,
  hardwareVulkanDrivers,
  uncapturedErrorLine,
  webGpuAdapter,
  webGpuImplementation,
} from '../lib/webgpu';
import { runWgsl } from '../lib/kernels/webgpu';
import { trainStep } from '../lib/train/loop';
import { WALKTHROUGHS } from '../lib/walkthroughs/registry';

const cli = path.join(__dirname, '..', 'bin', 'seqmnist.js');

test('useBackend("webgpu") takes the software adapter it is given here and names it, the implementation and its API', async () => {
  assert.equal(await useBackend('webgpu', { quiet: true }), 'webgpu');
  const a = webGpuAdapter()!;
  assert.ok(a, 'adapter described');
  // this file runs under Node (Dawn) and, through test/deno.test.ts, under Deno (wgpu)
  assert.equal(a.implementation, webGpuImplementation());
  assert.match(deviceDescription('webgpu'), / through (Dawn|wgpu)\/(Vulkan|Metal|D3D12|OpenGL ES|OpenGL)/);
  if (/llvmpipe/.test(a.description)) assert.equal(a.software, true);
  const x = tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(Array.from(await tf.matMul(x, x).data()), [7, 10, 15, 22]);
});

test('a synchronous read on webgpu is refused with what to use instead', async () => {
  await useBackend('webgpu', { quiet: true });
  const onGpu = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
  assert.throws(() => onGpu.dataSync(), /synchronous read on the webgpu backend .*await data\(\)/);
});

test('automatic selection counts only hardware Vulkan drivers, not lavapipe or SwiftShader', () => {
  assert.deepEqual(hardwareVulkanDrivers({ VK_DRIVER_FILES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' }), []);
  assert.deepEqual(
    hardwareVulkanDrivers({ VK_ICD_FILENAMES: '/x/vk_swiftshader_icd.json:/usr/share/vulkan/icd.d/nvidia_icd.json' }),
    ['/usr/share/vulkan/icd.d/nvidia_icd.json'],
  );
});

test('automatic selection wants a GPU device beside a hardware Vulkan driver (Mesa installs its ICD files without one)', () => {
  if (process.platform !== 'linux') return;
  const dev = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-dev-'));
  try {
    const env = { VK_DRIVER_FILES: '/usr/share/vulkan/icd.d/intel_icd.x86_64.json' };
    assert.equal(
      gpuAbsence(env, dev),
      `Vulkan drivers declared (intel_icd.x86_64) but no GPU device (${dev}/dri/renderD*, ${dev}/nvidia*)`,
    );
    assert.equal(
      gpuAbsence({ VK_DRIVER_FILES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' }, dev),
      'no hardware Vulkan driver declared',
    );
    fs.writeFileSync(path.join(dev, 'nvidia0'), '');
    assert.equal(gpuAbsence(env, dev), undefined);
  } finally {
    fs.rmSync(dev, { recursive: true, force: true });
  }
});

test("the adapter line names the implementation and its API; wgpu's numeric vendor is named", () => {
  const base = { architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true };
  assert.equal(
    adapterLine({ ...base, vendor: 'mesa', implementation: 'wgpu', api: 'Vulkan' }),
    'llvmpipe (LLVM 15.0.6, 256 bits) (mesa) through wgpu/Vulkan, a software adapter',
  );
  assert.equal(
    adapterLine({
      vendor: 'nvidia',
      architecture: 'hopper',
      description: 'NVIDIA H200',
      software: false,
      implementation: 'Dawn',
      api: 'Vulkan',
    }),
    'NVIDIA H200 (nvidia, hopper) through Dawn/Vulkan',
  );
});

test("Dawn's error messages become one line naming the kernel", () => {
  const message = [
    "Error while parsing WGSL: :3:9 error: unresolved value 'nope'",
    '  y[i] = nope;',
    '',
    ' - While calling [Device].CreateShaderModule([ShaderModuleDescriptor ""SeqmnistLstm""]).',
  ].join('\n');
  assert.equal(
    uncapturedErrorLine(message),
    "WebGPU error in kernel 'SeqmnistLstm': WGSL :3:9 error: unresolved value 'nope'",
  );
  assert.equal(uncapturedErrorLine('Out of memory'), 'WebGPU error: Out of memory');
  assert.equal(
    uncapturedErrorLine("\nShader 'K1' parsing error: no definition in scope for identifier: `nope`\n  ┌─ wgsl:1:49\n"),
    "WebGPU error in kernel 'K1': WGSL no definition in scope for identifier: `nope`",
  );
});

test('SEQMNIST_BACKEND=webgpu without an adapter: one line naming what was tried, non-zero exit, no hang', () => {
  // no Vulkan driver, and EGL on X11 with no display: Dawn's OpenGL ES finds no adapter, nor does wgpu's
  // Vulkan, as on a machine without one
  const env = {
    ...process.env,
    SEQMNIST_BACKEND: 'webgpu',
    EGL_PLATFORM: 'x11',
    DISPLAY: '',
    VK_DRIVER_FILES: '/nonexistent/none.json',
  };
  const wgpu = webGpuImplementation() === 'wgpu';
  const r = spawnSync(process.execPath, [...(wgpu ? ['run', '-A'] : []), cli, 'eval', 'tcn', '--limit', '10'], {
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
  assert.equal(r.status, 1, r.stderr);
  const ours = r.stderr.split('\n').filter((l) => l.startsWith('seqmnist: '));
  assert.equal(ours.length, 1, r.stderr);
  assert.match(
    ours[0],
    wgpu
      ? /^seqmnist: backend 'webgpu' could not be initialised here: no WebGPU adapter \(tried Vulkan: no adapter\)/
      : /^seqmnist: backend 'webgpu' could not be initialised here: no WebGPU adapter \(tried .*OpenGL ES: no adapter\)/,
  );
});

test("each walkthrough's training step runs on webgpu with at most 3 reads back to the CPU", async () => {
  await useBackend('webgpu', { quiet: true });
  const backend = tf.backend() as unknown as { read(dataId: object): Promise<unknown> };
  const read = backend.read.bind(backend);
  let reads = 0;
  backend.read = (dataId: object) => {
    reads++;
    return read(dataId);
  };
  try {
    for (const w of WALKTHROUGHS) {
      const config = w.config();
      const model = w.buildModel(config);
      const optimizer = w.optimizer(config);
      const batch = 2;
      const { steps, featuresPerStep } = w.input(config);
      const x = tf.randomUniform([batch, steps, featuresPerStep], 0, 1, 'float32', 1);
      const y = tf.tensor1d([3, 7], 'int32');
      await trainStep(model, { x, y }, { optimizer, loss: w.loss }); // warm-up: weights upload, optimizer slots
      reads = 0;
      const before = tf.memory().numTensors;
      const r = await trainStep(model, { x, y }, { optimizer, loss: w.loss });
      assert.ok(Number.isFinite(r.loss), `${w.name}: loss ${r.loss}`);
      assert.ok(reads <= 3, `${w.name}: ${reads} reads in one training step`);
      assert.equal(tf.memory().numTensors, before, `${w.name}: tensors leaked by a step`);
      tf.dispose([x, y]);
      model.dispose();
      optimizer.dispose();
    }
  } finally {
    backend.read = read;
  }
});

// last: a compile error leaves the device's error state set for every later read
test('a WGSL compile error surfaces at the next read as an error naming the kernel', async () => {
  await useBackend('webgpu', { quiet: true });
  tf.registerKernel({
    kernelName: 'TestBrokenWgsl',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) =>
      runWgsl(backend as tf.KernelBackend, {
        name: 'TestBrokenWgsl',
        inputs: [{ name: 'x', tensor: (inputs as { x: tf.TensorInfo }).x }],
        outputs: [{ name: 'y', shape: [4] }],
        workgroups: [1],
        code: '@compute @workgroup_size(4) fn main(@builtin(local_invocation_index) i: u32) { y[i] = x[i] + nope; }',
      })[0],
  });
  const y = tf.engine().runKernel('TestBrokenWgsl', { x: tf.ones([4]) }, {}) as tf.Tensor;
  // Dawn's words, then wgpu's
  await assert.rejects(
    y.data(),
    /WebGPU error in kernel 'TestBrokenWgsl': WGSL .*(unresolved value 'nope'|no definition in scope for identifier: `nope`)/,
  );
});
