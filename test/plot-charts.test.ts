import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspect } from 'util';
import { figureBundle, figureHtml, lineChart, plotlyAssetFile, saveFigureHtml, sliderFigure } from '../lib/plot/charts';
import { captureStdout, installFakeKernel } from './helpers/fake-kernel';

const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
const LIBRARY_MARK = 'plotly.js, inlined by seqmnist';

/** The figure JSON embedded in a chart's text/html script. */
function embeddedFigure(html: string): { data: unknown[]; layout: Record<string, unknown>; config: unknown } {
  const m = html.match(/var fig = (.*);\n/);
  assert.ok(m, 'no embedded figure');
  return JSON.parse(m[1]);
}

const accuracies = {
  series: [
    { name: 'train', x: [1, 2, 3], y: Float32Array.from([0.9, 0.95, 0.97]) },
    { name: 'val', x: [1, 2, 3], y: [0.91, 0.94, 0.96] },
  ],
  title: 'Post-epoch training accuracies',
  xTitle: 'epoch',
  yTitle: 'accuracy',
  xTicks: [1, 2, 3],
  yRange: [0.85, 1] as [number, number],
  display: false,
};

test('lineChart: one axis, ranges, ticks, plain arrays', () => {
  const fig = lineChart(accuracies);
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data[0].y, [0.9, 0.95, 0.97]); // float32 rounded to 7 digits, a plain array
  assert.equal(fig.data[0].type, 'scatter');
  assert.deepEqual(fig.layout.title, { text: 'Post-epoch training accuracies' });
  assert.deepEqual(fig.layout.xaxis, { title: { text: 'epoch' }, tickmode: 'array', tickvals: [1, 2, 3] });
  assert.deepEqual(fig.layout.yaxis, { title: { text: 'accuracy' }, range: [0.85, 1] });
  assert.equal(fig.layout.yaxis2, undefined);
  assert.equal(inspect(fig), 'Figure [chart] Post-epoch training accuracies: train (3 points), val (3 points)');
});

test('lineChart: a second y axis when a series asks for it', () => {
  const fig = lineChart({
    series: [
      { name: 'loss', y: [2, 1, 0.5] },
      { name: 'accuracy', y: [0.5, 0.8, 0.9], yaxis: 'y2', mode: 'lines+markers', dash: 'dot' },
    ],
    y2Title: 'accuracy',
    y2Range: [0, 1],
    display: false,
  });
  assert.equal(fig.data[0].yaxis, undefined);
  assert.equal(fig.data[1].yaxis, 'y2');
  assert.deepEqual(fig.data[1].line, { dash: 'dot' });
  assert.deepEqual(fig.layout.yaxis2, { title: { text: 'accuracy' }, overlaying: 'y', side: 'right', range: [0, 1] });
  const bundle = figureBundle(fig);
  const html = bundle['text/html'] as string;
  assert.deepEqual((embeddedFigure(html).layout as { yaxis2: unknown }).yaxis2, fig.layout.yaxis2);
});

test('lineChart checks its options', () => {
  assert.throws(() => lineChart({ series: [], display: false }), /series must be a non-empty array/);
  assert.throws(
    () => lineChart({ series: [{ name: 'a', y: [1], x: [1, 2] }], display: false }),
    /series\[0\]\.x must have y's length 1 \(got 2\)/,
  );
  assert.throws(
    () => lineChart({ series: [{ name: 'a', y: [1], yaxis: 'y3' as 'y2' }], display: false }),
    /yaxis must be 'y' or 'y2' \(got 'y3'\)/,
  );
  assert.throws(
    () => lineChart({ series: [{ name: 'a', y: [1] }], yRange: [1, 0], display: false }),
    /yRange must be \[low, high\].*\(got \[1,0\]\)/,
  );
  assert.throws(
    () => lineChart({ series: [{ name: 'a', y: [1] }], height: 10, display: false }),
    /height must be an integer number of pixels ≥ 50 \(got 10\)/,
  );
});

test('chart bundle: Plotly JSON and HTML that draws the same figure, script-safe', () => {
  const fig = lineChart({ ...accuracies, title: '</script><b>x</b>' });
  const bundle = figureBundle(fig);
  assert.deepEqual(Object.keys(bundle).sort(), [PLOTLY_MIME, 'text/html', 'text/plain']);
  const json = JSON.parse(JSON.stringify(bundle[PLOTLY_MIME]));
  assert.deepEqual(json, { data: fig.data, layout: fig.layout });
  const html = bundle['text/html'] as string;
  assert.match(
    html,
    /^<div id="(seqmnist-plot-[0-9a-f]{12})" class="seqmnist-plot" style="width:100%;height:450px"><\/div>/,
  );
  const id = html.match(/id="([^"]+)"/)![1];
  assert.ok(html.includes(`document.getElementById("${id}")`));
  assert.ok(html.includes('Plotly.newPlot(el, fig.data, fig.layout, fig.config)'));
  assert.equal(html.match(/<\/script/gi)?.length, 1, 'the title must not close the script');
  const embedded = embeddedFigure(html);
  assert.deepEqual(embedded.data, fig.data);
  assert.deepEqual(embedded.layout, fig.layout);
  assert.ok(!html.includes(LIBRARY_MARK));
});

test('in a kernel no chart carries plotly.js: each loads the copy beside the notebooks', () => {
  const kernel = installFakeKernel();
  try {
    lineChart({ ...accuracies, display: true });
    sliderFigure({ steps: [{ label: '0', traces: [{ y: [1] }] }] });
    assert.equal(kernel.messages.length, 2);
    const asset = plotlyAssetFile();
    assert.ok(fs.existsSync(asset), `the first chart put plotly.js at ${asset}`);
    const expected = path.relative(process.cwd(), asset).split(path.sep).join('/');
    for (const m of kernel.messages) {
      const html = m.msg.data['text/html'] as string;
      assert.ok(!html.includes(LIBRARY_MARK));
      assert.ok(html.length < 10_000, `a small chart stays small (${html.length} chars)`);
      assert.ok(html.includes(`var asset = ${JSON.stringify(expected)};`), 'the loader names the asset');
      assert.ok(m.msg.data[PLOTLY_MIME], 'Plotly JSON in every bundle');
    }
  } finally {
    kernel.uninstall();
  }
});

test('figureHtml with includeLibrary inlines plotly.js once, script-safe, before the chart', () => {
  const html = figureHtml(lineChart({ ...accuracies, display: false }), { includeLibrary: true, asset: 'x/plotly.js' });
  assert.ok(html.length > 3e6, `library inlined (${html.length} chars)`);
  assert.ok(html.indexOf(LIBRARY_MARK) < html.indexOf('<div id="seqmnist-plot-'), 'library before the chart');
  // every </script in the page closes one of our two scripts: none left inside the library
  assert.equal(html.match(/<\/script/gi)?.length, 2);
  assert.ok(!/<!--/.test(html));
  assert.ok(html.includes('(function (define, exports, module) {'));
  assert.ok(html.includes('var asset = "x/plotly.js";'));
});

test('outside a notebook a chart prints one summary line', () => {
  const out = captureStdout(() => lineChart({ ...accuracies, display: true }));
  assert.equal(out, '[chart] Post-epoch training accuracies: train (3 points), val (3 points)\n');
});

test('sliderFigure: one slider step per step, each restyling every trace and swapping the image', () => {
  const steps = [0, 1, 2].map((t) => ({
    label: String(t),
    title: `step ${t}`,
    traces: [
      { type: 'bar', name: 'p', x: [0, 1], y: Float32Array.from([t / 2, 1 - t / 2]) },
      { type: 'scatter', name: 'loss', y: [t] },
    ],
    images: [{ source: `data:image/png;base64,IMG${t}` }],
  }));
  const fig = sliderFigure({
    steps,
    layout: { title: { text: 'base' }, yaxis: { range: [0, 1] } },
    active: 1,
    display: false,
  });
  assert.deepEqual(
    fig.data.map((t) => t.y),
    [[0.5, 0.5], [1]],
  );
  assert.deepEqual((fig.layout.title as { text: string }).text, 'step 1');
  const images = fig.layout.images as Array<Record<string, unknown>>;
  assert.equal(images[0].source, 'data:image/png;base64,IMG1');
  assert.equal(images[0].xref, 'paper');
  assert.deepEqual((fig.layout.xaxis as { domain: number[] }).domain, [0.38, 1]);
  const slider = (
    fig.layout.sliders as Array<{
      active: number;
      steps: Array<{ label: string; method: string; args: [Record<string, unknown[]>, Record<string, unknown>] }>;
    }>
  )[0];
  assert.equal(slider.active, 1);
  assert.deepEqual(
    slider.steps.map((s) => s.label),
    ['0', '1', '2'],
  );
  const [restyle, relayout] = slider.steps[2].args;
  assert.equal(slider.steps[2].method, 'update');
  assert.deepEqual(restyle.y, [[1, 0], [2]]);
  assert.deepEqual(restyle.x, [[0, 1], null]); // the scatter has no x: reset, not left over
  assert.deepEqual(restyle.name, ['p', 'loss']);
  assert.equal(restyle.type, undefined);
  assert.equal((relayout.images as Array<{ source: string }>)[0].source, 'data:image/png;base64,IMG2');
  assert.equal(relayout['title.text'], 'step 2');
  assert.match(inspect(fig), /^Figure \[slider chart, 3 steps\] step 1: p \(2 points\), loss \(1 points\)$/);
  assert.deepEqual(JSON.parse(JSON.stringify(figureBundle(fig)[PLOTLY_MIME])).layout.sliders[0].steps.length, 3);
});

test('sliderFigure checks its steps', () => {
  assert.throws(() => sliderFigure({ steps: [], display: false }), /steps must be a non-empty array \(got \[\]\)/);
  assert.throws(
    () =>
      sliderFigure({
        steps: [
          { label: 'a', traces: [{}] },
          { label: 'b', traces: [] },
        ],
        display: false,
      }),
    /steps\[1\]\.traces must hold 1 traces like steps\[0\] \(got 0\)/,
  );
  assert.throws(
    () => sliderFigure({ steps: [{ label: 'a', traces: [] }], active: 3, display: false }),
    /active must be an integer in \[0, 0\] \(got 3\)/,
  );
  assert.throws(
    () =>
      sliderFigure({
        steps: [{ label: 'a', traces: [], images: [{ source: 3 as unknown as string }] }],
        display: false,
      }),
    /steps\[0\]\.images\[0\]\.source must be a URL or data URI \(got number\)/,
  );
});

test('saveFigureHtml writes a standalone page with the library', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-chart-'));
  try {
    const file = saveFigureHtml(path.join(dir, 'acc.html'), lineChart(accuracies));
    const page = fs.readFileSync(file, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    assert.match(page, /<title>Post-epoch training accuracies<\/title>/);
    assert.ok(page.includes(LIBRARY_MARK));
    assert.ok(!/<script[^>]+src=/.test(page), 'no external scripts');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
