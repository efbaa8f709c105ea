// The comment section: one module for the page (/, /t/<key>) and the embed widget (Shadow DOM).
//
// Rules kept throughout: the only HTML ever injected is the server-sanitised `body_html`; everything else is
// built with createElement/textContent. Live frames are applied in log order, once each (by position); the
// socket resumes from the last applied position, and the page refetches only when the server says reset.

import { Api, ApiError, LiveFeed } from './api.js';
import { SCORE_SORTS, SORTS, compare, micros } from './rank.js';
import { installModeration } from './moderation-ui.js';
import { attachFormatting, editableSource } from './formatting.js';
import { permalinkHref, watchPermalinks } from './permalink.js';
import { paintAvatar } from './avatar.js';
import { attachSubscriptions } from './subscribe.js';
import { installInlineFeedback } from './inline-feedback.js';

const PAGE_SIZE = 20;
const INDENT_DEPTH = 3; // replies are indented up to this depth, deeper ones line up with it
const COLLAPSE_DEPTH = 4; // comments this deep start collapsed behind "show N more replies"
const ANNOUNCE_EVERY_MS = 5_000;
const STORAGE_KEY = 'threadlog:guest';

let sectionSeq = 0;

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child);
  }
  return el;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

const RELATIVE = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat
  ? new Intl.RelativeTimeFormat('en', { numeric: 'auto' }) : null;

function relativeTime(iso, now = Date.now()) {
  const seconds = Math.round((micros(iso) / 1000 - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  const steps = [[60, 'second'], [3600, 'minute'], [86400, 'hour'], [604800, 'day'], [2629800, 'week'],
    [31557600, 'month'], [Infinity, 'year']];
  const sizes = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800, month: 2629800, year: 31557600 };
  for (const [limit, unit] of steps) {
    if (abs < limit) {
      const value = Math.round(seconds / sizes[unit]);
      return RELATIVE ? RELATIVE.format(value, unit) : `${Math.abs(value)} ${unit}s ago`;
    }
  }
  return '';
}

function absoluteTime(iso) {
  const date = new Date(micros(iso) / 1000);
  try {
    return date.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' });
  } catch {
    return date.toString();
  }
}

function loadGuest() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) || '{}') || {};
  } catch {
    return {};
  }
}

function saveGuest(guest) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(guest));
  } catch {
    /* storage may be unavailable (private mode, sandboxed frame) */
  }
}

const ICON_BUBBLE = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z';

function icon(path, cls) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', cls);
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', path);
  svg.append(p);
  return svg;
}

export function mountComments(container, options) {
  const section = new CommentSection(container, options);
  installModeration(section); // statuses, closed threads, moderators' frames, staff sign-in and actions
  installInlineFeedback(section, options.article); // comments anchored to a passage of the article
  section.start();
  return section;
}

export class CommentSection {
  constructor(container, { thread, base = '', editWindow = 900, title = '', sort = 'oldest' }) {
    this.key = thread;
    this.api = new Api(base, thread);
    this.editWindow = Number(editWindow) || 0;
    this.title = title;
    this.sort = SORTS.some(([s]) => s === sort) ? sort : 'oldest';
    this.uid = `tl${(sectionSeq += 1)}`;
    this.nodes = new Map(); // id → {c: comment json (without replies), li, mine, myVote, countsAt}
    this.position = 0; // last log position applied to what is shown
    this.lastVersion = null; // stream_version of the last event frame on this connection
    this.resuming = false;
    this.loading = false;
    this.queued = []; // frames that arrived while a page was loading
    this.recent = []; // the last frames received, to re-apply onto a freshly fetched page
    this.nextCursor = null;
    this.count = 0;
    this.unseen = new Set();
    this.announcements = [];
    this.announceTimer = null;
    this.lastAnnounce = 0;
    this.replyTo = null;
    this.guest = loadGuest();
    this.hooks = { paint: [], frame: [], payload: [], posted: [] }; // extensions (moderation-ui.js, inline-feedback.js)
    this.build(container);
    this.feed = new LiveFeed(this.api.socketUrl(), {
      after: () => this.position,
      onFrame: (frame) => this.onFrame(frame),
      onState: (state) => this.setConnection(state),
      onConnect: () => {
        this.lastVersion = null;
        this.resuming = false;
      },
    });
  }

  // --- building -------------------------------------------------------------------------------------

  build(container) {
    const id = (name) => `${this.uid}-${name}`;
    this.root = h('div', { class: 'tl-root', 'data-thread': this.key });

    // Header: live count, connection state, readers, and the subscription control (subscribe.js).
    this.headCount = h('span', { class: 'tl-head-count', text: '…' });
    this.connection = h('span', { class: 'tl-conn', 'data-state': 'connecting', role: 'status' },
      h('span', { class: 'tl-dot', 'aria-hidden': 'true' }), h('span', { class: 'tl-conn-text', text: 'Connecting…' }));
    this.readers = h('span', { class: 'tl-readers', hidden: true });
    const subscribe = h('div', { class: 'tl-subscribe' }); // filled by subscribe.js
    const head = h('div', { class: 'tl-head' }, subscribe,
      h('div', { class: 'tl-meta' }, this.headCount, this.readers, this.connection));

    // The form, with its reply target.
    this.replyTarget = h('div', { class: 'tl-reply-target', hidden: true });
    this.bodyInput = h('textarea', {
      id: id('body'), name: 'body', rows: 3, required: true, maxlength: 10000,
      placeholder: 'Join the discussion…',
    });
    this.nameInput = h('input', {
      id: id('name'), name: 'author_name', type: 'text', required: true, maxlength: 64, autocomplete: 'name',
    });
    this.emailInput = h('input', {
      id: id('email'), name: 'author_email', type: 'email', maxlength: 254, autocomplete: 'email',
      'aria-describedby': id('email-note'),
    });
    this.nameInput.value = this.guest.name || '';
    this.emailInput.value = this.guest.email || '';
    this.formError = h('p', { class: 'tl-error', role: 'alert' });
    this.submit = h('button', { type: 'submit', class: 'tl-btn tl-primary', text: 'Post Comment' });
    this.form = h('form', { class: 'tl-form', 'aria-label': 'Post a comment', novalidate: true },
      this.replyTarget,
      h('label', { class: 'tl-label', for: id('body') }, 'Would love your thoughts, please comment.'),
      this.bodyInput,
      h('div', { class: 'tl-fields' },
        h('div', { class: 'tl-field' }, h('label', { class: 'tl-label', for: id('name') }, 'Name ',
          h('span', { class: 'tl-req', text: '(required)' })), this.nameInput),
        h('div', { class: 'tl-field' }, h('label', { class: 'tl-label', for: id('email') }, 'Email ',
          h('span', { class: 'tl-req', id: id('email-note'), text: '(optional, never shown)' })), this.emailInput)),
      h('div', { class: 'tl-form-actions' }, this.formError, this.submit));
    this.formHome = h('div', { class: 'tl-form-home' }, this.form);
    this.formatting = attachFormatting(this); // toolbar, Write / Preview (formatting.js)

    // Count, sort tabs, re-sort notice.
    this.countLabel = h('h2', { class: 'tl-count', id: id('count') }, '');
    this.tabs = SORTS.map(([sort, label]) => h('button', {
      type: 'button', role: 'tab', class: 'tl-tab', id: id(`tab-${sort}`), 'data-sort': sort,
      'aria-selected': sort === this.sort ? 'true' : 'false', 'aria-controls': id('panel'),
      text: label, // every sort is a tab stop: Tab and Enter alone can sort (arrow keys work too)
    }));
    const tablist = h('div', { class: 'tl-tabs', role: 'tablist', 'aria-label': 'Sort comments by' }, this.tabs);
    this.resort = h('button', { type: 'button', class: 'tl-resort', hidden: true, 'data-action': 'resort' });
    const bar = h('div', { class: 'tl-bar' }, this.countLabel, tablist);

    // The tab panel holds the list (a list's items must sit in a list: role=tabpanel on the <ol> hid that).
    this.list = h('ol', { class: 'tl-list', id: id('list'), 'aria-busy': 'true' });
    this.panel = h('div', {
      class: 'tl-panel', id: id('panel'), role: 'tabpanel', 'aria-labelledby': id(`tab-${this.sort}`),
    }, this.list);
    this.empty = h('p', { class: 'tl-empty', hidden: true, text: 'No comments yet. Be the first to comment.' });
    this.more = h('button', { type: 'button', class: 'tl-btn tl-more', hidden: true, 'data-action': 'more',
      text: 'Load more comments' });
    this.listError = h('p', { class: 'tl-error', role: 'alert' });

    // Floating bubble with the count and the live "N new" badge.
    this.bubbleCount = h('span', { class: 'tl-bubble-count', text: '0' });
    this.badge = h('span', { class: 'tl-badge', hidden: true });
    this.bubble = h('button', { type: 'button', class: 'tl-bubble', 'data-action': 'bubble' },
      icon(ICON_BUBBLE, 'tl-icon'), this.bubbleCount, this.badge);

    this.live = h('div', { class: 'tl-sr', 'aria-live': 'polite', 'aria-atomic': 'true' });

    this.root.append(head, this.formHome, bar, this.resort, this.listError, this.panel, this.empty, this.more,
      this.bubble, this.live);
    container.replaceChildren(this.root);
    this.subscriptions = attachSubscriptions(this, subscribe);

    this.root.addEventListener('click', (e) => this.onClick(e));
    this.root.addEventListener('keydown', (e) => this.onKeydown(e));
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.postComment();
    });
    this.observer = 'IntersectionObserver' in window ? new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.isIntersecting) {
          this.unseen.delete(entry.target.dataset.id);
          this.observer.unobserve(entry.target);
        }
      }
      this.renderBadge();
    }, { threshold: 0.5 }) : null;
  }

  async start() {
    if (!/^[A-Za-z0-9._~-]{1,200}$/.test(this.key || '')) {
      this.listError.textContent = 'This comment thread has an invalid name (1-200 of A-Z a-z 0-9 . _ ~ -).';
      this.form.hidden = true;
      this.setConnection('offline');
      return;
    }
    for (let wait = 1_000; (await this.load({ reset: true })) === false; wait = Math.min(wait * 2, 30_000)) {
      await new Promise((resolve) => { setTimeout(resolve, wait); });
    }
    this.subscriptions.loaded();
    this.feed.start();
    this.clock = setInterval(() => this.tick(), 20_000);
    watchPermalinks(this); // #comment-<id> (permalink.js)
  }

  // --- loading ----------------------------------------------------------------------------------------

  async load({ reset = false, cursor = null, fresh = false } = {}) {
    // fresh: a page that replaces the list although it starts at a cursor (a permalink's page)
    const seq = (this.loadSeq = (this.loadSeq || 0) + 1);
    this.loading = true;
    this.list.setAttribute('aria-busy', 'true');
    this.listError.textContent = '';
    let page;
    try {
      page = await this.api.comments({ sort: this.sort, cursor, limit: PAGE_SIZE });
    } catch (err) {
      if (seq !== this.loadSeq) return null;
      if (err instanceof ApiError && err.code === 'thread_not_found') {
        page = { comments: [], next_cursor: null, comment_count: 0, position: 0 };
      } else {
        this.listError.textContent = `Comments could not be loaded: ${err.message}`;
        this.loading = false;
        this.list.setAttribute('aria-busy', 'false');
        return false;
      }
    }
    if (seq !== this.loadSeq) return null; // a newer load (another sort, a reset) replaced this one
    const first = !cursor || fresh;
    if (first) {
      this.clearList();
    }
    for (const c of page.comments) {
      if (this.nodes.has(c.id)) continue; // already shown (arrived live)
      this.list.append(this.renderTree(c, page.position));
    }
    this.nextCursor = page.next_cursor;
    let replay = this.queued;
    if (first) {
      // The list is now the thread as it stood at page.position: re-apply anything received since.
      if (reset) {
        this.recent = [];
        this.lastVersion = null;
      }
      replay = [...this.recent, ...this.queued].sort((a, b) => a.position - b.position);
      this.position = page.position;
      this.setCount(page.comment_count);
    }
    // A further page ("Load more") leaves the position alone: frames after it still apply to every page,
    // and comments seen twice are skipped by id.
    this.loading = false;
    this.list.setAttribute('aria-busy', 'false');
    this.more.hidden = !this.nextCursor;
    this.more.textContent = 'Load more comments';
    this.updateEmpty();
    this.updateMoved();
    this.queued = [];
    for (const frame of replay) this.applyEvent(frame);
    return true;
  }

  clearList() {
    for (const node of this.nodes.values()) this.observer?.unobserve(node.li);
    this.nodes.clear();
    this.unseen.clear();
    this.list.replaceChildren();
    this.renderBadge();
    this.resort.hidden = true;
    if (this.replyTo) this.cancelReply();
  }

  async switchSort(sort) {
    if (sort === this.sort) return;
    this.sort = sort;
    for (const tab of this.tabs) {
      const on = tab.dataset.sort === sort;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
    }
    this.panel.setAttribute('aria-labelledby', `${this.uid}-tab-${sort}`);
    await this.load();
  }

  // --- rendering ---------------------------------------------------------------------------------------

  renderTree(c, countsAt = 0) {
    const li = this.renderComment(c);
    this.nodes.get(c.id).countsAt = countsAt; // older frames do not roll its counts back
    const list = li.querySelector(':scope > .tl-replies');
    for (const reply of c.replies || []) {
      if (this.nodes.has(reply.id)) continue;
      list.append(this.renderTree(reply, countsAt));
    }
    this.updateCollapse(li);
    return li;
  }

  renderComment(c) {
    const { replies, mine, my_vote: myVote, ...data } = c;
    const node = { c: data, mine: Boolean(mine), myVote: myVote || 0, countsAt: 0 };
    const depth = Number(c.depth) || 0;
    const li = h('li', {
      class: 'tl-c', id: `${this.uid}-c-${c.id}`, dataset: { id: c.id, depth: String(depth) },
    });
    if (depth >= INDENT_DEPTH) li.classList.add('tl-flat');
    const headId = `${this.uid}-h-${c.id}`;
    const box = h('article', { class: 'tl-box', tabindex: '-1', 'aria-labelledby': headId });
    const author = h('span', { class: 'tl-author' });
    const avatar = h('span', { class: 'tl-avatar', 'aria-hidden': 'true' });
    const time = h('time', { class: 'tl-time' });
    const edited = h('span', { class: 'tl-edited', hidden: true, text: 'edited' });
    const you = h('span', { class: 'tl-you', hidden: true, text: 'you' });
    const permalink = h('a', { class: 'tl-permalink', href: permalinkHref(c.id) }, time);
    const header = h('header', { class: 'tl-c-head', id: headId }, avatar, author, you,
      h('span', { class: 'tl-sep', 'aria-hidden': 'true', text: '·' }), permalink, edited);
    const body = h('div', { class: 'tl-body' });
    const up = h('button', { type: 'button', class: 'tl-vote tl-up', 'data-action': 'up', 'aria-pressed': 'false' },
      h('span', { 'aria-hidden': 'true', class: 'tl-arrow', text: '▲' }), h('span', { class: 'tl-sr', text: 'Vote up' }),
      h('span', { class: 'tl-n' }));
    const down = h('button', { type: 'button', class: 'tl-vote tl-down', 'data-action': 'down', 'aria-pressed': 'false' },
      h('span', { 'aria-hidden': 'true', class: 'tl-arrow', text: '▼' }), h('span', { class: 'tl-sr', text: 'Vote down' }),
      h('span', { class: 'tl-n' }));
    const actions = h('div', { class: 'tl-actions' }, up, down,
      h('button', { type: 'button', class: 'tl-link tl-reply', 'data-action': 'reply', text: 'Reply' }),
      h('button', { type: 'button', class: 'tl-link tl-quote', 'data-action': 'quote', text: 'Quote' }),
      h('button', { type: 'button', class: 'tl-link tl-edit', 'data-action': 'edit', hidden: true, text: 'Edit' }),
      h('button', { type: 'button', class: 'tl-link tl-delete', 'data-action': 'delete', hidden: true, text: 'Delete' }),
      h('span', { class: 'tl-c-error', role: 'alert' }));
    box.append(header, body, actions);
    const replyList = h('ol', { class: 'tl-replies' });
    const expand = h('button', { type: 'button', class: 'tl-link tl-expand', 'data-action': 'expand', hidden: true,
      'aria-expanded': 'false', 'aria-controls': `${this.uid}-r-${c.id}` });
    replyList.id = `${this.uid}-r-${c.id}`;
    li.append(box, replyList, expand);
    node.li = li;
    this.nodes.set(c.id, node);
    this.paint(node);
    return li;
  }

  /** Bring a comment's element in line with its data (in place). */
  paint(node) {
    const { c, li } = node;
    const box = li.querySelector(':scope > .tl-box');
    const name = c.deleted ? 'Deleted comment' : c.author.name;
    box.querySelector('.tl-author').textContent = name;
    paintAvatar(box.querySelector('.tl-avatar'), c, name, this.api.base); // avatar.js
    box.querySelector('.tl-you').hidden = !node.mine;
    const time = box.querySelector('.tl-time');
    time.dateTime = c.created_at;
    time.title = absoluteTime(c.created_at);
    time.textContent = relativeTime(c.created_at);
    const edited = box.querySelector('.tl-edited');
    edited.hidden = !c.edited_at || c.deleted;
    if (c.edited_at) edited.title = `Edited ${absoluteTime(c.edited_at)}`;
    const body = box.querySelector('.tl-body');
    const html = c.deleted ? null : c.body_html;
    if (!body.querySelector('.tl-editor') && (node.shownHtml !== html || !body.firstChild)) {
      node.shownHtml = html;
      if (c.deleted) {
        const removed = c.status && c.status !== 'published';
        body.replaceChildren(h('p', { class: 'tl-deleted',
          text: removed ? 'This comment was removed by a moderator.' : 'This comment was deleted.' }));
      } else {
        body.innerHTML = c.body_html; // sanitised by the server (nh3): the only HTML this widget injects
      }
    }
    li.classList.toggle('tl-is-deleted', Boolean(c.deleted));
    li.classList.toggle('tl-mine', node.mine);
    for (const [cls, value, count] of [['.tl-up', 1, c.up], ['.tl-down', -1, c.down]]) {
      const button = box.querySelector(cls);
      button.querySelector('.tl-n').textContent = String(count);
      button.setAttribute('aria-pressed', node.myVote === value ? 'true' : 'false');
      button.hidden = Boolean(c.deleted);
    }
    box.querySelector('.tl-reply').hidden = Boolean(c.deleted);
    box.querySelector('.tl-quote').hidden = Boolean(c.deleted);
    const editable = this.editable(node);
    box.querySelector('.tl-edit').hidden = !editable;
    box.querySelector('.tl-delete').hidden = !editable && !box.querySelector('.tl-confirm');
    for (const hook of this.hooks.paint) hook(node);
  }

  editable(node) {
    if (!node.mine || node.c.deleted) return false;
    return Date.now() - micros(node.c.created_at) / 1000 < this.editWindow * 1000;
  }

  /** Deep branches start collapsed: "show N more replies" counts every comment under the button. */
  updateCollapse(li) {
    const depth = Number(li.dataset.depth);
    const list = li.querySelector(':scope > .tl-replies');
    const expand = li.querySelector(':scope > .tl-expand');
    const hidden = li.querySelectorAll(':scope > .tl-replies .tl-c').length;
    if (depth + 1 !== COLLAPSE_DEPTH || hidden === 0) {
      list.hidden = false;
      expand.hidden = true;
      return;
    }
    const open = expand.getAttribute('aria-expanded') === 'true';
    list.hidden = !open;
    expand.hidden = false;
    expand.textContent = open ? 'hide replies' : `show ${plural(hidden, 'more reply', 'more replies')}`;
  }

  setCount(n) {
    this.count = Math.max(0, Number(n) || 0);
    const text = plural(this.count, 'Comment', 'Comments');
    this.countLabel.textContent = text;
    this.headCount.textContent = plural(this.count, 'comment', 'comments');
    this.bubbleCount.textContent = String(this.count);
    this.renderBadge();
  }

  renderBadge() {
    const n = this.unseen.size;
    this.badge.hidden = n === 0;
    this.badge.textContent = `${n} new`;
    this.bubble.setAttribute('aria-label', n
      ? `${plural(this.count, 'comment', 'comments')}, ${n} new: jump to the newest`
      : `${plural(this.count, 'comment', 'comments')}: jump to the newest`);
    this.bubble.classList.toggle('tl-has-new', n > 0);
  }

  updateEmpty() {
    this.empty.hidden = this.list.children.length > 0 || this.loading;
  }

  setConnection(state) {
    this.connection.dataset.state = state;
    const text = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline' }[state]
      || state;
    this.connection.querySelector('.tl-conn-text').textContent = text;
    this.connection.title = state === 'live' ? 'New comments and votes appear as they happen'
      : 'Connection lost: catching up as soon as it is back';
  }

  tick() {
    for (const node of this.nodes.values()) {
      const time = node.li.querySelector(':scope > .tl-box .tl-time');
      time.textContent = relativeTime(node.c.created_at);
      const edit = node.li.querySelector(':scope > .tl-box .tl-edit');
      if (node.mine && this.editable(node) === edit.hidden) this.paint(node);
    }
  }

  // --- live frames ------------------------------------------------------------------------------------

  onFrame(frame) {
    switch (frame.type) {
      case 'event': {
        const version = frame.stream_version;
        if (this.lastVersion !== null && version > this.lastVersion + 1 && frame.position > this.position) {
          // A frame went missing on this connection: ask for everything after what was applied.
          if (!this.resuming) {
            this.resuming = true;
            this.feed.resume(this.position);
          }
          return;
        }
        this.lastVersion = this.lastVersion === null ? version : Math.max(this.lastVersion, version);
        this.recent.push(frame);
        if (this.recent.length > 500) this.recent.splice(0, 100);
        if (this.loading) this.queued.push(frame);
        else this.applyEvent(frame);
        break;
      }
      case 'ready':
        this.resuming = false;
        break;
      case 'reset':
        this.load({ reset: true });
        break;
      case 'presence':
        this.readers.hidden = !(frame.readers > 1);
        this.readers.textContent = `${frame.readers} reading`;
        break;
      case 'error':
        if (window.console) console.warn('threadlog:', frame.code, frame.message);
        break;
      case 'notice':
        this.subscriptions.notice(frame);
        break;
      default:
        break;
    }
  }

  applyEvent(frame) {
    if (frame.position <= this.position) return; // seen already (a resume or a fetch covered it)
    this.position = frame.position;
    const counts = frame.counts || {};
    const type = frame.event && frame.event.type;
    for (const hook of this.hooks.frame) hook(frame);
    if (type === 'CommentPosted' && frame.comment) this.livePosted(frame.comment, frame.position);
    else if ((type === 'CommentEdited' || type === 'CommentDeleted') && frame.comment) {
      this.liveChanged(frame.comment, frame.position);
    }
    if (counts.comment) this.applyCounts(counts.comment, frame.position);
    if (typeof counts.comment_count === 'number') this.setCount(counts.comment_count);
    if (type === 'VoteCast') this.updateMoved();
  }

  applyCounts(counts, position) {
    const node = this.nodes.get(counts.id);
    if (!node || position < node.countsAt) return;
    node.countsAt = position;
    const changed = node.c.up !== counts.up || node.c.down !== counts.down;
    Object.assign(node.c, { up: counts.up, down: counts.down, score: counts.score, reply_count: counts.reply_count });
    if (changed) this.paint(node);
  }

  /** Where a new top-level comment goes in the current sort: the element to insert before, null for the
   * end of the list, or undefined when it belongs after comments not loaded yet. */
  placeFor(c) {
    for (const li of this.list.children) {
      const other = this.nodes.get(li.dataset.id);
      if (other && compare(this.sort, c, other.c) < 0) return li;
    }
    return this.nextCursor ? undefined : null;
  }

  livePosted(c, position, { mine = false } = {}) {
    if (this.nodes.has(c.id)) {
      const node = this.nodes.get(c.id);
      if (mine && !node.mine) {
        node.mine = true;
        this.paint(node);
      }
      return this.nodes.get(c.id).li;
    }
    let li;
    if (c.parent_id) {
      const parent = this.nodes.get(c.parent_id);
      if (!parent) return null; // its branch is not loaded; the counts still change
      li = this.renderTree({ ...c, mine, replies: [] });
      const list = parent.li.querySelector(':scope > .tl-replies');
      this.stableScroll(() => this.bottomOf(parent.li), () => {
        list.append(li);
        if (mine) this.expandAround(li);
        this.updateCollapseUp(parent.li);
      });
    } else {
      const before = this.placeFor(c);
      if (before === undefined && !mine) {
        this.more.textContent = 'Load more comments (new ones included)';
        return null;
      }
      li = this.renderTree({ ...c, mine, replies: [] });
      this.stableScroll(() => (before ? before.getBoundingClientRect().top : this.bottomOf(this.list)), () => {
        this.list.insertBefore(li, before || null);
      });
      this.updateEmpty();
    }
    this.nodes.get(c.id).countsAt = position;
    this.flash(li);
    if (!mine) {
      if (!this.isVisible(li) && !this.hiddenInBranch(li)) {
        this.unseen.add(c.id);
        this.observer?.observe(li);
        this.renderBadge();
      }
      this.announce(c);
    }
    if (SCORE_SORTS.has(this.sort)) this.updateMoved();
    return li;
  }

  liveChanged(c, position) {
    const node = this.nodes.get(c.id);
    if (!node) return;
    const { replies, ...data } = c;
    const wasDeleted = node.c.deleted;
    node.c = { ...node.c, ...data };
    if (c.deleted) {
      node.mine = false;
      const editor = node.li.querySelector(':scope > .tl-box .tl-editor');
      if (editor) editor.remove();
    }
    const hasReplies = node.li.querySelector(':scope > .tl-replies > .tl-c') !== null;
    if (c.deleted && !wasDeleted && !hasReplies) {
      // A deleted comment without replies leaves the thread (as on a fresh load).
      const li = node.li;
      const parentLi = li.parentElement && li.parentElement.closest('.tl-c');
      this.stableScroll(() => li.getBoundingClientRect().top, () => {
        if (this.replyTo === c.id) this.cancelReply();
        this.forget(li);
        li.remove();
        if (parentLi) this.updateCollapseUp(parentLi);
      });
      this.updateEmpty();
      return;
    }
    this.stableScroll(() => node.li.getBoundingClientRect().top, () => this.paint(node));
    this.flash(node.li, 'tl-changed');
  }

  forget(li) {
    for (const el of [li, ...li.querySelectorAll('.tl-c')]) {
      this.nodes.delete(el.dataset.id);
      this.unseen.delete(el.dataset.id);
      this.observer?.unobserve(el);
    }
    this.renderBadge();
  }

  updateCollapseUp(li) {
    for (let el = li; el; el = el.parentElement && el.parentElement.closest('.tl-c')) {
      this.updateCollapse(el);
      if (!this.root.contains(el)) break;
    }
  }

  hiddenInBranch(li) {
    return li.parentElement && li.parentElement.closest('.tl-replies[hidden]') !== null;
  }

  expandAround(li) {
    for (let list = li.parentElement; list; list = list.parentElement && list.parentElement.closest('.tl-replies')) {
      if (list.hidden) {
        const owner = list.parentElement;
        owner.querySelector(':scope > .tl-expand').setAttribute('aria-expanded', 'true');
        this.updateCollapse(owner);
      }
    }
  }

  bottomOf(el) {
    return el.getBoundingClientRect().bottom;
  }

  /**
   * Change the DOM without moving what the reader is looking at: when the change happens above the first
   * comment in view, scroll by however much that comment moved.
   */
  stableScroll(whereFn, change) {
    const boxes = this.root.querySelectorAll('.tl-box, .tl-more');
    let anchor = null;
    let anchorTop = 0;
    for (const box of boxes) {
      const rect = box.getBoundingClientRect();
      if (rect.height === 0) continue;
      if (rect.top >= 0) {
        anchor = box;
        anchorTop = rect.top;
        break;
      }
    }
    const where = anchor ? whereFn() : Infinity;
    change();
    if (!anchor || !anchor.isConnected || !(where < anchorTop)) return;
    const delta = anchor.getBoundingClientRect().top - anchorTop;
    if (delta !== 0) window.scrollBy(0, delta);
  }

  isVisible(el) {
    const rect = el.getBoundingClientRect();
    return rect.bottom > 0 && rect.top < window.innerHeight && rect.height > 0;
  }

  flash(li, cls = 'tl-fresh') {
    const box = li.querySelector(':scope > .tl-box');
    box.classList.remove('tl-fresh', 'tl-changed');
    void box.offsetWidth; // restart the animation
    box.classList.add(cls);
    setTimeout(() => box.classList.remove(cls), 4_000);
  }

  /** Polite, throttled announcements for screen readers: at most one every few seconds. */
  announce(c) {
    this.announcements.push(this.inline ? this.inline.describe(c) : c.author.name);
    if (this.announceTimer) return;
    const wait = Math.max(0, this.lastAnnounce + ANNOUNCE_EVERY_MS - Date.now());
    this.announceTimer = setTimeout(() => {
      const names = this.announcements;
      this.announcements = [];
      this.announceTimer = null;
      this.lastAnnounce = Date.now();
      this.say(names.length === 1 ? `New comment from ${names[0]}.`
        : `${names.length} new comments.`);
    }, wait);
  }

  say(text) {
    this.live.textContent = '';
    setTimeout(() => {
      this.live.textContent = text;
    }, 50);
  }

  /** Score sorts do not reshuffle under the reader: count the comments out of place instead. */
  updateMoved() {
    if (!SCORE_SORTS.has(this.sort)) {
      this.resort.hidden = true;
      return;
    }
    const shown = [...this.list.children].map((li) => this.nodes.get(li.dataset.id)).filter(Boolean);
    const ideal = [...shown].sort((a, b) => compare(this.sort, a.c, b.c));
    const moved = shown.filter((node, i) => ideal[i] !== node).length;
    this.resort.hidden = moved === 0;
    this.resort.textContent = `Re-sort (${moved} moved)`;
  }

  applyResort() {
    const shown = [...this.list.children];
    const ideal = [...shown].sort((a, b) => compare(this.sort, this.nodes.get(a.dataset.id).c,
      this.nodes.get(b.dataset.id).c));
    this.list.append(...ideal);
    this.resort.hidden = true;
    this.countLabel.tabIndex = -1;
    this.countLabel.focus();
    this.say('Comments re-sorted.');
  }

  // --- the reader's actions ------------------------------------------------------------------------------

  onClick(event) {
    const target = event.target.closest('button');
    if (!target || !this.root.contains(target)) return;
    if (target.classList.contains('tl-tab')) {
      this.switchSort(target.dataset.sort);
      return;
    }
    const action = target.dataset.action;
    const li = target.closest('.tl-c');
    const node = li ? this.nodes.get(li.dataset.id) : null;
    switch (action) {
      case 'up': return node && this.vote(node, node.myVote === 1 ? 0 : 1, target);
      case 'down': return node && this.vote(node, node.myVote === -1 ? 0 : -1, target);
      case 'reply': return node && this.startReply(node);
      case 'quote': return node && this.formatting.quote(node.li.querySelector(':scope > .tl-box .tl-body'));
      case 'cancel-reply': return this.cancelReply(true);
      case 'edit': return node && this.startEdit(node);
      case 'delete': return node && this.askDelete(node, target);
      case 'confirm-delete': return node && this.deleteComment(node);
      case 'cancel-delete': return node && this.cancelDelete(node);
      case 'save-edit': return node && this.saveEdit(node);
      case 'cancel-edit': return node && this.cancelEdit(node);
      case 'expand': {
        const open = target.getAttribute('aria-expanded') !== 'true';
        const folded = open ? [...li.querySelectorAll(':scope > .tl-replies .tl-box')]
          .filter((box) => box.offsetParent === null) : [];
        target.setAttribute('aria-expanded', open ? 'true' : 'false');
        this.updateCollapse(li);
        // Go on at the first reply it unfolded: the button itself is pushed down, out of sight of the focus.
        if (folded[0]) folded[0].focus();
        return undefined;
      }
      case 'more': return this.loadMore();
      case 'resort': return this.applyResort();
      case 'bubble': return this.jumpToNewest();
      default: return undefined;
    }
  }

  onKeydown(event) {
    const tab = event.target.closest && event.target.closest('.tl-tab');
    if (tab && ['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) {
      const i = this.tabs.indexOf(tab);
      const n = this.tabs.length;
      const next = { ArrowLeft: (i + n - 1) % n, ArrowRight: (i + 1) % n, Home: 0, End: n - 1 }[event.key];
      event.preventDefault();
      this.tabs[next].focus();
      this.switchSort(this.tabs[next].dataset.sort);
      return;
    }
    if (event.key === 'Escape') {
      if (this.replyTo && this.form.contains(event.target)) this.cancelReply(true);
      const editor = event.target.closest && event.target.closest('.tl-editor');
      if (editor) this.cancelEdit(this.nodes.get(editor.closest('.tl-c').dataset.id));
    }
  }

  async loadMore() {
    if (!this.nextCursor || this.loading) return;
    const first = this.list.children.length;
    this.more.disabled = true;
    await this.load({ cursor: this.nextCursor });
    this.more.disabled = false;
    const next = this.list.children[first];
    if (next) next.querySelector(':scope > .tl-box').focus({ preventScroll: true });
  }

  jumpToNewest() {
    let newest = null;
    for (const node of this.nodes.values()) {
      if (node.c.deleted || this.hiddenInBranch(node.li)) continue;
      if (!newest || micros(node.c.created_at) > micros(newest.c.created_at)) newest = node;
    }
    this.unseen.clear();
    this.renderBadge();
    if (!newest) {
      this.countLabel.scrollIntoView({ behavior: 'smooth', block: 'start' });
      return;
    }
    const box = newest.li.querySelector(':scope > .tl-box');
    box.scrollIntoView({ behavior: 'smooth', block: 'center' });
    box.focus({ preventScroll: true });
    this.flash(newest.li);
  }

  async vote(node, value, button) {
    // aria-disabled, not disabled: disabling the focused button would throw the keyboard user's focus away.
    if (button.getAttribute('aria-disabled') === 'true') return;
    const error = node.li.querySelector(':scope > .tl-box .tl-c-error');
    error.textContent = '';
    button.setAttribute('aria-disabled', 'true');
    try {
      const result = await this.api.vote(node.c.id, value);
      node.myVote = value;
      this.applyCounts({ id: node.c.id, up: result.up, down: result.down, score: result.score,
        reply_count: node.c.reply_count }, result.position);
      this.paint(node);
      this.updateMoved();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.removeAttribute('aria-disabled');
    }
  }

  startReply(node) {
    this.replyTo = node.c.id;
    this.replyTarget.replaceChildren(
      h('span', {}, 'Replying to ', h('strong', { text: node.c.author.name })),
      h('button', { type: 'button', class: 'tl-link', 'data-action': 'cancel-reply', text: 'Cancel reply' }));
    this.replyTarget.hidden = false;
    this.submit.textContent = 'Post Reply';
    const box = node.li.querySelector(':scope > .tl-box');
    box.after(this.form);
    this.form.classList.add('tl-inline');
    this.bodyInput.focus();
  }

  cancelReply(focusBack = false) {
    const id = this.replyTo;
    this.replyTo = null;
    this.replyTarget.hidden = true;
    this.replyTarget.replaceChildren();
    this.submit.textContent = 'Post Comment';
    this.form.classList.remove('tl-inline');
    this.formHome.append(this.form);
    const node = id && this.nodes.get(id);
    if (focusBack && node) node.li.querySelector(':scope > .tl-box .tl-reply').focus();
  }

  async postComment() {
    this.formError.textContent = '';
    const body = this.bodyInput.value;
    const name = this.nameInput.value.trim();
    const email = this.emailInput.value.trim();
    if (!body.trim()) {
      this.formError.textContent = 'Please write a comment first.';
      this.bodyInput.focus();
      return;
    }
    if (!name) {
      this.formError.textContent = 'Please enter your name.';
      this.nameInput.focus();
      return;
    }
    if (email && !this.emailInput.checkValidity()) {
      this.formError.textContent = 'That email address does not look right (or leave it empty).';
      this.emailInput.focus();
      return;
    }
    const payload = { body, author_name: name, format: 'markdown' };
    if (email) payload.author_email = email;
    if (this.replyTo) payload.parent_id = this.replyTo;
    if (this.title && this.count === 0) payload.title = this.title.slice(0, 300);
    for (const hook of this.hooks.payload) hook(payload);
    this.submit.disabled = true;
    try {
      const result = await this.api.post(payload);
      this.guest = { name, email };
      saveGuest(this.guest);
      this.bodyInput.value = '';
      this.formatting.reset();
      const wasReply = Boolean(this.replyTo);
      if (wasReply) this.cancelReply();
      const li = this.livePosted(result.comment, result.position, { mine: true });
      if (li) {
        const box = li.querySelector(':scope > .tl-box');
        this.flash(li);
        if (!this.isVisible(box)) box.scrollIntoView({ block: 'nearest' });
        if (wasReply) box.focus({ preventScroll: true });
      }
      const held = result.comment.status === 'pending';
      this.say(held ? 'Your comment was sent and awaits a moderator.'
        : wasReply ? 'Your reply was posted.' : 'Your comment was posted.');
      this.subscriptions.afterPost(result.comment, email);
      for (const hook of this.hooks.posted) hook(result.comment);
    } catch (err) {
      this.formError.textContent = err.message;
    } finally {
      this.submit.disabled = false;
    }
  }

  startEdit(node) {
    const body = node.li.querySelector(':scope > .tl-box .tl-body');
    if (body.querySelector('.tl-editor')) return;
    const id = `${this.uid}-edit-${node.c.id}`;
    const textarea = h('textarea', { id, rows: 3, maxlength: 10000 });
    textarea.value = editableSource(body, node.c); // formatting.js
    const editor = h('div', { class: 'tl-editor' },
      h('label', { class: 'tl-label', for: id, text: 'Edit your comment' }), textarea,
      h('div', { class: 'tl-editor-actions' },
        h('button', { type: 'button', class: 'tl-btn tl-primary', 'data-action': 'save-edit', text: 'Save' }),
        h('button', { type: 'button', class: 'tl-btn', 'data-action': 'cancel-edit', text: 'Cancel' })));
    body.replaceChildren(editor);
    textarea.focus();
  }

  cancelEdit(node) {
    const body = node.li.querySelector(':scope > .tl-box .tl-body');
    body.replaceChildren();
    this.paint(node);
    node.li.querySelector(':scope > .tl-box .tl-edit')?.focus();
  }

  async saveEdit(node) {
    const box = node.li.querySelector(':scope > .tl-box');
    const textarea = box.querySelector('.tl-editor textarea');
    const error = box.querySelector('.tl-c-error');
    error.textContent = '';
    if (!textarea.value.trim()) {
      error.textContent = 'A comment cannot be empty: delete it instead.';
      return;
    }
    try {
      const result = await this.api.edit(node.c.id, textarea.value);
      box.querySelector('.tl-body').replaceChildren();
      const { replies, ...data } = result.comment;
      node.c = { ...node.c, ...data };
      this.paint(node);
      box.querySelector('.tl-edit')?.focus();
      this.say('Your comment was saved.');
    } catch (err) {
      error.textContent = err.message;
    }
  }

  askDelete(node, button) {
    const box = node.li.querySelector(':scope > .tl-box');
    if (box.querySelector('.tl-confirm')) return;
    const confirm = h('span', { class: 'tl-confirm' }, 'Delete this comment? ',
      h('button', { type: 'button', class: 'tl-link tl-danger', 'data-action': 'confirm-delete', text: 'Yes, delete' }),
      h('button', { type: 'button', class: 'tl-link', 'data-action': 'cancel-delete', text: 'Keep it' }));
    button.after(confirm);
    button.hidden = true;
    confirm.querySelector('button').focus();
  }

  cancelDelete(node) {
    const box = node.li.querySelector(':scope > .tl-box');
    box.querySelector('.tl-confirm')?.remove();
    this.paint(node);
    box.querySelector('.tl-delete')?.focus();
  }

  async deleteComment(node) {
    const box = node.li.querySelector(':scope > .tl-box');
    const error = box.querySelector('.tl-c-error');
    error.textContent = '';
    try {
      const result = await this.api.remove(node.c.id);
      box.querySelector('.tl-confirm')?.remove();
      this.liveChanged(result.comment, result.position); // the live frame follows and changes nothing more
      this.say('Your comment was deleted.');
      this.countLabel.tabIndex = -1;
      if (!node.li.isConnected) this.countLabel.focus();
    } catch (err) {
      error.textContent = err.message;
      box.querySelector('.tl-confirm')?.remove();
      this.paint(node);
    }
  }
}
