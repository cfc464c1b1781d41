/**
 * Rewrites one changed row of the screen with as few bytes as it can: only
 * the cells between the unchanged start and the unchanged end of the row,
 * which in the functions table are the numbers — the function names after
 * them stay. A cell is unchanged when its character, its column and its
 * colours and attributes are the same in both rows.
 */
import stringWidth from 'string-width';

const CSI = '\x1b[';
const RESET = `${CSI}0m`;
// SGR sequences only; any other escape in a row makes it be written whole.
const TOKEN = /\x1b\[([0-9;:]*)m|\x1b/g; // eslint-disable-line no-control-regex

interface Cell {
  text: string;
  col: number;
  /** The SGR codes that set this cell's colours and attributes from the defaults (canonical: equal cells, equal codes). */
  sgr: string;
}

interface Row {
  cells: Cell[];
  width: number;
}

/** SGR attributes by the code that sets them and the code that clears them (bold and dim share 22). */
const ATTRS: Array<[number, number]> = [
  [1, 22],
  [2, 22],
  [3, 23],
  [4, 24],
  [5, 25],
  [7, 27],
  [8, 28],
  [9, 29],
];

/**
 * Colours and attributes as codes that set them from the defaults. An SGR
 * this does not model is kept verbatim after them, so a cell carrying one
 * equals only a cell with the same history (never a false match).
 */
class SgrState {
  private fg = '';
  private bg = '';
  private readonly on = new Set<number>();
  private other = '';

  apply(params: string): void {
    const p = params === '' ? [0] : params.split(/[;:]/).map(Number);
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!;
      if (c === 0) {
        this.fg = this.bg = this.other = '';
        this.on.clear();
      } else if (c === 38 || c === 48) {
        // 38;5;N or 38;2;R;G;B (and 48 for the background).
        const n = p[i + 1] === 5 ? 2 : p[i + 1] === 2 ? 4 : 0;
        if (!n) {
          this.other += `${CSI}${params}m`;
          return;
        }
        const code = p.slice(i, i + 1 + n).join(';');
        if (c === 38) this.fg = code;
        else this.bg = code;
        i += n;
      } else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) this.fg = String(c);
      else if ((c >= 40 && c <= 47) || (c >= 100 && c <= 107)) this.bg = String(c);
      else if (c === 39) this.fg = '';
      else if (c === 49) this.bg = '';
      else if (ATTRS.some(([set]) => set === c)) this.on.add(c);
      else if (ATTRS.some(([, clear]) => clear === c)) {
        for (const [set, clear] of ATTRS) if (clear === c) this.on.delete(set);
      } else this.other += `${CSI}${c}m`;
    }
  }

  codes(): string {
    const parts = [...[...this.on].sort((a, b) => a - b).map(String), this.fg, this.bg].filter(Boolean);
    return (parts.length ? `${CSI}${parts.join(';')}m` : '') + this.other;
  }
}

const graphemes = new Intl.Segmenter();

/** A row's cells, or undefined when it holds an escape other than SGR. */
function parseRow(line: string): Row | undefined {
  const cells: Cell[] = [];
  const state = new SgrState();
  let sgr = '';
  let col = 0;
  let at = 0;
  const text = (s: string): void => {
    for (const { segment } of graphemes.segment(s)) {
      cells.push({ text: segment, col, sgr });
      col += stringWidth(segment);
    }
  };
  for (const m of line.matchAll(TOKEN)) {
    if (m[1] === undefined) return undefined;
    text(line.slice(at, m.index));
    at = m.index + m[0].length;
    state.apply(m[1]);
    sgr = state.codes();
  }
  text(line.slice(at));
  return { cells, width: col };
}

const same = (a: Cell | undefined, b: Cell | undefined): boolean =>
  a !== undefined && b !== undefined && a.text === b.text && a.col === b.col && a.sgr === b.sgr;

/** What to send so screen row `row` (1-based), showing `old`, shows `next`. */
export function rowUpdate(row: number, old: string, next: string): string {
  const whole = `${CSI}${row};1H${CSI}2K${next}`;
  const o = parseRow(old);
  const n = parseRow(next);
  if (!o || !n) return whole;
  let head = 0;
  while (same(o.cells[head], n.cells[head])) head++;
  let tail = 0;
  // The unchanged end must sit at the same columns in both rows, which `same` checks.
  while (
    tail < n.cells.length - head &&
    tail < o.cells.length - head &&
    same(o.cells[o.cells.length - 1 - tail], n.cells[n.cells.length - 1 - tail])
  )
    tail++;
  const changed = n.cells.slice(head, n.cells.length - tail);
  const startCol = n.cells[head]?.col ?? n.width;
  let out = `${CSI}${row};${startCol + 1}H`;
  // With no unchanged end, the rest of the old row goes.
  if (tail === 0) out += `${CSI}K`;
  let sgr: string | undefined;
  for (const c of changed) {
    if (c.sgr !== sgr) out += RESET + c.sgr;
    sgr = c.sgr;
    out += c.text;
  }
  if (sgr) out += RESET;
  return out.length < whole.length ? out : whole;
}
