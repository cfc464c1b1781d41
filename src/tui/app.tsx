/**
 * The interactive `gauge top` view: renders the controller's snapshot with
 * layout() and turns keys into view changes. Everything it draws is fitted
 * to the terminal size, re-read on every resize.
 */
import { useEffect, useState } from 'react';
import { Box, Text, useInput, useStdout } from 'ink';
import type { ChalkInstance } from 'chalk';
import { layout } from './layout.js';
import { SORT_KEYS } from '../model/snapshot.js';
import type { TopController } from '../model/top-controller.js';

export interface AppProps {
  controller: TopController;
  chalk: ChalkInstance;
  onQuit: () => void;
  onSave?: () => void;
  /** Fixed size (tests); otherwise the terminal's, minus one row so Ink never scrolls. */
  size?: { width: number; height: number };
}

function useTerminalSize(fixed?: { width: number; height: number }): { width: number; height: number } {
  const { stdout } = useStdout();
  const read = (): { width: number; height: number } =>
    fixed ?? { width: stdout.columns || 80, height: Math.max(1, (stdout.rows || 24) - 1) };
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) return;
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, fixed?.width, fixed?.height]);
  return fixed ?? size;
}

export function App({ controller, chalk, onQuit, onSave, size }: AppProps): React.JSX.Element {
  const { width, height } = useTerminalSize(size);
  const [, setVersion] = useState(0);
  const [help, setHelp] = useState(false);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  useEffect(() => controller.onChange(() => setVersion((v) => v + 1)), [controller]);

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return onQuit();
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
      } else if (input && !key.ctrl && !key.meta && !key.tab) {
        const next = editing + input;
        setEditing(next);
        controller.update({ filter: next });
      }
      return;
    }
    if (help) {
      setHelp(false);
      if (input !== 'q') return;
    }
    if (input === 'q') return onQuit();
    if (input >= '1' && input <= '4') return controller.update({ sort: SORT_KEYS[Number(input) - 1]! });
    switch (input) {
      case 'l':
        return controller.update({ byLine: !controller.view.byLine });
      case 'i':
        return controller.update({ idle: !controller.view.idle });
      case 't':
        return controller.cycleScope();
      case '/':
        setEditing(controller.view.filter);
        return;
      case 'p':
        return controller.update({ paused: !controller.view.paused });
      case 'r':
        return controller.reset();
      case 'w':
        return controller.update({ window: controller.view.window === 'cumulative' ? 'last' : 'cumulative' });
      case 's':
        if (onSave) onSave();
        else controller.say('saving a profile is not available in this build');
        return;
      case '?':
        setHelp(true);
        return;
    }
    if (key.tab) controller.cycleScope();
    else if (key.escape && controller.view.filter) controller.update({ filter: '' });
  });

  const lines = layout(controller.snapshot, { width, height, chalk, help, editing });
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
