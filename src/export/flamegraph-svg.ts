/**
 * An interactive flame graph as one self-contained SVG file (`record -o
 * out.svg`), the file py-spy users open in a browser: callers at the bottom,
 * callees above, each frame as wide as its share of the samples. A click
 * zooms into a frame (its callers stretch to full width; "Reset zoom" or a
 * click on "all" goes back); "Search" (or Ctrl-F) colours every frame whose
 * "function (file:line)" matches a regular expression and says what share
 * of the samples they cover. `#search=REGEX` in the address does the same on
 * load. The script is inline: the file needs nothing else.
 */

/** One stack, outermost frame first, and how many samples ended in it. */
export type FoldedStack = [frames: string[], count: number];

const WIDTH = 1200;
const PAD = 10;
const ROW = 16;
const TOP = 44;
const BOTTOM = 26;
/** Frames narrower than this many pixels are left out (they could not be seen or clicked). */
const MIN_PX = 0.1;

interface Node {
  label: string;
  count: number;
  kids: Map<string, Node>;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "name (file:line)" → the name alone, for the text drawn in a box. */
function shortName(label: string): string {
  const i = label.indexOf(' (');
  return i > 0 ? label.slice(0, i) : label;
}

/** Warm colours, one per function name, so a function looks the same everywhere in the graph. */
function colour(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `rgb(${205 + (h % 50)},${70 + ((h >>> 8) % 150)},${30 + ((h >>> 16) % 50)})`;
}

function build(stacks: readonly FoldedStack[]): { root: Node; depth: number } {
  const root: Node = { label: 'all', count: 0, kids: new Map() };
  let depth = 1;
  for (const [frames, count] of stacks) {
    if (!(count > 0)) continue;
    root.count += count;
    let n = root;
    for (const f of frames) {
      let k = n.kids.get(f);
      if (!k) n.kids.set(f, (k = { label: f, count: 0, kids: new Map() }));
      k.count += count;
      n = k;
    }
    depth = Math.max(depth, frames.length + 1);
  }
  return { root, depth };
}

export function flameGraphSvg(stacks: readonly FoldedStack[], title = 'Flame graph'): string {
  const { root, depth } = build(stacks);
  const height = TOP + depth * ROW + BOTTOM;
  const graphW = WIDTH - 2 * PAD;
  const scale = root.count ? graphW / root.count : 0;
  const frames: string[] = [];
  // x and w are kept in samples (data-x, data-w) so the script can zoom exactly.
  const draw = (n: Node, level: number, start: number): void => {
    const w = n.count * scale;
    if (w < MIN_PX) return;
    const x = PAD + start * scale;
    const y = height - BOTTOM - (level + 1) * ROW;
    const share = root.count ? ((100 * n.count) / root.count).toFixed(2) : '0.00';
    const name = shortName(n.label);
    frames.push(
      `<g class="f" data-x="${start}" data-w="${n.count}" data-l="${escape(n.label)}">` +
        `<title>${escape(n.label)}: ${n.count} samples, ${share}%</title>` +
        `<rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${ROW - 1}" fill="${colour(name)}" rx="2"/>` +
        `<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 4}">${escape(fitText(name, w))}</text></g>`,
    );
    let at = start;
    for (const k of [...n.kids.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))) {
      draw(k, level + 1, at);
      at += k.count;
    }
  };
  if (root.count) draw(root, 0, 0);
  return `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" xmlns="http://www.w3.org/2000/svg" data-total="${root.count}" data-pad="${PAD}" data-graph-width="${graphW}">
<style>
text { font-family: monospace; font-size: 12px; fill: #000; pointer-events: none; }
.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }
.f.hide { display: none; }
.button { fill: #333; cursor: pointer; }
.button:hover { text-decoration: underline; }
#title { font-size: 17px; }
</style>
<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#f8f8f0"/>
<text id="title" x="${WIDTH / 2}" y="24" text-anchor="middle">${escape(title)}</text>
<text id="reset" class="button" x="${PAD}" y="24" visibility="hidden">Reset zoom</text>
<text id="search" class="button" x="${WIDTH - PAD - 60}" y="24">Search</text>
<text id="details" x="${PAD}" y="${height - 8}"> </text>
<text id="matched" x="${WIDTH - PAD - 220}" y="${height - 8}"> </text>
<g id="frames">
${frames.join('\n')}
</g>
<script type="text/ecmascript"><![CDATA[
${SCRIPT}
]]></script>
</svg>
`;
}

/** Characters of a monospace 12px label that fit in w pixels (about 7 px each). */
function fitText(name: string, w: number): string {
  const chars = Math.floor((w - 6) / 7);
  if (chars < 3) return '';
  return name.length <= chars ? name : name.slice(0, chars - 2) + '..';
}

// The browser side: zoom and search over the frames' sample ranges (data-x, data-w).
const SCRIPT = `
(function () {
  var svg = document.documentElement;
  var total = Number(svg.getAttribute('data-total'));
  var pad = Number(svg.getAttribute('data-pad'));
  var gw = Number(svg.getAttribute('data-graph-width'));
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details');
  var reset = document.getElementById('reset');
  var matchedText = document.getElementById('matched');
  var zoomed = null;
  var query = null;
  function fit(name, w) {
    var chars = Math.floor((w - 6) / 7);
    if (chars < 3) return '';
    return name.length <= chars ? name : name.slice(0, chars - 2) + '..';
  }
  function nameOf(g) {
    var l = g.getAttribute('data-l');
    var i = l.indexOf(' (');
    return i > 0 ? l.slice(0, i) : l;
  }
  function layout() {
    var zx = zoomed ? Number(zoomed.getAttribute('data-x')) : 0;
    var zw = zoomed ? Number(zoomed.getAttribute('data-w')) : total;
    var zy = zoomed ? Number(zoomed.querySelector('rect').getAttribute('y')) : Infinity;
    var s = gw / zw;
    frames.forEach(function (g) {
      var x = Number(g.getAttribute('data-x'));
      var w = Number(g.getAttribute('data-w'));
      var r = g.querySelector('rect');
      var t = g.querySelector('text');
      var y = Number(r.getAttribute('y'));
      // Outside the zoomed range, or a sibling's subtree: hidden. Callers (below) clip to the range.
      var inside = x >= zx && x + w <= zx + zw;
      var caller = y > zy && x <= zx && x + w >= zx + zw;
      var show = !zoomed || inside || caller;
      g.classList.toggle('hide', !show);
      if (!show) return;
      var x0 = Math.max(x, zx), x1 = Math.min(x + w, zx + zw);
      var px = pad + (x0 - zx) * s, pw = (x1 - x0) * s;
      r.setAttribute('x', px.toFixed(2));
      r.setAttribute('width', pw.toFixed(2));
      t.setAttribute('x', (px + 3).toFixed(2));
      t.textContent = fit(nameOf(g), pw);
    });
    reset.setAttribute('visibility', zoomed ? 'visible' : 'hidden');
  }
  function search(q) {
    query = q;
    var re = null;
    if (q) { try { re = new RegExp(q); } catch (e) { re = null; } }
    // The share of samples under a matching frame, counting nested matches once.
    var spans = [];
    frames.forEach(function (g) {
      var hit = !!re && re.test(g.getAttribute('data-l'));
      var r = g.querySelector('rect');
      if (!r.hasAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));
      r.setAttribute('fill', hit ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));
      if (hit) spans.push([Number(g.getAttribute('data-x')), Number(g.getAttribute('data-w'))]);
    });
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var covered = 0, end = -1;
    spans.forEach(function (p) {
      var a = Math.max(p[0], end), b = p[0] + p[1];
      if (b > a) { covered += b - a; end = b; }
    });
    matchedText.textContent = re ? 'Matched: ' + (total ? (100 * covered / total).toFixed(2) : '0') + '%' : ' ';
  }
  frames.forEach(function (g) {
    g.addEventListener('click', function () {
      zoomed = g.getAttribute('data-l') === 'all' && g.getAttribute('data-x') === '0' ? null : g;
      layout();
    });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  reset.addEventListener('click', function () { zoomed = null; layout(); });
  function ask() {
    var q = prompt('Search (regular expression over "function (file:line)")', query || '');
    if (q !== null) search(q);
  }
  document.getElementById('search').addEventListener('click', ask);
  window.addEventListener('keydown', function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); ask(); }
    if (e.key === 'Escape') { zoomed = null; layout(); search(null); }
  });
  var m = /[#&]search=([^&]*)/.exec(location.hash);
  if (m) search(decodeURIComponent(m[1]));
})();
`;
