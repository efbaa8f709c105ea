// A comment's avatar: the identicon the server draws for its author (GET /avatars/<name>.svg, cached forever),
// or an initial when there is none (a deleted comment, an erased author).

export function paintAvatar(el, c, name, base = '') {
  const src = !c.deleted && c.avatar ? `${base}${c.avatar}` : null;
  const img = el.querySelector('img');
  if (src) {
    if (img && img.getAttribute('src') === src) return;
    const fresh = document.createElement('img');
    fresh.src = src;
    fresh.alt = '';
    fresh.width = 36;
    fresh.height = 36;
    fresh.decoding = 'async';
    fresh.loading = 'lazy';
    el.replaceChildren(fresh);
    el.classList.add('tl-has-img');
    return;
  }
  el.classList.remove('tl-has-img');
  el.textContent = c.deleted ? '×' : (name.trim()[0] || '?').toUpperCase();
}
