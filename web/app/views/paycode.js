// "Payment code" (#/me/paycode): the one-time code a cashier scans, full
// screen as a barcode, a QR code and 18 digits; a new one every minute.
// A charge above the no-PIN limit waits for the payer: the screen asks for
// the PIN (and shows the quote across currencies); a charge that went
// through shows its receipt.

import { api } from '../api.js';
import { clear, h } from '../dom.js';
import { validPin } from '../money.js';
import { on } from '../store.js';
import { formError, topbar } from '../ui.js';
import { receiptCard } from './scan.js';

/** The SVG markup the server drew, as an element (it is ours: no user text in it). */
function svgElement(markup, testid) {
  const holder = h('div', { class: 'code-image', testid });
  holder.innerHTML = markup;
  return holder;
}

export function payCodeView(root) {
  const body = h('div', { class: 'list-scroll paycode', testid: 'paycode' });
  root.append(topbar({ back: '#/me', title: 'payment_code', testid: 'paycode-title' }), body);
  const error = formError();
  const codeBox = h('div', { class: 'card paycode-card', testid: 'paycode-card' });
  const waiting = h('div', { testid: 'paycode-waiting' });
  body.append(h('p', { class: 'muted', i18n: 'payment_code_hint' }), codeBox, error.el, waiting);

  let timer = null;
  const show = async () => {
    clearTimeout(timer);
    try {
      const code = await api.paymentCode();
      clear(codeBox);
      const digits = `${code.code.slice(0, 4)} ${code.code.slice(4, 8)} ${code.code.slice(8, 12)} ${code.code.slice(12)}`;
      codeBox.append(
        svgElement(code.barcode_svg, 'paycode-barcode'),
        h('div', { class: 'paycode-digits', testid: 'paycode-digits', dataset: { code: code.code } }, digits),
        svgElement(code.qr_svg, 'paycode-qr'),
      );
      timer = setTimeout(show, Math.max(5000, code.refresh_at_ms - Date.now()));
    } catch (err) {
      error.set(err);
      timer = setTimeout(show, 10000);
    }
  };
  show();

  // The cashier charged it: paid at once, or waiting for this payer.
  const off = on('merchant-order', (receipt) => {
    clear(waiting);
    if (receipt.status === 'awaiting_confirmation') waiting.append(confirmCard(receipt, () => clear(waiting)));
    else if (receipt.status === 'paid') {
      waiting.append(h('div', { class: 'card' }, receiptCard(receipt)));
      show();
    }
  });
  return () => {
    clearTimeout(timer);
    off();
  };
}

/** Confirming a charge that waits for the payer: the amount, the quote, the PIN. */
function confirmCard(receipt, done) {
  const error = formError();
  const pin = h('input', { class: 'text-input pin-input', testid: 'confirm-pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const btn = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'confirm-pay', i18n: 'pay_now' });
  const card = h('div', { class: 'card pay-sheet', testid: 'confirm-card' });
  const q = receipt.quote;
  card.append(
    h('div', { class: 'merchant-name' }, receipt.merchant.name),
    h('div', { class: 'receipt-amount', i18n: ['money', { minor: receipt.amount_minor, currency: receipt.currency }] }),
    q
      ? h('p', {
          class: 'quote-line',
          i18n: ['quote_line', { debit: q.debit_minor, fee: q.fee_minor, from: q.from_currency, to: q.to_currency, rate: q.rate, until: q.expires_at_ms }],
        })
      : null,
    h(
      'form',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          if (!validPin(pin.value.trim())) {
            error.setKey('pin_invalid');
            return;
          }
          btn.disabled = true;
          try {
            const paid = await api.confirmMerchantPayment(receipt.order_id, { pin: pin.value.trim() });
            clear(card);
            card.append(receiptCard(paid));
            setTimeout(done, 8000);
          } catch (err) {
            btn.disabled = false;
            pin.value = '';
            error.set(err);
          }
        },
      },
      h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'payment_pin' }), pin),
      error.el,
      btn,
    ),
  );
  return card;
}
