// Transfers (转账) and red packets (红包) inside a conversation: the forms
// that send them, the cards in the message list, and the detail dialog where
// a transfer is accepted or declined and a red packet is opened.
//
// Payments live in the store's cache (store.payments), fed by API answers and
// by payment.updated events; every card and open dialog re-renders on the
// store's 'payment' event, so statuses change live.

import { api } from '../api.js';
import { avatar, clear, h, icon, setText } from '../dom.js';
import { currencyDigits } from '../i18n.js';
import { attemptKeys, parseAmountMinor, validPin } from '../money.js';
import { applyPayment, loadPayment, on, store, userById } from '../store.js';
import { dialog, formError } from '../ui.js';

const MAX_NOTE = 100;

/** What a payment looks like to the signed-in user: a status line (i18n key and args) and what they may do. */
export function viewerState(p, meId, direct, nameOf) {
  if (p.kind === 'transfer') {
    switch (p.status) {
      case 'pending':
        if (p.recipient_id === meId) return { key: 'transfer_to_you', canAnswer: true, done: false };
        if (p.sender_id === meId) return { key: 'transfer_waiting', args: { name: nameOf(p.recipient_id) }, done: false };
        return { key: 'transfer_pending', done: false };
      case 'accepted':
        return { key: 'transfer_accepted', done: true };
      case 'declined':
        return { key: 'transfer_declined', done: true };
      default:
        return { key: 'transfer_refunded', done: true };
    }
  }
  const mine = (p.opened || []).find((o) => o.user_id === meId) || null;
  const ownDirect = direct && p.sender_id === meId;
  if (p.status === 'refunded') return { key: 'rp_expired', done: true, mine };
  if (mine) return { key: 'rp_opened', done: true, mine };
  if (p.status === 'finished') return { key: ownDirect ? 'rp_opened_by_peer' : 'rp_all_gone', done: true, mine };
  if (ownDirect) return { key: 'rp_not_opened', done: false, mine };
  return { key: 'rp_tap_to_open', canOpen: true, done: false, mine };
}

// ---------------------------------------------------------------- cards

/**
 * The card a transfer or red packet message shows in the message list.
 * ctx: { me, direct(): bool, nameOf(id) }.
 */
export function paymentCard(m, ctx) {
  const el = h('div', {
    class: `pay-card pay-${m.type === 'transfer' ? 'transfer' : 'red-packet'}`,
    testid: 'payment-card',
    role: 'button',
    tabindex: '0',
    dataset: { paymentId: String(m.payment_id || ''), kind: m.type },
  });
  const open = () => openPaymentDetail(m, ctx);
  el.addEventListener('click', open);
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open();
    }
  });
  renderPaymentCard(el, m, ctx);
  if (m.payment_id && !store.payments.has(m.payment_id)) loadPayment(m.payment_id).catch(() => {});
  return el;
}

export function renderPaymentCard(el, m, ctx) {
  const p = m.payment_id ? store.payments.get(m.payment_id) : null;
  const transfer = m.type === 'transfer';
  const note = (p ? p.note : m.text) || '';
  clear(el);
  let title;
  if (transfer) {
    title = p
      ? h('div', { class: 'pay-card-title', testid: 'payment-amount', i18n: ['money', { minor: p.total_minor, currency: p.currency }] })
      : h('div', { class: 'pay-card-title' }, '…');
  } else {
    title = note
      ? h('div', { class: 'pay-card-title', testid: 'payment-note' }, note)
      : h('div', { class: 'pay-card-title', testid: 'payment-note', i18n: 'red_packet_greeting' });
  }
  const status = h('div', { class: 'pay-card-status', testid: 'payment-status' });
  let state = null;
  if (p) {
    state = viewerState(p, ctx.me.id, ctx.direct(), ctx.nameOf);
    setText(status, state.key, state.args);
  } else {
    setText(status, 'loading');
  }
  el.classList.toggle('pay-done', !!(state && state.done));
  el.dataset.status = p ? p.status : '';
  el.append(
    h(
      'div',
      { class: 'pay-card-main' },
      icon(transfer ? 'transfer' : 'redpacket', 'icon pay-card-icon'),
      h(
        'div',
        { class: 'pay-card-text' },
        title,
        transfer && note ? h('div', { class: 'pay-card-note', testid: 'payment-note' }, note) : null,
        status,
      ),
    ),
    h('div', { class: 'pay-card-foot', i18n: transfer ? 'brand_transfer' : 'brand_red_packet' }),
  );
}

// ---------------------------------------------------------------- detail

/** The detail dialog of a transfer (accept / decline) or a red packet (open, who got how much). */
export function openPaymentDetail(m, ctx) {
  const id = m.payment_id;
  if (!id) return null;
  const transfer = m.type === 'transfer';
  const error = formError();
  const body = h('div', { class: 'pay-detail-body' });
  let busy = false;
  let off = () => {};

  const render = () => {
    const p = store.payments.get(id);
    clear(body);
    if (!p) {
      body.appendChild(h('p', { class: 'muted pay-detail-loading', i18n: 'loading' }));
      return;
    }
    const state = viewerState(p, ctx.me.id, ctx.direct(), ctx.nameOf);
    body.dataset.status = p.status;
    if (transfer) renderTransfer(p, state);
    else renderRedPacket(p, state);
  };

  const act = async (run) => {
    if (busy) return;
    busy = true;
    error.set(null);
    for (const b of body.querySelectorAll('button')) b.disabled = true;
    try {
      await run();
    } catch (err) {
      error.set(err);
      // Someone else got there first, or it expired: show how things stand now.
      loadPayment(id, { force: true }).catch(() => {});
    } finally {
      busy = false;
      render();
    }
  };

  function renderTransfer(p, state) {
    const sender = ctx.nameOf(p.sender_id);
    body.append(
      icon('transfer', `icon pay-detail-icon${state.done ? ' done' : ''}`),
      h('div', { class: 'pay-detail-status', testid: 'transfer-detail-status', i18n: [state.key, state.args || {}] }),
      h('div', { class: 'pay-detail-amount', testid: 'detail-amount', i18n: ['money', { minor: p.total_minor, currency: p.currency }] }),
      p.note ? h('div', { class: 'pay-detail-note', testid: 'detail-note' }, p.note) : null,
      h('div', { class: 'pay-detail-from', i18n: ['transfer_from', { name: sender }] }),
    );
    if (state.canAnswer) {
      body.append(
        h('button', {
          type: 'button',
          class: 'btn btn-primary btn-block pay-accept',
          testid: 'transfer-accept',
          i18n: 'accept_transfer',
          onclick: () => act(async () => applyPayment(await api.acceptTransfer(id))),
        }),
        h('p', { class: 'hint pay-detail-hint', i18n: 'transfer_expiry_hint' }),
        h('button', {
          type: 'button',
          class: 'link-btn pay-decline',
          testid: 'transfer-decline',
          i18n: 'decline_transfer',
          onclick: () => act(async () => applyPayment(await api.declineTransfer(id))),
        }),
      );
    }
    body.append(
      h(
        'div',
        { class: 'pay-detail-times' },
        h('div', { i18n: ['sent_at', { ms: p.created_at_ms }] }),
        p.settled_at_ms ? h('div', { testid: 'settled-at', i18n: [settledKey(p.status), { ms: p.settled_at_ms }] }) : null,
      ),
    );
  }

  function renderRedPacket(p, state) {
    const sender = userById(p.sender_id) || { id: p.sender_id, display_name: ctx.nameOf(p.sender_id) };
    const head = h(
      'div',
      { class: 'rp-head' },
      avatar(sender, 44),
      h('div', { class: 'rp-from', testid: 'rp-from', i18n: ['rp_from', { name: ctx.nameOf(p.sender_id) }] }),
      p.note ? h('div', { class: 'rp-note', testid: 'rp-note' }, p.note) : h('div', { class: 'rp-note', testid: 'rp-note', i18n: 'red_packet_greeting' }),
    );
    body.appendChild(head);
    if (state.canOpen) {
      body.append(
        h('button', {
          type: 'button',
          class: 'rp-open-btn',
          testid: 'rp-open',
          i18n: 'open_rp',
          onclick: () =>
            act(async () => {
              const res = await api.openRedPacket(id);
              const got = res.payment;
              let opened = got.opened || [];
              if (!opened.some((o) => o.user_id === ctx.me.id)) {
                opened = [...opened, { user_id: ctx.me.id, amount_minor: res.amount_minor, opened_at_ms: Date.now() }];
              }
              applyPayment({ ...got, opened });
              // The answer to an open may lack other people's shares and the best luck: read it whole.
              await loadPayment(id, { force: true }).catch(() => {});
            }),
        }),
      );
      return;
    }
    if (state.mine) {
      body.append(
        h('div', { class: 'rp-amount', testid: 'rp-my-amount', i18n: ['money', { minor: state.mine.amount_minor, currency: p.currency }] }),
        h('p', { class: 'hint rp-deposited', i18n: 'rp_deposited' }),
      );
    } else {
      body.appendChild(h('div', { class: 'rp-state', testid: 'rp-state', i18n: [state.key, state.args || {}] }));
    }
    if (p.status === 'refunded') body.appendChild(h('p', { class: 'hint rp-refunded', i18n: 'rp_refunded_detail' }));
    const list = h('div', { class: 'rp-list', testid: 'rp-list' });
    for (const o of p.opened || []) {
      const who = userById(o.user_id) || { id: o.user_id, display_name: ctx.nameOf(o.user_id) };
      list.appendChild(
        h(
          'div',
          { class: 'rp-share', testid: 'rp-share', dataset: { user: String(o.user_id) } },
          avatar(who, 36),
          h(
            'div',
            { class: 'rp-share-who' },
            h('div', { class: 'rp-share-name', testid: 'rp-share-name' }, ctx.nameOf(o.user_id)),
            h('div', { class: 'rp-share-time', i18n: ['msg_time', { ms: o.opened_at_ms }] }),
          ),
          h(
            'div',
            { class: 'rp-share-right' },
            h('div', { class: 'rp-share-amount', testid: 'rp-share-amount', i18n: ['money', { minor: o.amount_minor, currency: p.currency }] }),
            p.best_luck_user_id === o.user_id ? h('div', { class: 'rp-best-luck', testid: 'rp-best-luck', i18n: 'best_luck' }) : null,
          ),
        ),
      );
    }
    body.append(
      h('div', {
        class: 'rp-summary',
        testid: 'rp-summary',
        i18n: ['rp_summary', { opened: p.opened_count, shares: p.shares, openedMinor: p.opened_minor, totalMinor: p.total_minor, currency: p.currency }],
      }),
      list,
    );
  }

  const close = dialog(
    () => {
      render();
      return [body, error.el];
    },
    {
      testid: 'payment-detail',
      className: `pay-detail ${transfer ? 'pay-detail-transfer' : 'pay-detail-red-packet'}`,
      onClose: () => off(),
    },
  );
  off = on('payment', (p) => {
    if (p.id === id && !busy) render();
  });
  loadPayment(id, { force: true }).catch((err) => error.set(err));
  return close;
}

function settledKey(status) {
  if (status === 'accepted') return 'accepted_at';
  if (status === 'finished') return 'finished_at';
  return 'returned_at';
}

// ---------------------------------------------------------------- sending

/**
 * The form that sends a transfer or a red packet.
 * conv: the conversation ({id, kind, member_count}); peerName for a direct
 * transfer; recipients ([{id, name}]) to pick from for a group transfer.
 */
export function openSendPayment({ kind, conv, peerName, recipients = [], onSent }) {
  const transfer = kind === 'transfer';
  const group = conv.kind === 'group';
  // In a group a transfer goes to the member the sender picks (转账给群成员).
  const toSelect = transfer && group
    ? h(
        'select',
        { class: 'text-input', testid: 'pay-to' },
        h('option', { value: '', i18n: 'pay_to_choose' }),
        ...recipients.map((r) => h('option', { value: String(r.id) }, r.name)),
      )
    : null;
  const toField = toSelect ? h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'pay_to' }), toSelect) : null;
  const keys = attemptKeys();
  let wallet = null;
  const error = formError();

  const amountInput = h('input', { class: 'text-input', testid: 'pay-amount', ph: 'amount_ph', inputmode: 'decimal', autocomplete: 'off' });
  const amountLabel = h('span', { class: 'field-label', testid: 'pay-amount-label', i18n: group && !transfer ? 'amount_total' : 'amount' });
  const countInput = h('input', { class: 'text-input', testid: 'pay-count', inputmode: 'numeric', autocomplete: 'off', value: '', ph: ['count_ph', { n: conv.member_count || 1 }] });
  const noteInput = h('input', { class: 'text-input', testid: 'pay-note', ph: transfer ? 'transfer_note_ph' : 'red_packet_greeting', maxlength: MAX_NOTE, autocomplete: 'off' });
  const pinInput = h('input', { class: 'text-input pin-input', testid: 'pay-pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const radio = (name, value, key, checked) =>
    h('label', { class: 'seg-option' }, h('input', { type: 'radio', name, value, testid: `pay-${name}-${value}`, checked }), h('span', { i18n: key }));
  const splitField = group && !transfer
    ? h(
        'div',
        { class: 'field' },
        h('div', { class: 'seg', role: 'radiogroup', testid: 'pay-split' }, radio('split', 'lucky', 'split_lucky', true), radio('split', 'identical', 'split_identical', false)),
      )
    : null;
  const countField = group && !transfer ? h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'packet_count' }), countInput) : null;
  const sourceField = h(
    'div',
    { class: 'field', testid: 'pay-source', hidden: true },
    h('span', { class: 'field-label', i18n: 'pay_from' }),
    h('div', { class: 'seg', role: 'radiogroup' }, radio('source', 'balance', 'balance', true), radio('source', 'pay_later', 'pay_later', false)),
  );
  const available = h('p', { class: 'hint pay-available', testid: 'pay-available', hidden: true });
  const noPinHint = h('p', { class: 'hint pay-no-pin', testid: 'pay-no-pin-hint', hidden: true });
  const pinNotice = h(
    'div',
    { class: 'pay-pin-notice', testid: 'pay-pin-notice', hidden: true },
    h('span', { i18n: 'pin_needed_first' }),
    h('a', { class: 'btn btn-plain btn-small', href: '#/me/wallet', testid: 'pay-goto-pin', i18n: 'set_payment_pin', onclick: () => close() }),
  );
  const total = h('div', { class: 'pay-total', testid: 'pay-total' });
  const submit = h('button', { type: 'submit', class: `btn btn-block pay-submit${transfer ? ' btn-primary' : ' btn-red'}`, testid: 'pay-submit', i18n: transfer ? 'transfer' : 'put_money_in' });

  const split = () => (splitField ? splitField.querySelector('input[name=split]:checked')?.value || 'lucky' : 'identical');
  const source = () => sourceField.querySelector('input[name=source]:checked')?.value || 'balance';
  const currency = () => (wallet && wallet.balances[0] ? wallet.balances[0].currency : null);
  const count = () => {
    if (!countField) return 1;
    const raw = countInput.value.trim();
    return /^\d{1,4}$/.test(raw) ? Number(raw) : null;
  };

  /** The amount to move in total, in minor units (null while the input is not valid). */
  function totalMinor() {
    const amount = parseAmountMinor(amountInput.value, currencyDigits(currency() || 'CNY'));
    if (amount === null) return null;
    if (transfer || split() === 'lucky') return amount;
    const n = count();
    if (!n) return null;
    const product = BigInt(amount) * BigInt(n);
    return product > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(product);
  }

  function updateTotal() {
    const c = currency();
    const t = totalMinor();
    if (c) setText(total, 'money', { minor: t || 0, currency: c });
    if (splitField) setText(amountLabel, split() === 'lucky' ? 'amount_total' : 'amount_each');
  }

  for (const el of [amountInput, countInput]) el.addEventListener('input', updateTotal);
  if (splitField) splitField.addEventListener('change', updateTotal);

  const ready = api
    .wallet()
    .then((w) => {
      wallet = w;
      const b = w.balances[0];
      if (b) {
        setText(available, 'available_is', { minor: b.available_minor, currency: b.currency });
        available.hidden = false;
      }
      sourceField.hidden = !w.credit_line;
      pinNotice.hidden = !!(w.pin && w.pin.set);
      const limit = w.pin ? w.pin.no_pin_limit_minor : 0;
      if (b && limit > 0) {
        setText(noPinHint, 'pay_no_pin_hint', { minor: limit, currency: b.currency });
        noPinHint.hidden = false;
      }
      updateTotal();
    })
    .catch(() => {});

  const form = h(
    'form',
    {
      class: 'pay-form',
      testid: 'pay-form',
      dataset: { kind },
      onsubmit: async (e) => {
        e.preventDefault();
        error.set(null);
        await ready;
        const amount = parseAmountMinor(amountInput.value, currencyDigits(currency() || 'CNY'));
        if (amount === null) {
          error.setKey('amount_invalid');
          amountInput.focus();
          return;
        }
        const n = count();
        if (countField && (!n || n < 1 || n > (conv.member_count || 1))) {
          error.setKey('count_invalid', { n: conv.member_count || 1 });
          countInput.focus();
          return;
        }
        if (!transfer && split() === 'lucky' && amount < n) {
          error.setKey('lucky_too_small', { currency: currency() || 'CNY' });
          return;
        }
        const sum = totalMinor();
        if (sum === null) {
          error.setKey('amount_invalid');
          return;
        }
        const pin = pinInput.value.trim();
        const limit = wallet && wallet.pin ? wallet.pin.no_pin_limit_minor : 0;
        if (pin ? !validPin(pin) : sum > limit) {
          error.setKey(pin ? 'pin_invalid' : 'pin_required');
          pinInput.focus();
          return;
        }
        const to = toSelect ? Number(toSelect.value) || null : null;
        if (toSelect && !to) {
          error.setKey('recipient_needed');
          toSelect.focus();
          return;
        }
        const note = noteInput.value.trim();
        const req = { amount_minor: amount, note: note || undefined, source: source() === 'balance' ? undefined : source() };
        if (to) req.to_user_id = to;
        if (!transfer) Object.assign(req, { split: split(), count: n });
        // The same key while an attempt with these values may have gone through; a new one otherwise.
        req.idempotency_key = keys.key(JSON.stringify({ kind, ...req }));
        if (pin) req.pin = pin;
        submit.disabled = true;
        form.classList.add('busy');
        try {
          const p = transfer ? await api.sendTransfer(conv.id, req) : await api.sendRedPacket(conv.id, req);
          keys.settled(null);
          applyPayment(p);
          close();
          if (onSent) onSent(p);
        } catch (err) {
          keys.settled(err);
          error.set(err);
          if (['wrong_pin', 'pin_required', 'invalid_pin'].includes(err.code)) {
            pinInput.value = '';
            pinInput.focus();
          }
        } finally {
          submit.disabled = false;
          form.classList.remove('busy');
        }
      },
    },
    h('h2', { class: 'pay-form-title', testid: 'pay-form-title', i18n: transfer && !group ? ['transfer_to', { name: peerName || '' }] : transfer ? 'transfer' : 'send_red_packet' }),
    toField,
    splitField,
    countField,
    h('label', { class: 'field' }, amountLabel, amountInput),
    available,
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: transfer ? 'transfer_note' : 'red_packet_note' }), noteInput),
    sourceField,
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'payment_pin' }), pinInput),
    noPinHint,
    pinNotice,
    total,
    error.el,
    submit,
  );
  // A message about values since changed is stale.
  form.addEventListener('input', () => error.set(null));
  if (countField) countInput.value = String(Math.min(2, conv.member_count || 1));
  updateTotal();

  const close = dialog(() => form, { testid: 'pay-dialog', className: `pay-dialog ${transfer ? 'pay-dialog-transfer' : 'pay-dialog-red-packet'}` });
  amountInput.focus();
  return close;
}
