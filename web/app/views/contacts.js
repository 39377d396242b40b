// Contacts, friend requests, adding a friend, creating a group, a contact's card.

import { api } from '../api.js';
import { avatar, clear, h, icon } from '../dom.js';
import { t } from '../i18n.js';
import { on, pendingIncoming, refreshContacts, refreshConversations, refreshRequests, store } from '../store.js';
import { badge, emptyState, formError, row, setBadge, showError, topbar } from '../ui.js';
import { normalizePhone } from './auth.js';

function contactName(c) {
  return c.remark || c.user.display_name;
}

function sortedContacts() {
  return [...store.contacts].sort((a, b) => contactName(a).localeCompare(contactName(b), 'zh-CN'));
}

function tileIcon(name, color) {
  return h('span', { class: 'tile-icon', style: { background: color } }, icon(name));
}

export function contactsView(root) {
  const add = h('a', { class: 'icon-btn', href: '#/contacts/add', testid: 'contacts-add', title: 'add_friend' }, icon('adduser'));
  const reqBadge = badge(pendingIncoming(), 'requests-badge');
  const list = h('div', { class: 'list', testid: 'contact-list' });
  root.append(
    topbar({ title: 'tab_contacts', actions: [add], testid: 'contacts-title' }),
    h(
      'div',
      { class: 'list-scroll' },
      h(
        'div',
        { class: 'group-rows' },
        row({ href: '#/contacts/requests', testid: 'row-new-friends', lead: tileIcon('adduser', '#fa9d3b'), title: h('span', { class: 'row-title', i18n: 'new_friends' }), trailing: reqBadge }),
        row({ href: '#/contacts/add', testid: 'row-add-friend', lead: tileIcon('plus', '#07c160'), title: h('span', { class: 'row-title', i18n: 'add_friend' }) }),
        row({ href: '#/contacts/group', testid: 'row-new-group', lead: tileIcon('group', '#10aeff'), title: h('span', { class: 'row-title', i18n: 'new_group' }) }),
      ),
      list,
    ),
  );
  const render = () => {
    clear(list);
    const contacts = sortedContacts();
    if (!contacts.length) {
      list.appendChild(h('p', { class: 'list-note', i18n: 'no_contacts' }));
      return;
    }
    for (const c of contacts) {
      list.appendChild(
        row({
          href: `#/contacts/user/${c.user.id}`,
          testid: 'contact-row',
          lead: avatar(c.user, 40),
          title: h('span', { class: 'row-title' }, contactName(c)),
        }),
      );
    }
  };
  render();
  refreshContacts().catch(showError);
  refreshRequests().catch(() => {});
  const offs = [on('contacts', render), on('requests', () => setBadge(reqBadge, pendingIncoming()))];
  return () => offs.forEach((off) => off());
}

function statusKey(r, incoming) {
  if (r.status === 'accepted') return 'req_accepted';
  if (r.status === 'declined') return 'req_declined';
  return incoming ? null : 'req_waiting';
}

export function requestsView(root) {
  const body = h('div', { class: 'list-scroll', testid: 'requests' });
  root.append(topbar({ back: '#/contacts', title: 'new_friends' }), body);

  const requestRow = (r, incoming) => {
    const other = incoming ? r.from : r.to;
    const key = statusKey(r, incoming);
    let trailing;
    if (key) {
      trailing = h('span', { class: 'req-status', testid: 'request-status', i18n: key });
    } else {
      const accept = h('button', {
        type: 'button',
        class: 'btn btn-primary btn-small',
        testid: 'request-accept',
        i18n: 'accept',
        onclick: async () => {
          accept.disabled = true;
          try {
            await api.acceptRequest(r.id);
            await Promise.all([refreshRequests(), refreshContacts(), refreshConversations()]);
          } catch (err) {
            accept.disabled = false;
            showError(err);
          }
        },
      });
      const decline = h('button', {
        type: 'button',
        class: 'btn btn-plain btn-small',
        testid: 'request-decline',
        i18n: 'decline',
        onclick: async () => {
          decline.disabled = true;
          try {
            await api.declineRequest(r.id);
            await refreshRequests();
          } catch (err) {
            decline.disabled = false;
            showError(err);
          }
        },
      });
      trailing = h('span', { class: 'req-actions' }, decline, accept);
    }
    return h(
      'div',
      { class: 'row req-row', testid: incoming ? 'incoming-request' : 'outgoing-request', dataset: { id: String(r.id) } },
      avatar(other, 44),
      h('span', { class: 'row-body' }, h('span', { class: 'row-title' }, other.display_name), r.greeting ? h('span', { class: 'row-sub' }, r.greeting) : null),
      trailing,
    );
  };

  const render = () => {
    clear(body);
    const { incoming, outgoing } = store.requests;
    if (!incoming.length && !outgoing.length) {
      body.appendChild(emptyState('no_requests'));
      return;
    }
    if (incoming.length) {
      body.append(h('h2', { class: 'section-title', i18n: 'incoming' }), h('div', { class: 'group-rows' }, incoming.map((r) => requestRow(r, true))));
    }
    if (outgoing.length) {
      body.append(h('h2', { class: 'section-title', i18n: 'outgoing' }), h('div', { class: 'group-rows' }, outgoing.map((r) => requestRow(r, false))));
    }
  };
  render();
  refreshRequests().catch(showError);
  const off = on('requests', render);
  return off;
}

/** Reads what was typed into the search box as the server expects it. */
function searchQuery(raw) {
  const q = raw.trim();
  if (/^[\d\s()-]+$/.test(q)) return normalizePhone(q, store.me ? store.me.region : 'CN');
  return q;
}

export function addFriendView(root) {
  const input = h('input', { type: 'search', class: 'search-input', testid: 'search-input', ph: 'search_ph', autocomplete: 'off' });
  const error = formError();
  const results = h('div', { class: 'results', testid: 'search-results' });
  const form = h(
    'form',
    {
      class: 'search-bar',
      onsubmit: async (e) => {
        e.preventDefault();
        error.set(null);
        const q = searchQuery(input.value);
        if (!q) return;
        try {
          const found = await api.searchUsers(q);
          renderResults(found);
        } catch (err) {
          error.set(err);
        }
      },
    },
    input,
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'search-submit', i18n: 'search' }),
  );
  root.append(topbar({ back: '#/contacts', title: 'add_friend' }), h('div', { class: 'list-scroll' }, form, error.el, results));
  input.focus();

  function renderResults(found) {
    clear(results);
    if (!found.length) {
      results.appendChild(h('p', { class: 'list-note', testid: 'no-user-found', i18n: 'no_user_found' }));
      return;
    }
    for (const u of found) results.appendChild(personCard(u));
  }

  return () => {};
}

/** A person found (by search or by scanning their code): message them, or ask to be friends. */
export function personCard(u) {
  const contact = store.contacts.find((c) => c.user.id === u.id);
  const actions = h('div', { class: 'card-actions' });
  if (contact) {
    actions.append(
      h('p', { class: 'muted', i18n: 'already_friends' }),
      h('a', { class: 'btn btn-primary btn-block', href: `#/chats/${contact.conversation_id}`, testid: 'result-message', i18n: 'send_message' }),
    );
  } else if (!store.me || u.id !== store.me.id) {
    const greeting = h('textarea', { class: 'greeting-input', testid: 'greeting-input', rows: 2, maxlength: 200 });
    greeting.value = t('greeting_default', { name: store.me ? store.me.display_name : '' });
    const err = formError();
    const send = h('button', {
      type: 'button',
      class: 'btn btn-primary btn-block',
      testid: 'send-request',
      i18n: 'send_request',
      onclick: async () => {
        err.set(null);
        send.disabled = true;
        try {
          await api.requestFriend(u.id, greeting.value.trim());
          clear(actions);
          actions.appendChild(h('p', { class: 'success', testid: 'request-sent', i18n: 'request_sent' }));
          refreshRequests().catch(() => {});
        } catch (e) {
          send.disabled = false;
          err.set(e);
        }
      },
    });
    actions.append(h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'greeting' }), greeting), err.el, send);
  }
  return h(
    'div',
    { class: 'card profile-card', testid: 'search-result', dataset: { id: String(u.id) } },
    h(
      'div',
      { class: 'profile-head' },
      avatar(u, 64),
      h(
        'div',
        { class: 'profile-meta' },
        h('div', { class: 'profile-name', testid: 'result-name' }, u.display_name),
        u.qiao_id ? h('div', { class: 'muted', i18n: ['qiao_id_is', { id: u.qiao_id }] }) : null,
        h('div', { class: 'muted', i18n: ['region_is', { region: u.region }] }),
      ),
    ),
    actions,
  );
}

export function newGroupView(root) {
  const name = h('input', { class: 'text-input', testid: 'group-name', ph: 'group_name_ph', maxlength: 64 });
  const error = formError();
  const list = h('div', { class: 'group-rows', testid: 'group-members' });
  const selected = new Set();
  const create = h('button', {
    type: 'button',
    class: 'btn btn-primary btn-block',
    testid: 'group-create',
    i18n: ['create_group', { n: 0 }],
    disabled: true,
    onclick: async () => {
      error.set(null);
      create.disabled = true;
      try {
        const d = await api.createGroup(name.value.trim(), [...selected]);
        await refreshConversations();
        location.hash = `#/chats/${d.conversation.id}`;
      } catch (err) {
        create.disabled = false;
        error.set(err);
      }
    },
  });
  const update = () => {
    create.dataset.i18nArgs = JSON.stringify({ n: selected.size });
    create.textContent = t('create_group', { n: selected.size });
    create.disabled = selected.size === 0;
  };
  const render = () => {
    clear(list);
    const contacts = sortedContacts();
    if (!contacts.length) list.appendChild(h('p', { class: 'list-note', i18n: 'no_contacts' }));
    for (const c of contacts) {
      const box = h('input', {
        type: 'checkbox',
        class: 'check',
        value: String(c.user.id),
        checked: selected.has(c.user.id),
        onchange: () => {
          if (box.checked) selected.add(c.user.id);
          else selected.delete(c.user.id);
          update();
        },
      });
      list.appendChild(h('label', { class: 'row', testid: 'group-member', dataset: { id: String(c.user.id) } }, box, avatar(c.user, 40), h('span', { class: 'row-body' }, h('span', { class: 'row-title' }, contactName(c)))));
    }
  };
  root.append(
    topbar({ back: '#/contacts', title: 'new_group' }),
    h(
      'div',
      { class: 'list-scroll' },
      h('label', { class: 'field field-card' }, h('span', { class: 'field-label', i18n: 'group_name' }), name),
      error.el,
      h('h2', { class: 'section-title', i18n: 'select_members' }),
      list,
      h('div', { class: 'sticky-action' }, create),
    ),
  );
  render();
  refreshContacts().catch(showError);
  return on('contacts', render);
}

export function contactView(root, { id }) {
  const userId = Number(id);
  const body = h('div', { class: 'list-scroll' });
  root.append(topbar({ back: '#/contacts', title: 'contact_info' }), body);
  const render = () => {
    clear(body);
    const c = store.contacts.find((x) => x.user.id === userId);
    if (!c) return;
    body.appendChild(
      h(
        'div',
        { class: 'card profile-card', testid: 'contact-card' },
        h(
          'div',
          { class: 'profile-head' },
          avatar(c.user, 64),
          h(
            'div',
            { class: 'profile-meta' },
            h('div', { class: 'profile-name' }, contactName(c)),
            c.user.qiao_id ? h('div', { class: 'muted', i18n: ['qiao_id_is', { id: c.user.qiao_id }] }) : null,
            h('div', { class: 'muted', i18n: ['region_is', { region: c.user.region }] }),
          ),
        ),
        h('a', { class: 'btn btn-primary btn-block', href: `#/chats/${c.conversation_id}`, testid: 'contact-message', i18n: 'send_message' }),
      ),
    );
  };
  render();
  refreshContacts().catch(showError);
  return on('contacts', render);
}
