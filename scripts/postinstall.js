#!/usr/bin/env node
// After `npm install`: register the tslab kernel and, where the optional `deno` package installed
// its binary, the Deno kernel in a project-local Jupyter path, put plotly.js beside the notebooks
// and build the lib.
// Notebooks import the lib by name: this script links node_modules/seqmnist to the project
// (tslab cannot import '../lib': tslab issue #63). A "file:." self-dependency would do the same,
// but npm leaves it out of package-lock.json and `npm ci` then refuses the lock file.
// Plain Node, no Python needed, so it works before Jupyter is installed.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');

// 1. A tslab kernel spec under .jupyter/kernels/tslab (JUPYTER_PATH=<project>/.jupyter finds it).
const tslabBin = path.join(root, 'node_modules', 'tslab', 'bin', 'tslab');
const kernelDir = path.join(root, '.jupyter', 'kernels', 'tslab');
fs.mkdirSync(kernelDir, { recursive: true });
fs.writeFileSync(
  path.join(kernelDir, 'kernel.json'),
  JSON.stringify(
    {
      argv: [process.execPath, tslabBin, 'kernel', '--config-path', '{connection_file}'],
      display_name: 'TypeScript',
      language: 'typescript',
    },
    null,
    2,
  ) + '\n',
);
// 1b. A Deno kernel spec under .jupyter/kernels/deno, from the binary of the optional `deno`
// package (the binary itself, not its Node launcher, so the kernel starts without Node in between). What `deno jupyter --install` writes, minus the
// logos, in the project instead of the user's home. NO_COLOR: Deno's kernel colours the plain-text
// results of cells with terminal escape codes, which a saved notebook would keep.
const denoKernelDir = path.join(root, '.jupyter', 'kernels', 'deno');
const denoBin = denoBinary();
if (denoBin) {
  fs.mkdirSync(denoKernelDir, { recursive: true });
  fs.writeFileSync(
    path.join(denoKernelDir, 'kernel.json'),
    JSON.stringify(
      {
        argv: [denoBin, 'jupyter', '--kernel', '--conn', '{connection_file}'],
        display_name: 'Deno',
        language: 'typescript',
        env: { NO_COLOR: '1' },
      },
      null,
      2,
    ) + '\n',
  );
} else {
  fs.rmSync(denoKernelDir, { recursive: true, force: true });
}

/**
 * The Deno binary the optional `deno` package installed for this platform, or undefined. Its own
 * resolver (the one its launcher and install script use: platform, arch, glibc or musl) finds the
 * platform package's binary; npm 11 may skip the install script that would have run it.
 */
function denoBinary() {
  try {
    const bin = require(require.resolve('deno/install_api.cjs', { paths: [root] })).runInstall();
    fs.accessSync(bin, fs.constants.X_OK);
    return bin;
  } catch {
    return undefined;
  }
}

// 2. node_modules/seqmnist -> the project, so `import * as sm from 'seqmnist'` resolves in notebooks.
const link = path.join(root, 'node_modules', 'seqmnist');
fs.rmSync(link, { recursive: false, force: true });
fs.symlinkSync('..', link, 'dir');

// 3. plotly.js beside the notebooks: chart outputs load it from there through the Jupyter server
// (/files/…) instead of carrying 4.6 MB each, so a saved notebook stays small (lib/plot/charts.ts).
// A copy, not a link: Jupyter does not serve links that lead out of its root. Git-ignored.
const plotlyAsset = path.join(root, 'notebooks', 'assets', 'plotly.min.js');
fs.mkdirSync(path.dirname(plotlyAsset), { recursive: true });
fs.copyFileSync(require.resolve('plotly.js-dist-min/plotly.min.js'), plotlyAsset);

// 4. Compile lib/ to dist/ (the notebooks and the CLI run the compiled lib).
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
  cwd: root,
  stdio: 'inherit',
});

console.log(
  `seqmnist: lib built; ${denoBin ? 'tslab and Deno kernels' : 'tslab kernel'} registered in ${path.join(root, '.jupyter')}`,
);
console.log(`seqmnist: run JupyterLab with  JUPYTER_PATH=${path.join(root, '.jupyter')} jupyter lab notebooks/`);
