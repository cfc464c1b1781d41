/**
 * Own and total counts per function (or line), in tables with a cap: once a
 * table is full its quieter half is folded into one "(other)" row, so a
 * target with endless distinct functions costs bounded memory.
 */

/** Counts of one function (or line) in one thread and window. Idle samples are kept apart so `i` can toggle them. */
export class Counts {
  own = 0;
  total = 0;
  ownIdle = 0;
  totalIdle = 0;
  /** One sample: innermost frame (own) or further out, idle or not. */
  count(own: boolean, idle: boolean): void {
    if (idle) {
      if (own) this.ownIdle++;
      this.totalIdle++;
    } else {
      if (own) this.own++;
      this.total++;
    }
  }
  add(o: Counts): void {
    this.own += o.own;
    this.total += o.total;
    this.ownIdle += o.ownIdle;
    this.totalIdle += o.totalIdle;
  }
}

/** Id of the row every folded entry goes to once a table reaches its cap. */
export const OTHER_ID = -1;

/** A bounded table of counts keyed by function or line id. */
export class CountTable {
  readonly map = new Map<number, Counts>();
  constructor(private readonly cap: number) {}

  get(id: number): Counts {
    let c = this.map.get(id);
    if (c === undefined) {
      if (this.map.size >= this.cap) this.compact();
      c = new Counts();
      this.map.set(id, c);
    }
    return c;
  }

  /** Keep the busier half, fold the rest into OTHER_ID. */
  private compact(): void {
    const entries = [...this.map.entries()].filter(([id]) => id !== OTHER_ID);
    entries.sort((a, b) => b[1].total + b[1].totalIdle - (a[1].total + a[1].totalIdle));
    let other = this.map.get(OTHER_ID);
    if (!other) {
      other = new Counts();
      this.map.set(OTHER_ID, other);
    }
    for (let i = Math.floor(this.cap / 2); i < entries.length; i++) {
      const [id, c] = entries[i]!;
      other.own += c.own;
      other.ownIdle += c.ownIdle;
      // Totals of folded entries overlap (same samples); the largest is a lower bound of their union.
      other.total = Math.max(other.total, c.total);
      other.totalIdle = Math.max(other.totalIdle, c.totalIdle);
      this.map.delete(id);
    }
  }

  addAll(o: CountTable): void {
    for (const [id, c] of o.map) this.get(id).add(c);
  }
}
