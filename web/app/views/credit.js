// "Pay later" (#/me/wallet/credit): the credit line (available, owed,
// limit), one calendar month's statement at a time (previous / next month),
// and repaying what is owed from the balance (with the payment PIN) or from a
// debit card.

import { api } from '../api.js';
import { clear, h, icon, setText } from '../dom.js';
import { currencyDigits, minorToDecimal } from '../i18n.js';
import { attemptKeys, parseAmountMinor, validPin } from '../money.js';
import { on } from '../store.js';
import { formError, toast, topbar } from '../ui.js';
import { entryEl, openEntryDetail } from './statement.js';

/** "2026-11" moved by `delta` months: "2026-10", "2027-01", … */
export function shiftMonth(month, delta) {
  const [y, m] = month.split('-').map(Number);
  const i = y * 12 + (m - 1) + delta;
  return `${String(Math.floor(i / 12)).padStart(4, '0')}-${String((i % 12) + 1).padStart(2, '0')}`;
}

export function creditView(root) {
  const body = h('div', { class: 'list-scroll wallet credit', testid: 'credit' });
  const bar = topbar({ back: '#/me/wallet', title: 'pay_later', testid: 'credit-title' });
  // Back to the wallet, also on a desktop (where the list pane replaces the way back from a detail).
  bar.querySelector('.back-btn').classList.add('back-nested');
  root.append(bar, body);

  let wallet = null; // GET /api/wallet
  let cards = [];

  const loadError = formError();
  const noLine = h(
    'div',
    { class: 'card wallet-section', testid: 'credit-none', hidden: true },
    h('p', { class: 'muted', i18n: 'no_credit_line' }),
    h('a', { class: 'btn btn-plain btn-small', href: '#/me/wallet', i18n: 'wallet' }),
  );

  // ----- the line -----
  const availableValue = h('div', { class: 'wallet-balance-value', testid: 'credit-available' }, '—');
  const owedValue = h('span', { class: 'kv-value', testid: 'credit-owed' });
  const limitValue = h('span', { class: 'kv-value', testid: 'credit-limit' });
  const summary = h(
    'div',
    { class: 'card credit-summary', testid: 'credit-summary', hidden: true },
    h('div', { class: 'wallet-balance-label' }, icon('card', 'icon icon-sm'), h('span', { i18n: 'credit_available' })),
    availableValue,
    h('div', { class: 'kv credit-summary-row' }, h('span', { class: 'kv-key', i18n: 'credit_owed' }), owedValue),
    h('div', { class: 'kv credit-summary-row' }, h('span', { class: 'kv-key', i18n: 'credit_limit' }), limitValue),
  );

  // ----- repay -----
  // A declined card charge is remembered under its key: keep the key only while the outcome is unknown.
  const repayKeys = attemptKeys({ renewAfterAnswer: true });
  const repayAmount = h('input', { class: 'text-input', testid: 'repay-amount', ph: 'amount_ph', inputmode: 'decimal', autocomplete: 'off' });
  const repayAll = h('button', {
    type: 'button',
    class: 'btn btn-plain btn-small repay-all',
    testid: 'repay-all',
    i18n: 'repay_all',
    onclick: () => {
      const line = wallet && wallet.credit_line;
      if (!line || !line.owed_minor) return;
      repayAmount.value = minorToDecimal(line.owed_minor, currencyDigits(line.currency));
      repayError.set(null);
    },
  });
  const sourceRadio = (value, key) =>
    h(
      'label',
      { class: 'seg-option' },
      h('input', { type: 'radio', name: 'repay-source', value, testid: `repay-source-${value}`, checked: value === 'balance' }),
      h('span', { i18n: key }),
    );
  const sourceSeg = h('div', { class: 'seg', role: 'radiogroup', testid: 'repay-source' }, sourceRadio('balance', 'balance'), sourceRadio('card', 'repay_source_card'));
  const repayCard = h('select', { class: 'text-input', testid: 'repay-card' });
  const cardField = h('label', { class: 'field', hidden: true }, h('span', { class: 'field-label', i18n: 'repay_card' }), repayCard);
  const repayPin = h('input', { class: 'text-input pin-input', testid: 'repay-pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const pinField = h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'payment_pin' }), repayPin);
  const balanceHint = h('p', { class: 'hint repay-balance', testid: 'repay-balance' });
  const needDebit = h('p', { class: 'hint', testid: 'repay-need-debit', i18n: 'need_debit_card_repay', hidden: true });
  const nothingOwed = h('p', { class: 'hint', testid: 'repay-nothing-owed', i18n: 'nothing_owed', hidden: true });
  const repayError = formError();
  const repaySubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'repay-submit', i18n: 'repay' });
  const source = () => repayForm.querySelector('input[name=repay-source]:checked')?.value || 'balance';
  const repayForm = h(
    'form',
    {
      class: 'card wallet-section wallet-form repay-form',
      testid: 'repay-form',
      hidden: true,
      onsubmit: async (e) => {
        e.preventDefault();
        repayError.set(null);
        const line = wallet && wallet.credit_line;
        if (!line) return;
        const amountMinor = parseAmountMinor(repayAmount.value, currencyDigits(line.currency));
        if (amountMinor === null) {
          repayError.setKey('amount_invalid');
          repayAmount.focus();
          return;
        }
        const req = { amount_minor: amountMinor, source: source() };
        let pin = '';
        if (req.source === 'card') {
          const cardId = Number(repayCard.value);
          if (!cardId) {
            repayError.setKey('need_debit_card_repay');
            return;
          }
          req.card_id = cardId;
        } else {
          pin = repayPin.value.trim();
          const limit = wallet.pin ? wallet.pin.no_pin_limit_minor : 0;
          if (pin ? !validPin(pin) : amountMinor > limit) {
            repayError.setKey(pin ? 'pin_invalid' : 'pin_required');
            repayPin.focus();
            return;
          }
        }
        // Kept while an attempt with these values may have gone through; fresh otherwise.
        req.idempotency_key = repayKeys.key(JSON.stringify(req));
        if (pin) req.pin = pin;
        repaySubmit.disabled = true;
        try {
          const res = await api.repay(req);
          repayKeys.settled(null);
          repayAmount.value = '';
          repayPin.value = '';
          line.owed_minor = res.owed_minor;
          renderLine();
          toast({ key: 'repaid', args: { minor: res.amount_minor, currency: res.currency } });
          refresh();
        } catch (err) {
          repayKeys.settled(err);
          repayError.set(err);
          if (['wrong_pin', 'pin_required', 'invalid_pin'].includes(err.code)) repayPin.value = '';
        } finally {
          repaySubmit.disabled = false;
        }
      },
    },
    h('div', { class: 'section-head' }, h('h2', { class: 'section-title', i18n: 'repay' }), repayAll),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'amount' }), repayAmount),
    h('div', { class: 'field' }, h('span', { class: 'field-label', i18n: 'repay_from' }), sourceSeg),
    balanceHint,
    cardField,
    pinField,
    needDebit,
    nothingOwed,
    repayError.el,
    repaySubmit,
  );
  sourceSeg.addEventListener('change', () => {
    repayError.set(null);
    renderRepay();
  });
  repayForm.addEventListener('input', () => repayError.set(null));

  // ----- the month's statement -----
  let month = null; // "YYYY-MM" shown
  let currentMonth = null; // the server's current month: no statements after it
  let monthSeq = 0;
  const monthLabel = h('h2', { class: 'section-title credit-month', testid: 'credit-month' }, '—');
  const prevButton = h('button', { type: 'button', class: 'icon-btn month-nav', testid: 'month-prev', title: 'prev_month', onclick: () => month && loadMonth(shiftMonth(month, -1)) }, icon('back', 'icon icon-sm'));
  const nextButton = h(
    'button',
    { type: 'button', class: 'icon-btn month-nav', testid: 'month-next', title: 'next_month', disabled: true, onclick: () => month && loadMonth(shiftMonth(month, 1)) },
    icon('chevron', 'icon icon-sm'),
  );
  const monthRows = h('div', { class: 'credit-month-rows', testid: 'credit-month-rows' });
  const monthList = h('div', { class: 'statement-list', testid: 'credit-entries' });
  const monthError = formError();
  const monthCard = h(
    'div',
    { class: 'card wallet-section statement credit-statement', testid: 'credit-statement', hidden: true },
    h('div', { class: 'section-head month-head' }, prevButton, monthLabel, nextButton),
    monthError.el,
    monthRows,
    h('h3', { class: 'credit-entries-title', i18n: 'statement' }),
    monthList,
  );

  body.append(loadError.el, noLine, summary, repayForm, monthCard);

  function renderLine() {
    const line = wallet && wallet.credit_line;
    noLine.hidden = !wallet || !!line;
    summary.hidden = !line;
    repayForm.hidden = !line;
    monthCard.hidden = !line;
    if (!line) return;
    const m = (minor) => ({ minor, currency: line.currency });
    setText(availableValue, 'money', m(line.available_minor));
    setText(owedValue, 'money', m(line.owed_minor));
    setText(limitValue, 'money', m(line.limit_minor));
    summary.dataset.owed = String(line.owed_minor);
    renderRepay();
  }

  function renderRepay() {
    const line = wallet && wallet.credit_line;
    if (!line) return;
    const byCard = source() === 'card';
    const debit = cards.filter((c) => c.funding === 'debit');
    const previous = repayCard.value;
    clear(repayCard);
    for (const c of debit) repayCard.appendChild(h('option', { value: String(c.id), i18n: ['card_option', { brand: c.brand, last4: c.last4 }] }));
    if (debit.some((c) => String(c.id) === previous)) repayCard.value = previous;
    cardField.hidden = !byCard;
    pinField.hidden = byCard;
    needDebit.hidden = !byCard || debit.length > 0;
    const b = wallet.balances.find((x) => x.currency === line.currency);
    balanceHint.hidden = byCard || !b;
    if (b) setText(balanceHint, 'available_is', { minor: b.available_minor, currency: b.currency });
    const owed = line.owed_minor > 0;
    nothingOwed.hidden = owed;
    repayAll.hidden = !owed;
    for (const el of [repayAmount, repayPin, repaySubmit]) el.disabled = !owed;
    repayCard.disabled = !owed || !debit.length;
  }

  function renderMonth(st) {
    month = st.month;
    monthCard.dataset.month = st.month;
    setText(monthLabel, 'month_label', { month: st.month });
    nextButton.disabled = !currentMonth || st.month >= currentMonth;
    const row = (key, minor, testid) =>
      h('div', { class: 'kv credit-row' }, h('span', { class: 'kv-key', i18n: key }), h('span', { class: 'kv-value', testid, i18n: ['money', { minor, currency: st.currency }] }));
    clear(monthRows);
    monthRows.append(
      row('opening_owed', st.opening_owed_minor, 'month-opening'),
      row('month_spent', st.spent_minor, 'month-spent'),
      row('month_repaid', st.repaid_minor, 'month-repaid'),
      row('closing_owed', st.closing_owed_minor, 'month-closing'),
      h('div', { class: 'kv credit-row' }, h('span', { class: 'kv-key', i18n: 'due_date' }), h('span', { class: 'kv-value', testid: 'month-due', i18n: ['date_label', { date: st.due_date }] })),
    );
    clear(monthList);
    if (!st.entries.length) monthList.appendChild(h('p', { class: 'muted wallet-empty', testid: 'credit-entries-empty', i18n: 'no_entries_month' }));
    for (const e of st.entries) monthList.appendChild(entryEl(e, { onOpen: openEntryDetail }));
  }

  /** One month's statement (null: the server's current month). */
  async function loadMonth(m) {
    const seq = ++monthSeq;
    prevButton.disabled = true;
    nextButton.disabled = true;
    try {
      const st = await api.creditStatement(m);
      if (!alive || seq !== monthSeq) return;
      if (!m && !currentMonth) currentMonth = st.month;
      monthError.set(null);
      renderMonth(st);
    } catch (err) {
      if (alive && seq === monthSeq) monthError.set(err);
    } finally {
      if (alive && seq === monthSeq) {
        prevButton.disabled = false;
        nextButton.disabled = !currentMonth || !month || month >= currentMonth;
      }
    }
  }

  async function refresh() {
    try {
      const [w, list] = await Promise.all([api.wallet(), api.cards()]);
      if (!alive) return;
      wallet = w;
      cards = list;
      loadError.set(null);
      renderLine();
      if (w.credit_line) loadMonth(month);
    } catch (err) {
      if (alive) loadError.set(err);
    }
  }

  // A declined or expired pay-later transfer goes back to the line: read it again.
  let refreshTimer = null;
  const off = on('payment', () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 300);
  });

  let alive = true;
  refresh();
  return () => {
    alive = false;
    clearTimeout(refreshTimer);
    off();
  };
}
