import test from 'node:test';
import assert from 'node:assert/strict';
import { displayBundle, inNotebook, newDisplayHandle, notebookKernel, showDetails } from '../lib/plot/display';
import { captureStdout, installFakeKernel } from './helpers/fake-kernel';

test('outside tslab: not a notebook, bundles print their text/plain line', () => {
  assert.equal(inNotebook(), false);
  const out = captureStdout(() => displayBundle({ 'text/html': '<b>x</b>', 'text/plain': 'x as text' }));
  assert.equal(out, 'x as text\n');
  assert.equal(
    captureStdout(() => displayBundle({ 'text/html': '<b>x</b>' })),
    '<text/html>\n',
  );
});

test('in a kernel: the whole bundle goes to the kernel writer, with a display id when given', () => {
  const kernel = installFakeKernel();
  try {
    assert.equal(inNotebook(), true);
    const plotly = { data: [], layout: {} };
    displayBundle({ 'application/vnd.plotly.v1+json': plotly, 'text/html': '<div></div>' });
    displayBundle({ 'text/plain': 'b' }, { id: 'abc', update: true });
    assert.equal(kernel.messages.length, 2);
    const [first, second] = kernel.messages;
    assert.deepEqual(first.msg.data['application/vnd.plotly.v1+json'], plotly);
    assert.equal(first.msg.data['text/plain'], '<application/vnd.plotly.v1+json, text/html>');
    assert.deepEqual(first.msg.transient, {});
    assert.equal(first.update, false);
    assert.deepEqual(second.msg.transient, { display_id: 'abc' });
    assert.equal(second.update, true);
  } finally {
    kernel.uninstall();
  }
  assert.equal(inNotebook(), false);
});

test('newDisplayHandle: the first show adds the output, later ones overwrite it', () => {
  const kernel = installFakeKernel();
  try {
    const handle = newDisplayHandle();
    handle.show({ 'text/plain': '1' });
    handle.show({ 'text/plain': '2' });
    handle.show({ 'text/plain': '3' });
    assert.deepEqual(
      kernel.messages.map((m) => [m.msg.transient.display_id, m.update, m.msg.data['text/plain']]),
      [
        [handle.id, false, '1'],
        [handle.id, true, '2'],
        [handle.id, true, '3'],
      ],
    );
    assert.match(handle.id, /^[0-9a-f]{16}$/);
    assert.notEqual(newDisplayHandle().id, handle.id);
  } finally {
    kernel.uninstall();
  }
});

test("without the kernel's writer: the public display with the richest single MIME type", () => {
  const kernel = installFakeKernel({ withWriter: false });
  try {
    assert.equal(inNotebook(), true);
    displayBundle({ 'image/png': 'iVBO', 'text/html': '<img>', 'text/plain': 'img' });
    displayBundle({ 'image/png': 'iVBO', 'text/plain': 'img' });
    const handle = newDisplayHandle();
    handle.show({ 'text/plain': 'a' });
    handle.show({ 'text/plain': 'b' });
    assert.deepEqual(
      kernel.raw.map((r) => [r.type, r.value, r.id !== undefined]),
      [
        ['text/html', '<img>', false],
        ['image/png', 'iVBO', false],
        ['text/plain', 'a', true],
        ['text/plain', 'b', true],
      ],
    );
    // both updates of one handle land on the same public display
    assert.equal(kernel.raw[2].id, kernel.raw[3].id);
    assert.equal(kernel.messages.length, 0);
  } finally {
    kernel.uninstall();
  }
});

test('bad bundles throw with the bad value', () => {
  assert.throws(() => displayBundle({}), /at least one MIME type \(got \{\}\)/);
  assert.throws(() => displayBundle({ html: 'x' }), /MIME type like 'text\/html' \(got 'html'\)/);
  assert.throws(
    () => displayBundle({ 'text/html': 3 as unknown as string }),
    /bundle\['text\/html'\] must be a string \(got number\)/,
  );
  assert.throws(() => displayBundle({ 'text/plain': 'x' }, { update: true }), /update needs a display id/);
});

test('showDetails folds a long text under its summary in a notebook, prints both elsewhere', () => {
  const kernel = installFakeKernel();
  try {
    showDetails('3 lines <log>', 'a\nb & c\nd');
    const data = kernel.messages[0].msg.data;
    assert.equal(
      data['text/html'],
      '<details class="seqmnist-details"><summary>3 lines &#60;log&#62;</summary>' +
        '<pre style="max-height:20em;overflow:auto">a\nb &#38; c\nd</pre></details>',
    );
    assert.equal(data['text/plain'], '3 lines <log>\na\nb & c\nd');
  } finally {
    kernel.uninstall();
  }
  assert.equal(
    captureStdout(() => showDetails('s', 't')),
    's\nt\n',
  );
  assert.throws(() => showDetails('s', 3 as unknown as string), /must be strings \(got string and number\)/);
});

test("in Deno's kernel: bundles go through Deno.jupyter.display, raw, updated in place by display id", async () => {
  const calls: Array<{ obj: unknown; options: Record<string, unknown> }> = [];
  const g = globalThis as { Deno?: unknown };
  const had = 'Deno' in g;
  g.Deno = {
    jupyter: {
      display: (obj: unknown, options: Record<string, unknown>) => {
        calls.push({ obj, options });
        return Promise.resolve();
      },
    },
  };
  try {
    assert.equal(notebookKernel(), 'deno');
    assert.equal(inNotebook(), true);
    displayBundle({ 'text/html': '<b>x</b>' });
    const handle = newDisplayHandle();
    handle.show({ 'text/plain': 'first' });
    handle.show({ 'text/plain': 'second' });
    assert.deepEqual(calls, [
      { obj: { 'text/html': '<b>x</b>', 'text/plain': '<text/html>' }, options: { raw: true, update: false } },
      { obj: { 'text/plain': 'first' }, options: { raw: true, update: false, display_id: handle.id } },
      { obj: { 'text/plain': 'second' }, options: { raw: true, update: true, display_id: handle.id } },
    ]);
  } finally {
    if (!had) delete g.Deno;
  }
  assert.equal(notebookKernel(), undefined);
});

test('under `deno run` (Deno.jupyter throws outside its kernel): not a notebook', () => {
  const g = globalThis as { Deno?: unknown };
  g.Deno = {
    get jupyter() {
      throw new Error('Deno.jupyter is only available in `deno jupyter` subcommand');
    },
  };
  try {
    assert.equal(notebookKernel(), undefined);
    assert.equal(
      captureStdout(() => displayBundle({ 'text/plain': 'x' })),
      'x\n',
    );
  } finally {
    delete g.Deno;
  }
});
