import test from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatMetric, ProgressBar, ProgressBarOptions } from '../lib/train/progress';
import { installFakeKernel } from './helpers/fake-kernel';

/** A bar on a fake clock (ms) that records what it writes. */
function fakeBar(total: number, options: ProgressBarOptions = {}) {
  const clock = { t: 0 };
  const written: string[] = [];
  const bar = new ProgressBar(total, { now: () => clock.t, write: (s) => written.push(s), ...options });
  return { bar, clock, written };
}

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0.0s');
  assert.equal(formatDuration(8.24), '8.2s');
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(59.6), '1m 00s');
  assert.equal(formatDuration(185), '3m 05s');
  assert.equal(formatDuration(3725), '1h 02m');
  assert.equal(formatDuration(100 * 3600), '100h 00m');
  assert.throws(() => formatDuration(-1), /seconds must be a non-negative finite number \(got -1\)/);
  assert.throws(() => formatDuration(NaN), /\(got NaN\)/);
});

test('formatMetric', () => {
  assert.equal(formatMetric(0.123456), '0.1235');
  assert.equal(formatMetric(1), '1.0000');
  assert.equal(formatMetric(123.456), '123.46');
  assert.equal(formatMetric(12345.6), '12346');
  assert.equal(formatMetric(0.00001234), '1.23e-5');
  assert.equal(formatMetric(NaN), 'nan');
});

test('line: label, bar, count, rate, metrics and ETA; elapsed time when done', () => {
  const { bar, clock } = fakeBar(100, { label: 'Epoch 1/2', mode: 'log' });
  clock.t = 5000;
  bar.update(25, { loss: 0.123456, accuracy: 0.9 });
  assert.equal(
    bar.line(),
    `Epoch 1/2 [${'='.repeat(7)}>${'.'.repeat(22)}] 25/100 5.0 it/s loss 0.1235 accuracy 0.9000 ETA 15s`,
  );
  clock.t = 20000;
  bar.update(100);
  bar.done({ loss: 0.05 });
  assert.equal(bar.line(), `Epoch 1/2 [${'='.repeat(30)}] 100/100 5.0 it/s loss 0.0500 20s`);
  const slow = fakeBar(10, { mode: 'log' });
  slow.clock.t = 4000;
  slow.bar.update(1);
  assert.equal(slow.bar.line(), `[===>..........................] 1/10 4.00 s/it ETA 36s`);
});

test("tty: one line redrawn with '\\r', at most every 250 ms, a newline at the end", () => {
  const { bar, clock, written } = fakeBar(20, { mode: 'tty' });
  for (let i = 1; i <= 20; i++) {
    clock.t = i * 100;
    bar.update(i, { loss: 1 / i });
  }
  bar.done();
  // draws at 100, 400, 700, …, 1900 ms, then the final line
  assert.equal(written.length, 8);
  assert.equal(bar.draws, 8);
  // eslint-disable-next-line no-control-regex -- \x1b[K is the terminal's erase-line escape the bar writes
  for (const w of written) assert.match(w, /^\r.*\x1b\[K/);
  assert.ok(written.slice(0, -1).every((w) => !w.endsWith('\n')));
  // eslint-disable-next-line no-control-regex -- as above
  assert.match(written[7], /^\r\[=+\] 20\/20 .* 2\.0s\x1b\[K\n$/);
});

test('log (not a TTY): a line each 10% or 30 s, and the final line', () => {
  const fast = fakeBar(100, { mode: 'log' });
  for (let i = 1; i <= 100; i++) {
    fast.clock.t = i * 100;
    fast.bar.update(i);
  }
  fast.bar.done();
  const counts = (lines: string[]) => lines.map((l) => Number(l.match(/ (\d+)\/\d+ /)![1]));
  assert.deepEqual(counts(fast.written), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.ok(fast.written.every((l) => l.endsWith('\n') && !l.includes('\r')));

  const slow = fakeBar(1000, { mode: 'log' });
  for (let i = 1; i <= 150; i++) {
    slow.clock.t = i * 1000; // 1 s per item
    slow.bar.update(i);
  }
  assert.deepEqual(counts(slow.written), [30, 60, 90, 100, 130]);
});

test('notebook: one output updated in place, at most 4 times a second', () => {
  const kernel = installFakeKernel();
  try {
    const clock = { t: 0 };
    const bar = new ProgressBar(20, { label: 'Epoch 1/1', now: () => clock.t });
    assert.equal(bar.mode, 'notebook');
    for (let i = 1; i <= 20; i++) {
      clock.t = i * 50;
      bar.update(i, { accuracy: i / 20 });
    }
    bar.done();
    // draws at 50, 300, 550, 800 ms, then the final one
    assert.equal(kernel.messages.length, 5);
    const ids = new Set(kernel.messages.map((m) => m.msg.transient.display_id));
    assert.equal(ids.size, 1);
    assert.deepEqual(
      kernel.messages.map((m) => m.update),
      [false, true, true, true, true],
    );
    const last = kernel.messages[4].msg.data;
    assert.match(
      last['text/html'] as string,
      /<progress value="20" max="20"[^>]*><\/progress> Epoch 1\/1 20\/20 .*accuracy 1\.0000 1\.0s<\/div>$/,
    );
    assert.match(last['text/plain'] as string, /^Epoch 1\/1 \[=+\] 20\/20 /);
  } finally {
    kernel.uninstall();
  }
});

test('ProgressBar checks its arguments', () => {
  assert.throws(() => new ProgressBar(0), /total must be a positive integer \(got 0\)/);
  assert.throws(
    () => new ProgressBar(10, { mode: 'html' as 'log' }),
    /mode must be 'notebook', 'tty' or 'log' \(got 'html'\)/,
  );
  assert.throws(() => new ProgressBar(10, { logFraction: 2 }), /logFraction must be in \(0, 1\] \(got 2\)/);
  const { bar } = fakeBar(10, { mode: 'log' });
  assert.throws(() => bar.update(11), /done must be a number in \[0, 10\] \(got 11\)/);
  bar.done();
  bar.done(); // a second done is a no-op
  assert.throws(() => bar.update(1), /already done/);
});
