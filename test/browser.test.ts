/**
 * Plots render for a reader without Jupyter: test/fixtures/plots.ipynb is executed with the
 * project's tslab kernel, exported by nbconvert to HTML and opened offline in headless Chromium
 * (scripts/render-notebook.js). The screenshot stays in .tmp/browser/plots.png. Without Jupyter
 * or Chromium this fails, naming the Debian packages; it is never skipped.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
// plain Node script, shared with anyone rendering an executed notebook
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain CommonJS script, not a TypeScript module
const render = require(path.join(root, 'scripts', 'render-notebook.js')) as {
  missingTools(options?: { execute?: boolean }): string | undefined;
  renderNotebook(
    input: string,
    outPng: string,
    options?: Record<string, unknown>,
  ): Record<string, number> & { dom: string; png: string };
};

test('the fixture notebook draws its images, charts, slider and progress bar offline', { timeout: 600_000 }, () => {
  const missing = render.missingTools({ execute: true });
  assert.equal(missing, undefined, missing);
  const out = path.join(root, '.tmp', 'browser', 'plots.png');
  const result = render.renderNotebook(path.join(root, 'test', 'fixtures', 'plots.ipynb'), out, {
    execute: true,
    height: 2400,
  });
  const { dom, ...counts } = result;
  const report = JSON.stringify(counts);
  assert.equal(counts.errorOutputs, 0, `cells wrote errors: ${report}`);
  // showDigit ×2 and showDigits ×3 (the bundles' HTML wins over their PNG)
  assert.equal(counts.images, 5, report);
  // the two-axis line chart and the slider figure, drawn by the inlined library
  assert.equal(counts.plots, 2, report);
  assert.ok(counts.mainSvgs >= 2, report);
  assert.equal(counts.missingLibrary, 0, report);
  assert.equal(counts.sliders, 1, report);
  assert.equal(counts.svgImages, 1, report); // the slider's digit at the active step
  // moving the slider to step 4 (pixels seen: 392) restyles the bars and swaps the digit
  const check = dom.match(/<pre id="slider-check">([^<]*)<\/pre>/)?.[1];
  assert.equal(check, 'slider step 392: y0=0.5 image=true');
  assert.equal(counts.progressBars, 1, report); // updates overwrote one output
  assert.ok(/<progress value="5" max="5"/.test(dom), 'the progress bar shows its final state');
  assert.ok(
    !/<html[^>]*data-amd-define-called/.test(dom),
    'plotly.js called the AMD define instead of setting window.Plotly',
  );
  // the second axis was drawn: its title is in the SVG
  assert.ok(/class="g-y2title"><text[^>]*>accuracy</.test(dom), 'the right axis has its title');
  // plotly.js is in the page exactly once
  assert.equal(dom.split('plotly.js, inlined by seqmnist').length - 1, 1, report);
});

test(
  'the data notebook, executed and exported to HTML, shows its digits and its chart in Chromium',
  { timeout: 600_000 },
  () => {
    const missing = render.missingTools({ execute: true });
    assert.equal(missing, undefined, missing);
    const out = path.join(root, '.tmp', 'browser', '00-data-psmnist.png');
    const result = render.renderNotebook(path.join(root, 'notebooks', '00-data-psmnist.ipynb'), out, {
      execute: true,
      height: 3400,
    });
    const { dom, ...counts } = result;
    const report = JSON.stringify(counts);
    assert.equal(counts.errorOutputs, 0, `cells wrote errors: ${report}`);
    assert.equal(counts.images, 4, report); // digit, sequence, permuted sequence, unpermuted digit
    assert.equal(counts.plots, 1, report); // the sequence as a signal
    assert.equal(counts.missingLibrary, 0, report);
    for (const title of [
      "Sample image of the digit '5'",
      "Sample sequence of the digit '5' (reshaped to 98 x 8)",
      "Permuted sequence of the digit '5' (reshaped to 98 x 8)",
    ]) {
      assert.ok(dom.includes(title), `the page shows "${title}"`);
    }
  },
);
