/**
 * Executes every notebook headless through Jupyter (nbclient) with the project's tslab kernel, in
 * quick mode (SEQMNIST_QUICK=1: a few hundred images, real shapes). Notebooks with a training switch
 * run twice: as committed (loading the shipped weights) and with training on (SEQMNIST_TRAIN=1).
 * Each runs the same two ways under the project's Deno kernel too, unchanged (its saved kernelspec
 * stays tslab's), and its saved outputs must hold no terminal escape codes and only finished
 * progress bars.
 * Without Jupyter these tests fail with the install command. The one skip: a notebook's default
 * run while its walkthrough's trained weights are not in the repository yet (the skip says so).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { WALKTHROUGHS } from '../../lib/walkthroughs/registry';
import { hasShippedWeights } from '../../lib/train/saving';

const root = path.resolve(__dirname, '../../..');
const notebooksDir = path.join(root, 'notebooks');
const outDir = path.join(root, '.tmp', 'executed');
const python = '/usr/bin/python3';

function jupyterMissing(): string | undefined {
  const r = spawnSync(python, ['-c', 'import nbclient, nbformat, ipykernel'], { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  return 'Jupyter is not installed: apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel';
}

/** The kernels every notebook runs under: tslab's, as committed, and Deno's. */
const KERNELS = ['tslab', 'deno'] as const;
type Kernel = (typeof KERNELS)[number];

function kernelMissing(kernel: Kernel = 'tslab'): string | undefined {
  const spec = path.join(root, '.jupyter', 'kernels', kernel, 'kernel.json');
  const how = kernel === 'deno' ? " with the optional package deno" : '';
  return fs.existsSync(spec) ? undefined : `no ${kernel} kernel spec at ${spec}: run 'npm install'${how} (its postinstall registers it)`;
}

/**
 * The walkthroughs of a notebook whose trained weights are not in the repository yet (a long
 * training in progress): its default path, which loads them, cannot run until they land.
 */
function weightsNotShipped(file: string): string[] {
  const rel = path.relative(root, file);
  return WALKTHROUGHS
    .filter((w) => w.notebook === rel && !hasShippedWeights(w.weightsName(w.config())))
    .map((w) => w.name);
}

/** True when the notebook has the `doTraining` switch the walkthroughs use. */
function hasTrainingSwitch(file: string): boolean {
  return /SEQMNIST_TRAIN/.test(fs.readFileSync(file, 'utf8'));
}

function run(file: string, env: Record<string, string>, tag: string, kernel: Kernel = 'tslab'): void {
  const dst = path.join(outDir, path.basename(file, '.ipynb') + tag + (kernel === 'tslab' ? '' : `.${kernel}`) + '.ipynb');
  const args = [path.join(root, 'scripts', 'run_notebook.py'), file, dst, '--timeout', '1200', '--kernel', kernel];
  const r = spawnSync(python, args, {
    encoding: 'utf8',
    env: { ...process.env, JUPYTER_PATH: path.join(root, '.jupyter'), SEQMNIST_QUICK: '1', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `${path.basename(file)}${tag} (${kernel}) failed:\n${(r.stderr || '').slice(-4000)}`);
  if (kernel === 'deno') checkDenoOutputs(dst);
}

/** A notebook run under Deno saves no escape codes (its plain-text results are coloured without NO_COLOR) and finished bars. */
function checkDenoOutputs(executed: string): void {
  const nb = JSON.parse(fs.readFileSync(executed, 'utf8')) as {
    cells: Array<{ outputs?: Array<{ text?: string | string[]; data?: Record<string, unknown> }> }>;
  };
  const name = path.basename(executed);
  for (const [i, cell] of nb.cells.entries()) {
    for (const out of cell.outputs ?? []) {
      const text = [out.text, out.data?.['text/plain']].flat().filter((t) => typeof t === 'string').join('');
      assert.ok(!text.includes('\x1b'), `${name}, cell ${i}: an escape code in ${JSON.stringify(text.slice(0, 200))}`);
      const html = [out.data?.['text/html']].flat().join('');
      // a bar's last state shows its elapsed time; an ETA means its update never reached the saved output
      if (html.includes('<progress ')) assert.doesNotMatch(text, /ETA /, `${name}, cell ${i}: an unfinished progress bar`);
    }
  }
}

const notebooks = fs
  .readdirSync(notebooksDir)
  .filter((f) => f.endsWith('.ipynb'))
  .sort()
  .map((f) => path.join(notebooksDir, f));

test('there are notebooks to run', () => {
  assert.ok(notebooks.length > 0, `no notebooks in ${notebooksDir}`);
});

for (const kernel of KERNELS) {
  const on = kernel === 'tslab' ? '' : ` under ${kernel}`;
  for (const file of notebooks) {
    const unshipped = weightsNotShipped(file);
    const skip = unshipped.length ? `weights of ${unshipped.join(', ')} not shipped yet (npm run seqmnist -- train ${unshipped[0]})` : false;
    test(`notebook ${path.basename(file)} runs headless${on}`, { skip }, () => {
      const missing = jupyterMissing() ?? kernelMissing(kernel);
      assert.equal(missing, undefined, missing);
      run(file, { SEQMNIST_TRAIN: '0' }, '', kernel);
    });
    // with training on under Deno too, but once: the browser test runs each notebook that way there
    if (kernel === 'tslab' && hasTrainingSwitch(file)) {
      test(`notebook ${path.basename(file)} runs headless with training on${on}`, () => {
        const missing = jupyterMissing() ?? kernelMissing(kernel);
        assert.equal(missing, undefined, missing);
        run(file, { SEQMNIST_TRAIN: '1' }, '.train', kernel);
      });
    }
  }
}

/**
 * One notebook per model family on the webgpu backend (here Mesa's llvmpipe, a software adapter
 * that SEQMNIST_BACKEND=webgpu accepts), as committed: the shipped weights evaluated by the fused
 * WGSL kernels, the charts drawn from asynchronous reads. (Training on llvmpipe is tested per step
 * in test/webgpu.test.ts: an LMU training step takes ~10 s there even at batch 2.)
 */
const WEBGPU_NOTEBOOKS = ['01-keras-lmu-psmnist.ipynb', '03-eurnn-psmnist.ipynb', '04-tcn-smnist.ipynb', '05-lstm-pixel-row.ipynb'];

for (const name of WEBGPU_NOTEBOOKS) {
  test(`notebook ${name} runs headless on webgpu`, () => {
    const missing = jupyterMissing() ?? kernelMissing();
    assert.equal(missing, undefined, missing);
    run(path.join(notebooksDir, name), { SEQMNIST_TRAIN: '0', SEQMNIST_BACKEND: 'webgpu' }, '.webgpu');
  });
}
