// The merchant console (#/me/merchants, #/me/merchants/{id}): the merchants
// this user owns or works at, making one, and for each the cashier's screen
// (an amount → a per-order code to show, watched until paid; or the
// customer's payment code charged), recent orders with refunds, today's
// report, the static code to print, and for the owner the API keys and the
// notification settings and deliveries.

import { api, downloadFile } from '../api.js';
import { clear, h, icon } from '../dom.js';
import { currencyDigits } from '../i18n.js';
import { newIdempotencyKey, parseAmountMinor } from '../money.js';
import { formError, row, showError, toast, topbar } from '../ui.js';

export function merchantsView(root) {
  const body = h('div', { class: 'list-scroll merchants', testid: 'merchants' });
  root.append(topbar({ back: '#/me', title: 'merchants', testid: 'merchants-title' }), body);
  const list = h('div', { class: 'group-rows', testid: 'merchant-list' });
  const error = formError();
  body.append(list, createForm(), error.el);

  api
    .merchants()
    .then((mine) => {
      for (const m of mine) {
        list.append(
          row({
            href: `#/me/merchants/${m.id}`,
            testid: `merchant-${m.id}`,
            lead: icon('shop', 'icon row-icon'),
            title: h('span', { class: 'row-title' }, m.display_name),
            subtitle: h('span', { class: 'row-subtitle', i18n: [`role_${m.role}`] }),
            chevron: true,
          }),
        );
      }
    })
    .catch((err) => error.set(err));
  return () => {};
}

function createForm() {
  const field = (key, testid, props = {}) => {
    const input = h('input', { class: 'text-input', testid, autocomplete: 'off', ...props });
    return [input, h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: key }), input)];
  };
  const [name, nameField] = field('merchant_display_name', 'merchant-name');
  const [legal, legalField] = field('merchant_legal_name', 'merchant-legal');
  const [country, countryField] = field('merchant_country', 'merchant-country', { value: 'US', maxlength: 2 });
  const [city, cityField] = field('merchant_city', 'merchant-city');
  const [mcc, mccField] = field('merchant_mcc', 'merchant-mcc', { value: '5812', maxlength: 4, inputmode: 'numeric' });
  const currency = h('select', { class: 'text-input', testid: 'merchant-currency' }, ['USD', 'CNY', 'HKD', 'EUR', 'JPY'].map((c) => h('option', { value: c }, c)));
  const card = h('select', { class: 'text-input', testid: 'merchant-card' });
  const error = formError();
  api
    .cards()
    .then((cards) => {
      for (const c of cards.filter((c) => c.funding === 'debit')) card.append(h('option', { value: c.id }, `${c.brand} •••• ${c.last4}`));
    })
    .catch(() => {});
  const secretBox = h('div', { testid: 'merchant-secret' });
  return h(
    'form',
    {
      class: 'card',
      testid: 'merchant-create',
      onsubmit: async (e) => {
        e.preventDefault();
        error.set(null);
        try {
          const created = await api.createMerchant({
            display_name: name.value,
            legal_name: legal.value || name.value,
            country: country.value.trim().toUpperCase(),
            city: city.value,
            mcc: mcc.value.trim(),
            currency: currency.value,
            settlement_card_id: Number(card.value),
          });
          clear(secretBox);
          secretBox.append(
            h('p', { class: 'hint', i18n: 'signing_secret_once' }),
            h('code', { class: 'secret', testid: 'merchant-secret-value' }, created.signing_secret),
            h('a', { class: 'btn btn-primary', href: `#/me/merchants/${created.merchant.id}`, testid: 'merchant-open', i18n: 'open_console' }),
          );
        } catch (err) {
          error.set(err);
        }
      },
    },
    h('h2', { class: 'section-title', i18n: 'merchant_new' }),
    nameField,
    legalField,
    countryField,
    cityField,
    mccField,
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'merchant_currency' }), currency),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'merchant_card' }), card),
    error.el,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'merchant-create-go', i18n: 'create' }),
    secretBox,
  );
}

export function merchantView(root, { id }) {
  const body = h('div', { class: 'list-scroll merchant', testid: 'merchant' });
  const bar = topbar({ back: '#/me/merchants', title: 'merchant', testid: 'merchant-title' });
  bar.querySelector('.back-btn').classList.add('back-nested');
  root.append(bar, body);
  const timers = new Set();
  const later = (fn, ms) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  api
    .merchant(id)
    .then((m) => {
      const digits = currencyDigits(m.currency);
      const report = h('div', { class: 'card', testid: 'merchant-report' });
      const orders = h('div', { class: 'card', testid: 'merchant-orders' });
      const refreshReport = () =>
        api
          .merchantReport(id)
          .then((r) => {
            clear(report);
            report.append(
              h('h2', { class: 'section-title', i18n: ['report_today', { day: r.day }] }),
              h('div', { class: 'kv' }, h('span', { class: 'kv-key', i18n: 'report_paid' }), h('span', { class: 'kv-value', testid: 'report-paid', i18n: ['money', { minor: r.paid_minor, currency: r.currency }] })),
              h('div', { class: 'kv' }, h('span', { class: 'kv-key', i18n: 'report_refunded' }), h('span', { class: 'kv-value', i18n: ['money', { minor: r.refunded_minor, currency: r.currency }] })),
              h('div', { class: 'kv' }, h('span', { class: 'kv-key', i18n: 'report_net' }), h('span', { class: 'kv-value', testid: 'report-net', i18n: ['money', { minor: r.net_minor, currency: r.currency }] })),
              h('div', { class: 'kv' }, h('span', { class: 'kv-key', i18n: 'report_held' }), h('span', { class: 'kv-value', i18n: ['money', { minor: r.balance_minor, currency: r.currency }] })),
              h('button', { type: 'button', class: 'btn btn-plain btn-small', testid: 'orders-csv', i18n: 'export_csv', onclick: () => downloadFile(`/api/merchants/${id}/orders.csv`, `qiao-orders-${id}.csv`).catch(showError) }),
            );
          })
          .catch(showError);
      const refreshOrders = () =>
        api
          .merchantOrders(id)
          .then((list) => {
            clear(orders);
            orders.append(h('h2', { class: 'section-title', i18n: 'orders' }));
            for (const o of list) orders.append(orderRow(id, o, digits, refreshAll));
          })
          .catch(showError);
      const refreshAll = () => {
        refreshReport();
        refreshOrders();
      };
      body.append(
        h('div', { class: 'card merchant-card' }, h('div', { class: 'merchant-name', testid: 'merchant-display' }, m.display_name), h('div', { class: 'muted' }, `${m.number} · ${m.city} · ${m.currency}`), h('div', { class: m.verified ? 'verified' : 'muted', i18n: m.verified ? 'merchant_verified' : 'merchant_unverified' })),
        cashierScreen(id, m, digits, later, refreshAll),
        report,
        orders,
        staticCode(id),
        m.role === 'owner' ? keysCard(id) : null,
        m.role === 'owner' ? notificationsCard(id, m) : null,
      );
      refreshAll();
    })
    .catch((err) => body.append(h('p', { class: 'form-error' }, err.message)));
  return () => {
    for (const t of timers) clearTimeout(t);
  };
}

/** The cashier's screen: an amount → a code to show, watched until paid; or the customer's code charged. */
function cashierScreen(id, m, digits, later, changed) {
  const amount = h('input', { class: 'text-input cashier-amount', testid: 'cashier-amount', ph: 'amount_ph', inputmode: 'decimal', autocomplete: 'off' });
  const code = h('input', { class: 'text-input', testid: 'cashier-code', ph: 'customer_code_ph', inputmode: 'numeric', autocomplete: 'off' });
  const out = h('div', { class: 'cashier-out', testid: 'cashier-out' });
  const error = formError();
  const amountMinor = () => {
    const minor = parseAmountMinor(amount.value, digits);
    if (!minor) error.setKey('amount_invalid');
    return minor;
  };
  const watch = (orderId) => {
    api
      .merchantOrder(id, orderId)
      .then((o) => {
        status(o);
        if (o.status === 'created' || o.status === 'awaiting_confirmation') later(() => watch(orderId), 1000);
        else changed();
      })
      .catch(() => later(() => watch(orderId), 2000));
  };
  const statusLine = h('div', { class: 'cashier-status', testid: 'cashier-status' });
  const status = (o) => {
    statusLine.dataset.status = o.status;
    statusLine.dataset.i18n = `order_${o.status}`;
    statusLine.textContent = '';
    statusLine.append(h('span', { i18n: `order_${o.status}` }));
  };
  const showCode = h('button', {
    type: 'button',
    class: 'btn btn-primary',
    testid: 'cashier-show-code',
    i18n: 'cashier_show_code',
    onclick: async () => {
      error.set(null);
      const minor = amountMinor();
      if (!minor) return;
      try {
        const created = await api.createOrder(id, { out_trade_no: `web-${newIdempotencyKey().slice(0, 20)}`, amount_minor: minor, description: m.display_name });
        clear(out);
        const picture = h('div', { class: 'code-image cashier-qr', testid: 'cashier-qr', dataset: { payload: created.qr.payload } });
        picture.innerHTML = created.qr.svg;
        out.append(h('div', { class: 'receipt-amount', i18n: ['money', { minor, currency: m.currency }] }), picture, statusLine);
        status(created.order);
        watch(created.order.id);
      } catch (err) {
        error.set(err);
      }
    },
  });
  const charge = h('button', {
    type: 'button',
    class: 'btn btn-plain',
    testid: 'cashier-charge',
    i18n: 'cashier_charge',
    onclick: async () => {
      error.set(null);
      const minor = amountMinor();
      if (!minor) return;
      try {
        const order = await api.chargeCode(id, { code: code.value.replace(/\s/g, ''), amount_minor: minor, out_trade_no: `web-${newIdempotencyKey().slice(0, 20)}`, description: m.display_name });
        clear(out);
        out.append(h('div', { class: 'receipt-amount', i18n: ['money', { minor, currency: m.currency }] }), statusLine);
        status(order);
        watch(order.id);
        code.value = '';
      } catch (err) {
        error.set(err);
      }
    },
  });
  return h(
    'div',
    { class: 'card cashier', testid: 'cashier' },
    h('h2', { class: 'section-title', i18n: 'cashier' }),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: ['amount_in', { currency: m.currency }] }), amount),
    h('div', { class: 'button-row' }, showCode),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'customer_code' }), code),
    h('div', { class: 'button-row' }, charge),
    error.el,
    out,
  );
}

function orderRow(id, o, digits, changed) {
  const line = h(
    'div',
    { class: 'order-row', testid: `order-${o.out_trade_no}` },
    h('span', { class: 'order-no' }, o.out_trade_no),
    h('span', { class: 'order-amount', i18n: ['money', { minor: o.amount_minor, currency: o.currency }] }),
    h('span', { class: 'order-status', testid: 'order-status', i18n: `order_${o.status}` }),
  );
  if (o.status === 'paid' || o.status === 'partially_refunded') {
    line.append(
      h('button', {
        type: 'button',
        class: 'btn btn-plain btn-small',
        testid: 'order-refund',
        i18n: 'refund',
        onclick: async () => {
          const left = o.amount_minor - o.refunded_minor;
          const text = window.prompt(`${o.out_trade_no}`, (left / 10 ** digits).toFixed(digits));
          const minor = text && parseAmountMinor(text, digits);
          if (!minor) return;
          try {
            await api.refundOrder(id, o.id, { out_refund_no: `web-${newIdempotencyKey().slice(0, 20)}`, amount_minor: minor });
            toast({ key: 'refunded_done' });
            changed();
          } catch (err) {
            showError(err);
          }
        },
      }),
    );
  }
  return line;
}

function staticCode(id) {
  const box = h('div', { class: 'card', testid: 'static-code' }, h('h2', { class: 'section-title', i18n: 'static_code' }), h('p', { class: 'hint', i18n: 'static_code_hint' }));
  box.append(
    h('button', {
      type: 'button',
      class: 'btn btn-plain btn-small',
      testid: 'static-download',
      i18n: 'download_png',
      onclick: () => downloadFile(`/api/merchants/${id}/qr.png`, `qiao-merchant-${id}.png`).catch(showError),
    }),
  );
  return box;
}

function keysCard(id) {
  const box = h('div', { class: 'card', testid: 'api-keys' });
  const refresh = () =>
    api
      .apiKeys(id)
      .then((keys) => {
        clear(box);
        box.append(h('h2', { class: 'section-title', i18n: 'api_keys' }));
        for (const k of keys) {
          box.append(
            h(
              'div',
              { class: 'order-row', testid: `key-${k.id}` },
              h('code', {}, `${k.prefix}…`),
              h('span', {}, k.label),
              k.revoked_at_ms
                ? h('span', { class: 'muted', i18n: 'key_revoked' })
                : h('button', { type: 'button', class: 'btn btn-plain btn-small danger', testid: 'key-revoke', i18n: 'revoke', onclick: () => api.revokeApiKey(id, k.id).then(refresh).catch(showError) }),
            ),
          );
        }
        const shown = h('div', { testid: 'key-secret' });
        box.append(
          h('button', {
            type: 'button',
            class: 'btn btn-plain btn-small',
            testid: 'key-create',
            i18n: 'key_create',
            onclick: async () => {
              try {
                const created = await api.createApiKey(id, 'web console');
                await refresh();
                box.append(h('p', { class: 'hint', i18n: 'key_once' }), h('code', { class: 'secret', testid: 'key-secret-value' }, created.secret));
              } catch (err) {
                showError(err);
              }
            },
          }),
          shown,
        );
      })
      .catch(showError);
  refresh();
  return box;
}

function notificationsCard(id, m) {
  const url = h('input', { class: 'text-input', testid: 'notify-url', value: m.notify_url || '', ph: 'notify_url_ph', autocomplete: 'off' });
  const list = h('div', { testid: 'notifications' });
  const error = formError();
  const refresh = () =>
    api
      .notifications(id)
      .then((items) => {
        clear(list);
        for (const n of items) {
          list.append(
            h(
              'div',
              { class: 'order-row', testid: `notification-${n.id}` },
              h('span', {}, n.kind),
              h('span', { class: n.delivered_at_ms ? 'verified' : 'muted', i18n: n.delivered_at_ms ? 'delivered' : ['attempts', { n: n.attempts }] }),
              h('button', { type: 'button', class: 'btn btn-plain btn-small', i18n: 'resend', onclick: () => api.resendNotification(id, n.id).then(refresh).catch(showError) }),
            ),
          );
        }
      })
      .catch(showError);
  refresh();
  return h(
    'form',
    {
      class: 'card',
      testid: 'notify-settings',
      onsubmit: async (e) => {
        e.preventDefault();
        error.set(null);
        try {
          const value = url.value.trim();
          await api.updateMerchant(id, value ? { notify_url: value } : { clear_notify_url: true });
          toast({ key: 'saved' });
        } catch (err) {
          error.set(err);
        }
      },
    },
    h('h2', { class: 'section-title', i18n: 'notifications' }),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'notify_url' }), url),
    error.el,
    h('button', { type: 'submit', class: 'btn btn-plain btn-small', testid: 'notify-save', i18n: 'save' }),
    list,
  );
}
