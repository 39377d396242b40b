// Shared pieces of the interface: top bars, the language button, toasts,
// action sheets, list rows.

import { h, icon, setPlain, setText } from './dom.js';
import { toggleLang } from './i18n.js';

export function langButton() {
  return h(
    'button',
    { class: 'lang-btn', type: 'button', testid: 'lang-toggle', title: 'lang_toggle_title', onclick: () => toggleLang() },
    icon('globe', 'icon icon-sm'),
    h('span', { i18n: 'lang_toggle' }),
  );
}

/**
 * A top bar: optional back link (href), a title (i18n key or [key,args] or
 * {plain: text}), right-side actions. Every bar carries the language button.
 */
export function topbar({ title, back, actions = [], testid } = {}) {
  const titleEl = h('h1', { class: 'topbar-title', testid: testid || 'page-title' });
  setTitle(titleEl, title);
  const left = h('div', { class: 'topbar-side topbar-left' });
  if (back) {
    left.appendChild(h('a', { class: 'icon-btn back-btn', href: back, testid: 'back', title: 'back' }, icon('back')));
  } else {
    left.appendChild(langButton());
  }
  const right = h('div', { class: 'topbar-side topbar-right' }, actions);
  if (back) right.appendChild(langButton());
  return h('header', { class: 'topbar' }, left, titleEl, right);
}

export function setTitle(el, title) {
  if (!title) return;
  if (typeof title === 'object' && !Array.isArray(title) && 'plain' in title) setPlain(el, title.plain);
  else if (Array.isArray(title)) setText(el, title[0], title[1]);
  else setText(el, title);
}

let toastTimer = null;

/** A short message at the top of the screen; `text` is plain (e.g. a server error) or {key, args}. */
export function toast(text, { error = false } = {}) {
  let el = document.querySelector('.toast');
  if (!el) {
    el = h('div', { class: 'toast', testid: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(el);
  }
  if (typeof text === 'object' && text && text.key) setText(el, text.key, text.args);
  else setPlain(el, String(text));
  el.classList.toggle('toast-error', error);
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), error ? 4500 : 2200);
}

export function showError(err) {
  toast(err && err.message ? err.message : String(err), { error: true });
}

/** Inline error line for a form; `set(err)` shows the (already localized) message. */
export function formError() {
  const el = h('p', { class: 'form-error', testid: 'form-error', role: 'alert', hidden: true });
  return {
    el,
    set(err) {
      if (!err) {
        el.hidden = true;
        setPlain(el, '');
        return;
      }
      setPlain(el, err.message || String(err));
      el.hidden = false;
    },
    /** A client-side message from the translation table (re-translated on a language switch). */
    setKey(key, args) {
      setText(el, key, args);
      el.hidden = false;
    },
  };
}

/**
 * An action sheet (phone) / popover (desktop) of buttons: items are
 * {key, testid, danger, run}. Closes on choice, on the backdrop or Escape.
 */
export function actionSheet(items) {
  const close = () => {
    backdrop.remove();
    document.removeEventListener('keydown', onKey);
  };
  const onKey = (e) => {
    if (e.key === 'Escape') close();
  };
  const sheet = h(
    'div',
    { class: 'sheet', role: 'menu', testid: 'action-sheet' },
    items.map((item) =>
      h('button', {
        type: 'button',
        role: 'menuitem',
        class: `sheet-item${item.danger ? ' danger' : ''}`,
        testid: item.testid,
        i18n: item.key,
        onclick: () => {
          close();
          item.run();
        },
      }),
    ),
    h('button', { type: 'button', class: 'sheet-item sheet-cancel', testid: 'sheet-cancel', i18n: 'cancel', onclick: close }),
  );
  const backdrop = h('div', { class: 'sheet-backdrop', onclick: (e) => e.target === backdrop && close() }, sheet);
  document.body.appendChild(backdrop);
  document.addEventListener('keydown', onKey);
  return close;
}

/** A tappable list row: [icon/avatar] title (subtitle) [trailing] ›. */
export function row({ href, onclick, lead, title, subtitle, trailing, testid, chevron = false }) {
  const tag = href ? 'a' : 'button';
  return h(
    tag,
    { class: 'row', href, type: href ? undefined : 'button', onclick, testid },
    lead,
    h('span', { class: 'row-body' }, title, subtitle),
    trailing,
    chevron ? icon('chevron', 'icon icon-chevron') : null,
  );
}

export function badge(n, testid) {
  const el = h('span', { class: 'badge', testid });
  setBadge(el, n);
  return el;
}

export function setBadge(el, n) {
  el.textContent = n > 99 ? '99+' : String(n || '');
  el.hidden = !n;
}

export function emptyState(key, hintKey) {
  return h(
    'div',
    { class: 'empty', testid: 'empty' },
    icon('logo', 'icon empty-logo'),
    h('p', { class: 'empty-title', i18n: key }),
    hintKey ? h('p', { class: 'empty-hint', i18n: hintKey }) : null,
  );
}

/**
 * A dialog over the page (a bottom sheet on a phone, centred on a desktop):
 * `build(close)` returns its content. Closes on the × button, the backdrop or
 * Escape; `onClose` runs once. Returns `close`.
 */
export function dialog(build, { testid, className = '', onClose } = {}) {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    backdrop.remove();
    document.removeEventListener('keydown', onKey);
    if (onClose) onClose();
  };
  const onKey = (e) => {
    if (e.key === 'Escape') close();
  };
  const panel = h(
    'div',
    { class: `dialog ${className}`, role: 'dialog', 'aria-modal': 'true', testid },
    h('button', { type: 'button', class: 'dialog-close', testid: 'dialog-close', title: 'close', onclick: close }, '×'),
  );
  const backdrop = h('div', { class: 'sheet-backdrop dialog-backdrop', onclick: (e) => e.target === backdrop && close() }, panel);
  const content = build(close);
  panel.append(...(Array.isArray(content) ? content : [content]));
  document.body.appendChild(backdrop);
  document.addEventListener('keydown', onKey);
  return close;
}
