// "Verify" (#/me/verify): prove the phone number or email address given at
// sign-up with the six-digit code sent to it. Until then it does not count
// for signing in, being found by search or contact discovery.

import { api } from '../api.js';
import { clear, h } from '../dom.js';
import { emit, store } from '../store.js';
import { formError, toast, topbar } from '../ui.js';

export function verifyView(root) {
  const body = h('div', { class: 'list-scroll verify', testid: 'verify' });
  root.append(topbar({ back: '#/me', title: 'verify_title', testid: 'verify-title' }), body);

  const render = () => {
    clear(body);
    const pending = (store.me && store.me.unverified) || [];
    if (!pending.length) {
      body.append(h('p', { class: 'hint verify-done', testid: 'verify-done', i18n: 'verify_all_done' }));
      return;
    }
    for (const claim of pending) body.append(claimCard(claim, render));
  };
  render();
  return () => {};
}

function claimCard(claim, rerender) {
  const kind = claim.kind;
  const code = h('input', {
    class: 'text-input code-input',
    testid: `verify-code-${kind}`,
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    maxlength: 6,
    ph: 'verify_code_ph',
  });
  const error = formError();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: `verify-submit-${kind}`, i18n: 'verify_submit' });
  const resend = h('button', {
    type: 'button',
    class: 'btn btn-plain btn-block',
    testid: `verify-resend-${kind}`,
    i18n: 'verify_resend',
    onclick: async () => {
      error.set(null);
      resend.disabled = true;
      try {
        await api.sendCode(kind);
        toast({ key: 'verify_sent' });
      } catch (err) {
        error.set(err);
      } finally {
        resend.disabled = false;
      }
    },
  });
  return h(
    'form',
    {
      class: 'card wallet-section wallet-form',
      testid: `verify-form-${kind}`,
      onsubmit: async (e) => {
        e.preventDefault();
        error.set(null);
        const value = code.value.trim();
        if (!/^\d{6}$/.test(value)) {
          error.setKey('verify_code_invalid');
          code.focus();
          return;
        }
        submit.disabled = true;
        try {
          store.me = await api.confirmCode(kind, value);
          emit('me', store.me);
          toast({ key: kind === 'phone' ? 'verify_phone_done' : 'verify_email_done' });
          if (!store.me.unverified.length) location.hash = '#/chats';
          else rerender();
        } catch (err) {
          error.set(err);
          code.value = '';
          code.focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h2', { class: 'section-title', i18n: kind === 'phone' ? 'verify_phone' : 'verify_email' }),
    h('p', { class: 'hint', testid: `verify-sent-to-${kind}`, i18n: ['verify_sent_to', { to: claim.value }] }),
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'verify_code' }), code),
    error.el,
    submit,
    resend,
  );
}
