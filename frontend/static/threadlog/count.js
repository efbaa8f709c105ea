// Comment counts on a site's index page: every element with data-threadlog-count gets "8 comments".
//
//   <a href="/posts/hello/" data-threadlog-count></a>          the key of the page it links to (threadkey.js)
//   <span data-threadlog-count="posts~hello~"></span>          a key given outright
//   <span data-threadlog-count></span>                          (not a link) the key of this page
//
// One GET /api/counts for the whole page (one per 100 different threads). Loaded by /count.js.

import { threadKey } from './threadkey.js';

const MAX_KEYS = 100;
const KEY = /^[A-Za-z0-9._~-]{1,200}$/;

export function keyOf(el) {
  const given = el.getAttribute('data-threadlog-count');
  if (given) return given;
  if (el.tagName === 'A' && el.getAttribute('href')) return threadKey(new URL(el.href, window.location.href));
  return threadKey(window.location);
}

export function label(n) {
  return `${n} ${n === 1 ? 'comment' : 'comments'}`;
}

/** Fill in every count under `root`; resolves with {key: count}. */
export async function countThreads({ base = '', root = document } = {}) {
  const elements = [...root.querySelectorAll('[data-threadlog-count]')];
  const byKey = new Map();
  for (const el of elements) {
    const key = keyOf(el);
    if (!KEY.test(key)) continue;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(el);
  }
  const keys = [...byKey.keys()];
  const counts = {};
  for (let i = 0; i < keys.length; i += MAX_KEYS) {
    const chunk = keys.slice(i, i + MAX_KEYS);
    const url = `${base.replace(/\/$/, '')}/api/counts?keys=${chunk.map(encodeURIComponent).join(',')}`;
    try {
      const response = await fetch(url, { mode: 'cors', credentials: 'omit' });
      if (!response.ok) continue;
      Object.assign(counts, (await response.json()).counts);
    } catch {
      /* leave the elements as they are */
    }
  }
  for (const [key, els] of byKey) {
    if (!(key in counts)) continue;
    for (const el of els) {
      el.textContent = label(counts[key]);
      el.setAttribute('data-threadlog-counted', String(counts[key]));
    }
  }
  return counts;
}
