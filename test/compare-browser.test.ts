/**
 * The comparison notebook as a reader without Jupyter sees it: notebooks/06-compare.ipynb executed
 * in quick mode with the project's tslab kernel, exported by nbconvert to HTML and opened offline
 * in headless Chromium (scripts/render-notebook.js). Every figure must be drawn. The screenshot
 * stays in .tmp/browser/06-compare.png. Without Jupyter or Chromium this fails, naming the Debian
 * packages; it is never skipped.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
// plain Node script, shared with test/browser.test.ts
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain CommonJS script, not a TypeScript module
const render = require(path.join(root, 'scripts', 'render-notebook.js')) as {
  missingTools(options?: { execute?: boolean }): string | undefined;
  renderNotebook(
    input: string,
    outPng: string,
    options?: Record<string, unknown>,
  ): Record<string, number> & { dom: string; png: string };
};

test(
  'the comparison notebook, executed and exported to HTML, draws every figure in Chromium',
  { timeout: 1_200_000 },
  () => {
    const missing = render.missingTools({ execute: true });
    assert.equal(missing, undefined, missing);
    const out = path.join(root, '.tmp', 'browser', '06-compare.png');
    const result = render.renderNotebook(path.join(root, 'notebooks', '06-compare.ipynb'), out, {
      execute: true,
      height: 9000,
    });
    const { dom, ...counts } = result;
    const report = JSON.stringify(counts);
    assert.equal(counts.errorOutputs, 0, `cells wrote errors: ${report}`);
    assert.equal(counts.missingLibrary, 0, report);
    // accuracy against parameters and time (2), learning curves (2), two sliders, the true-class
    // curve and its last 5% (2), the confusion matrices and the agreement
    assert.equal(counts.plots, 10, report);
    assert.equal(counts.sliders, 2, report);
    // Plotly draws a heatmap as an image: the two sliders', the seven confusion matrices and the
    // agreement (10); and each slider shows the digit in four pixel orders at its position (8)
    assert.equal(counts.svgImages, 18, report);
    // the twelve hardest digits
    assert.equal(counts.images, 12, report);
    for (const text of [
      'accuracy against parameters',
      'accuracy against training images seen',
      'mean probability of the true class after each step',
      'errors by true and predicted class',
      'how often two models predict the same class',
    ]) {
      assert.ok(dom.includes(text), `the page shows "${text}"`);
    }
  },
);
