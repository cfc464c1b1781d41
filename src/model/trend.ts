/**
 * Rising and falling rows between two refreshes: a row whose share (of the
 * column the table is sorted by) moved by at least a threshold since the
 * previous refresh is marked, so a change stands out while it happens.
 */
import type { Row, SortKey } from './queries.js';

export type Trend = 1 | -1;

/** Percentage points a share must move between refreshes to be marked... */
export const TREND_POINTS = 0.5;

/** ...and at least two samples' worth of them, so a short window's sampling noise is not marked. */
export function trendThreshold(samples: number): number {
  return Math.max(TREND_POINTS, 200 / Math.max(1, samples));
}

/** The share a sort column is about: own time for %Own and OwnTime, total for the others. */
export function shareOf(r: Row, sort: SortKey): number {
  return sort === 'own' || sort === 'ownTime' ? r.ownPct : r.totalPct;
}

/** Each row's share, by id, to compare the next refresh with. */
export function shares(rows: readonly Row[], sort: SortKey): Map<number, number> {
  return new Map(rows.map((r) => [r.id, shareOf(r, sort)]));
}

/** Rows that rose or fell by `points` or more since `before`; a row new since then counts from 0. */
export function trends(
  before: ReadonlyMap<number, number>,
  rows: readonly Row[],
  sort: SortKey,
  points = TREND_POINTS,
): Map<number, Trend> {
  const out = new Map<number, Trend>();
  for (const r of rows) {
    const d = shareOf(r, sort) - (before.get(r.id) ?? 0);
    if (d >= points) out.set(r.id, 1);
    else if (d <= -points) out.set(r.id, -1);
  }
  return out;
}
