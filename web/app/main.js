// Entry point: session boot, hash router, the app shell (tab bar, list pane,
// detail pane), and the live event stream feeding the store and the views.

import { api, forgetBlobs, getToken, onUnauthorized, setToken } from './api.js';
import { avatar, clear, h, icon } from './dom.js';
import { applyI18n, lang, onLangChange, t } from './i18n.js';
import { applyPayment, emit, on, pendingIncoming, refreshContacts, refreshConversations, refreshRequests, reset, store, totalUnread } from './store.js';
import { badge, emptyState, setBadge, showError, toast } from './ui.js';
import { signInView, signUpView } from './views/auth.js';
import { verifyView } from './views/verify.js';
import { chatsView } from './views/chats.js';
import { addFriendView, contactsView, contactView, newGroupView, requestsView } from './views/contacts.js';
import { conversationView } from './views/conversation.js';
import { creditView } from './views/credit.js';
import { forgetQr, meView, qrCard } from './views/me.js';
import { walletView } from './views/wallet.js';
import { scanView } from './views/scan.js';
import { payCodeView } from './views/paycode.js';
import { merchantsView, merchantView } from './views/merchant.js';
import { EventSocket, forgetCursor } from './ws.js';

const app = document.getElementById('app');

let socket = null;
let screen = null; // { kind: 'auth' | 'shell', cleanup, … }

// ---------- routing ----------

function parseRoute() {
  const [a = 'chats', b, c] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (a === 'login' || a === 'signup') return { auth: a };
  if (a === 'contacts') {
    if (b === 'requests') return { tab: 'contacts', detail: { kind: 'requests', key: 'requests' } };
    if (b === 'add') return { tab: 'contacts', detail: { kind: 'add', key: 'add' } };
    if (b === 'group') return { tab: 'contacts', detail: { kind: 'group', key: 'group' } };
    if (b === 'user' && c) return { tab: 'contacts', detail: { kind: 'contact', id: c, key: `contact/${c}` } };
    return { tab: 'contacts', detail: null };
  }
  if (a === 'me') {
    if (b === 'wallet' && c === 'credit') return { tab: 'me', detail: { kind: 'credit', key: 'wallet/credit' } };
    if (b === 'wallet') return { tab: 'me', detail: { kind: 'wallet', key: 'wallet' } };
    if (b === 'verify') return { tab: 'me', detail: { kind: 'verify', key: 'verify' } };
    if (b === 'scan') return { tab: 'me', detail: { kind: 'scan', key: 'scan' } };
    if (b === 'paycode') return { tab: 'me', detail: { kind: 'paycode', key: 'paycode' } };
    if (b === 'merchants' && c) return { tab: 'me', detail: { kind: 'merchant', id: c, key: `merchants/${c}` } };
    if (b === 'merchants') return { tab: 'me', detail: { kind: 'merchants', key: 'merchants' } };
    return { tab: 'me', detail: null };
  }
  if (a === 'chats' && b) return { tab: 'chats', detail: { kind: 'conversation', id: b, key: `conversation/${b}` } };
  return { tab: 'chats', detail: null };
}

function route() {
  const r = parseRoute();
  const signedIn = !!(getToken() && store.me);
  if (!signedIn) {
    if (!r.auth) {
      location.replace('#/login');
      return;
    }
    showAuth(r.auth);
    return;
  }
  if (r.auth) {
    location.replace('#/chats');
    return;
  }
  showShell(r);
}

function unmount() {
  if (!screen) return;
  if (screen.listCleanup) screen.listCleanup();
  if (screen.detailCleanup) screen.detailCleanup();
  if (screen.cleanup) screen.cleanup();
  screen = null;
  clear(app);
  document.body.classList.remove('has-detail', 'signed-in');
}

// ---------- auth screens ----------

function showAuth(mode) {
  if (screen && screen.kind === 'auth' && screen.mode === mode) return;
  unmount();
  const view = mode === 'signup' ? signUpView : signInView;
  const cleanup = view(app, { onAuthed });
  screen = { kind: 'auth', mode, cleanup };
}

function onAuthed(res) {
  setToken(res.token);
  store.me = res.user;
  store.sessionId = res.session_id;
  startSession();
  // A new account proves its phone or email first (a code was just sent).
  location.hash = res.user.unverified && res.user.unverified.length ? '#/me/verify' : '#/chats';
  route();
}

// ---------- the shell ----------

function buildShell() {
  const chatsBadge = badge(totalUnread(), 'tab-chats-badge');
  const contactsBadge = badge(pendingIncoming(), 'tab-contacts-badge');
  const tab = (name, iconName, label, b) =>
    h('a', { class: 'tab', href: `#/${name}`, testid: `tab-${name}`, dataset: { tab: name } }, h('span', { class: 'tab-icon' }, icon(iconName), b), h('span', { class: 'tab-label', i18n: label }));
  const tabbar = h(
    'nav',
    { class: 'tabbar', testid: 'tabbar' },
    h('a', { class: 'rail-me', href: '#/me', testid: 'rail-me' }, avatar(store.me, 36)),
    tab('chats', 'chats', 'tab_chats', chatsBadge),
    tab('contacts', 'contacts', 'tab_contacts', contactsBadge),
    tab('me', 'me', 'tab_me', null),
  );
  const list = h('section', { class: 'pane pane-list', testid: 'pane-list' });
  const main = h('section', { class: 'pane pane-main', testid: 'pane-main' });
  const shell = h('div', { class: 'shell' }, tabbar, list, main);
  app.appendChild(shell);
  document.body.classList.add('signed-in');
  const offs = [
    on('conversations', () => setBadge(chatsBadge, totalUnread())),
    on('requests', () => setBadge(contactsBadge, pendingIncoming())),
  ];
  return { kind: 'shell', tabbar, list, main, tab: null, detailKey: undefined, cleanup: () => offs.forEach((off) => off()) };
}

function placeholder(tabName) {
  if (tabName === 'me') {
    return h('div', { class: 'placeholder placeholder-me' }, qrCard({ testid: 'qr-card-main', large: true }));
  }
  return h('div', { class: 'placeholder' }, emptyState(tabName === 'chats' ? 'select_chat' : 'app_name'));
}

function showShell(r) {
  if (!screen || screen.kind !== 'shell') {
    unmount();
    screen = buildShell();
  }
  const s = screen;
  if (s.tab !== r.tab) {
    if (s.listCleanup) s.listCleanup();
    clear(s.list);
    s.tab = r.tab;
    for (const a of s.tabbar.querySelectorAll('.tab')) a.classList.toggle('active', a.dataset.tab === r.tab);
    if (r.tab === 'chats') s.listCleanup = chatsView(s.list, { activeId: r.detail ? Number(r.detail.id) : null });
    else if (r.tab === 'contacts') s.listCleanup = contactsView(s.list);
    else s.listCleanup = meView(s.list, { onLogout: logout });
    s.detailKey = undefined;
  }
  const key = r.detail ? r.detail.key : `none/${r.tab}`;
  if (s.detailKey !== key) {
    if (s.detailCleanup) s.detailCleanup();
    s.detailCleanup = null;
    clear(s.main);
    s.detailKey = key;
    document.body.classList.toggle('has-detail', !!r.detail);
    const d = r.detail;
    if (!d) s.main.appendChild(placeholder(r.tab));
    else if (d.kind === 'conversation') s.detailCleanup = conversationView(s.main, { id: d.id });
    else if (d.kind === 'requests') s.detailCleanup = requestsView(s.main);
    else if (d.kind === 'add') s.detailCleanup = addFriendView(s.main);
    else if (d.kind === 'group') s.detailCleanup = newGroupView(s.main);
    else if (d.kind === 'contact') s.detailCleanup = contactView(s.main, { id: d.id });
    else if (d.kind === 'wallet') s.detailCleanup = walletView(s.main);
    else if (d.kind === 'credit') s.detailCleanup = creditView(s.main);
    else if (d.kind === 'verify') s.detailCleanup = verifyView(s.main);
    else if (d.kind === 'scan') s.detailCleanup = scanView(s.main);
    else if (d.kind === 'paycode') s.detailCleanup = payCodeView(s.main);
    else if (d.kind === 'merchants') s.detailCleanup = merchantsView(s.main);
    else if (d.kind === 'merchant') s.detailCleanup = merchantView(s.main, { id: d.id });
  }
}

// ---------- session ----------

let listTimer = null;
function refreshListSoon() {
  clearTimeout(listTimer);
  listTimer = setTimeout(() => refreshConversations().catch(() => {}), 120);
}

// Delivered receipts, coalesced per conversation.
const deliveredQueue = new Map();
let deliveredTimer = null;
function markDelivered(conversationId, seq) {
  if ((deliveredQueue.get(conversationId) || 0) < seq) deliveredQueue.set(conversationId, seq);
  clearTimeout(deliveredTimer);
  deliveredTimer = setTimeout(() => {
    const batch = [...deliveredQueue.entries()];
    deliveredQueue.clear();
    for (const [id, upTo] of batch) api.receipt(id, 'delivered', upTo).catch(() => {});
  }, 150);
}

function onEvent(frame, live) {
  emit('ws-event', { frame, live });
  const d = frame.data || {};
  const me = store.me;
  switch (frame.kind) {
    case 'message.new':
      refreshListSoon();
      if (me && d.sender_id !== me.id) markDelivered(d.conversation_id, d.seq);
      break;
    case 'message.recalled':
    case 'conversation.created':
    case 'conversation.updated':
    case 'member.joined':
    case 'member.left':
    case 'member.removed':
    case 'member.role_changed':
      refreshListSoon();
      break;
    case 'receipt.read':
    case 'receipt.delivered':
      if (me && d.user_id === me.id) refreshListSoon();
      break;
    case 'payment.updated':
      applyPayment(d);
      break;
    case 'merchant_order.updated':
      // A payment to a merchant changed (paid, waiting for this payer, refunded).
      if (live) emit('merchant-order', d);
      if (live && d.status === 'awaiting_confirmation') toast({ key: 'confirm_waiting', args: { name: d.merchant.name } });
      break;
    case 'session.new':
      // Another device signed in to this account: the owner should know.
      if (d.id !== store.sessionId) toast({ key: 'new_sign_in', args: { device: d.device_name } });
      break;
    case 'friend.request':
    case 'friend.declined':
      refreshRequests().catch(() => {});
      break;
    case 'friend.accepted':
    case 'friend.removed':
      refreshRequests().catch(() => {});
      refreshContacts().catch(() => {});
      refreshListSoon();
      break;
    default:
      break;
  }
}

function startSession() {
  if (socket) socket.stop();
  const userId = store.me.id;
  socket = new EventSocket({
    token: getToken,
    userId,
    onEvent,
    onSynced: () => {
      emit('synced');
      refreshListSoon();
      refreshRequests().catch(() => {});
    },
    onStatus: (up) => {
      store.connected = up;
      emit('connection', up);
    },
    onFailure: (failures) => {
      // A socket that keeps failing may mean the session was revoked: ask.
      if (failures === 3) api.me().catch(() => {});
    },
    // The server closed the socket because this session ended.
    onEnded: () => {
      if (store.me) endSession();
    },
  });
  socket.start();
  refreshConversations()
    .then(() => {
      for (const c of store.conversations) if (c.unread > 0) markDelivered(c.id, c.last_seq);
    })
    .catch(showError);
  refreshContacts().catch(() => {});
  refreshRequests().catch(() => {});
}

function endSession() {
  if (socket) socket.stop();
  socket = null;
  if (store.me) forgetCursor(store.me.id);
  setToken(null);
  reset();
  forgetBlobs();
  forgetQr();
  unmount();
  location.hash = '#/login';
  route();
}

async function logout() {
  try {
    await api.logout();
  } catch {
    // signing out locally regardless
  }
  endSession();
}

// ---------- boot ----------

async function boot() {
  document.documentElement.lang = lang();
  document.title = t('app_name');
  onUnauthorized(() => {
    if (store.me) endSession();
  });
  onLangChange((next) => {
    if (store.me && store.me.language !== next) {
      store.me.language = next;
      api.updateMe({ language: next }).catch(() => {});
    }
  });
  window.addEventListener('hashchange', route);
  if (getToken()) {
    app.appendChild(h('div', { class: 'splash', testid: 'splash' }, icon('logo', 'icon splash-logo'), h('p', { i18n: 'loading' })));
    for (;;) {
      try {
        store.me = await api.me();
        // Which session is this one (its own sign-in is no news to it).
        api
          .sessions()
          .then((list) => {
            const current = list.find((x) => x.current);
            if (current) store.sessionId = current.id;
          })
          .catch(() => {});
        break;
      } catch (err) {
        if (err.status === 401 || !getToken()) {
          setToken(null);
          break;
        }
        showError(err);
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    clear(app);
    if (store.me) startSession();
  }
  route();
  applyI18n(document);
}

boot();
