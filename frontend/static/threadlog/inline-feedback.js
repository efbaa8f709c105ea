// Inline feedback (docs/inline-feedback.md): comments anchored to a passage of the article, live beside the text.
//
// Hooked into a CommentSection (comments.js) like moderation-ui.js: `paint` shows an anchored comment's quote above
// its body, `frame` refreshes the counts when a frame is about an anchored comment, `payload` adds the anchor of
// the passage being commented on, `posted` clears it. Everything in the article itself stays out of its text:
// highlights are CSS Custom Highlights (no DOM change), badges and the "Comment on this" button are shadow hosts
// marked data-threadlog-skip, and the popover lives in a layer of its own (a shadow root on <body>), so neither
// the host page's styles nor its text model (anchoring.js) see them. The only HTML injected is the server's
// sanitised body_html.

import { el } from './dom.js';
import { TextMap, describe, locate } from './anchoring.js';

const HIGHLIGHT = 'threadlog-anchor';
const FLASH = 'threadlog-flash';
const BLOCK = 'p, li, h1, h2, h3, h4, h5, h6, blockquote, figcaption, pre, td, th, dd, dt, div, section, article';
const REFRESH_MS = 120;
const QUOTE_CHARS = 80;

function short(text, n = QUOTE_CHARS) {
  return text.length > n ? `${text.slice(0, n - 1).trimEnd()}…` : text;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function stylesheet(href) {
  return el('link', { rel: 'stylesheet', href });
}

/** A shadow host that the article's text model skips, holding `children` under the inline-feedback styles. */
function shadowHost(tag, cls, css, ...children) {
  const host = el(tag, { class: cls, 'data-threadlog-skip': '' });
  const shadow = host.attachShadow({ mode: 'open' });
  shadow.append(stylesheet(css), ...children);
  return host;
}

/** The article a script or section belongs to: the nearest <article> before it in the document (an ancestor
 * counts), as the embed's default for data-article. */
export function articleBefore(node) {
  let found = null;
  for (const article of document.querySelectorAll('article')) {
    if (article.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING) found = article;
  }
  return found;
}

export function installInlineFeedback(section, article) {
  const ui = new InlineFeedback(section, article || null);
  section.inline = ui;
  return ui;
}

class InlineFeedback {
  constructor(section, article) {
    this.section = section;
    this.api = section.api;
    this.article = article && article.isConnected ? article : null;
    this.css = `${this.api.base}/static/threadlog/inline-feedback.css`;
    this.anchors = new Map(); // id -> {anchor, place: {start, end, how} | null, range, block}
    this.pending = null; // the selector of the passage being commented on
    this.refreshTimer = null;
    this.opener = null;
    this.dialogAnchors = null;
    section.hooks.paint.push((node) => this.paintQuote(node));
    section.hooks.frame.push((frame) => this.onFrame(frame));
    section.hooks.payload.push((payload) => {
      if (this.pending && !payload.parent_id) payload.anchor = this.pending;
    });
    section.hooks.posted.push((comment) => {
      if (!comment.anchor) return;
      this.clearPending();
      this.scheduleRefresh();
    });
    this.buildSection();
    if (this.article) {
      this.buildLayer();
      this.watchSelection();
      this.watchArticle();
    }
    this.refresh();
  }

  // --- in the comment section ---------------------------------------------------------------------

  buildSection() {
    const { root, form, uid } = this.section;
    root.prepend(stylesheet(this.css));
    this.passage = el('div', { class: 'tl-passage', hidden: true });
    form.prepend(this.passage);
    this.changed = el('section', { class: 'tl-changed-anchors', hidden: true, 'aria-labelledby': `${uid}-changed` });
    this.changedList = el('ul', { class: 'tl-changed-list' });
    this.changed.append(el('h3', { id: `${uid}-changed`, text: 'On a passage that has changed' }),
      el('p', { class: 'tl-changed-note', text: 'These comments quote text that is no longer in the article.' }),
      this.changedList);
    this.section.list.before(this.changed);
    root.addEventListener('click', (event) => {
      const quote = event.target.closest && event.target.closest('[data-anchor-link]');
      if (quote && root.contains(quote)) this.showPassage(quote.dataset.anchorLink, quote);
      const changed = event.target.closest && event.target.closest('[data-anchor-open]');
      if (changed && root.contains(changed)) this.openDialog([changed.dataset.anchorOpen], changed);
      const drop = event.target.closest && event.target.closest('[data-action="drop-passage"]');
      if (drop && root.contains(drop)) {
        this.clearPending();
        this.section.bodyInput.focus();
      }
    });
  }

  paintQuote(node) {
    const { c, li } = node;
    const box = li.querySelector(':scope > .tl-box');
    let quote = box.querySelector(':scope > .tl-anchor-quote');
    if (!c.anchor || c.parent_id) {
      if (quote) quote.remove();
      return;
    }
    if (!quote) {
      const text = el('span', { class: 'tl-anchor-text', text: `“${short(c.anchor.exact, 240)}”` });
      quote = el('blockquote', { class: 'tl-anchor-quote' },
        this.article // a link back to the passage where the article is on the page; else the quote alone
          ? el('button', { type: 'button', class: 'tl-anchor-link', 'data-anchor-link': c.anchor.id },
            el('span', { class: 'tl-sr', text: 'Show the passage in the article: ' }), text)
          : el('span', { class: 'tl-anchor-link' }, el('span', { class: 'tl-sr', text: 'On the passage: ' }), text),
        el('span', { class: 'tl-anchor-gone', hidden: true, text: 'on a passage that has changed' }));
      box.querySelector(':scope > .tl-body').before(quote);
    }
    const entry = this.anchors.get(c.anchor.id);
    quote.querySelector('.tl-anchor-gone').hidden = !this.article || !entry || Boolean(entry.place);
  }

  setPending(selector) {
    this.pending = selector;
    if (this.section.replyTo) this.section.cancelReply();
    this.passage.replaceChildren(
      el('span', { class: 'tl-passage-label', text: 'Commenting on this passage:' }),
      el('blockquote', { class: 'tl-passage-quote', text: `“${short(selector.exact, 300)}”` }),
      el('button', { type: 'button', class: 'tl-link', 'data-action': 'drop-passage', text: 'Comment on the whole article instead' }));
    this.passage.hidden = false;
  }

  clearPending() {
    this.pending = null;
    this.passage.hidden = true;
    this.passage.replaceChildren();
  }

  /** Who wrote a new comment and, if it is on a passage, which one: for the section's live announcements. */
  describe(c) {
    return c.anchor && !c.parent_id ? `${c.author.name} on “${short(c.anchor.exact, 60)}”` : c.author.name;
  }

  // --- anchors: fetched, placed, shown ------------------------------------------------------------

  onFrame(frame) {
    const data = (frame.event && frame.event.data) || {};
    if ((frame.comment && frame.comment.anchor) || data.anchor) this.scheduleRefresh();
  }

  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  async refresh() {
    let result;
    try {
      result = await this.api.request('GET', `${this.api.thread()}/anchors`);
    } catch (err) {
      if (err.code !== 'thread_not_found') return;
      result = { anchors: [] };
    }
    this.anchors = new Map(result.anchors.map((anchor) => [anchor.id, { anchor, place: null, range: null }]));
    this.place();
    if (this.dialogAnchors && this.dialog.open) this.fillDialog();
  }

  /** Place every anchor in the article as it is now, then redraw highlights, badges and the "changed" list. */
  place() {
    if (this.article) {
      this.map = new TextMap(this.article);
      for (const entry of this.anchors.values()) {
        entry.place = locate(this.map, entry.anchor);
        entry.range = entry.place ? this.map.range(entry.place.start, entry.place.end) : null;
        entry.block = entry.range ? this.blockOf(entry.range) : null;
      }
      this.drawHighlights();
      this.drawBadges();
    }
    this.drawChanged();
    for (const node of this.section.nodes.values()) this.paintQuote(node);
  }

  blockOf(range) {
    let node = range.endContainer;
    if (node.nodeType !== Node.ELEMENT_NODE) node = node.parentElement;
    const block = node.closest(BLOCK);
    return block && this.article.contains(block) ? block : this.article;
  }

  drawHighlights() {
    if (!globalThis.CSS || !CSS.highlights || typeof Highlight === 'undefined') return;
    const ranges = [...this.anchors.values()].filter((e) => e.range).map((e) => e.range);
    CSS.highlights.set(HIGHLIGHT, new Highlight(...ranges));
  }

  drawBadges() {
    this.badges = this.badges || new Map(); // block -> host
    const groups = new Map();
    for (const entry of this.anchors.values()) {
      if (!entry.block) continue;
      if (!groups.has(entry.block)) groups.set(entry.block, []);
      groups.get(entry.block).push(entry);
    }
    const focused = this.focusedBadge();
    for (const [block, host] of this.badges) {
      if (!groups.has(block)) {
        host.remove();
        this.badges.delete(block);
      }
    }
    for (const [block, entries] of groups) {
      entries.sort((a, b) => a.place.start - b.place.start);
      let host = this.badges.get(block);
      if (!host || !host.isConnected) {
        const button = el('button', { type: 'button', class: 'tlf-badge', 'aria-haspopup': 'dialog' },
          el('span', { class: 'tlf-bubble', 'aria-hidden': 'true' }), el('span', { class: 'tlf-count' }));
        host = shadowHost('span', 'threadlog-badge', this.css, button);
        button.addEventListener('click', () => this.openDialog(host.anchorIds, button));
        this.badges.set(block, host);
      }
      if (host.parentNode !== block || (host.nextSibling && host.nextSibling !== this.selectHost)) block.append(host);
      const count = entries.reduce((n, e) => n + e.anchor.comment_count, 0);
      host.anchorIds = entries.map((e) => e.anchor.id);
      const button = host.shadowRoot.querySelector('button');
      button.querySelector('.tlf-count').textContent = String(count);
      const quotes = entries.map((e) => `“${short(e.anchor.exact, 60)}”`).join(', ');
      button.setAttribute('aria-label', `${plural(count, 'comment', 'comments')} on: ${quotes}`);
      host.dataset.count = String(count);
    }
    if (focused && !focused.isConnected) this.section.countLabel.focus();
  }

  focusedBadge() {
    const active = document.activeElement;
    return active && active.classList && active.classList.contains('threadlog-badge') ? active : null;
  }

  drawChanged() {
    const gone = this.article ? [...this.anchors.values()].filter((e) => !e.place) : [];
    this.changed.hidden = gone.length === 0;
    this.changedList.replaceChildren(...gone.map((e) => el('li', {},
      el('button', { type: 'button', class: 'tl-link tl-changed-open', 'data-anchor-open': e.anchor.id,
        'aria-haspopup': 'dialog' },
      el('span', { class: 'tl-changed-quote', text: `“${short(e.anchor.exact, 120)}”` }),
      el('span', { class: 'tl-changed-count', text: ` · ${plural(e.anchor.comment_count, 'comment', 'comments')}` })))));
  }

  /** Scroll to a comment's passage and flash it (the quote above the comment was clicked). */
  showPassage(id, from) {
    const entry = this.anchors.get(id);
    if (!this.article || !entry || !entry.range) {
      this.section.say('That passage is no longer in the article.');
      return;
    }
    const rect = entry.range.getBoundingClientRect();
    window.scrollTo({ top: window.scrollY + rect.top - window.innerHeight / 3, behavior: 'smooth' });
    this.flash(entry.range);
    const badge = this.badges && this.badges.get(entry.block);
    if (badge) badge.shadowRoot.querySelector('button').focus({ preventScroll: true });
    this.lastQuote = from;
  }

  flash(range) {
    if (globalThis.CSS && CSS.highlights && typeof Highlight !== 'undefined') {
      CSS.highlights.set(FLASH, new Highlight(range));
      clearTimeout(this.flashTimer);
      this.flashTimer = setTimeout(() => CSS.highlights.delete(FLASH), 2_500);
    }
    this.flashed = range.toString();
  }

  // --- the article: selection, edits --------------------------------------------------------------

  buildLayer() {
    const head = document.head || document.documentElement;
    if (!document.querySelector('link[data-threadlog-highlight]')) {
      head.append(el('link', { rel: 'stylesheet', href: `${this.api.base}/static/threadlog/inline-highlight.css`,
        'data-threadlog-highlight': '' }));
    }
    this.selectButton = el('button', { type: 'button', class: 'tlf-select' },
      el('span', { class: 'tlf-bubble', 'aria-hidden': 'true' }), 'Comment on this');
    this.selectHost = shadowHost('span', 'threadlog-select', this.css, this.selectButton);
    this.selectHost.hidden = true;
    this.selectButton.addEventListener('mousedown', (e) => e.preventDefault()); // keep the selection
    this.selectButton.addEventListener('click', () => this.commentOnSelection());

    const uid = `${this.section.uid}-pop`;
    this.dialogTitle = el('h2', { id: `${uid}-title`, class: 'tlf-title', tabindex: '-1', text: 'Comments on this passage' });
    this.dialogQuote = el('div', { class: 'tlf-quotes' });
    this.dialogList = el('ol', { class: 'tlf-list', 'aria-busy': 'true' });
    this.dialogError = el('p', { class: 'tlf-error', role: 'alert' });
    const close = el('button', { type: 'button', class: 'tlf-close', 'aria-label': 'Close', text: '×' });
    const all = el('button', { type: 'button', class: 'tlf-btn', text: 'Show all comments' });
    this.dialog = el('dialog', { class: 'tlf-dialog', 'aria-labelledby': `${uid}-title` },
      el('div', { class: 'tlf-head' }, this.dialogTitle, close),
      this.dialogQuote, this.dialogError, this.dialogList,
      el('div', { class: 'tlf-foot' }, all));
    const layer = shadowHost('div', 'threadlog-layer', this.css, this.dialog);
    document.body.append(layer);
    close.addEventListener('click', () => this.dialog.close());
    all.addEventListener('click', () => {
      this.dialog.close();
      const label = this.section.countLabel;
      label.tabIndex = -1;
      label.scrollIntoView({ block: 'start' });
      label.focus({ preventScroll: true });
    });
    this.dialog.addEventListener('click', (event) => {
      if (event.target === this.dialog) this.dialog.close(); // the backdrop
      const button = event.target.closest && event.target.closest('button[data-do]');
      if (button) this.dialogAction(button);
    });
    this.dialog.addEventListener('close', () => {
      this.dialogAnchors = null;
      const back = this.opener;
      this.opener = null;
      if (back && back.isConnected) back.focus();
    });
  }

  watchSelection() {
    let timer = null;
    const update = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.updateSelectButton(), 80);
    };
    document.addEventListener('selectionchange', update);
    window.addEventListener('resize', update);
  }

  watchArticle() {
    if (!('MutationObserver' in window)) return;
    let timer = null;
    const ours = (node) => node.nodeType === Node.ELEMENT_NODE && node.hasAttribute('data-threadlog-skip');
    this.observer = new MutationObserver((records) => {
      const theirs = records.some((r) => r.type === 'characterData'
        || [...r.addedNodes, ...r.removedNodes].some((n) => !ours(n)));
      if (!theirs) return;
      clearTimeout(timer);
      timer = setTimeout(() => this.place(), 150); // the article changed under us: place everything again
    });
    this.observer.observe(this.article, { childList: true, subtree: true, characterData: true });
  }

  currentSelector() {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
    const range = selection.getRangeAt(0);
    if (!range.intersectsNode(this.article)) return null;
    const map = new TextMap(this.article);
    const selector = describe(map, range);
    if (!selector) return null;
    return { selector, range, map };
  }

  updateSelectButton() {
    const found = this.currentSelector();
    if (!found) {
      if (document.activeElement !== this.selectHost) this.selectHost.hidden = true;
      return;
    }
    // After the block the selection ends in: next in the tab order from the selection (caret browsing,
    // screen readers), and shown by the selection's end.
    const { range, map, selector } = found;
    const block = this.blockOf(map.range(selector.start, selector.end) || range);
    const badge = this.badges && this.badges.get(block);
    const before = badge && badge.parentNode === block ? badge : null; // first in the tab order, then the badge
    if (this.selectHost.parentNode !== block || this.selectHost.nextSibling !== before) {
      block.insertBefore(this.selectHost, before);
    }
    this.selectHost.hidden = false;
    const rects = range.getClientRects();
    const last = rects[rects.length - 1] || range.getBoundingClientRect();
    this.selectHost.style.transform = '';
    const origin = this.selectHost.getBoundingClientRect();
    const width = this.selectButton.offsetWidth || 140;
    const x = Math.max(8, Math.min(last.right - width / 2, window.innerWidth - width - 8));
    const y = last.bottom + 6;
    this.selectHost.style.transform = `translate(${Math.round(x - origin.left)}px, ${Math.round(y - origin.top)}px)`;
  }

  commentOnSelection() {
    const found = this.currentSelector();
    if (!found) return;
    this.setPending(found.selector);
    this.selectHost.hidden = true;
    const form = this.section.form;
    form.scrollIntoView({ block: 'center', behavior: 'smooth' });
    this.section.bodyInput.focus({ preventScroll: true });
    this.section.say('Write your comment on the quoted passage.');
  }

  // --- the popover: one passage's comments ----------------------------------------------------------

  async openDialog(ids, opener) {
    if (!this.dialog) return;
    this.opener = opener;
    this.dialogAnchors = ids;
    this.selectHost.hidden = true;
    if (!this.dialog.open) this.dialog.showModal();
    this.position(opener);
    this.dialogTitle.focus();
    await this.fillDialog();
  }

  position(opener) {
    const narrow = window.innerWidth < 600;
    this.dialog.classList.toggle('tlf-sheet', narrow);
    if (narrow || !opener || !opener.getBoundingClientRect) {
      this.dialog.style.left = '';
      this.dialog.style.top = '';
      return;
    }
    const rect = opener.getBoundingClientRect();
    const width = Math.min(460, window.innerWidth - 32);
    const left = Math.max(16, Math.min(rect.left - 24, window.innerWidth - width - 16));
    const top = Math.max(16, Math.min(rect.bottom + 8, window.innerHeight - 320));
    this.dialog.style.left = `${Math.round(left)}px`;
    this.dialog.style.top = `${Math.round(top)}px`;
  }

  async fillDialog() {
    const ids = this.dialogAnchors || [];
    const entries = ids.map((id) => this.anchors.get(id)).filter(Boolean);
    this.dialogQuote.replaceChildren(...entries.map((e) => el('blockquote', { class: 'tlf-quote' },
      `“${short(e.anchor.exact, 300)}”`,
      e.place ? null : el('span', { class: 'tlf-gone', text: ' (this passage has changed)' }))));
    const count = entries.reduce((n, e) => n + e.anchor.comment_count, 0);
    this.dialogTitle.textContent = `${plural(count, 'comment', 'comments')} on this passage`;
    this.dialogList.setAttribute('aria-busy', 'true');
    this.dialogError.textContent = '';
    let comments = [];
    try {
      const pages = await Promise.all(ids.map((id) => this.api.request('GET',
        `${this.api.thread()}/comments?${new URLSearchParams({ anchor: id, sort: 'oldest', limit: '100' })}`)));
      comments = pages.flatMap((p) => p.comments).sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
    } catch (err) {
      this.dialogError.textContent = `Comments could not be loaded: ${err.message}`;
    }
    if (ids !== this.dialogAnchors) return;
    const focus = this.dialog.contains(this.dialog.getRootNode().activeElement)
      ? this.dialog.getRootNode().activeElement : null;
    const keep = focus && focus.dataset.do ? `${focus.dataset.do}:${focus.dataset.id}` : null;
    const replyOpen = this.dialogList.querySelector('.tlf-reply-form');
    const draft = replyOpen ? { id: replyOpen.dataset.id, body: replyOpen.querySelector('textarea').value } : null;
    const items = [];
    const walk = (c, depth) => {
      items.push(this.renderDialogComment(c, depth));
      for (const r of c.replies || []) walk(r, depth + 1);
    };
    comments.forEach((c) => walk(c, 0));
    this.dialogList.replaceChildren(...items);
    this.dialogList.setAttribute('aria-busy', 'false');
    if (draft) {
      const li = this.dialogList.querySelector(`li[data-id="${CSS.escape(draft.id)}"]`);
      if (li) this.openReply(li, draft.body);
    }
    if (keep) {
      const [action, id] = keep.split(':');
      const again = this.dialogList.querySelector(`button[data-do="${action}"][data-id="${CSS.escape(id)}"]`);
      if (again) again.focus();
    }
  }

  renderDialogComment(c, depth) {
    const gone = c.deleted;
    const li = el('li', { class: 'tlf-c', 'data-id': c.id, 'data-depth': String(Math.min(depth, 3)) });
    const head = el('p', { class: 'tlf-c-head' },
      el('strong', { text: gone ? 'Deleted comment' : c.author.name }),
      el('span', { class: 'tlf-time', text: ` · ${new Date(c.created_at).toLocaleDateString()}` }));
    const body = el('div', { class: 'tlf-body' });
    if (gone) body.append(el('p', { class: 'tlf-deleted', text: 'This comment was deleted.' }));
    else body.innerHTML = c.body_html; // sanitised by the server (nh3)
    li.append(head, body);
    if (!gone) {
      const vote = (value, arrow, label, n) => el('button', { type: 'button', class: 'tlf-vote', 'data-do': 'vote',
        'data-id': c.id, 'data-value': String(value), 'aria-pressed': c.my_vote === value ? 'true' : 'false',
        'aria-label': `${label} (${n})` }, el('span', { 'aria-hidden': 'true', text: `${arrow} ${n}` }));
      li.append(el('div', { class: 'tlf-actions' },
        vote(1, '▲', 'Vote up', c.up), vote(-1, '▼', 'Vote down', c.down),
        el('button', { type: 'button', class: 'tlf-link', 'data-do': 'reply', 'data-id': c.id, text: 'Reply' }),
        el('span', { class: 'tlf-error', role: 'alert' })));
    }
    li.comment = c;
    return li;
  }

  async dialogAction(button) {
    const li = button.closest('li.tlf-c');
    const c = li && li.comment;
    const error = li && li.querySelector('.tlf-error');
    if (button.dataset.do === 'vote' && c) {
      const value = Number(button.dataset.value);
      const next = c.my_vote === value ? 0 : value;
      button.disabled = true;
      try {
        const result = await this.api.vote(c.id, next);
        c.my_vote = next;
        Object.assign(c, { up: result.up, down: result.down, score: result.score });
        const node = this.section.nodes.get(c.id);
        if (node) node.myVote = next;
        this.section.applyCounts({ id: c.id, up: result.up, down: result.down, score: result.score,
          reply_count: c.reply_count }, result.position);
        const fresh = this.renderDialogComment(c, Number(li.dataset.depth));
        li.replaceWith(fresh);
        fresh.querySelector(`button[data-do="vote"][data-value="${value}"]`).focus();
      } catch (err) {
        if (error) error.textContent = err.message;
        button.disabled = false;
      }
    } else if (button.dataset.do === 'reply' && li) {
      this.openReply(li, '');
    } else if (button.dataset.do === 'cancel-reply') {
      const form = button.closest('.tlf-reply-form');
      const owner = form.closest('li.tlf-c');
      form.remove();
      owner.querySelector('button[data-do="reply"]').focus();
    } else if (button.dataset.do === 'post-reply') {
      this.postReply(button.closest('.tlf-reply-form'));
    }
  }

  openReply(li, body) {
    if (li.querySelector('.tlf-reply-form')) {
      li.querySelector('.tlf-reply-form textarea').focus();
      return;
    }
    const id = `${this.section.uid}-pop-reply-${li.dataset.id}`;
    const textarea = el('textarea', { id, rows: 3, maxlength: 10000, required: true });
    textarea.value = body;
    const name = el('input', { id: `${id}-name`, type: 'text', maxlength: 64, autocomplete: 'name', required: true });
    name.value = this.section.guest.name || this.section.nameInput.value || '';
    const form = el('div', { class: 'tlf-reply-form', 'data-id': li.dataset.id },
      el('label', { for: id, text: `Reply to ${li.comment.author.name}` }), textarea,
      el('label', { for: `${id}-name`, text: 'Name (required)' }), name,
      el('div', { class: 'tlf-actions' },
        el('button', { type: 'button', class: 'tlf-btn tlf-primary', 'data-do': 'post-reply', text: 'Post Reply' }),
        el('button', { type: 'button', class: 'tlf-link', 'data-do': 'cancel-reply', text: 'Cancel' })),
      el('p', { class: 'tlf-error', role: 'alert' }));
    li.append(form);
    textarea.focus();
  }

  async postReply(form) {
    const body = form.querySelector('textarea').value;
    const name = form.querySelector('input').value.trim();
    const error = form.querySelector('.tlf-error');
    if (!body.trim() || !name) {
      error.textContent = !body.trim() ? 'Please write a reply first.' : 'Please enter your name.';
      return;
    }
    const payload = { body, author_name: name, parent_id: form.dataset.id, format: 'markdown' };
    try {
      const result = await this.api.post(payload);
      form.remove();
      this.section.livePosted(result.comment, result.position, { mine: true });
      this.section.say('Your reply was posted.');
      this.scheduleRefresh();
    } catch (err) {
      error.textContent = err.message;
    }
  }
}
