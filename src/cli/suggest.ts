/**
 * "Did you mean --subprocesses?": the nearest known option or command to a
 * mistyped one, by edit distance (a swap of two neighbours counts as one
 * edit), or by one being a prefix of the other.
 */

/** Optimal-string-alignment distance between a and b. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to a typo, if one is close enough to be what was meant. */
export function nearest(typo: string, known: Iterable<string>): string | undefined {
  const t = typo.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    if (k === typo || k.length < 2) continue;
    const prefix = t.length >= 3 && (k.startsWith(t) || t.startsWith(k));
    const dist = editDistance(t, k.toLowerCase());
    // A prefix ("--subprocess" for "--subprocesses") is as good as one edit.
    const score = prefix ? Math.min(dist, 1) : dist;
    if (score < bestScore) {
      bestScore = score;
      best = k;
    }
  }
  const allowed = Math.max(1, Math.floor(t.length / 3));
  return best !== undefined && bestScore <= allowed ? best : undefined;
}

/** How a name yargs calls unknown was typed: "--subprocess", "-x", or as a word (a command). */
function asTyped(name: string, args: readonly string[]): string {
  const long = `--${name}`;
  if (args.some((a) => a === long || a.startsWith(long + '='))) return long;
  if (name.length === 1 && args.some((a) => /^-[^-]/.test(a) && a.includes(name))) return `-${name}`;
  return name;
}

/**
 * The usage error for yargs' "Unknown argument(s): a, b", as one line with
 * a suggestion for the first; undefined for any other message.
 */
export function unknownArgumentMessage(
  msg: string,
  args: readonly string[],
  known: { options: Iterable<string>; commands: Iterable<string> },
): string | undefined {
  const m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (!m) return undefined;
  const typed = m[1]!
    .split(', ')
    .filter(Boolean)
    .map((n) => asTyped(n, args));
  // A word where the command goes is a mistyped command, whatever options follow it.
  const word = typed.find((n) => !n.startsWith('-'));
  if (word !== undefined) {
    const command = nearest(word, known.commands);
    return `unknown command or argument ${word}${command ? `: did you mean ${command}?` : ''}`;
  }
  const first = typed[0]!;
  const what = typed.length > 1 ? `unknown options ${typed.join(', ')}` : `unknown option ${first}`;
  const option = first.startsWith('--') ? nearest(first.slice(2), known.options) : undefined;
  return `${what}${option ? `: did you mean --${option}?` : ''}`;
}
