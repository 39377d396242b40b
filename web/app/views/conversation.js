// One conversation: history, live messages, sending text and images, quoted
// replies, recall, delivered/read receipts, transfers and red packets.

import { api, blobUrl, newClientMsgId, primeBlob } from '../api.js';
import { avatar, clear, h, icon, setText } from '../dom.js';
import { t } from '../i18n.js';
import { emit, ensureUsers, on, refreshConversations, rememberUser, store, userById } from '../store.js';
import { actionSheet, emptyState, setTitle, showError, toast, topbar } from '../ui.js';
import { openSendPayment, paymentCard, renderPaymentCard } from './payments.js';

const PAGE = 50;
const RECALL_MS = 2 * 60 * 1000;
const TIME_GAP_MS = 5 * 60 * 1000;
const LONG_PRESS_MS = 500;
// Types the server accepts as declared (it checks the bytes); others go as octet-stream files.
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const FILE_TYPES = ['application/pdf', 'text/plain', 'application/zip'];
const PAYMENT_TYPES = ['transfer', 'red_packet'];

export function conversationView(root, { id }) {
  const convId = Number(id);
  const me = store.me;
  let conv = store.conversations.find((c) => c.id === convId) || null;
  const members = new Map();
  const byId = new Map(); // confirmed messages by id
  const pendings = new Map(); // client_msg_id → pending message
  const elements = new Map(); // key → element
  let hasMore = false;
  let loadingMore = false;
  let readSent = 0;
  let replyTo = null;
  let disposed = false;

  // ----- layout -----
  const back = '#/chats';
  const bar = topbar({ back, title: { plain: conv ? conv.name : '' }, testid: 'conversation-title' });
  const titleEl = bar.querySelector('.topbar-title');
  const loadEarlier = h('button', { type: 'button', class: 'load-earlier', testid: 'load-earlier', i18n: 'load_earlier', hidden: true, onclick: () => loadMore() });
  const itemsEl = h('div', { class: 'msg-items' });
  const scroller = h('div', { class: 'messages', testid: 'message-list' }, loadEarlier, itemsEl);

  const input = h('textarea', { class: 'composer-input', testid: 'composer-input', rows: 1, ph: 'message_ph', maxlength: 4000, enterkeyhint: 'send' });
  const sendBtn = h('button', { type: 'button', class: 'btn btn-primary btn-send', testid: 'send-button', i18n: 'send', disabled: true, onclick: () => sendText() });
  const imageInput = h('input', { type: 'file', accept: IMAGE_TYPES.join(','), multiple: true, testid: 'image-input', hidden: true, onchange: () => pickFiles(imageInput) });
  const fileInput = h('input', { type: 'file', testid: 'file-input', hidden: true, onchange: () => pickFiles(fileInput) });
  const attachPanel = h(
    'div',
    { class: 'attach-panel', testid: 'attach-panel', hidden: true },
    h('button', { type: 'button', class: 'attach-tile', testid: 'attach-photo', onclick: () => imageInput.click() }, icon('image', 'icon attach-icon'), h('span', { i18n: 'photo' })),
    h('button', { type: 'button', class: 'attach-tile', testid: 'attach-file', onclick: () => fileInput.click() }, icon('file', 'icon attach-icon'), h('span', { i18n: 'file' })),
    h('button', { type: 'button', class: 'attach-tile', testid: 'attach-red-packet', onclick: () => sendPayment('red_packet') }, icon('redpacket', 'icon attach-icon attach-icon-red'), h('span', { i18n: 'red_packet' })),
    h('button', { type: 'button', class: 'attach-tile', testid: 'attach-transfer', hidden: true, onclick: () => sendPayment('transfer') }, icon('transfer', 'icon attach-icon attach-icon-orange'), h('span', { i18n: 'transfer' })),
  );
  const transferTile = attachPanel.querySelector('[data-testid=attach-transfer]');
  const attachBtn = h('button', { type: 'button', class: 'icon-btn attach-btn', testid: 'attach-button', title: 'attach', onclick: () => (attachPanel.hidden = !attachPanel.hidden) }, icon('plus'));
  const replyText = h('span', { class: 'reply-chip-text', testid: 'reply-chip-text' });
  const replyChip = h(
    'div',
    { class: 'reply-chip', testid: 'reply-chip', hidden: true },
    replyText,
    h('button', { type: 'button', class: 'reply-chip-close', testid: 'reply-cancel', title: 'cancel', onclick: () => setReply(null) }, '×'),
  );
  const composer = h('div', { class: 'composer' }, attachBtn, input, sendBtn, imageInput, fileInput);
  const footer = h('div', { class: 'composer-wrap' }, replyChip, composer, attachPanel);
  const view = h('div', { class: 'conversation', testid: 'conversation', dataset: { id: String(convId) } }, bar, scroller, footer);
  root.appendChild(view);

  input.addEventListener('input', () => {
    sendBtn.disabled = !input.value.trim();
    autosize();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendText();
    }
  });
  input.addEventListener('focus', () => (attachPanel.hidden = true));
  input.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])].filter((f) => /^image\//.test(f.type));
    if (!files.length) return;
    e.preventDefault();
    (async () => {
      for (const f of files) await sendFile(f);
    })();
  });
  scroller.addEventListener('scroll', () => {
    if (scroller.scrollTop < 40 && hasMore) loadMore();
  });

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  }

  // ----- header -----
  function renderTitle() {
    if (!conv) return;
    // A transfer goes to one person: the peer, or a member the sender picks.
    transferTile.hidden = false;
    if (conv.kind === 'group') setTitle(titleEl, ['group_title', { name: conv.name, n: conv.member_count }]);
    else setTitle(titleEl, { plain: conv.name });
  }
  renderTitle();

  // ----- messages -----
  const keyOf = (m) => `${m.sender_id}:${m.client_msg_id}`;
  const isMine = (m) => m.sender_id === me.id;
  const peerId = () => {
    if (!conv || conv.kind !== 'direct') return null;
    if (conv.peer) return conv.peer.id;
    for (const id of members.keys()) if (id !== me.id) return id;
    return null;
  };

  function ordered() {
    const confirmed = [...byId.values()].sort((a, b) => a.seq - b.seq);
    const pending = [...pendings.values()].sort((a, b) => a.sent_at_ms - b.sent_at_ms);
    return [...confirmed, ...pending];
  }

  function nameOf(userId) {
    const m = members.get(userId);
    const u = (m && m.user) || userById(userId);
    return u ? u.display_name : t('unknown_user');
  }

  function quoteEl(replyId) {
    const q = byId.get(replyId);
    const el = h('div', { class: 'quote', testid: 'quote' });
    if (!q) {
      el.appendChild(h('span', { i18n: 'quoted_unknown' }));
    } else if (q.recalled) {
      el.appendChild(h('span', { i18n: 'quoted_recalled' }));
    } else {
      el.appendChild(h('span', { class: 'quote-name' }, `${nameOf(q.sender_id)}: `));
      if (q.type === 'image') el.appendChild(h('span', { i18n: 'preview_image' }));
      else if (q.type === 'file') el.appendChild(h('span', { i18n: ['preview_file', { name: q.file_name || '' }] }));
      else if (q.type === 'transfer') el.appendChild(h('span', { i18n: 'preview_transfer' }));
      else if (q.type === 'red_packet') el.appendChild(h('span', { i18n: ['preview_red_packet', { note: q.text || '' }] }));
      else el.appendChild(document.createTextNode(q.text || ''));
    }
    return el;
  }

  function imageEl(m) {
    const img = h('img', { class: 'msg-image', testid: 'message-image', alt: 'image_alt', loading: 'lazy' });
    const stick = atBottom();
    const show = (url) => {
      img.addEventListener('load', () => stick && scrollToBottom(), { once: true });
      img.src = url;
    };
    if (m.localUrl) show(m.localUrl);
    else if (m.blob) blobUrl(m.blob).then(show, () => img.classList.add('broken'));
    img.addEventListener('click', (e) => {
      e.stopPropagation();
      if (img.src) openViewer(img.src);
    });
    return img;
  }

  function fileEl(m) {
    return h(
      'span',
      { class: 'file-card', testid: 'message-file', onclick: () => m.blob && download(m) },
      h('span', { class: 'file-meta' }, h('span', { class: 'file-name' }, m.file_name || ''), h('span', { class: 'file-size', i18n: ['file_size', { size: m.size }] })),
      icon('file', 'icon file-icon'),
    );
  }

  async function download(m) {
    try {
      const url = await blobUrl(m.blob);
      const a = h('a', { href: url, download: m.file_name || 'file' });
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (err) {
      showError(err);
    }
  }

  function messageEl(m) {
    if (m.recalled) {
      const el = h('div', { class: 'notice', testid: 'recall-notice', dataset: { id: String(m.id || '') } });
      if (isMine(m)) setText(el, 'you_recalled');
      else setText(el, 'x_recalled', { name: nameOf(m.sender_id) });
      el._recalled = true;
      return el;
    }
    const mine = isMine(m);
    let content;
    if (m.type === 'image') content = imageEl(m);
    else if (m.type === 'file') content = fileEl(m);
    else if (PAYMENT_TYPES.includes(m.type)) content = paymentCard(m, paymentCtx);
    else content = h('span', { class: 'msg-text' }, m.text || '');
    const bubble = h('div', { class: `bubble bubble-${PAYMENT_TYPES.includes(m.type) ? 'payment' : m.type}`, testid: 'bubble' }, content);
    attachActions(bubble, m);
    const sender = user(m.sender_id);
    const body = h(
      'div',
      { class: 'msg-body' },
      conv && conv.kind === 'group' && !mine ? h('div', { class: 'msg-sender', testid: 'msg-sender' }, nameOf(m.sender_id)) : null,
      bubble,
      m.reply_to ? quoteEl(m.reply_to) : null,
      mine ? h('div', { class: 'msg-status', testid: 'msg-status', hidden: true }) : null,
    );
    const el = h(
      'div',
      { class: `msg ${mine ? 'mine' : 'theirs'}`, testid: 'message', dataset: { type: m.type, sender: String(m.sender_id) } },
      avatar(sender, 40),
      body,
    );
    el._recalled = false;
    return el;
  }

  const paymentCtx = {
    me,
    direct: () => !!conv && conv.kind === 'direct',
    nameOf: (id) => (id === me.id ? t('you') : nameOf(id)),
  };

  function refreshPaymentCards(paymentId) {
    for (const el of itemsEl.querySelectorAll(`.pay-card[data-payment-id="${paymentId}"]`)) {
      const m = el.closest('.msg')?._msg;
      if (m) renderPaymentCard(el, m, paymentCtx);
    }
  }

  function sendPayment(kind) {
    attachPanel.hidden = true;
    if (!conv) return;
    const peer = peerId();
    openSendPayment({
      kind,
      conv,
      peerName: peer != null ? nameOf(peer) : conv.name,
      recipients: [...members.keys()].filter((id) => id !== me.id).map((id) => ({ id, name: nameOf(id) })),
      onSent: (p) => {
        scrollToBottom();
        // Its message comes over the event stream; if that is down, read it.
        setTimeout(async () => {
          if (disposed || !p.message_id || byId.has(p.message_id)) return;
          try {
            const page = await api.history(convId, { limit: 20 });
            if (!disposed) for (const m of page) if (!byId.has(m.id)) applyMessage(m);
          } catch {
            // the stream will bring it
          }
        }, 2000);
      },
    });
  }

  function user(id) {
    const m = members.get(id);
    return (m && m.user) || userById(id) || { id, display_name: '?' };
  }

  function quoteState(m) {
    if (!m.reply_to) return '';
    const q = byId.get(m.reply_to);
    return q ? (q.recalled ? 'recalled' : 'shown') : 'missing';
  }

  function elementFor(m) {
    const key = keyOf(m);
    let el = elements.get(key);
    const qs = quoteState(m);
    if (!el || el._recalled !== !!m.recalled || el._quote !== qs) {
      el = messageEl(m);
      el._quote = qs;
      elements.set(key, el);
    }
    el._msg = m;
    el.dataset.id = m.id ? String(m.id) : '';
    el.dataset.seq = m.seq ? String(m.seq) : '';
    el.dataset.state = m.state || 'sent';
    return el;
  }

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function layout({ stick } = {}) {
    const wasAtBottom = atBottom();
    const list = ordered();
    const frag = document.createDocumentFragment();
    let prev = 0;
    for (const m of list) {
      if (m.sent_at_ms - prev > TIME_GAP_MS) {
        frag.appendChild(h('div', { class: 'time-sep', i18n: ['msg_time', { ms: m.sent_at_ms }] }));
      }
      prev = m.sent_at_ms;
      frag.appendChild(elementFor(m));
    }
    clear(itemsEl);
    if (!list.length && !hasMore) itemsEl.appendChild(h('div', { class: 'msg-empty' }));
    itemsEl.appendChild(frag);
    loadEarlier.hidden = !hasMore;
    updateStatuses();
    if (stick || wasAtBottom) scrollToBottom();
  }

  function latestOwnConfirmed() {
    let best = null;
    for (const m of byId.values()) if (isMine(m) && !m.recalled && (!best || m.seq > best.seq)) best = m;
    return best;
  }

  function updateStatuses() {
    const latest = latestOwnConfirmed();
    const peer = peerId() != null ? members.get(peerId()) : null;
    for (const el of itemsEl.querySelectorAll('.msg.mine')) {
      const m = el._msg;
      const status = el.querySelector('.msg-status');
      if (!m || !status) continue;
      status.classList.remove('failed', 'read');
      status.onclick = null;
      status.removeAttribute('title');
      delete status.dataset.i18nTitle;
      delete status.dataset.receipt;
      status.dataset.testid = 'msg-status';
      if (m.state === 'sending') {
        setText(status, 'status_sending');
        status.hidden = false;
      } else if (m.state === 'failed') {
        setText(status, 'status_failed');
        status.classList.add('failed');
        status.dataset.i18nTitle = 'retry';
        status.title = t('retry');
        status.onclick = () => m.retry && m.retry();
        status.hidden = false;
      } else if (latest && m.id === latest.id && conv && conv.kind === 'direct') {
        const read = peer && peer.last_read_seq >= m.seq;
        const delivered = peer && Math.max(peer.last_delivered_seq, peer.last_read_seq) >= m.seq;
        setText(status, read ? 'status_read' : delivered ? 'status_delivered' : 'status_sent');
        status.classList.toggle('read', !!read);
        status.dataset.testid = 'receipt-status';
        status.dataset.receipt = read ? 'read' : delivered ? 'delivered' : 'sent';
        status.hidden = false;
      } else {
        status.hidden = true;
      }
    }
  }

  // ----- actions on a message -----
  function attachActions(bubble, m) {
    const open = (e) => {
      e.preventDefault();
      const cur = bubble.closest('.msg')?._msg || m;
      const items = [];
      if (cur.type === 'text' && cur.text) {
        items.push({
          key: 'copy',
          testid: 'action-copy',
          run: () => copyText(cur.text).then(() => toast({ key: 'copied' }), () => {}),
        });
      }
      if (cur.id && !cur.recalled) items.push({ key: 'quote', testid: 'action-quote', run: () => setReply(cur) });
      // Money moved with a transfer or red packet: it is answered or refunded, never recalled.
      if (cur.id && isMine(cur) && !cur.recalled && !cur.payment_id && Date.now() - cur.sent_at_ms < RECALL_MS) {
        items.push({ key: 'recall', testid: 'action-recall', danger: true, run: () => recall(cur) });
      }
      if (items.length) actionSheet(items);
    };
    // Right click on a desktop, long press on a phone (Android fires
    // contextmenu itself; iOS does not, hence the timer).
    let timer = null;
    let openedAt = 0;
    bubble.addEventListener('contextmenu', (e) => {
      clearTimeout(timer);
      if (Date.now() - openedAt < 800) {
        e.preventDefault();
        return;
      }
      open(e);
    });
    bubble.addEventListener('touchstart', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        openedAt = Date.now();
        open({ preventDefault() {} });
      }, LONG_PRESS_MS);
    }, { passive: true });
    for (const ev of ['touchend', 'touchmove', 'touchcancel']) bubble.addEventListener(ev, () => clearTimeout(timer), { passive: true });
  }

  async function recall(m) {
    try {
      const updated = await api.recall(m.id);
      applyMessage(updated);
    } catch (err) {
      showError(err);
    }
  }

  function setReply(m) {
    replyTo = m;
    replyChip.hidden = !m;
    clear(replyText);
    if (m) {
      replyText.appendChild(h('span', { i18n: ['replying_to', { name: nameOf(m.sender_id) }] }));
      const snippet =
        m.type === 'image'
          ? h('span', { i18n: 'preview_image' })
          : m.type === 'file'
            ? h('span', { i18n: ['preview_file', { name: m.file_name || '' }] })
            : m.type === 'transfer'
              ? h('span', { i18n: 'preview_transfer' })
              : m.type === 'red_packet'
                ? h('span', { i18n: ['preview_red_packet', { note: m.text || '' }] })
                : h('span', {}, m.text || '');
      replyText.append(': ', snippet);
      input.focus();
    }
  }

  function openViewer(src) {
    const close = () => viewer.remove();
    const viewer = h('div', { class: 'viewer', testid: 'image-viewer', onclick: close }, h('img', { src, alt: 'image_alt' }));
    document.body.appendChild(viewer);
  }

  // ----- sending -----
  function addPending(p) {
    pendings.set(p.client_msg_id, p);
    layout({ stick: true });
    refreshPreviewSoon();
  }

  async function deliver(p, req) {
    p.state = 'sending';
    p.retry = () => deliver(p, req);
    updateStatuses();
    try {
      const m = await api.sendMessage(convId, req);
      applyMessage(m);
    } catch (err) {
      p.state = 'failed';
      if (!disposed) updateStatuses();
      showError(err);
    }
  }

  function sendText() {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    sendBtn.disabled = true;
    autosize();
    const req = { client_msg_id: newClientMsgId(), type: 'text', text, reply_to: replyTo ? replyTo.id : null };
    setReply(null);
    const p = { ...req, id: null, seq: null, sender_id: me.id, sent_at_ms: Date.now(), recalled: false, state: 'sending' };
    addPending(p);
    deliver(p, req);
    input.focus();
  }

  async function pickFiles(from) {
    attachPanel.hidden = true;
    const files = [...from.files];
    from.value = '';
    for (const file of files) await sendFile(file);
  }

  async function sendFile(file) {
    const isImage = IMAGE_TYPES.includes(file.type);
    const uploadType = isImage || FILE_TYPES.includes(file.type) ? file.type : 'application/octet-stream';
    const localUrl = isImage ? URL.createObjectURL(file) : null;
    const clientId = newClientMsgId();
    const p = {
      client_msg_id: clientId,
      id: null,
      seq: null,
      type: isImage ? 'image' : 'file',
      file_name: file.name,
      size: file.size,
      localUrl,
      sender_id: me.id,
      sent_at_ms: Date.now(),
      recalled: false,
      state: 'sending',
    };
    const attempt = async () => {
      p.state = 'sending';
      p.retry = attempt;
      updateStatuses();
      let up;
      try {
        up = await api.upload(file, uploadType);
      } catch (err) {
        p.state = 'failed';
        if (!disposed) updateStatuses();
        showError(err);
        return;
      }
      if (localUrl) primeBlob(up.hash, localUrl);
      const req = up.kind === 'image'
        ? { client_msg_id: clientId, type: 'image', blob: up.hash }
        : { client_msg_id: clientId, type: 'file', blob: up.hash, file_name: file.name };
      await deliver(p, req);
    };
    addPending(p);
    await attempt();
  }

  // ----- applying server state -----
  function applyMessage(m) {
    if (m.conversation_id !== convId) return;
    const existing = byId.get(m.id);
    if (existing && existing.recalled && !m.recalled) return;
    const pending = isMine(m) ? pendings.get(m.client_msg_id) : null;
    if (pending) {
      pendings.delete(m.client_msg_id);
      if (pending.localUrl) m.localUrl = pending.localUrl;
    }
    byId.set(m.id, m);
    layout({ stick: !existing && (isMine(m) || atBottom()) });
    ensureUsers([m.sender_id]);
  }

  function applyRecall(data) {
    const m = byId.get(data.message_id);
    if (!m) return;
    byId.set(m.id, { ...m, recalled: true, text: null, blob: null });
    layout();
  }

  function visible() {
    return !disposed && document.visibilityState === 'visible' && view.getClientRects().length > 0;
  }

  async function markRead() {
    if (!visible()) return;
    let maxSeq = 0;
    for (const m of byId.values()) if (m.seq > maxSeq) maxSeq = m.seq;
    if (maxSeq <= readSent) return;
    readSent = maxSeq;
    try {
      await api.receipt(convId, 'read', maxSeq);
      refreshConversations().catch(() => {});
    } catch (err) {
      readSent = 0;
      if (err.code !== 'invalid_request') showError(err);
    }
  }

  let previewTimer = null;
  function refreshPreviewSoon() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => refreshConversations().catch(() => {}), 300);
  }

  function applyDetail(d) {
    const kindChanged = !conv || conv.kind !== d.conversation.kind;
    conv = d.conversation;
    members.clear();
    for (const m of d.members) {
      members.set(m.user.id, m);
      rememberUser(m.user);
    }
    renderTitle();
    if (kindChanged) elements.clear();
    layout();
  }

  async function loadDetail() {
    const d = await api.conversation(convId);
    if (!disposed) applyDetail(d);
  }

  function applyHistory(page) {
    for (const m of page) {
      const known = byId.get(m.id);
      if (!known || !known.recalled) byId.set(m.id, m);
    }
    hasMore = page.length === PAGE;
    layout({ stick: true });
    ensureUsers(page.map((m) => m.sender_id));
  }

  async function loadInitial() {
    // Both at once, applied in order: senders' names and receipts need the members.
    const [d, page] = await Promise.all([api.conversation(convId), api.history(convId, { limit: PAGE })]);
    if (disposed) return;
    applyDetail(d);
    applyHistory(page);
    markRead();
  }

  async function loadMore() {
    if (loadingMore || !hasMore) return;
    loadingMore = true;
    const oldest = Math.min(...[...byId.values()].map((m) => m.seq));
    const before = scroller.scrollHeight - scroller.scrollTop;
    try {
      const page = await api.history(convId, { before: oldest, limit: PAGE });
      if (disposed) return;
      for (const m of page) byId.set(m.id, m);
      hasMore = page.length === PAGE;
      layout();
      scroller.scrollTop = scroller.scrollHeight - before;
    } catch (err) {
      showError(err);
    } finally {
      loadingMore = false;
    }
  }

  // ----- events -----
  const offs = [
    on('ws-event', ({ frame }) => {
      if (frame.conversation_id !== convId) return;
      const d = frame.data || {};
      switch (frame.kind) {
        case 'message.new':
          applyMessage(d);
          if (!isMine(d)) markRead();
          break;
        case 'message.recalled':
          applyRecall(d);
          break;
        case 'receipt.read':
        case 'receipt.delivered': {
          const mem = members.get(d.user_id);
          if (mem) {
            if (frame.kind === 'receipt.read') {
              mem.last_read_seq = Math.max(mem.last_read_seq, d.up_to_seq);
              mem.last_delivered_seq = Math.max(mem.last_delivered_seq, d.up_to_seq);
            } else {
              mem.last_delivered_seq = Math.max(mem.last_delivered_seq, d.up_to_seq);
            }
            updateStatuses();
          }
          break;
        }
        case 'conversation.updated':
        case 'member.joined':
        case 'member.left':
        case 'member.removed':
        case 'member.role_changed':
          loadDetail().catch(() => {});
          break;
        default:
          break;
      }
    }),
    on('users', () => {
      // Names and avatars of people met just now: rebuild (images come from the cache).
      elements.clear();
      layout();
    }),
    on('payment', (p) => {
      if (p.conversation_id === convId) refreshPaymentCards(p.id);
    }),
    on('synced', () => markRead()),
  ];
  const onVisibility = () => markRead();
  document.addEventListener('visibilitychange', onVisibility);
  window.addEventListener('focus', onVisibility);
  emit('active-conversation', convId);

  (async () => {
    try {
      await loadInitial();
    } catch (err) {
      if (disposed) return;
      if (err.status === 403 || err.status === 404) {
        clear(itemsEl);
        itemsEl.appendChild(emptyState('select_chat'));
      }
      showError(err);
    }
  })();

  return () => {
    disposed = true;
    clearTimeout(previewTimer);
    offs.forEach((off) => off());
    document.removeEventListener('visibilitychange', onVisibility);
    window.removeEventListener('focus', onVisibility);
    emit('active-conversation', null);
  };
}

/** Clipboard write with a fallback for pages not served over HTTPS. */
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h('textarea', { style: { position: 'fixed', opacity: '0', top: '0' }, readonly: true });
  area.value = text;
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy failed');
}
