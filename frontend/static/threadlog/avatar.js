// A comment's avatar: the identicon the server draws for its author (GET /avatars/<name>.svg, cached forever),
// or an initial when there is none (a deleted comment, an erased author).
//
// The picture is fetched (connect-src, which an embedding page allows for the comments host anyway) and drawn
// inline: an <img> would need the host page's img-src too (docs/security.md lists what a host must allow).
// Only its rectangles and their fills are copied into an SVG made here, so nothing else from the answer
// reaches the page. One fetch per author and page.

const NS = 'http://www.w3.org/2000/svg';
const drawings = new Map(); // url -> Promise<SVGElement | null>

function rebuild(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const source = doc.documentElement;
  if (!source || source.nodeName !== 'svg') return null;
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', source.getAttribute('viewBox') || '0 0 7 7');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('shape-rendering', 'crispEdges');
  for (const rect of source.querySelectorAll('rect')) {
    const copy = document.createElementNS(NS, 'rect');
    for (const name of ['x', 'y', 'width', 'height']) {
      const value = rect.getAttribute(name);
      if (value !== null && /^[0-9.]+$/.test(value)) copy.setAttribute(name, value);
    }
    const fill = rect.getAttribute('fill') || (rect.parentNode && rect.parentNode.getAttribute
      && rect.parentNode.getAttribute('fill'));
    if (fill && /^#[0-9a-f]{6}$/i.test(fill)) copy.setAttribute('fill', fill);
    svg.append(copy);
  }
  return svg;
}

function drawing(url) {
  if (!drawings.has(url)) {
    drawings.set(url, fetch(url, { mode: 'cors', credentials: 'omit' })
      .then((response) => (response.ok ? response.text() : null))
      .then((text) => (text ? rebuild(text) : null))
      .catch(() => null));
  }
  return drawings.get(url);
}

export function paintAvatar(el, c, name, base = '') {
  const url = !c.deleted && c.avatar ? `${base}${c.avatar}` : null;
  if (url && el.dataset.avatar === url) return;
  el.dataset.avatar = url || '';
  el.classList.remove('tl-has-img');
  el.textContent = c.deleted ? '×' : (name.trim()[0] || '?').toUpperCase();
  if (!url) return;
  drawing(url).then((svg) => {
    if (!svg || el.dataset.avatar !== url) return;
    el.replaceChildren(svg.cloneNode(true));
    el.classList.add('tl-has-img');
  });
}
