// The live event stream: one WebSocket, resumed from the last stream
// position seen (kept in localStorage per user), reconnecting with backoff.
//
// Protocol (server side in crates/server/src/ws.rs): connect with
// ?token=…&since=POS; the server replays every event after POS, sends
// {"type":"synced"}, then streams live events. Close code 4008 means the
// client fell behind and should simply reconnect with its cursor.

import { lang } from './i18n.js';

const CLOSE_TOO_SLOW = 4008;
// The session ended (signed out elsewhere, revoked, idle): sign in again.
const CLOSE_SESSION_ENDED = 4001;
const PING_MS = 25000;
const MAX_BACKOFF_MS = 30000;

function cursorKey(userId) {
  return `qiao.cursor.${userId}`;
}

export function loadCursor(userId) {
  try {
    const v = Number(localStorage.getItem(cursorKey(userId)));
    return Number.isFinite(v) && v > 0 ? v : 0;
  } catch {
    return 0;
  }
}

function saveCursor(userId, pos) {
  try {
    localStorage.setItem(cursorKey(userId), String(pos));
  } catch {
    // memory only
  }
}

export function forgetCursor(userId) {
  try {
    localStorage.removeItem(cursorKey(userId));
  } catch {
    // nothing stored
  }
}

export class EventSocket {
  /**
   * @param {object} opts
   * @param {() => string} opts.token
   * @param {number} opts.userId
   * @param {(event: object, live: boolean) => void} opts.onEvent  live=false while replaying
   * @param {(pos: number) => void} opts.onSynced
   * @param {(connected: boolean) => void} opts.onStatus
   * @param {(failures: number) => void} [opts.onFailure]
   */
  constructor(opts) {
    this.opts = opts;
    this.cursor = loadCursor(opts.userId);
    this.ws = null;
    this.stopped = false;
    this.failures = 0;
    this.synced = false;
    this.pingTimer = null;
    this.retryTimer = null;
    this.onVisible = () => {
      if (document.visibilityState === 'visible' && !this.ws && !this.stopped) this.connectNow();
    };
    this.onOnline = () => {
      if (!this.ws && !this.stopped) this.connectNow();
    };
  }

  start() {
    this.stopped = false;
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close(1000, 'bye');
    }
  }

  get connected() {
    return !!this.ws && this.synced;
  }

  connectNow() {
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    if (this.stopped || this.ws) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ token: this.opts.token(), since: String(this.cursor), lang: lang() });
    const ws = new WebSocket(`${proto}//${location.host}/api/ws?${q}`);
    this.ws = ws;
    this.synced = false;
    ws.onmessage = (msg) => this.handle(msg.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.synced = false;
      clearInterval(this.pingTimer);
      this.opts.onStatus(false);
      if (this.stopped) return;
      if (ev.code === CLOSE_TOO_SLOW) {
        this.failures = 0;
        this.connect();
        return;
      }
      if (ev.code === CLOSE_SESSION_ENDED) {
        this.stopped = true;
        if (this.opts.onEnded) this.opts.onEnded();
        return;
      }
      this.failures += 1;
      if (this.opts.onFailure) this.opts.onFailure(this.failures);
      const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.failures - 1, 6));
      const delay = base / 2 + Math.random() * (base / 2);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
  }

  handle(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame.type) {
      case 'event':
        if (frame.pos > this.cursor) {
          this.cursor = frame.pos;
          saveCursor(this.opts.userId, frame.pos);
        }
        this.opts.onEvent(frame, this.synced);
        break;
      case 'synced':
        if (frame.pos > this.cursor) {
          this.cursor = frame.pos;
          saveCursor(this.opts.userId, frame.pos);
        }
        this.synced = true;
        this.failures = 0;
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_MS);
        this.opts.onStatus(true);
        this.opts.onSynced(frame.pos);
        break;
      default:
        // pong, ack, error: nothing to do (sends go over HTTP)
        break;
    }
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }
}
