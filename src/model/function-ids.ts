/**
 * Function identity: frames (one per code object and line) map to one id
 * per function — same file, name and first line — so per-line counts can
 * roll up into per-function rows. Cached per frame id; the hot path pays one
 * array read per frame.
 */
import type { FrameTable } from '../sampling/types.js';

export interface FunctionKey {
  name: string;
  file: string;
  firstLine: number;
}

/** An Int32Array at least id + 1 long, keeping the contents (doubling, so growth is amortised). */
export function grown(a: Int32Array<ArrayBuffer>, id: number): Int32Array<ArrayBuffer> {
  if (id < a.length) return a;
  let n = a.length;
  while (n <= id) n *= 2;
  const g = new Int32Array(n);
  g.set(a);
  return g;
}

export class FunctionIds {
  /** frame id -> function id + 1 (0 = not yet mapped). */
  private funcOf: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private readonly ids = new Map<string, number>();
  private readonly funcs: FunctionKey[] = [];

  constructor(private readonly frames: FrameTable) {}

  idOf(frameId: number): number {
    this.funcOf = grown(this.funcOf, frameId);
    const cached = this.funcOf[frameId]!;
    if (cached) return cached - 1;
    const f = this.frames.get(frameId);
    const key = `${f.file}\0${f.name}\0${f.firstLine}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.funcs.length;
      this.funcs.push({ name: f.name, file: f.file, firstLine: f.firstLine });
      this.ids.set(key, id);
    }
    this.funcOf[frameId] = id + 1;
    return id;
  }

  get(id: number): FunctionKey {
    return this.funcs[id]!;
  }
}
