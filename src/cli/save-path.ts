/**
 * Where `s` in `gauge top` saves a profile: $GAUGE_SAVE_DIR, else gauge's
 * directory under the user's data directory ($XDG_DATA_HOME or
 * ~/.local/share), else under the temporary directory; never the current
 * directory, which under `npm start` is a source tree.
 */
import { mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export function saveDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GAUGE_SAVE_DIR) return resolve(env.GAUGE_SAVE_DIR);
  if (env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME)) return join(env.XDG_DATA_HOME, 'gauge');
  let home = '';
  try {
    home = homedir();
  } catch {
    // A user without a home directory: the temporary directory will do.
  }
  return home ? join(home, '.local', 'share', 'gauge') : join(tmpdir(), 'gauge');
}

/** A new file's full path for a profile of pid, the directory made if need be. */
export function savePath(pid: number, when: Date, env: NodeJS.ProcessEnv = process.env): string {
  const dir = saveDir(env);
  mkdirSync(dir, { recursive: true });
  const stamp = when.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return join(dir, `gauge-${pid}-${stamp}.speedscope.json`);
}
