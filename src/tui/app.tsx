/**
 * The interactive `gauge top` view: renders the controller's snapshot with
 * layout() and turns keys into view changes. Everything it draws is fitted
 * to the terminal size, re-read on every resize.
 */
import { useEffect, useRef, useState } from 'react';
import { Box, Text, useInput, useStdout, type Key } from 'ink';
import type { ChalkInstance } from 'chalk';
import { layout } from './layout.js';
import type { TopController } from '../model/top-controller.js';
import { TreeNav } from '../model/tree-nav.js';
import { paneKey } from './views/pane.js';
import { tableKey } from './keys.js';

export interface AppProps {
  controller: TopController;
  chalk: ChalkInstance;
  onQuit: () => void;
  onSave?: () => void;
  /** Fixed size (tests); otherwise the terminal's, minus one row: the last row stays empty, so nothing written there can scroll the screen. */
  size?: { width: number; height: number };
}

type Size = { width: number; height: number };

function terminalSize(stdout: NodeJS.WriteStream): Size {
  return { width: stdout.columns || 80, height: Math.max(1, (stdout.rows || 24) - 1) };
}

function useTerminalSize(fixed?: Size): Size {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => terminalSize(stdout));
  const isFixed = fixed !== undefined;
  useEffect(() => {
    if (isFixed) return;
    const onResize = (): void => setSize(terminalSize(stdout));
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, isFixed]);
  return fixed ?? size;
}

/** The key a single character of a multi-key chunk stands for. */
function keyOf(ch: string, base: Key): Key {
  return {
    ...base,
    return: ch === '\r' || ch === '\n',
    escape: ch === '\x1b',
    backspace: ch === '\b',
    delete: ch === '\x7f',
    tab: ch === '\t',
    ctrl: ch === '\x03' ? true : base.ctrl,
  };
}

export function App({ controller, chalk, onQuit, onSave, size }: AppProps): React.JSX.Element {
  const { width, height } = useTerminalSize(size);
  const [, setVersion] = useState(0);
  // Key handling reads and writes these synchronously (a chunk may hold several keys), so refs, plus a re-render.
  const helpRef = useRef(false);
  const editRef = useRef<string | undefined>(undefined);
  const [, setTick] = useState(0);
  const nav = useRef(new TreeNav()).current;
  const setHelp = (v: boolean): void => {
    helpRef.current = v;
    setTick((t) => t + 1);
  };
  const setEditing = (v: string | undefined): void => {
    editRef.current = v;
    setTick((t) => t + 1);
  };
  useEffect(() => controller.onChange(() => setVersion((v) => v + 1)), [controller]);

  // Keys typed quickly (or pasted) can arrive as one chunk: handle them one by one.
  useInput((input, key) => {
    const plain = !key.ctrl && !key.meta && !key.tab && !key.return && !key.escape && !key.backspace && !key.delete;
    if (plain && input.length > 1) {
      for (const ch of input) handleKey(ch, keyOf(ch, key));
    } else handleKey(input, key);
  });

  function handleKey(input: string, key: Key): void {
    if ((key.ctrl && input === 'c') || input === '\x03') return onQuit();
    const editing = editRef.current;
    if (editing !== undefined) {
      if (key.return) {
        setEditing(undefined);
      } else if (key.escape) {
        setEditing(undefined);
        controller.update({ filter: '' });
      } else if (key.backspace || key.delete) {
        const next = editing.slice(0, -1);
        setEditing(next);
        controller.update({ filter: next });
      } else if (input && !key.ctrl && !key.meta && !key.tab && !/\p{Cc}/u.test(input)) {
        const next = editing + input;
        setEditing(next);
        controller.update({ filter: next });
      }
      return;
    }
    if (helpRef.current) {
      setHelp(false);
      if (input !== 'q') return;
    }
    if (paneKey(input, key, { controller, nav, width, height })) return setTick((t) => t + 1);
    const context = {
      controller,
      save: onSave,
      editFilter: () => setEditing(controller.view.filter),
      showHelp: () => setHelp(true),
      quit: onQuit,
    };
    if (tableKey(input, key, context)) return;
    if (key.escape && controller.view.filter) controller.update({ filter: '' });
  }

  const lines = layout(controller.snapshot, {
    width,
    height,
    chalk,
    help: helpRef.current,
    editing: editRef.current,
    nav,
  });
  return (
    <Box flexDirection="column" width={width} height={lines.length}>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate-end">
          {l || ' '}
        </Text>
      ))}
    </Box>
  );
}
