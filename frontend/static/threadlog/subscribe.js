// Subscriptions, e-mail sign-in and reply notices for one comment section (docs/notifications.md).
//
// attachSubscriptions(section, host) fills the header's Subscribe control (a choice of what to be told about,
// then an address to confirm: double opt-in), puts "Notify me of replies to my comment" on the form, shows
// personal notices ({type: "notice", kind: "reply"} frames) as a badge on the bell, and scrolls to
// #comment-<id> (the links in e-mails) once the thread is loaded.

const ICON_BELL = 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 '
  + '0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z';
const STYLESHEET = new URL('./subscribe.css', import.meta.url).href;
const CHOICES = [
  ['comments', 'Notify of new follow-up comments', 'an e-mail for each new comment in this discussion'],
  ['replies', 'Notify of new replies to my comments', 'an e-mail when someone replies to a comment of yours'],
];

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key === 'hidden') node.hidden = Boolean(value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function bell() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'tl-icon');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICON_BELL);
  svg.append(path);
  return svg;
}

export function attachSubscriptions(section, host) {
  return new Subscriptions(section, host);
}

export class Subscriptions {
  constructor(section, host) {
    this.section = section;
    this.api = section.api;
    this.notices = [];
    this.account = null; // {email} when signed in by e-mail
    const id = (name) => `${section.uid}-${name}`;
    section.root.prepend(el('link', { rel: 'stylesheet', href: STYLESHEET }));

    // The header: bell (with the badge of unread reply notices) and the Subscribe choice.
    this.badge = el('span', { class: 'tl-bell-badge', hidden: true });
    this.bell = el('button', { type: 'button', class: 'tl-bell', 'aria-label': 'Notifications',
      'aria-expanded': 'false', 'aria-controls': id('sub-panel') }, bell(), this.badge);
    this.choice = el('select', { id: id('sub'), 'aria-describedby': id('sub-note') },
      el('option', { value: '', text: 'Choose…' }),
      CHOICES.map(([value, label]) => el('option', { value, text: label })));
    this.note = el('span', { class: 'tl-note', id: id('sub-note'), role: 'status' });
    host.replaceChildren(this.bell, el('label', { class: 'tl-sub-label', for: id('sub'), text: 'Subscribe' }),
      this.choice, this.note);

    // The panel under the header: the address to confirm, then what happened; or the reply notices.
    this.email = el('input', { id: id('sub-email'), type: 'email', maxlength: 254, autocomplete: 'email',
      required: true, placeholder: 'you@example.com' });
    this.what = el('p', { class: 'tl-sub-what' });
    this.submit = el('button', { type: 'submit', class: 'tl-btn tl-primary', text: 'Subscribe' });
    this.error = el('p', { class: 'tl-error', role: 'alert' });
    this.form = el('form', { class: 'tl-sub-form', novalidate: true },
      this.what,
      el('div', { class: 'tl-sub-row' },
        el('label', { class: 'tl-label', for: id('sub-email'), text: 'Your e-mail' }), this.email,
        this.submit,
        el('button', { type: 'button', class: 'tl-btn', 'data-sub': 'cancel', text: 'Cancel' })),
      this.error,
      el('p', { class: 'tl-sub-fine', text: 'We send one message to confirm; nothing else until you do. '
        + 'Every e-mail has a link to unsubscribe.' }));
    this.done = el('div', { class: 'tl-sub-done', role: 'status', hidden: true });
    this.list = el('ul', { class: 'tl-notices', hidden: true });
    this.accountBox = el('div', { class: 'tl-account', hidden: true });
    this.panel = el('div', { class: 'tl-sub-panel', id: id('sub-panel'), hidden: true },
      this.form, this.done, this.list, this.accountBox);
    host.parentElement.after(this.panel);

    // The comment form: "Notify me of replies to my comment" (it needs an e-mail address).
    const email = section.emailInput;
    this.replies = el('input', { type: 'checkbox', id: id('notify-replies'), disabled: !email.value.trim() });
    this.repliesHint = el('span', { class: 'tl-req', id: id('notify-hint'), text: '(needs an e-mail)' });
    this.replies.setAttribute('aria-describedby', id('notify-hint'));
    const box = el('div', { class: 'tl-notify-box' },
      this.replies, el('label', { for: id('notify-replies'), text: 'Notify me of replies to my comment' }),
      this.repliesHint);
    section.form.querySelector('.tl-fields').after(box);
    email.addEventListener('input', () => this.syncReplies());
    this.syncReplies();

    this.choice.addEventListener('change', () => this.open(this.choice.value));
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    this.panel.addEventListener('click', (e) => {
      const action = e.target.closest('[data-sub]')?.dataset.sub;
      if (action === 'cancel' || action === 'close') this.close(true);
      else if (action === 'sign-in') this.askSignIn();
      else if (action === 'sign-out') this.signOut();
      else if (action === 'my-subscriptions') this.showSubscriptions();
      else if (action === 'end') this.end(e.target.closest('[data-id]'));
    });
    this.panel.addEventListener('submit', (e) => {
      if (!e.target.matches('.tl-email-signin')) return;
      e.preventDefault();
      this.sendSignIn(e.target);
    });
    this.bell.addEventListener('click', () => this.showNotices());
    this.loadAccount();
  }

  syncReplies() {
    const has = Boolean(this.section.emailInput.value.trim());
    this.replies.disabled = !has;
    if (!has) this.replies.checked = false;
    this.repliesHint.hidden = has;
  }

  async loadAccount() {
    try {
      const me = await this.api.request('GET', '/api/session/email');
      if (me && me.signed_in) {
        this.account = { email: me.email };
        if (!this.section.emailInput.value) {
          this.section.emailInput.value = me.email;
          this.syncReplies();
        }
        if (me.name && !this.section.nameInput.value) this.section.nameInput.value = me.name;
      }
    } catch {
      // not signed in, or an older server: the control works without it
    }
  }

  open(notify) {
    if (!notify) return;
    this.notify = notify;
    const [, , what] = CHOICES.find(([value]) => value === notify);
    this.what.textContent = `Get ${what}.`;
    this.email.value = this.email.value || this.section.emailInput.value.trim() || (this.account?.email ?? '');
    this.error.textContent = '';
    this.form.hidden = false;
    this.done.hidden = true;
    this.list.hidden = true;
    this.accountBox.hidden = true;
    this.panel.hidden = false;
    this.email.focus();
  }

  close(focusBack = false) {
    this.panel.hidden = true;
    this.bell.setAttribute('aria-expanded', 'false');
    this.choice.value = '';
    if (focusBack) this.choice.focus();
  }

  async subscribe(email, notify) {
    return this.api.request('POST', `${this.api.thread()}/subscriptions`, { email, notify });
  }

  async send() {
    this.error.textContent = '';
    const email = this.email.value.trim();
    if (!email || !this.email.checkValidity()) {
      this.error.textContent = 'Please enter a valid e-mail address.';
      this.email.focus();
      return;
    }
    this.submit.disabled = true;
    try {
      await this.subscribe(email, this.notify);
      this.form.hidden = true;
      this.done.replaceChildren(
        el('p', {}, el('strong', { text: 'Almost done. ' }),
          `We sent a link to ${email}. Open it to confirm, and the e-mails start.`),
        el('button', { type: 'button', class: 'tl-btn', 'data-sub': 'close', text: 'OK' }));
      this.done.hidden = false;
      this.note.textContent = 'Check your inbox to confirm.';
      this.choice.value = '';
      this.done.querySelector('button').focus();
    } catch (err) {
      this.error.textContent = err.message;
    } finally {
      this.submit.disabled = false;
    }
  }

  /** After a comment was posted: subscribe to replies when the box was ticked. */
  async afterPost(comment, email) {
    if (!this.replies.checked || !email) return;
    try {
      await this.subscribe(email, 'replies');
      this.note.textContent = `Replies will be e-mailed to ${email} once you confirm (check your inbox).`;
      this.section.say(`We sent a link to ${email} to confirm reply notifications.`);
    } catch (err) {
      this.note.textContent = `Reply notifications could not be set up: ${err.message}`;
    }
    this.replies.checked = false;
  }

  /** A personal frame: {type: "notice", kind: "reply", comment_id, thread}. */
  notice(frame) {
    if (frame.kind !== 'reply' || this.notices.some((n) => n.comment_id === frame.comment_id)) return;
    this.notices.unshift(frame);
    this.unread = (this.unread || 0) + 1;
    this.badge.textContent = String(this.unread);
    this.badge.hidden = false;
    this.bell.setAttribute('aria-label', `Notifications: ${this.unread} new ${this.unread === 1 ? 'reply' : 'replies'}`);
    this.section.say('Someone replied to your comment.');
  }

  showNotices() {
    if (!this.panel.hidden && !this.list.hidden) {
      this.close();
      return;
    }
    this.unread = 0;
    this.badge.hidden = true;
    this.bell.setAttribute('aria-label', 'Notifications');
    this.list.replaceChildren(...(this.notices.length ? this.notices.map((n) => {
      const here = n.thread === this.section.key;
      const href = here ? `#comment-${n.comment_id}` : `${this.api.base}/t/${encodeURIComponent(n.thread)}#comment-${n.comment_id}`;
      const a = el('a', { href, text: here ? 'New reply to your comment' : `New reply to your comment in “${n.thread}”` });
      if (here) {
        a.addEventListener('click', (e) => {
          e.preventDefault();
          this.close();
          this.reveal(n.comment_id);
        });
      }
      return el('li', {}, a);
    }) : [el('li', { class: 'tl-sub-fine', text: 'No new replies. Replies to your comments show up here.' })]));
    this.form.hidden = true;
    this.done.hidden = true;
    this.list.hidden = false;
    this.renderAccount();
    this.panel.hidden = false;
    this.bell.setAttribute('aria-expanded', 'true');
  }

  // --- the reader's account: sign in by e-mail, their subscriptions ---------------------------------------

  renderAccount() {
    const box = this.accountBox;
    if (this.account) {
      box.replaceChildren(el('p', {}, 'Signed in as ', el('strong', { text: this.account.email }), '. ',
        el('button', { type: 'button', class: 'tl-link', 'data-sub': 'my-subscriptions', text: 'Your subscriptions' }),
        ' · ',
        el('button', { type: 'button', class: 'tl-link', 'data-sub': 'sign-out', text: 'Sign out' })),
      el('ul', { class: 'tl-my-subs', hidden: true }));
    } else {
      box.replaceChildren(el('p', {}, 'Subscribed on another device, or want your comments everywhere? ',
        el('button', { type: 'button', class: 'tl-link', 'data-sub': 'sign-in', text: 'Sign in by e-mail' })));
    }
    box.hidden = false;
  }

  askSignIn() {
    const id = `${this.section.uid}-signin-email`;
    const input = el('input', { id, type: 'email', required: true, maxlength: 254, autocomplete: 'email',
      placeholder: 'you@example.com' });
    input.value = this.section.emailInput.value.trim();
    const form = el('form', { class: 'tl-email-signin', novalidate: true },
      el('div', { class: 'tl-sub-row' }, el('label', { class: 'tl-label', for: id, text: 'Your e-mail' }), input,
        el('button', { type: 'submit', class: 'tl-btn tl-primary', text: 'Send sign-in link' })),
      el('p', { class: 'tl-error', role: 'alert' }));
    this.accountBox.replaceChildren(form);
    input.focus();
  }

  async sendSignIn(form) {
    const input = form.querySelector('input');
    const error = form.querySelector('.tl-error');
    const email = input.value.trim();
    if (!email || !input.checkValidity()) {
      error.textContent = 'Please enter a valid e-mail address.';
      input.focus();
      return;
    }
    try {
      await this.api.request('POST', '/api/session/email', { email });
      this.accountBox.replaceChildren(el('p', { role: 'status' }, el('strong', { text: 'Check your inbox. ' }),
        `We sent a sign-in link to ${email}; it works once, for 15 minutes.`));
    } catch (err) {
      error.textContent = err.message;
    }
  }

  async signOut() {
    try {
      await this.api.request('DELETE', '/api/session/email');
      this.account = null;
      this.renderAccount();
      this.section.say('You are signed out.');
    } catch (err) {
      this.accountBox.append(el('p', { class: 'tl-error', role: 'alert', text: err.message }));
    }
  }

  async showSubscriptions() {
    const list = this.accountBox.querySelector('.tl-my-subs');
    try {
      const data = await this.api.request('GET', '/api/subscriptions');
      list.replaceChildren(...(data.subscriptions.length ? data.subscriptions.map((sub) => el('li', { 'data-id': sub.id },
        el('span', { text: `${sub.title}: ${sub.notify === 'replies' ? 'replies to you' : 'new comments'}`
          + (sub.status === 'pending' ? ' (waiting for confirmation)' : '') }), ' ',
        el('button', { type: 'button', class: 'tl-link tl-danger', 'data-sub': 'end', text: 'Unsubscribe' })))
        : [el('li', { class: 'tl-sub-fine', text: 'No subscriptions.' })]));
      list.hidden = false;
    } catch (err) {
      list.replaceChildren(el('li', { class: 'tl-error', text: err.message }));
      list.hidden = false;
    }
  }

  async end(item) {
    if (!item) return;
    try {
      await this.api.request('DELETE', `/api/subscriptions/${encodeURIComponent(item.dataset.id)}`);
      item.replaceChildren(el('span', { class: 'tl-sub-fine', text: 'Unsubscribed.' }));
    } catch (err) {
      item.append(el('span', { class: 'tl-error', text: ` ${err.message}` }));
    }
  }

  /** The thread has loaded: follow a #comment-<id> link (from an e-mail) to its comment. */
  loaded() {
    const match = /^#comment-([0-9a-f-]{36})$/.exec(window.location.hash);
    if (match) this.reveal(match[1]);
  }

  reveal(commentId) {
    const node = this.section.nodes.get(commentId);
    if (!node) return false;
    const box = node.li.querySelector(':scope > .tl-box');
    box.scrollIntoView({ block: 'center' });
    box.focus({ preventScroll: true });
    this.section.flash(node.li);
    return true;
  }
}
