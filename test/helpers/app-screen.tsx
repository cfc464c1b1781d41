/** The `gauge top` Ink app rendered for a test at a fixed size, and a wait for a frame that passes a check. */
import assert from 'node:assert/strict';
import { render } from 'ink-testing-library';
import { Chalk, type ChalkInstance } from 'chalk';
import { App } from '../../src/tui/app.js';
import type { TopController } from '../../src/model/top-controller.js';

export const plain = new Chalk({ level: 0 });

export function screen(c: TopController, width = 110, height = 30, chalk: ChalkInstance = plain) {
  const r = render(<App controller={c} chalk={chalk} onQuit={() => undefined} size={{ width, height }} />);
  return { frame: () => r.lastFrame() ?? '', stdin: r.stdin };
}

/** Waits up to 5 s (keys are handled asynchronously) for a frame that passes pred; fails with the last frame. */
export async function until(frame: () => string, pred: (s: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    if (pred(frame())) return frame();
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${what}; frame:\n${frame()}`);
}
