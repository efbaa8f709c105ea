// The moderators' page (/moderation): the queue in tabs, each item in context with its author's record, one-key
// actions with undo, updated live (a doorbell on /ws/moderation/ makes the page refetch its tab).
//
// Undo: an action waits UNDO_MS before it is sent (the toast says so); `u` cancels it, and starting another
// action sends the waiting one at once. A ban is sent at once; its undo lifts it.

import { el } from './dom.js';

const UNDO_MS = 4000;
const ACTION_KEYS = { a: 'approve', r: 'reject', s: 'spam' };
const DONE = { approve: 'Approved', reject: 'Rejected', spam: 'Marked as spam', hide: 'Hidden', restore: 'Restored',
  pin: 'Pinned', unpin: 'Unpinned' };

async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (data && data.error && data.error.message) || `The server answered ${response.status}.`;
    throw new Error(message);
  }
  return data;
}

function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

/** A status badge: a spam-marked comment's status is 'rejected', with `spam: true` (staff see it as spam). */
function badgeOf(x) {
  const kind = x.spam ? 'spam' : x.status;
  return el('span', { class: `mq-badge mq-${kind}`, text: kind });
}

function bodyOf(comment) {
  // body_html is sanitised by the server (nh3), as on the reader's page: the only HTML this page injects.
  const div = el('div', { class: 'mq-body' });
  div.innerHTML = comment.body_html || '<p><em>(no text)</em></p>';
  return div;
}

class Queue {
  constructor(root) {
    this.root = root;
    this.tab = 'pending';
    this.thread = root.dataset.thread || '';
    this.items = [];
    this.selected = 0;
    this.cursor = null;
    this.pending = null; // {item, action, timer}
    this.lastUndo = null; // a function that undoes the last action already sent
    this.list = root.querySelector('.mq-list');
    this.empty = root.querySelector('.mq-empty');
    this.more = root.querySelector('.mq-more');
    this.toast = root.querySelector('.mq-toast');
    this.live = root.querySelector('.mq-live');
    this.tabs = [...root.querySelectorAll('.mq-tab')];
    this.seq = 0;
    this.bind();
  }

  bind() {
    for (const tab of this.tabs) tab.addEventListener('click', () => this.switchTab(tab.dataset.tab));
    this.root.querySelector('.mq-filter').addEventListener('submit', (e) => {
      e.preventDefault();
      this.thread = e.target.thread.value.trim();
      this.load();
    });
    this.more.addEventListener('click', () => this.load({ append: true }));
    this.list.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-act]');
      if (!button) return;
      const li = button.closest('.mq-item');
      this.select(this.items.findIndex((it) => it.comment.id === li.dataset.id));
      this.act(button.dataset.act);
    });
    document.querySelector('[data-action="sign-out"]').addEventListener('click', async () => {
      await request('DELETE', '/api/session').catch(() => null);
      window.location.assign('/');
    });
    document.addEventListener('keydown', (e) => this.onKey(e));
    window.addEventListener('pagehide', () => this.flush());
  }

  onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) {
      return;
    }
    const key = e.key.toLowerCase();
    if (key === 'j') this.select(this.selected + 1, true);
    else if (key === 'k') this.select(this.selected - 1, true);
    else if (key === 'u') this.undo();
    else if (key === 'b') this.ban();
    else if (ACTION_KEYS[key]) this.act(ACTION_KEYS[key]);
    else return;
    e.preventDefault();
  }

  switchTab(tab) {
    this.tab = tab;
    for (const t of this.tabs) {
      const on = t.dataset.tab === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
    }
    this.load();
  }

  async load({ append = false, quiet = false } = {}) {
    const seq = (this.seq += 1);
    const q = new URLSearchParams({ tab: this.tab });
    if (this.thread) q.set('thread', this.thread);
    if (append && this.cursor) q.set('cursor', this.cursor);
    let page;
    try {
      page = await request('GET', `/api/moderation/queue?${q}`);
    } catch (err) {
      this.live.textContent = `The queue could not be loaded: ${err.message}`;
      return;
    }
    if (seq !== this.seq) return;
    const keep = this.items[this.selected] && this.items[this.selected].comment.id;
    let items = append ? [...this.items, ...page.items] : page.items;
    if (this.pending) items = items.filter((it) => it.comment.id !== this.pending.item.comment.id);
    this.items = items;
    this.cursor = page.next_cursor;
    this.more.hidden = !this.cursor;
    for (const t of this.tabs) {
      const n = t.querySelector('.mq-n');
      if (n) n.textContent = page.counts[t.dataset.tab] ? `(${page.counts[t.dataset.tab]})` : '';
    }
    const index = keep ? this.items.findIndex((it) => it.comment.id === keep) : -1;
    this.render(index >= 0 ? index : Math.min(this.selected, this.items.length - 1));
    if (!quiet) this.live.textContent = `${this.items.length} in ${this.tab}.`;
  }

  render(selected) {
    this.list.replaceChildren(...this.items.map((item) => this.renderItem(item)));
    this.empty.hidden = this.items.length > 0;
    this.select(Math.max(0, selected));
  }

  renderItem(item) {
    const c = item.comment;
    const why = [];
    if (item.held_reason) why.push(`held: ${item.held_reason}`);
    if (item.reports) {
      const reasons = Object.entries(item.report_reasons).map(([r, n]) => `${r} ×${n}`).join(', ');
      why.push(`${item.reports} report${item.reports === 1 ? '' : 's'} (${reasons})`);
    }
    if (item.decision) why.push(`${item.decision.replace('Comment', '').toLowerCase()}${item.reason ? `: ${item.reason}` : ''}`);
    const rec = item.author.record;
    const record = `${rec.published} published · ${rec.approved} approved · ${rec.rejected} rejected`
      + (rec.hidden ? ` · ${rec.hidden} hidden` : '') + (rec.pending ? ` · ${rec.pending} pending` : '');
    const context = item.parent ? el('blockquote', { class: 'mq-parent' },
      el('p', { class: 'mq-meta', text: `In reply to ${item.parent.author.name}` }), bodyOf(item.parent)) : null;
    const recent = item.author.recent.length ? el('details', { class: 'mq-recent' },
      el('summary', { text: `${item.author.recent.length} other recent comment${item.author.recent.length === 1 ? '' : 's'} by this author` }),
      el('ul', {}, item.author.recent.map((r) => el('li', {},
        badgeOf(r), ' ',
        el('span', { class: 'mq-meta', text: `${r.thread} · ${ago(r.created_at)}` }), bodyOf(r))))) : null;
    const actions = el('div', { class: 'mq-actions' },
      el('button', { type: 'button', class: 'mq-btn mq-approve', 'data-act': 'approve' }, 'Approve ', el('kbd', { text: 'a' })),
      el('button', { type: 'button', class: 'mq-btn', 'data-act': 'reject' }, 'Reject ', el('kbd', { text: 'r' })),
      el('button', { type: 'button', class: 'mq-btn', 'data-act': 'spam' }, 'Spam ', el('kbd', { text: 's' })),
      el('button', { type: 'button', class: 'mq-btn mq-danger', 'data-act': 'ban' }, 'Ban ', el('kbd', { text: 'b' })));
    return el('li', { class: 'mq-item', 'data-id': c.id, tabindex: '-1', 'aria-label': `Comment by ${c.author.name}` },
      el('div', { class: 'mq-head' },
        badgeOf(item),
        el('a', { class: 'mq-thread', href: `/t/${encodeURIComponent(item.thread)}`, text: item.thread }),
        el('span', { class: 'mq-why', text: why.join(' · ') })),
      context,
      el('div', { class: 'mq-comment' },
        el('p', { class: 'mq-author' }, el('strong', { text: c.author.name }), ' ',
          el('span', { class: 'mq-meta', text: ago(c.created_at) })),
        bodyOf(c)),
      el('p', { class: 'mq-record', text: record }),
      recent, actions);
  }

  select(index, scroll = false) {
    const nodes = [...this.list.children];
    if (!nodes.length) {
      this.selected = 0;
      return;
    }
    this.selected = Math.max(0, Math.min(index, nodes.length - 1));
    nodes.forEach((li, i) => li.classList.toggle('mq-selected', i === this.selected));
    const li = nodes[this.selected];
    li.setAttribute('aria-current', 'true');
    nodes.forEach((other) => { if (other !== li) other.removeAttribute('aria-current'); });
    if (scroll) {
      li.scrollIntoView({ block: 'nearest' });
      li.focus({ preventScroll: true });
    }
  }

  current() {
    return this.items[this.selected] || null;
  }

  /** Take the item out of the list now; send the action after UNDO_MS unless undone. */
  act(action) {
    if (action === 'ban') {
      this.ban();
      return;
    }
    const item = this.current();
    if (!item) return;
    this.flush();
    const index = this.selected;
    this.items.splice(index, 1);
    this.render(index);
    const pending = { item, action, index };
    pending.timer = setTimeout(() => this.send(pending), UNDO_MS);
    this.pending = pending;
    this.showToast(`${DONE[action]}: ${item.author.name}. Press u to undo.`);
  }

  flush() {
    if (!this.pending) return;
    clearTimeout(this.pending.timer);
    this.send(this.pending);
  }

  async send(pending) {
    if (this.pending === pending) this.pending = null;
    try {
      await request('POST', `/api/comments/${encodeURIComponent(pending.item.comment.id)}/moderation`,
        { action: pending.action });
      this.lastUndo = null;
      this.showToast(`${DONE[pending.action]}.`, 1500);
    } catch (err) {
      this.showToast(`Could not ${pending.action}: ${err.message}`, 6000);
      this.load({ quiet: true });
    }
  }

  undo() {
    if (this.pending) {
      const { item, index, timer } = this.pending;
      clearTimeout(timer);
      this.pending = null;
      this.items.splice(Math.min(index, this.items.length), 0, item);
      this.render(index);
      this.showToast('Undone.', 1500);
      return;
    }
    if (this.lastUndo) {
      const undo = this.lastUndo;
      this.lastUndo = null;
      undo();
    }
  }

  async ban() {
    const item = this.current();
    if (!item) return;
    this.flush();
    const dialog = el('dialog', { class: 'mq-dialog', 'aria-label': 'Ban the author' });
    const form = el('form', { method: 'dialog' },
      el('h2', { text: `Ban ${item.author.name}` }),
      el('label', {}, el('input', { type: 'radio', name: 'scope', value: 'person', checked: true }), ' this person'),
      el('label', {}, el('input', { type: 'radio', name: 'scope', value: 'ip' }), ' their network (IP)'),
      el('label', { class: 'mq-field' }, 'For ', el('select', { name: 'duration' },
        el('option', { value: '86400', text: '1 day' }), el('option', { value: '604800', text: '7 days' }),
        el('option', { value: '', text: 'until lifted' }))),
      el('label', { class: 'mq-field' }, 'Reason ', el('input', { name: 'reason', maxlength: 500 })),
      el('label', {}, el('input', { type: 'checkbox', name: 'hide' }), ' hide all their comments'),
      el('div', { class: 'mq-actions' },
        el('button', { value: 'ban', class: 'mq-btn mq-danger', text: 'Ban' }),
        el('button', { value: 'cancel', class: 'mq-btn', text: 'Cancel' })));
    dialog.append(form);
    document.body.append(dialog);
    dialog.showModal();
    const answer = await new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue)));
    dialog.remove();
    if (answer !== 'ban') return;
    const payload = { comment_id: item.comment.id, scope: form.scope.value, reason: form.reason.value,
      hide_comments: form.hide.checked };
    if (form.duration.value) payload.duration_seconds = Number(form.duration.value);
    try {
      const { ban } = await request('POST', '/api/bans', payload);
      this.lastUndo = async () => {
        await request('DELETE', `/api/bans/${ban.id}`);
        this.showToast('Ban lifted.', 2000);
      };
      this.showToast(`Banned${ban.until ? ` until ${new Date(ban.until).toLocaleString()}` : ''}. Press u to lift.`, 6000);
      this.load({ quiet: true });
    } catch (err) {
      this.showToast(`Could not ban: ${err.message}`, 6000);
    }
  }

  showToast(text, ms = UNDO_MS) {
    this.toast.textContent = text;
    this.toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toast.hidden = true; }, ms);
  }

  /** The doorbell: refetch the tab (quietly) when anything changes anywhere. */
  watch(attempt = 0) {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${window.location.host}/ws/moderation/`);
    ws.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === 'changed') this.load({ quiet: true });
      if (frame.type === 'ready') attempt = 0;
    };
    ws.onclose = (event) => {
      if (event.code === 4403) return;
      setTimeout(() => this.watch(attempt + 1), Math.min(10_000, 500 * 2 ** attempt));
      this.load({ quiet: true }); // whatever happened meanwhile
    };
  }
}

const root = document.getElementById('queue');
if (root) {
  const queue = new Queue(root);
  window.threadlogQueue = queue;
  queue.load();
  queue.watch();
}
