// Anchoring a passage of an article (inline feedback, docs/inline-feedback.md): describe a selection as a W3C
// Web Annotation TextQuoteSelector (exact + prefix/suffix) with a TextPositionSelector hint (start/end), and find
// it again in the article as it is now: the quote with its context first, then the position hint, then a fuzzy
// match (the approach of hypothesis/client's anchoring/). No DOM is changed here.
//
// Offsets count characters of the article's *normalised* text: its text nodes in order, runs of white space as
// one space, one space between blocks. That is what a reader sees, and what Selection.toString() roughly gives,
// so template indentation or a re-flowed source does not move an anchor.

export const CONTEXT = 32; // characters of prefix and suffix kept with a quote
export const MAX_EXACT = 1000; // the API's limit on a quote
const SKIP = 'script, style, noscript, template, [data-threadlog-skip]';
const BLOCK = 'p, li, ul, ol, h1, h2, h3, h4, h5, h6, div, blockquote, figure, figcaption, pre, td, th, dd, dt, '
  + 'section, article, header, footer, aside, table, tr';

/** The article's text, normalised, with the way back from each character to its DOM text node and offset. */
export class TextMap {
  constructor(root) {
    this.root = root;
    this.nodes = [];
    this.maps = []; // per text node: raw offset -> normalised index (length + 1 entries)
    this.index = new Map(); // text node -> its number
    this.owner = []; // per normalised character: its text node's number
    this.offset = []; // per normalised character: its offset in that node
    const chars = [];
    let space = true; // at the start, and after a space: white space adds nothing
    let block = null;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) => (node.parentElement && node.parentElement.closest(SKIP)
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
    });
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const value = node.nodeValue;
      const n = this.nodes.length;
      const here = node.parentElement ? node.parentElement.closest(BLOCK) : null;
      if (here !== block && !space && /\S/.test(value)) { // a new block: a space between, as a reader sees it
        chars.push(' ');
        this.owner.push(n);
        this.offset.push(0);
        space = true;
      }
      if (/\S/.test(value)) block = here;
      const map = new Int32Array(value.length + 1);
      for (let i = 0; i < value.length; i += 1) {
        map[i] = chars.length;
        const ch = value[i];
        if (/\s/.test(ch)) {
          if (space) continue;
          chars.push(' ');
          space = true;
        } else {
          chars.push(ch);
          space = false;
        }
        this.owner.push(n);
        this.offset.push(i);
      }
      map[value.length] = chars.length;
      this.nodes.push(node);
      this.maps.push(map);
      this.index.set(node, n);
    }
    this.text = chars.join('');
  }

  /** The normalised index of a DOM boundary point (a selection's start or end). */
  indexOf(container, offset) {
    const n = this.index.get(container);
    if (n !== undefined) return this.maps[n][Math.min(offset, this.maps[n].length - 1)];
    const point = document.createRange();
    point.setStart(container, offset);
    let lo = 0;
    let hi = this.nodes.length; // the first text node at or after the point
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (point.comparePoint(this.nodes[mid], 0) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.nodes.length ? this.maps[lo][0] : this.text.length;
  }

  /** A DOM Range over normalised characters [start, end). */
  range(start, end) {
    const range = document.createRange();
    if (end <= start || end > this.text.length) return null;
    range.setStart(this.nodes[this.owner[start]], this.offset[start]);
    range.setEnd(this.nodes[this.owner[end - 1]], this.offset[end - 1] + 1);
    return range;
  }

  /** The element a character sits in. */
  elementAt(index) {
    const node = this.nodes[this.owner[Math.min(index, this.owner.length - 1)]];
    return node ? node.parentElement : null;
  }
}

/** The selector of a DOM range inside the map's root (clipped to it); null when nothing of it is text there. */
export function describe(map, range) {
  const whole = document.createRange();
  whole.selectNodeContents(map.root);
  if (!range.intersectsNode(map.root)) return null;
  let start = range.compareBoundaryPoints(Range.START_TO_START, whole) < 0 ? 0
    : map.indexOf(range.startContainer, range.startOffset);
  let end = range.compareBoundaryPoints(Range.END_TO_END, whole) > 0 ? map.text.length
    : map.indexOf(range.endContainer, range.endOffset);
  const { text } = map;
  while (start < end && text[start] === ' ') start += 1;
  while (end > start && text[end - 1] === ' ') end -= 1;
  if (end - start < 1) return null;
  end = Math.min(end, start + MAX_EXACT);
  const selector = {
    exact: text.slice(start, end),
    prefix: text.slice(Math.max(0, start - CONTEXT), start),
    suffix: text.slice(end, end + CONTEXT),
    start,
    end,
  };
  const holder = map.elementAt(start);
  const container = holder && holder.closest('[id]');
  if (container && container !== map.root && map.root.contains(container)) {
    selector.container = container.id.slice(0, 100);
  }
  return selector;
}

function commonSuffix(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n += 1;
  return n;
}

function commonPrefix(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n += 1;
  return n;
}

/**
 * The best approximate occurrence of `pattern` in `text` (Sellers' algorithm: edit distance, any start), with at
 * most `maxErrors` edits: {start, end, errors} or null. O(pattern × text), so callers give it a window.
 */
export function fuzzySearch(text, pattern, maxErrors) {
  const m = pattern.length;
  if (!m) return null;
  let cost = new Int32Array(m + 1);
  let from = new Int32Array(m + 1); // where the alignment ending in this cell starts in text
  let nextCost = new Int32Array(m + 1);
  let nextFrom = new Int32Array(m + 1);
  for (let i = 0; i <= m; i += 1) cost[i] = i;
  let best = null;
  for (let j = 1; j <= text.length; j += 1) {
    const ch = text[j - 1];
    nextCost[0] = 0;
    nextFrom[0] = j;
    for (let i = 1; i <= m; i += 1) {
      let c = cost[i - 1] + (pattern[i - 1] === ch ? 0 : 1);
      let f = i === 1 ? j - 1 : from[i - 1];
      if (cost[i] + 1 < c) { // a character of text left out
        c = cost[i] + 1;
        f = from[i];
      }
      if (nextCost[i - 1] + 1 < c) { // a character of the pattern left out
        c = nextCost[i - 1] + 1;
        f = nextFrom[i - 1];
      }
      nextCost[i] = c;
      nextFrom[i] = f;
    }
    if (nextCost[m] <= maxErrors && (!best || nextCost[m] < best.errors)) {
      best = { start: nextFrom[m], end: j, errors: nextCost[m] };
    }
    [cost, nextCost] = [nextCost, cost];
    [from, nextFrom] = [nextFrom, from];
  }
  return best;
}

const FUZZY_WINDOW = 4000; // characters searched around where the passage was, at most
const FUZZY_MIN = 8; // shorter quotes are matched exactly or not at all

/**
 * Where an anchor is in the article now: {start, end, how} (how: "quote", "position" or "fuzzy"), or null when
 * the passage cannot be placed any more (the page lists it as "on a passage that has changed").
 */
export function locate(map, anchor) {
  const { text } = map;
  const exact = anchor.exact || '';
  if (!exact) return null;
  const prefix = anchor.prefix || '';
  const suffix = anchor.suffix || '';
  const hint = Number.isInteger(anchor.start) ? anchor.start : null;
  // 1. The quote with its context.
  let best = null;
  for (let at = text.indexOf(exact); at !== -1; at = text.indexOf(exact, at + 1)) {
    const context = commonSuffix(prefix, text.slice(Math.max(0, at - prefix.length), at))
      + commonPrefix(suffix, text.slice(at + exact.length, at + exact.length + suffix.length));
    const distance = hint === null ? 0 : Math.abs(at - hint);
    if (!best || context > best.context || (context === best.context && distance < best.distance)) {
      best = { at, context, distance };
    }
  }
  const wanted = prefix.length + suffix.length;
  if (best && (best.context >= Math.min(wanted, 8) || exact.length >= CONTEXT)) {
    return { start: best.at, end: best.at + exact.length, how: 'quote' };
  }
  // 2. The position hint, if the quote is still there.
  if (hint !== null && text.slice(hint, hint + exact.length) === exact) {
    return { start: hint, end: hint + exact.length, how: 'position' };
  }
  if (best) return { start: best.at, end: best.at + exact.length, how: 'quote' }; // the quote, other context
  // 3. A fuzzy match, near where it was: in its container if that is still there, else around the hint.
  if (exact.length < FUZZY_MIN) return null;
  const maxErrors = Math.floor(exact.length / 4);
  const windows = [];
  const box = anchor.container && map.root.querySelector(`[id="${CSS.escape(anchor.container)}"]`);
  if (box) {
    const r = document.createRange();
    r.selectNodeContents(box);
    const s = map.indexOf(r.startContainer, r.startOffset);
    const e = map.indexOf(r.endContainer, r.endOffset);
    windows.push([Math.max(0, s - exact.length), Math.min(text.length, e + exact.length)]);
  }
  const centre = hint === null ? 0 : Math.min(hint, text.length);
  windows.push([Math.max(0, centre - FUZZY_WINDOW / 2), Math.min(text.length, centre + FUZZY_WINDOW / 2 + exact.length)]);
  if (text.length <= FUZZY_WINDOW * 2) windows.push([0, text.length]);
  for (const [s, e] of windows) {
    const found = fuzzySearch(text.slice(s, e), exact, maxErrors);
    if (found) {
      let { start, end } = found;
      while (start < end && text[s + start] === ' ') start += 1;
      return { start: s + start, end: s + end, how: 'fuzzy', errors: found.errors };
    }
  }
  return null;
}
