// HTTP API (JSON, docs/api.md) and the live feed (WebSocket /ws/threads/{key}/?after=P) of one thread.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function idempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Api {
  /** base: the server's origin ('' for the page's own origin); key: the thread. */
  constructor(base, key) {
    this.base = (base || '').replace(/\/$/, '');
    this.key = key;
  }

  async request(method, path, body, { idempotent = false } = {}) {
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'include', mode: 'cors' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (idempotent) headers['Idempotency-Key'] = idempotencyKey();
    let response;
    try {
      response = await fetch(this.base + path, init);
    } catch {
      throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || `http_${response.status}`,
        error.message || `The server answered ${response.status}.`);
    }
    return data;
  }

  thread() {
    return `/api/threads/${encodeURIComponent(this.key)}`;
  }

  comments({ sort, cursor = null, limit = 20 }) {
    const q = new URLSearchParams({ sort, limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    return this.request('GET', `${this.thread()}/comments?${q}`);
  }

  post(payload) {
    return this.request('POST', `${this.thread()}/comments`, payload, { idempotent: true });
  }

  vote(id, value) {
    return this.request('POST', `/api/comments/${encodeURIComponent(id)}/vote`, { value });
  }

  edit(id, body) {
    return this.request('PATCH', `/api/comments/${encodeURIComponent(id)}`, { body }, { idempotent: true });
  }

  remove(id) {
    return this.request('DELETE', `/api/comments/${encodeURIComponent(id)}`);
  }

  socketUrl() {
    const url = new URL(this.base || window.location.href, window.location.href);
    const scheme = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${url.host}/ws/threads/${encodeURIComponent(this.key)}/`;
  }
}

/**
 * One WebSocket to a thread, reconnecting with backoff. Every (re)connection asks for the events after
 * `after()` (the last position the page applied), so nothing is missed and nothing is refetched.
 * States: connecting → live ⇄ reconnecting.
 */
export class LiveFeed {
  constructor(url, { after, onFrame, onState, onConnect }) {
    this.url = url;
    this.after = after;
    this.onFrame = onFrame;
    this.onState = onState;
    this.onConnect = onConnect || (() => {});
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.timer = null;
    this.pinger = null;
    this.watchdog = null;
    this.onOnline = () => {
      if (!this.ws && !this.stopped) this.connect();
    };
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    this.drop();
  }

  connect() {
    clearTimeout(this.timer);
    this.drop();
    this.onState(this.attempt ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(`${this.url}?after=${this.after()}`);
    this.ws = ws;
    this.onConnect();
    ws.onopen = () => {
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.ping(), 25_000);
    };
    ws.onmessage = (message) => {
      if (this.ws !== ws) return;
      clearTimeout(this.watchdog);
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.type === 'ready' || frame.type === 'reset') { // either ends the catch-up
        this.attempt = 0;
        this.onState('live');
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (event.code === 4400) { // the server refused this request as such: retrying cannot help
        this.stop();
        this.onState('offline');
        return;
      }
      this.retry();
    };
  }

  /** Forget the current socket (a late close event of it is ignored). */
  drop() {
    clearInterval(this.pinger);
    clearTimeout(this.watchdog);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= 1) ws.close();
  }

  retry() {
    clearInterval(this.pinger);
    if (this.stopped) return;
    this.onState('reconnecting');
    const delay = Math.min(5_000, 400 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  ping() {
    if (!this.send({ type: 'ping' })) return;
    clearTimeout(this.watchdog);
    // A half-open connection answers nothing: give up on it and resume on a new one.
    this.watchdog = setTimeout(() => {
      this.drop();
      this.retry();
    }, 10_000);
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  resume(after) {
    return this.send({ type: 'resume', after });
  }
}
