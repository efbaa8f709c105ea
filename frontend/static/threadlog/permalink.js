// Permalinks: every comment's date links to `<this page>#comment-<id>`. Opening such a link (or following one on
// the page) shows that comment even when it is on a later page or folded under collapsed replies: the section
// asks GET /api/comments/{id}/context for the page that holds its top-level comment, shows that page, unfolds the
// branch, scrolls to the comment and highlights it.

const FRAGMENT = /^#comment-([0-9a-fA-F-]{36})$/;

export function commentIdFromHash(hash) {
  const match = FRAGMENT.exec(hash || '');
  return match ? match[1].toLowerCase() : null;
}

/** The comment's permanent address: this page (the embedding page, for the widget) with its fragment. */
export function permalinkHref(id) {
  const url = new URL(window.location.href);
  url.hash = `comment-${id}`;
  return url.href;
}

function highlight(section, node) {
  for (const old of section.root.querySelectorAll('.tl-target')) old.classList.remove('tl-target');
  section.expandAround(node.li);
  const box = node.li.querySelector(':scope > .tl-box');
  box.classList.add('tl-target');
  box.scrollIntoView({ block: 'center' });
  box.focus({ preventScroll: true });
}

function earlierButton(section) {
  let button = section.root.querySelector('.tl-earlier');
  if (!button) {
    button = document.createElement('button');
    button.type = 'button';
    button.className = 'tl-btn tl-earlier';
    button.textContent = 'Show comments from the start';
    button.addEventListener('click', async () => {
      button.remove();
      await section.load({ reset: true });
      section.countLabel.tabIndex = -1;
      section.countLabel.focus();
    });
    section.list.before(button);
  }
  return button;
}

/** Show comment `id` of this section's thread; false when it is not in this thread (or not found). */
export async function showComment(section, id) {
  let node = section.nodes.get(id);
  if (!node) {
    let context;
    try {
      context = await section.api.request('GET',
        `/api/comments/${encodeURIComponent(id)}/context?sort=${encodeURIComponent(section.sort)}`);
    } catch {
      return false;
    }
    if (context.thread !== section.key) return false;
    const top = context.ancestors.length ? context.ancestors[0].id : context.comment.id;
    if (!section.nodes.has(top)) {
      // Its page, in place of the first one (each page carries every reply of its comments).
      await section.load({ cursor: context.cursor, fresh: true });
      if (context.cursor) earlierButton(section);
    }
    node = section.nodes.get(id);
    if (!node) return false;
  }
  highlight(section, node);
  return true;
}

/** Follow the page's #comment-<id> now and whenever it changes. */
export function watchPermalinks(section) {
  const follow = () => {
    const id = commentIdFromHash(window.location.hash);
    if (id) showComment(section, id);
  };
  window.addEventListener('hashchange', follow);
  follow();
}
