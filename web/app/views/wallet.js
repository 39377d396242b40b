// "Wallet" (under Me): the balance, the pay-later line (its own screen:
// #/me/wallet/credit), the payment PIN and the small-amount no-PIN limit,
// topping up from and withdrawing to a debit card, the statement (paged, CSV
// export, each entry's detail), bound bank cards and binding a card.

import { api, downloadFile } from '../api.js';
import { clear, h, icon, setText } from '../dom.js';
import { currencyDigits, minorToDecimal } from '../i18n.js';
import { NO_PIN_MAX_MINOR, attemptKeys, newIdempotencyKey, parseAmountMinor, parseAmountOrZeroMinor, validPin } from '../money.js';
import { on } from '../store.js';
import { formError, toast, topbar } from '../ui.js';
import { entryEl, openEntryDetail } from './statement.js';

export { newIdempotencyKey, parseAmountMinor } from '../money.js';

const STATEMENT_PAGE = 20;

function fundingKey(funding) {
  return funding === 'credit' ? 'card_credit' : 'card_debit';
}

export function walletView(root) {
  const body = h('div', { class: 'list-scroll wallet', testid: 'wallet' });
  root.append(topbar({ back: '#/me', title: 'wallet', testid: 'wallet-title' }), body);

  let wallet = null; // { balances: [...], credit_line, pin }
  let cards = [];

  // ----- balance -----
  const balanceValue = h('div', { class: 'wallet-balance-value', testid: 'wallet-balance' }, '—');
  const availableLine = h('div', { class: 'wallet-balance-sub', testid: 'wallet-available', hidden: true });
  const otherBalances = h('div', { class: 'wallet-other-balances', testid: 'wallet-other-balances' });
  const balanceCard = h(
    'div',
    { class: 'card wallet-balance-card', testid: 'wallet-balance-card' },
    h('div', { class: 'wallet-balance-label' }, icon('wallet', 'icon icon-sm'), h('span', { i18n: 'balance' })),
    balanceValue,
    availableLine,
    otherBalances,
  );
  const loadError = formError();

  // ----- pay later -----
  const creditCard = h('div', { class: 'card wallet-section wallet-credit', testid: 'credit-line', hidden: true });

  // ----- payment PIN -----
  const pinStatus = h('span', { class: 'kv-value', testid: 'pin-status' });
  const pinChange = h('button', { type: 'button', class: 'btn btn-plain btn-small', testid: 'pin-change', i18n: 'change_pin', hidden: true, onclick: () => showPinForm(true) });
  const pinPassword = h('input', { class: 'text-input', testid: 'pin-password', type: 'password', autocomplete: 'current-password', ph: 'pin_password_ph' });
  const pinNew = h('input', { class: 'text-input pin-input', testid: 'pin-new', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const pinConfirm = h('input', { class: 'text-input pin-input', testid: 'pin-confirm', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const pinError = formError();
  const pinSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'pin-submit', i18n: 'save' });
  const pinForm = h(
    'form',
    {
      class: 'wallet-form pin-form',
      testid: 'pin-form',
      hidden: true,
      onsubmit: async (e) => {
        e.preventDefault();
        pinError.set(null);
        const pin = pinNew.value.trim();
        if (!pinPassword.value) {
          pinError.setKey('password_needed');
          pinPassword.focus();
          return;
        }
        if (!validPin(pin)) {
          pinError.setKey('pin_invalid');
          pinNew.focus();
          return;
        }
        if (pin !== pinConfirm.value.trim()) {
          pinError.setKey('pin_mismatch');
          pinConfirm.focus();
          return;
        }
        pinSubmit.disabled = true;
        try {
          const status = await api.setPin(pinPassword.value, pin);
          if (!wallet) wallet = { balances: [], credit_line: null, pin: status };
          wallet.pin = status;
          for (const input of [pinPassword, pinNew, pinConfirm]) input.value = '';
          showPinForm(false);
          renderPin();
          toast({ key: 'pin_saved' });
        } catch (err) {
          pinError.set(err);
        } finally {
          pinSubmit.disabled = false;
        }
      },
    },
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'pin_password' }), pinPassword),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'pin_new' }), pinNew),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'pin_confirm' }), pinConfirm),
    pinError.el,
    pinSubmit,
  );

  // ----- small-amount payments without the PIN -----
  const noPinStatus = h('span', { class: 'kv-value', testid: 'no-pin-status' });
  const noPinChange = h('button', { type: 'button', class: 'btn btn-plain btn-small', testid: 'no-pin-change', i18n: 'no_pin_set', onclick: () => showNoPinForm(true) });
  const noPinAmount = h('input', { class: 'text-input', testid: 'no-pin-amount', ph: 'no_pin_amount_ph', inputmode: 'decimal', autocomplete: 'off' });
  const noPinHint = h('p', { class: 'hint', testid: 'no-pin-hint' });
  const noPinPin = h('input', { class: 'text-input pin-input', testid: 'no-pin-pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const noPinError = formError();
  const noPinSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'no-pin-submit', i18n: 'save' });
  const noPinOff = h('button', { type: 'button', class: 'btn btn-plain btn-block no-pin-off', testid: 'no-pin-off', i18n: 'no_pin_turn_off', onclick: () => saveNoPinLimit(0) });
  const noPinCancel = h('button', { type: 'button', class: 'link-btn', testid: 'no-pin-cancel', i18n: 'cancel', onclick: () => showNoPinForm(false) });
  const noPinForm = h(
    'form',
    {
      class: 'wallet-form no-pin-form',
      testid: 'no-pin-form',
      hidden: true,
      onsubmit: (e) => {
        e.preventDefault();
        noPinError.set(null);
        const currency = walletCurrency() || 'CNY';
        const limit = parseAmountOrZeroMinor(noPinAmount.value, currencyDigits(currency));
        if (limit === null) {
          noPinError.setKey('no_pin_limit_invalid');
          noPinAmount.focus();
          return;
        }
        if (limit > NO_PIN_MAX_MINOR) {
          noPinError.setKey('no_pin_too_high', { minor: NO_PIN_MAX_MINOR, currency });
          noPinAmount.focus();
          return;
        }
        saveNoPinLimit(limit);
      },
    },
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'no_pin_amount' }), noPinAmount),
    noPinHint,
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'payment_pin' }), noPinPin),
    noPinError.el,
    noPinSubmit,
    noPinOff,
    noPinCancel,
  );
  const noPinBlock = h(
    'div',
    { class: 'no-pin', testid: 'no-pin', hidden: true },
    h('div', { class: 'kv pin-row' }, h('span', { class: 'kv-key', i18n: 'no_pin_payments' }), h('span', { class: 'no-pin-right' }, noPinStatus, noPinChange)),
    noPinForm,
  );
  let noPinFormWanted = false;

  function showNoPinForm(on) {
    noPinFormWanted = on;
    noPinError.set(null);
    if (on) {
      const current = wallet && wallet.pin ? wallet.pin.no_pin_limit_minor : 0;
      noPinAmount.value = current ? minorToDecimal(current, currencyDigits(walletCurrency() || 'CNY')) : '';
      noPinPin.value = '';
    }
    renderPin();
    if (on) noPinAmount.focus();
  }

  async function saveNoPinLimit(limit) {
    noPinError.set(null);
    const pin = noPinPin.value.trim();
    if (!validPin(pin)) {
      noPinError.setKey(pin ? 'pin_invalid' : 'pin_required');
      noPinPin.focus();
      return;
    }
    noPinSubmit.disabled = true;
    noPinOff.disabled = true;
    try {
      const status = await api.setNoPinLimit(pin, limit);
      wallet.pin = status;
      noPinPin.value = '';
      noPinAmount.value = '';
      noPinFormWanted = false;
      renderPin();
      if (status.no_pin_limit_minor > 0) toast({ key: 'no_pin_saved', args: { minor: status.no_pin_limit_minor, currency: walletCurrency() } });
      else toast({ key: 'no_pin_saved_off' });
    } catch (err) {
      noPinError.set(err);
      if (['wrong_pin', 'invalid_pin', 'pin_locked'].includes(err.code)) noPinPin.value = '';
    } finally {
      noPinSubmit.disabled = false;
      noPinOff.disabled = false;
    }
  }

  // ----- reset a forgotten or locked PIN, proving identity -----
  const resetPassword = h('input', { class: 'text-input', testid: 'pin-reset-password', type: 'password', autocomplete: 'current-password', ph: 'pin_password_ph' });
  const resetCard = h('input', { class: 'text-input', testid: 'pin-reset-card', inputmode: 'numeric', autocomplete: 'cc-number', maxlength: 23, ph: 'card_number_ph' });
  const resetPin = h('input', { class: 'text-input pin-input', testid: 'pin-reset-new', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const resetError = formError();
  const resetSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'pin-reset-submit', i18n: 'pin_reset_submit' });
  const resetForm = h(
    'form',
    {
      class: 'wallet-form pin-reset-form',
      testid: 'pin-reset-form',
      hidden: true,
      onsubmit: async (e) => {
        e.preventDefault();
        resetError.set(null);
        const pin = resetPin.value.trim();
        if (!resetPassword.value) {
          resetError.setKey('password_needed');
          resetPassword.focus();
          return;
        }
        if (!validPin(pin)) {
          resetError.setKey('pin_invalid');
          resetPin.focus();
          return;
        }
        resetSubmit.disabled = true;
        try {
          wallet.pin = await api.resetPin(resetPassword.value, resetCard.value.trim(), pin);
          for (const input of [resetPassword, resetCard, resetPin]) input.value = '';
          resetForm.hidden = true;
          renderPin();
          toast({ key: 'pin_reset_done' });
        } catch (err) {
          resetError.set(err);
        } finally {
          resetSubmit.disabled = false;
        }
      },
    },
    h('h3', { class: 'section-subtitle', i18n: 'pin_reset_title' }),
    h('p', { class: 'hint', i18n: 'pin_reset_hint' }),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'pin_password' }), resetPassword),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'pin_reset_card' }), resetCard),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'pin_new' }), resetPin),
    resetError.el,
    resetSubmit,
  );
  const pinForgot = h('button', {
    type: 'button',
    class: 'link-btn pin-forgot',
    testid: 'pin-forgot',
    i18n: 'pin_forgot',
    hidden: true,
    onclick: () => {
      resetForm.hidden = !resetForm.hidden;
      if (!resetForm.hidden) resetPassword.focus();
    },
  });

  const pinCard = h(
    'div',
    { class: 'card wallet-section', testid: 'pin-section' },
    h('h2', { class: 'section-title', i18n: 'payment_pin' }),
    h('div', { class: 'kv pin-row' }, pinStatus, pinChange),
    h('p', { class: 'hint', i18n: 'pin_hint' }),
    pinForm,
    pinForgot,
    resetForm,
    noPinBlock,
  );

  // ----- today's limits -----
  const limitsList = h('div', { class: 'wallet-limits', testid: 'limits' });
  const limitsCard = h('div', { class: 'card wallet-section', testid: 'limits-section' }, h('h2', { class: 'section-title', i18n: 'limits_title' }), limitsList);

  function renderLimits() {
    clear(limitsList);
    for (const l of (wallet && wallet.limits) || []) {
      limitsList.appendChild(
        h(
          'div',
          { class: 'kv limit-row', testid: `limit-${l.kind}` },
          h('span', { class: 'kv-key', i18n: `limit_${l.kind}` }),
          h('span', {
            class: 'kv-value',
            i18n: ['limit_line', { used: l.used_today_minor, per_day: l.per_day_minor, per_operation: l.per_operation_minor, currency: l.currency }],
          }),
        ),
      );
    }
    limitsCard.hidden = !limitsList.childElementCount;
  }
  let pinFormWanted = false;

  function showPinForm(on) {
    pinFormWanted = on;
    renderPin();
    if (on) pinPassword.focus();
  }

  function renderPin() {
    const pin = wallet && wallet.pin;
    if (!pin) return;
    if (pin.locked_until_ms && pin.locked_until_ms > Date.now()) setText(pinStatus, 'pin_locked_until', { ms: pin.locked_until_ms });
    else setText(pinStatus, pin.set ? 'pin_is_set' : 'not_set');
    pinStatus.dataset.set = String(!!pin.set);
    pinChange.hidden = !pin.set || pinFormWanted;
    pinForgot.hidden = !pin.set;
    pinForm.hidden = pin.set && !pinFormWanted;
    setText(pinSubmit, pin.set ? 'change_pin' : 'set_payment_pin');
    // The no-PIN limit is set with the PIN, so only once there is one.
    const currency = walletCurrency();
    noPinBlock.hidden = !pin.set;
    const limit = pin.no_pin_limit_minor || 0;
    if (limit > 0 && currency) setText(noPinStatus, 'no_pin_up_to', { minor: limit, currency });
    else setText(noPinStatus, 'no_pin_off');
    noPinStatus.dataset.limit = String(limit);
    noPinChange.hidden = noPinFormWanted;
    noPinForm.hidden = !noPinFormWanted;
    noPinOff.hidden = limit === 0;
    if (currency) setText(noPinHint, 'no_pin_hint', { minor: NO_PIN_MAX_MINOR, currency });
  }

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
  // Binding a card is confirmed with the payment PIN (six digits) or the
  // account password (8 or more characters): one field takes either.
  const bindConfirm = h('input', { class: 'text-input', testid: 'card-confirm', type: 'password', autocomplete: 'current-password', ph: 'card_confirm_ph' });
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
        const secret = bindConfirm.value;
        if (!secret) {
          bindError.setKey('card_confirm_needed');
          bindConfirm.focus();
          return;
        }
        const proof = validPin(secret.trim()) ? { pin: secret.trim() } : { password: secret };
        bindSubmit.disabled = true;
        try {
          const card = await api.bindCard(number, funding, proof);
          cards = [...cards.filter((c) => c.id !== card.id), card];
          numberInput.value = '';
          bindConfirm.value = '';
          renderCards();
          toast({ key: 'card_added' });
          // A credit card opens the pay-later line.
          if (funding === 'credit') refresh();
        } catch (err) {
          bindError.set(err);
          if (['wrong_pin', 'wrong_password', 'pin_locked'].includes(err.code)) bindConfirm.value = '';
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
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'card_confirm' }), bindConfirm),
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

  // ----- withdraw -----
  // A declined or timed-out withdrawal is remembered under its key: retry only an unknown outcome with it.
  const withdrawKeys = attemptKeys({ renewAfterAnswer: true });
  const withdrawCard = h('select', { class: 'text-input', testid: 'withdraw-card' });
  const withdrawAmount = h('input', { class: 'text-input', testid: 'withdraw-amount', ph: 'amount_ph', inputmode: 'decimal', autocomplete: 'off' });
  const withdrawPin = h('input', { class: 'text-input pin-input', testid: 'withdraw-pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const withdrawError = formError();
  const withdrawHint = h('p', { class: 'hint', testid: 'withdraw-need-debit', i18n: 'need_debit_card_withdraw' });
  const withdrawSubmit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'withdraw-submit', i18n: 'withdraw' });
  const withdrawForm = h(
    'form',
    {
      class: 'card wallet-section wallet-form',
      testid: 'withdraw-form',
      onsubmit: async (e) => {
        e.preventDefault();
        withdrawError.set(null);
        const amountMinor = parseAmountMinor(withdrawAmount.value, currencyDigits(walletCurrency() || 'CNY'));
        if (amountMinor === null) {
          withdrawError.setKey('amount_invalid');
          withdrawAmount.focus();
          return;
        }
        const cardId = Number(withdrawCard.value);
        if (!cardId) {
          withdrawError.setKey('need_debit_card_withdraw');
          return;
        }
        const pin = withdrawPin.value.trim();
        const limit = wallet && wallet.pin ? wallet.pin.no_pin_limit_minor : 0;
        if (pin ? !validPin(pin) : amountMinor > limit) {
          withdrawError.setKey(pin ? 'pin_invalid' : 'pin_required');
          withdrawPin.focus();
          return;
        }
        const req = { card_id: cardId, amount_minor: amountMinor };
        // Kept while an attempt with these values may have gone through; fresh otherwise.
        req.idempotency_key = withdrawKeys.key(JSON.stringify(req));
        if (pin) req.pin = pin;
        withdrawSubmit.disabled = true;
        try {
          const res = await api.withdraw(req);
          withdrawKeys.settled(null);
          withdrawAmount.value = '';
          withdrawPin.value = '';
          setBalance(res.currency, res.balance_minor);
          toast({ key: 'withdrawn', args: { minor: res.amount_minor, currency: res.currency } });
          refresh();
        } catch (err) {
          withdrawKeys.settled(err);
          withdrawError.set(err);
          if (['wrong_pin', 'pin_required', 'invalid_pin'].includes(err.code)) withdrawPin.value = '';
        } finally {
          withdrawSubmit.disabled = false;
        }
      },
    },
    h('h2', { class: 'section-title', i18n: 'withdraw' }),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'withdraw_card' }), withdrawCard),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'amount' }), withdrawAmount),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'payment_pin' }), withdrawPin),
    withdrawHint,
    withdrawError.el,
    withdrawSubmit,
  );

  // ----- statement -----
  let entries = [];
  let nextBefore = null;
  let statementLoading = false;
  const statementList = h('div', { class: 'statement-list', testid: 'statement-list' });
  const statementError = formError();
  const moreButton = h('button', { type: 'button', class: 'link-btn statement-more', testid: 'statement-more', i18n: 'load_more', hidden: true, onclick: () => loadStatement(false) });
  const exportButton = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-plain btn-small',
      testid: 'statement-export',
      i18n: 'export_csv',
      onclick: async () => {
        statementError.set(null);
        exportButton.disabled = true;
        try {
          await downloadFile('/api/wallet/statement.csv', 'qiao-statement.csv');
        } catch (err) {
          statementError.set(err);
        } finally {
          exportButton.disabled = false;
        }
      },
    },
  );
  const statementCard = h(
    'div',
    { class: 'card wallet-section statement', testid: 'statement' },
    h('div', { class: 'section-head' }, h('h2', { class: 'section-title', i18n: 'statement' }), exportButton),
    statementError.el,
    statementList,
    moreButton,
  );

  body.append(loadError.el, balanceCard, creditCard, pinCard, topUpForm, withdrawForm, limitsCard, statementCard, cardsCard, bindForm);

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
    // Money held for transfers and red packets not yet taken is not spendable.
    availableLine.hidden = b.available_minor === b.balance_minor;
    if (!availableLine.hidden) setText(availableLine, 'available_is', { minor: b.available_minor, currency: b.currency });
    clear(otherBalances);
    for (const other of wallet.balances.slice(1)) {
      otherBalances.appendChild(h('div', { class: 'wallet-balance-sub', testid: 'wallet-other-balance', i18n: ['money', { minor: other.balance_minor, currency: other.currency }] }));
    }
  }

  function renderCredit() {
    const line = wallet && wallet.credit_line;
    creditCard.hidden = !line;
    clear(creditCard);
    if (!line) return;
    const kv = (key, minor, testid) =>
      h('div', { class: 'kv credit-row' }, h('span', { class: 'kv-key', i18n: key }), h('span', { class: 'kv-value', testid, i18n: ['money', { minor, currency: line.currency }] }));
    creditCard.append(
      h('h2', { class: 'section-title', i18n: 'pay_later' }),
      kv('credit_available', line.available_minor, 'credit-available'),
      kv('credit_owed', line.owed_minor, 'credit-owed'),
      kv('credit_limit', line.limit_minor, 'credit-limit'),
      h('a', { class: 'btn btn-plain btn-block credit-open', href: '#/me/wallet/credit', testid: 'credit-open', i18n: 'credit_details' }),
    );
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
    // Top-ups and withdrawals: debit cards only.
    const debit = cards.filter((c) => c.funding === 'debit');
    const none = debit.length === 0;
    for (const select of [cardSelect, withdrawCard]) {
      const previous = select.value;
      clear(select);
      for (const c of debit) {
        select.appendChild(h('option', { value: String(c.id), i18n: ['card_option', { brand: c.brand, last4: c.last4 }] }));
      }
      if (debit.some((c) => String(c.id) === previous)) select.value = previous;
      select.disabled = none;
    }
    amountInput.disabled = none;
    topUpSubmit.disabled = none;
    topUpHint.hidden = !none;
    withdrawAmount.disabled = none;
    withdrawPin.disabled = none;
    withdrawSubmit.disabled = none;
    withdrawHint.hidden = !none;
  }

  function renderStatement() {
    clear(statementList);
    if (!entries.length) statementList.appendChild(h('p', { class: 'muted wallet-empty', testid: 'statement-empty', i18n: 'no_entries' }));
    for (const e of entries) statementList.appendChild(entryEl(e, { onOpen: openEntryDetail }));
    moreButton.hidden = !nextBefore;
  }

  /** The first page (first=true, replacing the list) or the next older one. */
  async function loadStatement(first) {
    if (statementLoading && !first) return;
    statementLoading = true;
    moreButton.disabled = true;
    try {
      const page = await api.statement({ before: first ? undefined : nextBefore, limit: STATEMENT_PAGE });
      if (!alive) return;
      statementError.set(null);
      const lineKey = (e) => `${e.id}:${e.account}:${e.direction}`;
      if (first) {
        entries = page.entries;
      } else {
        const seen = new Set(entries.map(lineKey));
        entries = [...entries, ...page.entries.filter((e) => !seen.has(lineKey(e)))];
      }
      nextBefore = page.next_before ?? null;
      renderStatement();
    } catch (err) {
      if (alive) statementError.set(err);
    } finally {
      statementLoading = false;
      moreButton.disabled = false;
    }
  }

  async function refresh() {
    loadStatement(true);
    try {
      const [w, list] = await Promise.all([api.wallet(), api.cards()]);
      if (!alive) return;
      wallet = w;
      cards = list;
      loadError.set(null);
      renderBalance();
      renderCredit();
      renderPin();
      renderLimits();
      renderCards();
    } catch (err) {
      if (alive) loadError.set(err);
    }
  }

  // Money moved by a chat payment (opened, accepted, refunded): read the wallet again.
  let refreshTimer = null;
  const off = on('payment', () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 300);
  });

  let alive = true;
  renderCards();
  refresh();
  return () => {
    alive = false;
    clearTimeout(refreshTimer);
    off();
  };
}
