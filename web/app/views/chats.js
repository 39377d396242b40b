// The chat list: every conversation, newest activity first, with the last
// message and the unread count.

import { avatar, clear, groupAvatar, h, icon } from '../dom.js';
import { emit, ensureUsers, on, refreshConversations, store, userById } from '../store.js';
import { actionSheet, badge, emptyState, setTitle, showError, topbar } from '../ui.js';

/** A one-line preview of a message, as [i18n key, args] or plain text. */
export function previewOf(conv, m) {
  if (!m) return { plain: '' };
  const mine = store.me && m.sender_id === store.me.id;
  const sender = userById(m.sender_id);
  const senderName = sender ? sender.display_name : '';
  if (m.recalled) {
    return mine ? { key: 'you_recalled' } : { key: 'x_recalled', args: { name: senderName } };
  }
  let body;
  if (m.type === 'image') body = { key: 'preview_image' };
  else if (m.type === 'file') body = { key: 'preview_file', args: { name: m.file_name || '' } };
  else if (m.type === 'transfer') body = { key: 'preview_transfer' };
  else if (m.type === 'red_packet') body = { key: 'preview_red_packet', args: { note: (m.text || '').replace(/\s+/g, ' ') } };
  else body = { plain: (m.text || '').replace(/\s+/g, ' ') };
  if (conv.kind === 'group' && !mine && senderName) body.prefix = senderName;
  return body;
}

export function renderPreview(el, conv, m) {
  clear(el);
  const p = previewOf(conv, m);
  if (p.prefix) el.appendChild(h('span', { i18n: ['preview_sender', { name: p.prefix }] }));
  if (p.key) el.appendChild(h('span', { i18n: [p.key, p.args || {}] }));
  else el.appendChild(document.createTextNode(p.plain));
}

function convRow(conv, activeId) {
  const last = conv.last_message;
  const preview = h('span', { class: 'conv-preview', testid: 'conv-preview' });
  renderPreview(preview, conv, last);
  const time = last ? h('span', { class: 'conv-time', i18n: ['list_time', { ms: last.sent_at_ms }] }) : null;
  const lead = h('span', { class: 'avatar-wrap' }, conv.kind === 'group' ? groupAvatar(48) : avatar(conv.peer || { id: conv.id, display_name: conv.name }, 48), badge(conv.unread, 'unread-badge'));
  const title = h('span', { class: 'conv-name', testid: 'conv-name' });
  setTitle(title, conv.kind === 'group' ? ['group_title', { name: conv.name, n: conv.member_count }] : { plain: conv.name });
  return h(
    'a',
    {
      class: `conv-row${conv.id === activeId ? ' active' : ''}`,
      href: `#/chats/${conv.id}`,
      testid: 'conv-row',
      dataset: { id: String(conv.id), unread: String(conv.unread || 0) },
    },
    lead,
    h('span', { class: 'conv-main' }, h('span', { class: 'conv-line' }, title, time), preview),
  );
}

export function chatsView(root, { activeId } = {}) {
  let active = activeId;
  const plus = h(
    'button',
    {
      type: 'button',
      class: 'icon-btn',
      testid: 'chats-plus',
      title: 'more_actions',
      onclick: () =>
        actionSheet([
          { key: 'new_group', testid: 'menu-new-group', run: () => (location.hash = '#/contacts/group') },
          { key: 'add_friend', testid: 'menu-add-friend', run: () => (location.hash = '#/contacts/add') },
        ]),
    },
    icon('plus'),
  );
  const bar = topbar({ title: 'tab_chats', actions: [plus], testid: 'chats-title' });
  const status = h('div', { class: 'conn-status', testid: 'conn-status', i18n: 'connecting', hidden: store.connected });
  const list = h('div', { class: 'list', testid: 'chat-list' });
  root.append(bar, status, list);

  const render = () => {
    clear(list);
    if (!store.conversations.length) {
      list.appendChild(emptyState('no_chats', 'no_chats_hint'));
      return;
    }
    for (const conv of store.conversations) list.appendChild(convRow(conv, active));
    // Group previews name the sender: fetch people this device has not met.
    ensureUsers(store.conversations.filter((c) => c.kind === 'group' && c.last_message).map((c) => c.last_message.sender_id));
  };
  render();
  refreshConversations().catch(showError);
  const offs = [
    on('conversations', render),
    on('users', render),
    on('connection', (up) => {
      status.hidden = up;
    }),
    on('active-conversation', (id) => {
      active = id;
      for (const a of list.querySelectorAll('.conv-row')) a.classList.toggle('active', Number(a.dataset.id) === id);
    }),
  ];
  emit('chats-mounted');
  return () => offs.forEach((off) => off());
}
