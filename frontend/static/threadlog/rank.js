// The sort orders of the API (projections/queries.py, projections/ranking.py), for placing live comments.
// Ties break on the time a comment was posted, as the server breaks them on its log position.

const WILSON_Z = 1.959964;
const HOT_EPOCH = 1_700_000_000;
const HOT_HALF_LIFE_SECONDS = 45_000;

export const SORTS = [
  ['oldest', 'Oldest'],
  ['newest', 'Newest'],
  ['most_voted', 'Most Voted'],
  ['best', 'Best'],
  ['hot', 'Hot'],
];
export const SCORE_SORTS = new Set(['most_voted', 'best', 'hot']);

export function wilsonLowerBound(up, down) {
  const n = up + down;
  if (n === 0) return 0;
  const p = up / n;
  const z2 = WILSON_Z * WILSON_Z;
  return (p + z2 / (2 * n) - WILSON_Z * Math.sqrt((p * (1 - p) + z2 / (4 * n)) / n)) / (1 + z2 / n);
}

/** Microseconds since the epoch of an ISO timestamp such as 2026-11-29T09:06:36.539241Z. */
export function micros(iso) {
  const m = /\.(\d+)/.exec(iso || '');
  const whole = Date.parse(String(iso || '').replace(/\.\d+/, ''));
  return whole * 1000 + Number(((m ? m[1] : '') + '000000').slice(0, 6));
}

export function hot(score, createdIso) {
  const order = Math.log10(Math.max(Math.abs(score), 1));
  const sign = score > 0 ? 1 : score < 0 ? -1 : 0;
  const value = sign * order + (micros(createdIso) / 1e6 - HOT_EPOCH) / HOT_HALF_LIFE_SECONDS;
  return Math.round(value * 1e7) / 1e7;
}

function rank(sort, c) {
  if (sort === 'most_voted') return -c.score;
  if (sort === 'best') return -wilsonLowerBound(c.up, c.down);
  if (sort === 'hot') return -hot(c.score, c.created_at);
  return 0;
}

/** Array.sort comparator: a before b in `sort`. */
export function compare(sort, a, b) {
  const ta = micros(a.created_at);
  const tb = micros(b.created_at);
  if (sort === 'newest') return tb - ta;
  if (sort !== 'oldest') {
    const d = rank(sort, a) - rank(sort, b);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return ta - tb;
}
