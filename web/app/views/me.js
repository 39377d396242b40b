// "Me": profile, Qiao ID, personal QR code, wallet, language, log out.

import { api } from '../api.js';
import { avatar, clear, h, icon } from '../dom.js';
import { toggleLang } from '../i18n.js';
import { emit, on, store } from '../store.js';
import { formError, row, showError, toast, topbar } from '../ui.js';

export function meView(root, { onLogout }) {
  const body = h('div', { class: 'list-scroll me' });
  root.append(topbar({ title: 'tab_me', testid: 'me-title' }), body);

  const qr = qrCard({ testid: 'qr-card' });

  const render = () => {
    const me = store.me;
    clear(body);
    const qiao = h('div', { class: 'card qiao-id-card', testid: 'qiao-id-card' });
    if (me.qiao_id) {
      qiao.append(h('div', { class: 'kv' }, h('span', { class: 'kv-key', i18n: 'qiao_id' }), h('span', { class: 'kv-value', testid: 'qiao-id-value' }, me.qiao_id)));
    } else {
      const input = h('input', { class: 'text-input', testid: 'qiao-id-input', ph: 'qiao_id_ph', maxlength: 20, autocomplete: 'off' });
      const err = formError();
      const save = h('button', { type: 'submit', class: 'btn btn-primary btn-small', testid: 'qiao-id-save', i18n: 'save' });
      qiao.append(
        h('div', { class: 'kv' }, h('span', { class: 'kv-key', i18n: 'qiao_id' }), h('span', { class: 'kv-value muted', testid: 'qiao-id-value', i18n: 'not_set' })),
        h(
          'form',
          {
            class: 'inline-form',
            onsubmit: async (e) => {
              e.preventDefault();
              err.set(null);
              save.disabled = true;
              try {
                store.me = await api.setQiaoId(input.value.trim());
                emit('me', store.me);
                toast({ key: 'saved' });
              } catch (x) {
                save.disabled = false;
                err.set(x);
              }
            },
          },
          h('span', { class: 'field-label', i18n: 'set_qiao_id' }),
          h('div', { class: 'inline-row' }, input, save),
          h('p', { class: 'hint', i18n: 'qiao_id_hint' }),
          err.el,
        ),
      );
    }
    body.append(
      h(
        'div',
        { class: 'card profile-card me-card', testid: 'me-profile' },
        h(
          'div',
          { class: 'profile-head' },
          avatar(me, 64),
          h(
            'div',
            { class: 'profile-meta' },
            h('div', { class: 'profile-name', testid: 'me-name' }, me.display_name),
            me.qiao_id ? h('div', { class: 'muted', i18n: ['qiao_id_is', { id: me.qiao_id }] }) : null,
            me.phone ? h('div', { class: 'muted', testid: 'me-phone' }, me.phone) : null,
            me.email ? h('div', { class: 'muted' }, me.email) : null,
          ),
        ),
      ),
      ...((me.unverified || []).length
        ? [
            h(
              'div',
              { class: 'group-rows' },
              row({
                href: '#/me/verify',
                testid: 'me-verify',
                lead: icon('shield', 'icon row-icon'),
                title: h('span', { class: 'row-title', i18n: 'verify_needed' }),
                chevron: true,
              }),
            ),
          ]
        : []),
      qiao,
      qr,
      h(
        'div',
        { class: 'group-rows' },
        row({
          href: '#/me/wallet',
          testid: 'me-wallet',
          lead: icon('wallet', 'icon row-icon'),
          title: h('span', { class: 'row-title', i18n: 'wallet' }),
          chevron: true,
        }),
        row({
          href: '#/me/scan',
          testid: 'me-scan',
          lead: icon('scan', 'icon row-icon'),
          title: h('span', { class: 'row-title', i18n: 'scan' }),
          chevron: true,
        }),
        row({
          href: '#/me/paycode',
          testid: 'me-paycode',
          lead: icon('paycode', 'icon row-icon'),
          title: h('span', { class: 'row-title', i18n: 'payment_code' }),
          chevron: true,
        }),
        row({
          href: '#/me/merchants',
          testid: 'me-merchants',
          lead: icon('shop', 'icon row-icon'),
          title: h('span', { class: 'row-title', i18n: 'merchants' }),
          chevron: true,
        }),
        row({
          testid: 'me-language',
          onclick: () => {
            toggleLang();
          },
          lead: icon('globe', 'icon row-icon'),
          title: h('span', { class: 'row-title', i18n: 'language' }),
          trailing: h('span', { class: 'row-trailing', i18n: 'language_name' }),
          chevron: true,
        }),
      ),
      h('div', { class: 'group-rows' }, h('button', { type: 'button', class: 'row row-danger', testid: 'logout', i18n: 'logout', onclick: () => onLogout() })),
    );
  };
  render();
  return on('me', render);
}

let qrCache = null;

function loadQr() {
  if (!qrCache) {
    qrCache = api.myQr().catch((err) => {
      qrCache = null;
      throw err;
    });
  }
  return qrCache;
}

export function forgetQr() {
  qrCache = null;
}

/** The personal QR code card; `large` adds the name and region (the desktop detail pane). */
export function qrCard({ testid, large = false }) {
  const img = h('img', { class: 'qr-image', testid: large ? 'qr-image-large' : 'qr-image', alt: 'my_qr', width: 200, height: 200 });
  loadQr()
    .then((qr) => {
      img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(qr.svg)}`;
      img.dataset.payload = qr.payload;
    })
    .catch(showError);
  const me = store.me;
  return h(
    'div',
    { class: `card qr-card${large ? ' qr-card-large' : ''}`, testid },
    large
      ? h(
          'div',
          { class: 'profile-head' },
          avatar(me, 56),
          h('div', { class: 'profile-meta' }, h('div', { class: 'profile-name' }, me.display_name), h('div', { class: 'muted', i18n: ['region_is', { region: me.region }] })),
        )
      : h('div', { class: 'qr-title' }, icon('qr', 'icon icon-sm'), h('span', { i18n: 'my_qr' })),
    img,
    h('p', { class: 'hint', i18n: 'qr_hint' }),
  );
}
