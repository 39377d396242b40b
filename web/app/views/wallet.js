// "Wallet" (under Me): the balance, bound bank cards, binding a card and
// topping up from a debit card.

import { api } from '../api.js';
import { clear, h, icon, setText } from '../dom.js';
import { currencyDigits } from '../i18n.js';
import { formError, toast, topbar } from '../ui.js';

/** "100.50" → 10050 (an integer number of minor units, parsed from the string:
 * no floating point), or null when it is not a valid positive amount. */
export function parseAmountMinor(text, digits = 2) {
  const s = String(text ?? '').trim().replace(/^[¥$]/, '').replace(/,/g, '');
  const re = digits > 0 ? new RegExp(`^(\\d+)(?:\\.(\\d{0,${digits}}))?$|^\\.(\\d{1,${digits}})$`) : /^(\d+)$/;
  const m = re.exec(s);
  if (!m) return null;
  const whole = m[1] || '0';
  const frac = (m[2] || m[3] || '').padEnd(digits, '0');
  const minor = BigInt(whole + frac);
  if (minor <= 0n || minor > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(minor);
}

/** A fresh top-up idempotency key: a UUID without dashes (32 of [0-9a-f]). */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID().replace(/-/g, '');
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function fundingKey(funding) {
  return funding === 'credit' ? 'card_credit' : 'card_debit';
}

export function walletView(root) {
  const body = h('div', { class: 'list-scroll wallet', testid: 'wallet' });
  root.append(topbar({ back: '#/me', title: 'wallet', testid: 'wallet-title' }), body);

  let wallet = null; // { balances: [...] }
  let cards = [];

  // ----- balance -----
  const balanceValue = h('div', { class: 'wallet-balance-value', testid: 'wallet-balance' }, '—');
  const balanceCard = h(
    'div',
    { class: 'card wallet-balance-card', testid: 'wallet-balance-card' },
    h('div', { class: 'wallet-balance-label' }, icon('wallet', 'icon icon-sm'), h('span', { i18n: 'balance' })),
    balanceValue,
  );
  const loadError = formError();

  // ----- cards -----
  const cardList = h('div', { class: 'wallet-cards', testid: 'card-list' });
  const cardsCard = h('div', { class: 'card wallet-section' }, h('h2', { class: 'section-title', i18n: 'bank_cards' }), cardList);

  // ----- bind a card -----
  const numberInput = h('input', {
    class: 'text-input',
    testid: 'card-number',
    ph: 'card_number_ph',
    inputmode: 'numeric',
    autocomplete: 'cc-number',
    maxlength: 23,
  });
  const fundingRadio = (value, key) =>
    h(
      'label',
      { class: 'seg-option' },
      h('input', { type: 'radio', name: 'card-funding', value, testid: `card-funding-${value}`, checked: value === 'debit' }),
      h('span', { i18n: key }),
    );
  const bindError = formError();
  const bindSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'card-submit', i18n: 'bind_card' });
  const bindForm = h(
    'form',
    {
      class: 'card wallet-section wallet-form',
      testid: 'card-form',
      onsubmit: async (e) => {
        e.preventDefault();
        bindError.set(null);
        const number = numberInput.value.trim();
        const funding = bindForm.querySelector('input[name=card-funding]:checked')?.value || 'debit';
        bindSubmit.disabled = true;
        try {
          const card = await api.bindCard(number, funding);
          cards = [...cards.filter((c) => c.id !== card.id), card];
          numberInput.value = '';
          renderCards();
          toast({ key: 'card_added' });
        } catch (err) {
          bindError.set(err);
        } finally {
          bindSubmit.disabled = false;
        }
      },
    },
    h('h2', { class: 'section-title', i18n: 'add_card' }),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'card_number' }), numberInput),
    h(
      'div',
      { class: 'field' },
      h('span', { class: 'field-label', i18n: 'card_type' }),
      h('div', { class: 'seg', role: 'radiogroup', testid: 'card-funding' }, fundingRadio('debit', 'card_debit'), fundingRadio('credit', 'card_credit')),
    ),
    bindError.el,
    bindSubmit,
  );

  // ----- top up -----
  const cardSelect = h('select', { class: 'text-input', testid: 'topup-card' });
  const amountInput = h('input', { class: 'text-input', testid: 'topup-amount', ph: 'amount_ph', inputmode: 'decimal', autocomplete: 'off' });
  const topUpError = formError();
  const topUpHint = h('p', { class: 'hint', testid: 'topup-need-debit', i18n: 'need_debit_card' });
  const topUpSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'topup-submit', i18n: 'top_up' });
  const topUpForm = h(
    'form',
    {
      class: 'card wallet-section wallet-form',
      testid: 'topup-form',
      onsubmit: async (e) => {
        e.preventDefault();
        topUpError.set(null);
        const currency = walletCurrency();
        const amountMinor = parseAmountMinor(amountInput.value, currencyDigits(currency || 'CNY'));
        if (amountMinor === null) {
          topUpError.setKey('amount_invalid');
          return;
        }
        const cardId = Number(cardSelect.value);
        if (!cardId) {
          topUpError.setKey('need_debit_card');
          return;
        }
        topUpSubmit.disabled = true;
        try {
          // A fresh key per submitted top-up: a retried request with the same key is applied once.
          const res = await api.topUp(cardId, amountMinor, newIdempotencyKey());
          amountInput.value = '';
          setBalance(res.currency, res.balance_minor);
          toast({ key: 'topped_up', args: { minor: res.amount_minor, currency: res.currency } });
          refresh();
        } catch (err) {
          topUpError.set(err);
        } finally {
          topUpSubmit.disabled = false;
        }
      },
    },
    h('h2', { class: 'section-title', i18n: 'top_up' }),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'top_up_card' }), cardSelect),
    h(
      'label',
      { class: 'field' },
      h('span', { class: 'field-label', testid: 'topup-amount-label', i18n: 'amount' }),
      amountInput,
    ),
    topUpHint,
    topUpError.el,
    topUpSubmit,
  );

  body.append(loadError.el, balanceCard, cardsCard, topUpForm, bindForm);

  function walletCurrency() {
    const b = wallet && wallet.balances && wallet.balances[0];
    return b ? b.currency : null;
  }

  function setBalance(currency, balanceMinor) {
    if (!wallet) wallet = { balances: [] };
    const b = wallet.balances.find((x) => x.currency === currency);
    if (b) b.balance_minor = balanceMinor;
    else wallet.balances.unshift({ currency, balance_minor: balanceMinor, available_minor: balanceMinor });
    renderBalance();
  }

  function renderBalance() {
    const b = wallet && wallet.balances && wallet.balances[0];
    if (!b) return;
    // Tagged with the "money" key, so a language switch re-formats it in place.
    setText(balanceValue, 'money', { minor: b.balance_minor, currency: b.currency });
    balanceValue.dataset.currency = b.currency;
    balanceValue.dataset.minor = String(b.balance_minor);
  }

  function renderCards() {
    clear(cardList);
    if (!cards.length) {
      cardList.appendChild(h('p', { class: 'muted wallet-empty', testid: 'no-cards', i18n: 'no_cards' }));
    }
    for (const c of cards) {
      const brand = h('span', { class: 'row-title', testid: 'card-name', i18n: ['card_option', { brand: c.brand, last4: c.last4 }] });
      cardList.appendChild(
        h(
          'div',
          { class: 'wallet-card-row', testid: 'card-row', dataset: { id: String(c.id), funding: c.funding, last4: c.last4 } },
          icon('card', 'icon row-icon'),
          h('span', { class: 'row-body', testid: 'card-label' }, brand),
          h('span', { class: `card-funding card-funding-${c.funding}`, testid: 'card-funding-label', i18n: fundingKey(c.funding) }),
        ),
      );
    }
    // The top-up card choice: debit cards only.
    const debit = cards.filter((c) => c.funding === 'debit');
    const previous = cardSelect.value;
    clear(cardSelect);
    for (const c of debit) {
      cardSelect.appendChild(h('option', { value: String(c.id), i18n: ['card_option', { brand: c.brand, last4: c.last4 }] }));
    }
    if (debit.some((c) => String(c.id) === previous)) cardSelect.value = previous;
    const none = debit.length === 0;
    cardSelect.disabled = none;
    amountInput.disabled = none;
    topUpSubmit.disabled = none;
    topUpHint.hidden = !none;
  }

  async function refresh() {
    try {
      const [w, list] = await Promise.all([api.wallet(), api.cards()]);
      if (!alive) return;
      wallet = w;
      cards = list;
      loadError.set(null);
      renderBalance();
      renderCards();
    } catch (err) {
      if (alive) loadError.set(err);
    }
  }

  let alive = true;
  renderCards();
  refresh();
  return () => {
    alive = false;
  };
}
