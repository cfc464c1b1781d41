import type { FrameInfo, FrameTable } from '../sampling/types.js';

/**
 * Session-wide frame ids. Each native reader interns frames with its own
 * small ids; this maps (reader, local id) to one global id so consumers see a
 * single table across processes, and resolves each frame's strings once.
 */
export class FrameRegistry implements FrameTable {
  private readonly infos: FrameInfo[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly perSource = new Map<number, Int32Array>();
  private nextSource = 1;

  /** A new source (one per reader); resolve(localId) gives the frame's strings. */
  addSource(): number {
    const id = this.nextSource++;
    this.perSource.set(id, new Int32Array(256).fill(-1));
    return id;
  }

  /** Forget a closed reader's id table (its frames' global ids and strings stay valid). */
  removeSource(source: number): void {
    this.perSource.delete(source);
  }

  /** Global id for a reader-local id; resolves on first sight. */
  globalId(source: number, localId: number, resolve: (localId: number) => FrameInfo): number {
    let table = this.perSource.get(source)!;
    if (localId < table.length) {
      const g = table[localId]!;
      if (g >= 0) return g;
    } else {
      let size = table.length;
      while (size <= localId) size *= 2;
      const grown = new Int32Array(size).fill(-1);
      grown.set(table);
      table = grown;
      this.perSource.set(source, table);
    }
    const info = resolve(localId);
    // Same function and line in two processes (forked workers) share one id.
    const key = `${info.file}\0${info.name}\0${info.line}\0${info.firstLine}`;
    let g = this.byKey.get(key);
    if (g === undefined) {
      g = this.infos.length;
      this.infos.push(info);
      this.byKey.set(key, g);
    }
    table[localId] = g;
    return g;
  }

  /**
   * Global ids of `count` reader-local ids at words[start..]: the source's table looked up once, not per frame.
   * `prev` (the same thread's last stack) is returned itself when the ids are the same: most stacks repeat, and
   * a new array per thread per sample was most of what decoding allocated.
   */
  globalIds(
    source: number,
    words: Uint32Array,
    start: number,
    count: number,
    resolve: (localId: number) => FrameInfo,
    prev?: readonly number[],
  ): readonly number[] {
    let out: number[] | undefined = prev && prev.length === count ? undefined : new Array<number>(count);
    let table = this.perSource.get(source)!;
    for (let d = 0; d < count; d++) {
      const local = words[start + d]!;
      let g = local < table.length ? table[local]! : -1;
      if (g < 0) {
        g = this.globalId(source, local, resolve);
        table = this.perSource.get(source)!; // it may have grown
      }
      if (out) out[d] = g;
      else if (prev![d] !== g) {
        out = prev!.slice(0, count);
        out[d] = g;
      }
    }
    return out ?? prev!;
  }

  get(id: number): FrameInfo {
    return this.infos[id] ?? { name: '<unknown>', file: '', line: 0, firstLine: 0 };
  }

  get size(): number {
    return this.infos.length;
  }
}
