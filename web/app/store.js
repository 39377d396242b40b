// Client state shared by the views: who is signed in, the chat list, contacts,
// friend requests, and a small event bus views subscribe to while mounted.
// Lists are refreshed from the HTTP API (the source of truth) whenever an
// event says they changed; the open conversation applies events directly.

import { api } from './api.js';

export const store = {
  me: null,
  sessionId: null, // this device's session

  conversations: [],
  contacts: [],
  requests: { incoming: [], outgoing: [] },
  connected: false,
  users: new Map(),
  payments: new Map(), // chat transfers and red packets by id (ChatPayment)
};

const bus = new EventTarget();

export function on(name, fn) {
  const handler = (e) => fn(e.detail);
  bus.addEventListener(name, handler);
  return () => bus.removeEventListener(name, handler);
}

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function rememberUser(user) {
  if (user && user.id) store.users.set(user.id, { ...(store.users.get(user.id) || {}), ...user });
}

export function userById(id) {
  if (store.me && store.me.id === id) return store.me;
  return store.users.get(id) || null;
}

/** Runs `fn` at most once at a time; calls made meanwhile coalesce into one more run. */
function coalesce(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

function activity(c) {
  return c.last_message ? c.last_message.sent_at_ms : c.created_at_ms;
}

export const refreshConversations = coalesce(async () => {
  const list = await api.conversations();
  list.sort((a, b) => activity(b) - activity(a));
  for (const c of list) if (c.peer) rememberUser(c.peer);
  store.conversations = list;
  emit('conversations', list);
});

export const refreshContacts = coalesce(async () => {
  const list = await api.contacts();
  for (const c of list) rememberUser(c.user);
  store.contacts = list;
  emit('contacts', list);
});

export const refreshRequests = coalesce(async () => {
  const r = await api.friendRequests();
  for (const req of [...r.incoming, ...r.outgoing]) {
    rememberUser(req.from);
    rememberUser(req.to);
  }
  store.requests = r;
  emit('requests', r);
});

export function pendingIncoming() {
  return store.requests.incoming.filter((r) => r.status === 'pending').length;
}

export function totalUnread() {
  return store.conversations.reduce((n, c) => n + (c.unread || 0), 0);
}

export function conversationById(id) {
  return store.conversations.find((c) => c.id === id) || null;
}

export function reset() {
  store.me = null;
  store.sessionId = null;
  store.conversations = [];
  store.contacts = [];
  store.requests = { incoming: [], outgoing: [] };
  store.connected = false;
  store.users.clear();
  store.payments.clear();
  paymentLoads.clear();
  tried.clear();
}

// ---------- chat payments (transfers, red packets) ----------

const FINAL = new Set(['accepted', 'declined', 'finished', 'refunded']);

/** How far a payment has come: a snapshot never replaces a later one (events replay after a sync). */
function progress(p) {
  return (FINAL.has(p.status) ? 1e6 : 0) + (p.opened_count || 0);
}

const paymentLoads = new Map();

/** Takes in a payment snapshot (an API answer or a payment.updated event); emits 'payment'. */
export function applyPayment(p) {
  if (!p || !p.id) return null;
  const known = store.payments.get(p.id);
  const incomplete = (x) => (x.opened || []).length < x.opened_count;
  if (known && progress(known) > progress(p)) return known;
  // The same moment, told twice: keep the telling with every share in it.
  if (known && progress(known) === progress(p) && !incomplete(known) && incomplete(p)) return known;
  let next = { ...p, opened: p.opened || [] };
  if (next.opened.length < next.opened_count) {
    // Snapshots sent on each open carry the counts, not always the list: keep
    // what we knew and read the whole packet.
    const have = new Set(next.opened.map((o) => o.user_id));
    const extra = ((known && known.opened) || []).filter((o) => !have.has(o.user_id));
    next = { ...next, opened: [...next.opened, ...extra] };
    if (next.opened.length < next.opened_count) loadPayment(p.id, { force: true }).catch(() => {});
  }
  store.payments.set(p.id, next);
  emit('payment', next);
  return next;
}

/** The payment from the cache, or read from the server (`force`: a fresh read, even if one is on its way). */
export function loadPayment(id, { force = false } = {}) {
  if (!force && store.payments.has(id)) return Promise.resolve(store.payments.get(id));
  if (force || !paymentLoads.has(id)) {
    const p = api
      .payment(id)
      .then((payment) => applyPayment(payment))
      .finally(() => {
        if (paymentLoads.get(id) === p) paymentLoads.delete(id);
      });
    paymentLoads.set(id, p);
  }
  return paymentLoads.get(id);
}

const tried = new Set();

/** Loads users this device has not seen yet (e.g. senders in a group), then emits 'users'. */
export async function ensureUsers(ids) {
  const missing = [...new Set(ids)].filter((id) => id && !userById(id) && !tried.has(id));
  if (!missing.length) return;
  missing.forEach((id) => tried.add(id));
  const found = await Promise.all(
    missing.map((id) =>
      api
        .user(id)
        .then((u) => {
          rememberUser(u);
          return true;
        })
        .catch(() => false),
    ),
  );
  if (found.some(Boolean)) emit('users');
}
