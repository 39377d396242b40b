// Statement lines, shared by the wallet and the pay-later screen, and the
// detail of one entry (GET /api/wallet/statement/{id}): when, what for, in or
// out, its status, the account, and the card or chat payment it belongs to.

import { api } from '../api.js';
import { clear, h, icon } from '../dom.js';
import { dialog, formError } from '../ui.js';

export const PURPOSES = ['top_up', 'withdrawal', 'transfer', 'red_packet', 'refund', 'repayment', 'merchant_payment', 'merchant_refund', 'payout', 'conversion'];

const ACCOUNTS = { wallet: 'account_wallet', credit_line: 'pay_later' };

function signedMinor(e) {
  return e.direction === 'out' ? -e.amount_minor : e.amount_minor;
}

function statusKey(status) {
  if (status === 'posted') return 'entry_posted';
  return status === 'voided' ? 'entry_voided' : 'entry_pending';
}

/** The purpose, translated when known (a purpose this client does not know shows as sent). */
export function purposeEl(purpose, attrs) {
  return PURPOSES.includes(purpose) ? h('div', { ...attrs, i18n: `purpose_${purpose}` }) : h('div', attrs, purpose);
}

/** One statement line; `onOpen(entry)` makes it a button that opens its detail. */
export function entryEl(e, { onOpen } = {}) {
  const meta = h(
    'div',
    { class: 'statement-meta' },
    h('span', { i18n: ['msg_time', { ms: e.at_ms }] }),
    e.status !== 'posted' ? h('span', { class: `statement-status statement-${e.status}`, testid: 'statement-status', i18n: statusKey(e.status) }) : null,
    e.account === 'credit_line' ? h('span', { class: 'statement-account', i18n: 'pay_later' }) : null,
  );
  const el = h(
    'div',
    {
      class: `statement-entry${e.status === 'voided' ? ' voided' : ''}${onOpen ? ' tappable' : ''}`,
      testid: 'statement-entry',
      dataset: { id: String(e.id), purpose: e.purpose, direction: e.direction, status: e.status, account: e.account },
    },
    h('div', { class: 'statement-main' }, purposeEl(e.purpose, { class: 'statement-purpose', testid: 'statement-purpose' }), meta),
    h('div', { class: `statement-amount ${e.direction}`, testid: 'statement-amount', i18n: ['money_signed', { minor: signedMinor(e), currency: e.currency }] }),
  );
  if (onOpen) {
    el.setAttribute('role', 'button');
    el.setAttribute('tabindex', '0');
    el.addEventListener('click', () => onOpen(e));
    el.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        onOpen(e);
      }
    });
  }
  return el;
}

/** What a chat payment's status reads as in an entry's detail. */
function paymentStatusKey(p) {
  if (p.kind === 'transfer') {
    return { pending: 'transfer_pending', accepted: 'transfer_accepted', declined: 'transfer_declined' }[p.status] || 'transfer_refunded';
  }
  return { open: 'rp_status_open', finished: 'rp_all_gone' }[p.status] || 'rp_expired';
}

function kv(labelKey, value, testid) {
  return h('div', { class: 'kv entry-row' }, h('span', { class: 'kv-key', i18n: labelKey }), h('span', { class: 'kv-value', testid }, value));
}

/** The dialog with one statement entry's detail; `entry` (the line tapped) shows while the rest loads. */
export function openEntryDetail(entry) {
  const body = h('div', { class: 'entry-detail-body', testid: 'entry-detail-body' });
  const error = formError();

  function render(detail) {
    clear(body);
    const lines = detail ? detail.lines : [entry];
    // The line tapped leads; the others (a repayment from the balance touches two accounts) follow.
    const first = lines.find((l) => l.account === entry.account && l.direction === entry.direction) || lines[0];
    body.dataset.loaded = String(!!detail);
    body.append(
      icon(first.account === 'credit_line' ? 'card' : 'wallet', `icon entry-detail-icon ${first.direction}`),
      purposeEl(first.purpose, { class: 'entry-detail-purpose', testid: 'entry-purpose' }),
      h('div', { class: `entry-detail-amount ${first.direction}`, testid: 'entry-amount', i18n: ['money_signed', { minor: signedMinor(first), currency: first.currency }] }),
    );
    const rows = h('div', { class: 'entry-rows' });
    rows.append(
      kv('entry_status', h('span', { class: `entry-status entry-status-${first.status}`, i18n: statusKey(first.status) }), 'entry-status'),
      kv('entry_time', h('span', { i18n: ['date_time', { ms: first.at_ms }] }), 'entry-time'),
      kv('entry_type', purposeEl(first.purpose, { class: 'entry-type' }), 'entry-type'),
    );
    for (const l of lines) {
      const one = lines.length === 1;
      rows.append(
        h(
          'div',
          { class: 'entry-line', testid: 'entry-line', dataset: { account: l.account, direction: l.direction } },
          kv('entry_account', h('span', { i18n: ACCOUNTS[l.account] || 'account_wallet' }), 'entry-account'),
          kv(
            'entry_direction',
            h(
              'span',
              {},
              h('span', { i18n: l.direction === 'out' ? 'dir_out' : 'dir_in' }),
              one ? null : ' ',
              one ? null : h('span', { class: `entry-line-amount ${l.direction}`, i18n: ['money_signed', { minor: signedMinor(l), currency: l.currency }] }),
            ),
            'entry-direction',
          ),
        ),
      );
    }
    if (detail && detail.card) {
      const c = detail.card;
      rows.append(
        kv(
          'entry_card',
          h('span', {}, h('span', { i18n: ['card_option', { brand: c.brand, last4: c.last4 }] }), ' · ', h('span', { i18n: c.funding === 'credit' ? 'card_credit' : 'card_debit' })),
          'entry-card',
        ),
      );
    }
    rows.append(kv('entry_id', String(first.id), 'entry-id'));
    body.appendChild(rows);

    const p = detail && detail.payment;
    if (p) {
      const chatLink = h('a', {
        class: 'btn btn-plain btn-block entry-open-chat',
        href: `#/chats/${p.conversation_id}`,
        testid: 'entry-open-chat',
        i18n: 'open_chat',
        onclick: () => close(),
      });
      body.appendChild(
        h(
          'div',
          { class: 'entry-payment', testid: 'entry-payment', dataset: { kind: p.kind, status: p.status, paymentId: String(p.id) } },
          h('h3', { class: 'entry-payment-title', i18n: 'entry_payment' }),
          kv('entry_type', h('span', { i18n: p.kind === 'transfer' ? 'transfer' : 'red_packet' }), 'entry-payment-kind'),
          kv('amount', h('span', { i18n: ['money', { minor: p.total_minor, currency: p.currency }] }), 'entry-payment-total'),
          p.note ? kv('entry_note', p.note, 'entry-payment-note') : null,
          kv('entry_payment_status', h('span', { i18n: paymentStatusKey(p) }), 'entry-payment-status'),
          h('p', { class: 'hint entry-chat-hint', i18n: 'entry_chat_hint' }),
          chatLink,
        ),
      );
    }
  }

  const close = dialog(
    () => {
      render(null);
      return [h('h2', { class: 'entry-detail-title', i18n: 'entry_detail' }), body, error.el];
    },
    { testid: 'entry-detail', className: 'entry-detail' },
  );
  api
    .statementEntry(entry.id)
    .then(render)
    .catch((err) => error.set(err));
  return close;
}
