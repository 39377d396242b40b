// Sign in and sign up.

import { api } from '../api.js';
import { h, icon } from '../dom.js';
import { lang } from '../i18n.js';
import { formError, langButton } from '../ui.js';

const CALLING_CODES = { CN: '+86', US: '+1' };

function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Firefox\//.test(ua) ? 'Firefox' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `Web (${browser})`;
}

/** Adds the region's calling code when the number was typed without one. */
export function normalizePhone(raw, region) {
  const s = raw.replace(/[\s()-]/g, '');
  if (!s) return '';
  if (s.startsWith('+')) return s;
  if (s.startsWith('00')) return `+${s.slice(2)}`;
  return `${CALLING_CODES[region] || ''}${s}`;
}

function field({ label, input }) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: label }), input);
}

function shell(titleKey, form, footer) {
  return h(
    'div',
    { class: 'auth' },
    h('div', { class: 'auth-top' }, langButton()),
    h(
      'div',
      { class: 'auth-card' },
      h('div', { class: 'auth-brand' }, icon('logo', 'icon auth-logo'), h('div', { class: 'auth-name', i18n: 'app_name' })),
      h('p', { class: 'auth-tagline', i18n: 'tagline' }),
      h('h1', { class: 'auth-title', testid: 'auth-title', i18n: titleKey }),
      form,
      footer,
    ),
  );
}

async function submitting(button, fn) {
  button.disabled = true;
  button.classList.add('busy');
  try {
    await fn();
  } finally {
    button.disabled = false;
    button.classList.remove('busy');
  }
}

export function signInView(root, { onAuthed }) {
  const identifier = h('input', { name: 'identifier', testid: 'login-identifier', ph: 'identifier_ph', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', testid: 'login-password', ph: 'password_ph', autocomplete: 'current-password', required: true });
  const error = formError();
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit', testid: 'login-submit', i18n: 'sign_in' });
  const form = h(
    'form',
    {
      class: 'form',
      testid: 'login-form',
      onsubmit: (e) => {
        e.preventDefault();
        error.set(null);
        submitting(submit, async () => {
          try {
            const res = await api.login({ identifier: identifier.value.trim(), password: password.value, device_name: deviceName() });
            onAuthed(res);
          } catch (err) {
            error.set(err);
          }
        });
      },
    },
    field({ label: 'identifier', input: identifier }),
    field({ label: 'password', input: password }),
    error.el,
    submit,
  );
  const footer = h(
    'p',
    { class: 'auth-switch' },
    h('span', { i18n: 'no_account' }),
    ' ',
    h('a', { href: '#/signup', testid: 'goto-signup', i18n: 'create_account' }),
  );
  root.appendChild(shell('signin_title', form, footer));
  identifier.focus();
  return () => {};
}

export function signUpView(root, { onAuthed }) {
  const name = h('input', { name: 'display_name', testid: 'signup-name', ph: 'display_name_ph', autocomplete: 'nickname', required: true, maxlength: 64 });
  const region = h(
    'select',
    { name: 'region', testid: 'signup-region' },
    h('option', { value: 'CN', i18n: 'region_code_CN' }),
    h('option', { value: 'US', i18n: 'region_code_US' }),
  );
  region.value = lang() === 'zh-CN' ? 'CN' : 'US';
  const phone = h('input', { name: 'phone', type: 'tel', testid: 'signup-phone', ph: 'phone_ph', autocomplete: 'tel' });
  const email = h('input', { name: 'email', type: 'email', testid: 'signup-email', ph: 'email_ph', autocomplete: 'email' });
  const password = h('input', { name: 'password', type: 'password', testid: 'signup-password', ph: 'password_ph', autocomplete: 'new-password', required: true });
  const error = formError();
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit', testid: 'signup-submit', i18n: 'sign_up' });
  const form = h(
    'form',
    {
      class: 'form',
      testid: 'signup-form',
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        error.set(null);
        submitting(submit, async () => {
          try {
            const res = await api.register({
              display_name: name.value.trim(),
              phone: normalizePhone(phone.value, region.value) || null,
              email: email.value.trim() || null,
              password: password.value,
              region: region.value,
              language: lang(),
              device_name: deviceName(),
            });
            onAuthed(res);
          } catch (err) {
            error.set(err);
          }
        });
      },
    },
    field({ label: 'display_name', input: name }),
    field({ label: 'region', input: region }),
    field({ label: 'phone', input: phone }),
    field({ label: 'email', input: email }),
    field({ label: 'password', input: password }),
    error.el,
    submit,
  );
  const footer = h(
    'p',
    { class: 'auth-switch' },
    h('span', { i18n: 'have_account' }),
    ' ',
    h('a', { href: '#/login', testid: 'goto-login', i18n: 'sign_in' }),
  );
  root.appendChild(shell('signup_title', form, footer));
  name.focus();
  return () => {};
}
