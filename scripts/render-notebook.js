#!/usr/bin/env node
// Renders a notebook the way a reader without Jupyter sees it: nbconvert's HTML export, opened
// offline in headless Chromium. Writes a screenshot and reports what was drawn (Plotly charts,
// PNG images, sliders, error outputs), so tests can check that plots really render. Charts in a
// notebook load plotly.js from beside the notebooks; the export gets it inlined here, once.
//
//   node scripts/render-notebook.js <notebook.ipynb | page.html> <out.png> [--execute] [--width N] [--height N]
//
// An .ipynb is converted with `jupyter nbconvert --to html` (and run first with --execute, using
// the project's tslab kernel through JUPYTER_PATH=<project>/.jupyter); an .html is rendered as is.
// Prints the counts as JSON. Needs Debian's jupyter-nbconvert, python3-nbclient and chromium.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const PACKAGES = 'apt-get install jupyter-nbconvert python3-nbclient chromium';

function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const file = path.join(dir, name);
    if (dir && fs.existsSync(file)) return file;
  }
  return undefined;
}

function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((f) => fs.existsSync(f)) || which('chromium');
}

function nbconvertPath() {
  return fs.existsSync('/usr/bin/jupyter-nbconvert') ? '/usr/bin/jupyter-nbconvert' : which('jupyter-nbconvert');
}

/** Undefined when everything is there, else one line naming what is missing and the Debian packages. */
function missingTools(options = {}) {
  const missing = [];
  if (options.notebook !== false) {
    const nbconvert = nbconvertPath();
    if (!nbconvert || spawnSync(nbconvert, ['--version'], { encoding: 'utf8' }).status !== 0)
      missing.push('jupyter-nbconvert');
    if (options.execute) {
      // the Python that runs nbconvert must import nbclient
      const python = nbconvert ? (fs.readFileSync(nbconvert, 'utf8').match(/^#!\s*(\S+)/) || [])[1] : undefined;
      const r = python && spawnSync(python, ['-c', 'import nbclient'], { encoding: 'utf8' });
      if (!r || r.status !== 0) missing.push('python3-nbclient');
    }
  }
  const chromium = chromiumPath();
  if (!chromium || !fs.existsSync(chromium)) missing.push('chromium');
  if (missing.length === 0) return undefined;
  return `missing ${missing.join(', ')}: install the Debian packages with \`${PACKAGES}\``;
}

/** Runs (with `execute`) and converts a notebook to HTML; returns the HTML path. */
function notebookToHtml(notebook, outDir, options = {}) {
  const missing = missingTools({ execute: options.execute });
  if (missing) throw new Error(missing);
  const kernelSpec = path.join(root, '.jupyter', 'kernels', 'tslab', 'kernel.json');
  if (options.execute && !fs.existsSync(kernelSpec)) {
    throw new Error(`no tslab kernel spec at ${kernelSpec}: run \`node scripts/postinstall.js\` (npm install runs it)`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const name = path.basename(notebook, '.ipynb');
  const args = ['--to', 'html', '--output-dir', outDir, '--output', name];
  if (options.execute) args.push('--execute', `--ExecutePreprocessor.timeout=${options.timeoutS || 300}`);
  const r = spawnSync(nbconvertPath(), [...args, notebook], {
    encoding: 'utf8',
    env: { SEQMNIST_QUICK: '1', ...process.env, JUPYTER_PATH: path.join(root, '.jupyter') },
    timeout: ((options.timeoutS || 300) + 120) * 1000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const html = path.join(outDir, `${name}.html`);
  if (r.status !== 0 || !fs.existsSync(html)) {
    throw new Error(
      `jupyter nbconvert failed on ${notebook} (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${(r.stderr || '').slice(-4000)}`,
    );
  }
  inlinePlotly(html);
  return html;
}

/**
 * Puts plotly.js into an exported page that has charts, once, at the end of its <head>: the
 * notebook's chart outputs do not carry the library (they load it from beside the notebooks
 * inside Jupyter; lib/plot/charts.ts), and the page must draw them offline anywhere.
 */
function inlinePlotly(htmlFile) {
  const page = fs.readFileSync(htmlFile, 'utf8');
  // the built lib's copy of the inlining (escaping </script>, hiding AMD): one source of truth
  const charts = require(path.join(root, 'dist', 'lib', 'plot', 'charts.js'));
  if (!page.includes('class="seqmnist-plot"') || page.includes(charts.PLOTLY_LIBRARY_MARK)) return;
  const at = page.indexOf('</head>');
  if (at < 0) throw new Error(`${htmlFile} has no </head> to put plotly.js in`);
  const files = require(path.join(root, 'dist', 'lib', 'files.js'));
  files.writeFileAtomically(htmlFile, page.slice(0, at) + charts.plotlyLibraryScript() + page.slice(at));
}

function count(text, re) {
  return (text.match(re) || []).length;
}

/** What a rendered page's DOM shows. */
function countDrawn(dom) {
  return {
    /** Plotly charts that Plotly.newPlot drew. */
    plots: count(dom, /<div[^>]*class="[^"]*\bjs-plotly-plot\b/g),
    /** Plotly's SVG layers (several per chart). */
    mainSvgs: count(dom, /<svg[^>]*class="main-svg"/g),
    /** <img> elements showing PNG data URIs (digits). */
    images: count(dom, /<img[^>]*src="data:image\/png;base64,/g),
    /** Images drawn inside Plotly charts (slider figures' digits). */
    svgImages: count(dom, /<image[^>]*href="data:image\/png;base64,/g),
    /** Plotly sliders. */
    sliders: count(dom, /<g[^>]*class="slider-container"/g),
    /** <progress> elements (notebook progress bars). */
    progressBars: count(dom, /<progress[\s>]/g),
    /** Charts whose plotly.js did not load. */
    missingLibrary: count(dom, /class="seqmnist-plot"[^>]*>plotly\.js did not load/g),
    /** stderr and error outputs of cells. */
    errorOutputs: count(dom, /data-mime-type="application\/vnd\.jupyter\.(stderr|error)"/g),
  };
}

/**
 * Opens an HTML file in headless Chromium with every network name unresolvable (CDNs included),
 * lets scripts run for `budgetMs` of virtual time, saves a screenshot and returns the counts.
 */
function renderHtml(html, outPng, options = {}) {
  const missing = missingTools({ notebook: false });
  if (missing) throw new Error(missing);
  const width = options.width || 1200;
  const height = options.height || 2400;
  fs.mkdirSync(path.dirname(path.resolve(outPng)), { recursive: true });
  fs.rmSync(outPng, { force: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-chromium-'));
  try {
    const r = spawnSync(
      chromiumPath(),
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        '--host-resolver-rules=MAP * ~NOTFOUND',
        `--virtual-time-budget=${options.budgetMs || 15000}`,
        `--window-size=${width},${height}`,
        `--screenshot=${path.resolve(outPng)}`,
        '--dump-dom',
        `file://${path.resolve(html)}`,
      ],
      { encoding: 'utf8', timeout: (options.timeoutS || 180) * 1000, maxBuffer: 256 * 1024 * 1024 },
    );
    if (r.status !== 0 || !fs.existsSync(outPng)) {
      throw new Error(
        `chromium failed on ${html} (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${(r.stderr || '').slice(-3000)}`,
      );
    }
    const dom = r.stdout;
    if (options.domOut) fs.writeFileSync(options.domOut, dom);
    return { html: path.resolve(html), png: path.resolve(outPng), ...countDrawn(dom), dom };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * Renders a notebook (.ipynb, executed first with `execute: true`) or an exported .html page to
 * `outPng`; returns the counts of what was drawn, the page path and (as `dom`) the rendered DOM.
 */
function renderNotebook(input, outPng, options = {}) {
  const html = input.endsWith('.ipynb')
    ? notebookToHtml(input, options.htmlDir || path.dirname(path.resolve(outPng)), options)
    : input;
  return renderHtml(html, outPng, options);
}

module.exports = { missingTools, notebookToHtml, inlinePlotly, renderHtml, renderNotebook, countDrawn };

if (require.main === module) {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const value = Number(args[i + 1]);
    if (!Number.isInteger(value) || value < 1) {
      console.error(`${name} must be a positive integer (got ${args[i + 1]})`);
      process.exit(2);
    }
    args.splice(i, 2);
    return value;
  };
  const width = flag('--width');
  const height = flag('--height');
  const execute = args.includes('--execute');
  const files = args.filter((a) => a !== '--execute');
  if (files.length !== 2 || !/\.(ipynb|html)$/.test(files[0]) || !files[1].endsWith('.png')) {
    console.error(
      'usage: node scripts/render-notebook.js <notebook.ipynb | page.html> <out.png> [--execute] [--width N] [--height N]',
    );
    process.exit(2);
  }
  try {
    const { dom, ...result } = renderNotebook(files[0], files[1], { execute, width, height });
    console.log(JSON.stringify(result, null, 2));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
