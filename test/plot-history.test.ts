import test from 'node:test';
import assert from 'node:assert/strict';
import { historyChart, HistoryPlot } from '../lib/plot/history';
import { installFakeKernel } from './helpers/fake-kernel';

const history = { epoch: [0, 1], history: { accuracy: [0.9, 0.95], val_accuracy: [0.92, 0.96], loss: [0.3, 0.2] } };
type Layout = {
  yaxis: { range?: number[]; title?: { text: string } };
  xaxis: { tickvals: number[]; range: number[] };
  title?: { text: string };
};

test('historyChart: validation and training accuracy by epoch, y fitted to the data and no title unless given', () => {
  const fig = historyChart(history, { display: false });
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['Validation', 'Training'],
  );
  const layout = fig.layout as Layout;
  assert.equal(layout.yaxis.range, undefined);
  assert.equal(layout.title, undefined);
  assert.equal(layout.yaxis.title?.text, 'Accuracy');
  assert.deepEqual(layout.xaxis.tickvals, [1, 2]);
  // KerasLMU's figure, as its walkthrough asks for it
  const keras = historyChart(history, {
    epochs: 10,
    title: 'Post-epoch Training Accuracies',
    yRange: [0.85, 1],
    display: false,
  }).layout as Layout;
  assert.deepEqual(keras.yaxis.range, [0.85, 1]);
  assert.equal(keras.title?.text, 'Post-epoch Training Accuracies');
  assert.deepEqual(keras.xaxis.tickvals, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const losses = historyChart(history, { series: [['loss', 'Training loss']], yTitle: 'Loss', display: false });
  assert.deepEqual(Array.from(losses.data[0].y as number[]), [0.3, 0.2]);
  assert.throws(
    () => historyChart({ epoch: [0], history: { loss: [1] } }, { display: false }),
    /history has no 'val_accuracy' \(it has: loss\)/,
  );
  assert.throws(
    () => historyChart({} as never, { display: false }),
    /history must be \{epoch: number\[\], history: \{metric: number\[\]\}\}/,
  );
});

test('HistoryPlot redraws one notebook output after every epoch, with the options it was given', () => {
  const kernel = installFakeKernel();
  try {
    const plot = new HistoryPlot({ yRange: [0.85, 1] });
    plot.onTrainBegin();
    const ctx = { history: { epoch: [0], history: { accuracy: [0.9], val_accuracy: [0.92] } }, epochs: 3 };
    plot.onEpochEnd(0, {}, ctx);
    ctx.history.epoch.push(1);
    ctx.history.history.accuracy.push(0.95);
    ctx.history.history.val_accuracy.push(0.96);
    plot.onEpochEnd(1, {}, ctx);
    assert.deepEqual(
      kernel.messages.map((m) => m.update),
      [false, true],
    );
    const ids = new Set(kernel.messages.map((m) => m.msg.transient.display_id));
    assert.equal(ids.size, 1, 'one output, overwritten');
    const fig = kernel.messages[1].msg.data['application/vnd.plotly.v1+json'] as {
      data: { y: number[] }[];
      layout: Layout;
    };
    assert.deepEqual(fig.data[0].y, [0.92, 0.96]);
    assert.deepEqual(fig.layout.yaxis.range, [0.85, 1]);
    assert.deepEqual(fig.layout.xaxis.tickvals, [1, 2, 3], 'the x axis spans the epochs to come');
  } finally {
    kernel.uninstall();
  }
});

test('historyChart: a preferred y range only when the data fits it; the x axis never shorter than the history', () => {
  // a short run's accuracies lie below KerasLMU's 0.85–1: the range is fitted instead
  const short = { epoch: [0], history: { accuracy: [0.31], val_accuracy: [0.42] } };
  const fitted = historyChart(short, { yRange: [0.85, 1], display: false }).layout as Layout;
  assert.equal(fitted.yaxis.range, undefined);
  // a 10-epoch history drawn with epochs: 1 (quick mode) still gets ten ticks
  const ten = {
    epoch: Array.from({ length: 10 }, (_, i) => i),
    history: { accuracy: new Array(10).fill(0.9), val_accuracy: new Array(10).fill(0.95) },
  };
  const layout = historyChart(ten, { epochs: 1, yRange: [0.85, 1], display: false }).layout as Layout;
  assert.deepEqual(layout.xaxis.tickvals, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(layout.xaxis.range, [0.5, 10.5]);
  assert.deepEqual(layout.yaxis.range, [0.85, 1]);
  assert.throws(
    () => historyChart(ten, { epochs: -1, display: false }),
    /epochs must be a non-negative integer \(got -1\)/,
  );
});
