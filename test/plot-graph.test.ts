import test from 'node:test';
import assert from 'node:assert/strict';
import { graphBundle, graphSvg } from '../lib/plot/graph';
import { nengoLmuGraph } from '../lib/walkthroughs/lmu';

test("the NengoDL cell's graph: every node drawn, loops for the delayed m → m and h → h, one text line per connection", () => {
  const g = nengoLmuGraph({ order: 256, units: 212 });
  const svg = graphSvg(g);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<circle /g) ?? []).length, g.nodes.length);
  // straight connections are lines, the two self-connections cubic loops, both delayed ones dashed
  assert.equal((svg.match(/<line x1=/g) ?? []).length - 3, g.edges.length - 2); // 3 legend samples
  assert.equal((svg.match(/<path d="M [^"]* C /g) ?? []).length, 2);
  assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 3); // m → m, h → h, legend
  assert.match(svg, />256</);
  assert.match(svg, />212, tanh</);
  const text = graphBundle(g)['text/plain'] as string;
  assert.match(text, /^m → m: Ā \(fixed, one-step delay\)$/m);
  assert.match(text, /^x → h: Wₓ \(trained\)$/m);
  assert.equal(text.split('\n').length, 1 + g.edges.length);
});

test('graph labels are escaped, and bad graphs name the culprit', () => {
  const svg = graphSvg({ nodes: [{ id: 'a', label: '<a>', x: 10, y: 10 }], edges: [] });
  assert.match(svg, /&#60;a&#62;/); // escaped, so the SVG stays well-formed
  assert.throws(
    () => graphSvg({ nodes: [{ id: 'a', label: 'a', x: 0, y: 0 }], edges: [{ from: 'a', to: 'b', label: 'w' }] }),
    /graph edge 'w' names node 'b', which is not one of: a/,
  );
  assert.throws(
    () =>
      graphSvg({
        nodes: [
          { id: 'a', label: 'a', x: 0, y: 0 },
          { id: 'a', label: 'b', x: 1, y: 1 },
        ],
        edges: [],
      }),
    /unique \(got 'a' twice\)/,
  );
  assert.throws(() => graphSvg({ nodes: [{ id: 'a', label: 'a', x: NaN, y: 0 }], edges: [] }), /finite x and y/);
  assert.throws(() => nengoLmuGraph({ order: 0 }), /order/);
});
