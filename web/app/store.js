// Client state shared by the views: who is signed in, the chat list, contacts,
// friend requests, and a small event bus views subscribe to while mounted.
// Lists are refreshed from the HTTP API (the source of truth) whenever an
// event says they changed; the open conversation applies events directly.

import { api } from './api.js';

export const store = {
  me: null,
  conversations: [],
  contacts: [],
  requests: { incoming: [], outgoing: [] },
  connected: false,
  users: new Map(),
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
  store.conversations = [];
  store.contacts = [];
  store.requests = { incoming: [], outgoing: [] };
  store.connected = false;
  store.users.clear();
  tried.clear();
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
