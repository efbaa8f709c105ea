// Moderation on the reader's page: a comment's status, a closed thread, the moderators' live frames, and — for
// staff — a small sign-in and the same actions as the moderation queue, inline on each comment.
//
// Hooked into a CommentSection (comments.js) through its `hooks` (paint, frame, payload); the only HTML it injects
// is none: everything is built with createElement/textContent.

import { el } from './dom.js';

const STATUS_LABEL = {
  pending: 'Awaiting moderation',
  rejected: 'Rejected',
  hidden: 'Hidden',
  spam: 'Spam',
};
const SHOWN_AGAIN = new Set(['CommentApproved', 'CommentRestored']);
const TAKEN_AWAY = new Set(['CommentHeld', 'CommentRejected', 'CommentHidden', 'CommentMarkedSpam']);
const THREAD_EVENTS = new Set(['ThreadClosed', 'ThreadReopened', 'ThreadModerationChanged']);
const STAFF_ACTIONS = [
  ['approve', 'Approve', (c) => c.status !== 'published'],
  ['hide', 'Hide', (c) => c.status === 'published' || c.status === 'pending'],
  ['reject', 'Reject', (c) => c.status !== 'rejected' || c.spam],
  ['spam', 'Spam', (c) => !c.spam], // a spam-marked comment reads status 'rejected', and (to staff) spam: true
  ['restore', 'Restore', (c) => ['hidden', 'rejected'].includes(c.status)],
  ['pin', 'Pin', (c) => !c.pinned && c.status === 'published' && !c.parent_id],
  ['unpin', 'Unpin', (c) => c.pinned],
];

export function installModeration(section) {
  const ui = new ModerationUI(section);
  section.moderation = ui;
  return ui;
}

class ModerationUI {
  constructor(section) {
    this.section = section;
    this.staff = false;
    this.user = null;
    this.reloadTimer = null;
    section.hooks.paint.push((node) => this.paint(node));
    section.hooks.frame.push((frame) => this.onFrame(frame));
    section.hooks.payload.push((payload) => {
      if (this.honeypot.value) payload.website = this.honeypot.value;
    });
    this.build();
    this.refreshThread();
    this.refreshSession();
  }

  build() {
    const { root, form } = this.section;
    // The honeypot: invisible to people (and to screen readers), filled by form-filling bots.
    this.honeypot = el('input', { type: 'text', name: 'website', tabindex: '-1', autocomplete: 'off' });
    form.append(el('div', { class: 'tl-hp', 'aria-hidden': 'true' },
      el('label', { text: 'Leave this empty' }), this.honeypot));
    this.closedNote = el('p', { class: 'tl-closed', role: 'status', hidden: true,
      text: 'This discussion is closed to new comments.' });
    this.section.formHome.before(this.closedNote);
    this.signInButton = el('button', { type: 'button', class: 'tl-link tl-signin', text: 'Sign in' });
    this.signedIn = el('span', { class: 'tl-staff-who', hidden: true });
    this.signOutButton = el('button', { type: 'button', class: 'tl-link', hidden: true, text: 'Sign out' });
    this.signInForm = this.buildSignIn();
    this.staffBar = el('div', { class: 'tl-staff-bar' }, this.signedIn, this.signOutButton, this.signInButton,
      this.signInForm);
    root.append(this.staffBar);
    this.signInButton.addEventListener('click', () => {
      this.signInForm.hidden = !this.signInForm.hidden;
      if (!this.signInForm.hidden) this.signInForm.querySelector('input').focus();
    });
    this.signOutButton.addEventListener('click', () => this.signOut());
    root.addEventListener('click', (event) => {
      const button = event.target.closest && event.target.closest('button[data-moderate]');
      if (!button || !root.contains(button)) return;
      const li = button.closest('.tl-c');
      const node = li && this.section.nodes.get(li.dataset.id);
      if (node) this.moderate(node, button.dataset.moderate, button);
    });
  }

  buildSignIn() {
    const uid = `${this.section.uid}-signin`;
    const user = el('input', { id: `${uid}-user`, name: 'username', autocomplete: 'username', required: true });
    const pass = el('input', { id: `${uid}-pass`, name: 'password', type: 'password',
      autocomplete: 'current-password', required: true });
    const error = el('p', { class: 'tl-error', role: 'alert' });
    const form = el('form', { class: 'tl-signin-form', hidden: true, 'aria-label': 'Staff sign-in' },
      el('label', { class: 'tl-label', for: user.id, text: 'Staff login' }), user,
      el('label', { class: 'tl-label', for: pass.id, text: 'Password' }), pass,
      el('button', { type: 'submit', class: 'tl-btn tl-primary', text: 'Sign in' }), error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      try {
        await this.section.api.request('POST', '/api/session', { username: user.value, password: pass.value });
        pass.value = '';
        form.hidden = true;
        await this.refreshSession();
        this.section.load({ reset: true });
      } catch (err) {
        error.textContent = err.message;
      }
    });
    return form;
  }

  async refreshSession() {
    try {
      const { user } = await this.section.api.request('GET', '/api/session');
      this.user = user;
    } catch {
      this.user = null;
    }
    this.staff = Boolean(this.user && this.user.staff);
    this.signInButton.hidden = Boolean(this.user);
    this.signedIn.hidden = !this.user;
    this.signOutButton.hidden = !this.user;
    this.signedIn.textContent = this.user ? `Signed in as ${this.user.name}${this.staff ? ' (moderator)' : ''}` : '';
    this.section.root.classList.toggle('tl-staff', this.staff);
    for (const node of this.section.nodes.values()) this.paint(node);
  }

  async signOut() {
    try {
      await this.section.api.request('DELETE', '/api/session');
    } finally {
      await this.refreshSession();
      this.section.load({ reset: true });
    }
  }

  async refreshThread() {
    try {
      const thread = await this.section.api.request('GET', this.section.api.thread());
      this.setClosed(thread.closed);
    } catch {
      // a thread that does not exist yet is open
    }
  }

  setClosed(closed) {
    this.closedNote.hidden = !closed;
    this.section.form.hidden = Boolean(closed);
  }

  /** A comment's status badge, and the staff's actions. */
  paint(node) {
    const { c, li } = node;
    const box = li.querySelector(':scope > .tl-box');
    if (!box) return;
    let badge = box.querySelector(':scope > .tl-c-head .tl-status');
    if (!badge) {
      badge = el('span', { class: 'tl-status' });
      box.querySelector('.tl-c-head').append(badge);
    }
    const label = c.pinned ? 'Pinned' : '';
    const shown = c.spam ? 'spam' : c.status;
    const status = !c.deleted && STATUS_LABEL[shown] ? STATUS_LABEL[shown] : '';
    badge.textContent = [label, status].filter(Boolean).join(' · ');
    badge.hidden = !badge.textContent;
    li.dataset.status = shown || 'published';
    if (c.status && c.status !== 'published') { // votes and replies go to published comments only
      for (const b of box.querySelectorAll(':scope > .tl-actions .tl-vote, :scope > .tl-actions .tl-reply')) {
        b.hidden = true;
      }
    }
    let tools = box.querySelector(':scope > .tl-mod-tools');
    if (!this.staff || (c.deleted && c.status === 'published')) {
      if (tools) tools.remove();
      return;
    }
    if (!tools) {
      tools = el('div', { class: 'tl-mod-tools', role: 'group', 'aria-label': 'Moderate this comment' });
      box.append(tools);
    }
    tools.replaceChildren(...STAFF_ACTIONS.filter(([, , when]) => when(c)).map(([action, text]) => el('button', {
      type: 'button', class: 'tl-link tl-mod', 'data-moderate': action, text,
    })));
  }

  async moderate(node, action, button) {
    const error = node.li.querySelector(':scope > .tl-box .tl-c-error');
    if (error) error.textContent = '';
    button.disabled = true;
    try {
      const result = await this.section.api.request('POST',
        `/api/comments/${encodeURIComponent(node.c.id)}/moderation`, { action });
      const { replies, ...data } = result.comment;
      node.c = { ...node.c, ...data };
      this.section.paint(node);
      if (action === 'pin' || action === 'unpin') this.reloadSoon();
    } catch (err) {
      if (error) error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  }

  reloadSoon() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.section.load({ reset: true }), 300);
  }

  /** Frames of moderation events (comments.js handles posts, edits, deletions and votes). */
  onFrame(frame) {
    const type = frame.event && frame.event.type;
    const c = frame.comment;
    if (THREAD_EVENTS.has(type) && frame.thread) {
      this.setClosed(frame.thread.closed);
    } else if (type === 'Withheld') {
      if (this.staff) this.reloadSoon(); // a held comment or a report: staff see it after a refetch
    } else if (type === 'CommentPinned' || type === 'CommentUnpinned') {
      this.reloadSoon(); // pinned comments move to the top
    } else if (SHOWN_AGAIN.has(type) && c) {
      if (this.section.nodes.has(c.id)) this.section.liveChanged(c, frame.position);
      else this.section.livePosted(c, frame.position); // as if just posted
    } else if (TAKEN_AWAY.has(type) && c) {
      if (this.staff) this.reloadSoon(); // staff keep seeing it, with its status
      else this.section.liveChanged(c, frame.position); // public: removed, like a deleted comment
    }
  }
}
