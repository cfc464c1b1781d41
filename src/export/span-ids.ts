/** Span and trace ids for spans built from samples. */
import { randomBytes } from 'node:crypto';

/** Random ids, drawn from a pooled buffer: thousands of spans a second must not cost a syscall each. */
export class IdSource {
  private pool = Buffer.alloc(0);
  private pos = 0;
  hex(bytes: number): string {
    if (this.pos + bytes > this.pool.length) {
      this.pool = randomBytes(4096);
      this.pos = 0;
    }
    const s = this.pool.toString('hex', this.pos, this.pos + bytes);
    this.pos += bytes;
    // All-zero ids are invalid in OTLP; astronomically unlikely, but cheap to rule out.
    return /^0+$/.test(s) ? this.hex(bytes) : s;
  }
}
