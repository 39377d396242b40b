// A tiny element builder. Props:
//   class, testid (→ data-testid), i18n: key | [key, args] (text content),
//   ph / title / alt: i18n key (or [key, args]) for placeholder / title+aria-label / alt,
//   on<Event>: listener, dataset: {…}, style: {…}, anything else → attribute
//   (true → empty attribute, false/null/undefined → omitted).
// Children: nodes, strings (text), arrays, null/false (skipped).

import { t } from './i18n.js';

function keyArgs(v) {
  return Array.isArray(v) ? [v[0], v[1] || {}] : [v, {}];
}

function setArgs(el, args) {
  if (args && Object.keys(args).length) el.dataset.i18nArgs = JSON.stringify(args);
}

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'testid') el.dataset.testid = value;
    else if (name === 'i18n') {
      const [key, args] = keyArgs(value);
      el.dataset.i18n = key;
      setArgs(el, args);
      el.textContent = t(key, args);
    } else if (name === 'ph') {
      const [key, args] = keyArgs(value);
      el.dataset.i18nPh = key;
      setArgs(el, args);
      el.placeholder = t(key, args);
    } else if (name === 'title') {
      const [key, args] = keyArgs(value);
      el.dataset.i18nTitle = key;
      setArgs(el, args);
      el.title = t(key, args);
      el.setAttribute('aria-label', el.title);
    } else if (name === 'alt') {
      const [key, args] = keyArgs(value);
      el.dataset.i18nAlt = key;
      setArgs(el, args);
      el.alt = t(key, args);
    } else if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (name === 'value') el.value = value;
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Sets the translation key of an existing element and re-translates it. */
export function setText(el, key, args) {
  el.dataset.i18n = key;
  if (args && Object.keys(args).length) el.dataset.i18nArgs = JSON.stringify(args);
  else delete el.dataset.i18nArgs;
  el.textContent = t(key, args || {});
}

/** Plain (untranslated) text, e.g. a user's name: drops any i18n tag. */
export function setPlain(el, text) {
  delete el.dataset.i18n;
  delete el.dataset.i18nArgs;
  el.textContent = text;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const ICONS = {
  back: '<path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
  plus: '<circle cx="12" cy="12" r="9.5" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M12 7.5v9M7.5 12h9" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>',
  chats: '<path d="M12 4C7 4 3 7.2 3 11.2c0 2.3 1.3 4.3 3.3 5.6L5.6 20l3.6-1.9c.9.2 1.8.3 2.8.3 5 0 9-3.2 9-7.2S17 4 12 4z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/><circle cx="8.5" cy="11.2" r="1.1" fill="currentColor"/><circle cx="12" cy="11.2" r="1.1" fill="currentColor"/><circle cx="15.5" cy="11.2" r="1.1" fill="currentColor"/>',
  contacts: '<rect x="4.5" y="3" width="15" height="18" rx="2.5" fill="none" stroke="currentColor" stroke-width="1.7"/><circle cx="12" cy="10" r="2.6" fill="currentColor"/><path d="M7.8 17c.5-2.2 2.2-3.4 4.2-3.4s3.7 1.2 4.2 3.4z" fill="currentColor"/><path d="M2.5 7.5h3M2.5 12h3M2.5 16.5h3" stroke="currentColor" stroke-width="1.7" stroke-linecap="round"/>',
  me: '<circle cx="12" cy="8" r="4.2" fill="none" stroke="currentColor" stroke-width="1.8"/><path d="M4 20.5c.7-4.2 4-6.6 8-6.6s7.3 2.4 8 6.6" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/>',
  adduser: '<circle cx="10" cy="8.5" r="4" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M3 20c.6-4 3.5-6.2 7-6.2 1.5 0 2.9.4 4 1.1M18 14v6M15 17h6" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>',
  group: '<circle cx="9" cy="9" r="3.5" fill="none" stroke="currentColor" stroke-width="1.6"/><circle cx="16.5" cy="10" r="2.8" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M2.5 19.5c.5-3.3 3.2-5.2 6.5-5.2s6 1.9 6.5 5.2M15.5 14.6c2.8 0 5.2 1.5 5.8 4.4" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>',
  globe: '<circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M3 12h18M12 3c2.5 2.6 3.7 5.6 3.7 9s-1.2 6.4-3.7 9c-2.5-2.6-3.7-5.6-3.7-9S9.5 5.6 12 3z" fill="none" stroke="currentColor" stroke-width="1.6"/>',
  image: '<rect x="3" y="5" width="18" height="14" rx="2" fill="none" stroke="currentColor" stroke-width="1.6"/><circle cx="8.5" cy="10" r="1.8" fill="currentColor"/><path d="M4 17l5-4.5 3.5 3 3-2.5L20 17" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"/>',
  file: '<path d="M7 3h7l5 5v13H7z" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"/><path d="M14 3v5h5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"/>',
  qr: '<path d="M4 4h6v6H4zM14 4h6v6h-6zM4 14h6v6H4z" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M14 14h2v2h-2zM18 18h2v2h-2zM16 16h2v2h-2zM18 14h2v2h-2zM14 18h2v2h-2z" fill="currentColor"/>',
  wallet: '<rect x="3" y="6" width="18" height="13" rx="2.2" fill="none" stroke="currentColor" stroke-width="1.7"/><path d="M5.5 6l9.5-2.6c.9-.2 1.5.3 1.5 1.2V6" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linejoin="round"/><path d="M15 11h6v4h-6a2 2 0 010-4z" fill="none" stroke="currentColor" stroke-width="1.7"/><circle cx="16.3" cy="13" r="1" fill="currentColor"/>',
  card: '<rect x="2.5" y="5" width="19" height="14" rx="2.2" fill="none" stroke="currentColor" stroke-width="1.7"/><path d="M2.5 9.5h19" stroke="currentColor" stroke-width="2.4"/><path d="M6 15h4" stroke="currentColor" stroke-width="1.7" stroke-linecap="round"/>',
  transfer: '<circle cx="12" cy="12" r="9.5" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M7.5 10h9l-3-3M16.5 14h-9l3 3" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/>',
  redpacket: '<rect x="5" y="2.5" width="14" height="19" rx="2.2" fill="none" stroke="currentColor" stroke-width="1.6"/><path d="M5 8.5c2.2 1.9 4.5 2.8 7 2.8s4.8-.9 7-2.8" fill="none" stroke="currentColor" stroke-width="1.6"/><circle cx="12" cy="11.3" r="2.1" fill="currentColor"/>',
  shield: '<path d="M12 3l7.5 3v5.5c0 4.5-3.1 8.3-7.5 9.5-4.4-1.2-7.5-5-7.5-9.5V6z" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linejoin="round"/><path d="M8.5 12l2.5 2.5 4.5-5" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linecap="round" stroke-linejoin="round"/>',
  chevron: '<path d="M9 5l7 7-7 7" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>',
  scan: '<path d="M4 8V5.5A1.5 1.5 0 0 1 5.5 4H8M16 4h2.5A1.5 1.5 0 0 1 20 5.5V8M20 16v2.5a1.5 1.5 0 0 1-1.5 1.5H16M8 20H5.5A1.5 1.5 0 0 1 4 18.5V16M4 12h16" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linecap="round"/>',
  shop: '<path d="M4 9l1.5-4.5h13L20 9M4 9v10.5h16V9M4 9c0 1.4 1.1 2.5 2.7 2.5S9.3 10.4 9.3 9c0 1.4 1.2 2.5 2.7 2.5s2.7-1.1 2.7-2.5c0 1.4 1.1 2.5 2.6 2.5S20 10.4 20 9M10 19.5v-4.5h4v4.5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"/>',
  check: '<circle cx="12" cy="12" r="9.5" fill="none" stroke="currentColor" stroke-width="1.7"/><path d="M7.5 12.5l3 3 6-6.5" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/>',
  paycode: '<path d="M4 6.5v11M6.5 6.5v11M9.5 6.5v11M13 6.5v11M15 6.5v11M18 6.5v11M20 6.5v11" stroke="currentColor" stroke-width="1.5"/>',
  logo: '<path d="M3 17c3-6 6-9 9-9s6 3 9 9" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/><path d="M3 17h18M7.5 17v-4M12 17V8M16.5 17v-4" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/>',
};

export function icon(name, cls = 'icon') {
  const span = document.createElement('span');
  span.className = cls;
  span.setAttribute('aria-hidden', 'true');
  span.innerHTML = `<svg viewBox="0 0 24 24" width="24" height="24">${ICONS[name] || ''}</svg>`;
  return span;
}

const AVATAR_COLORS = ['#07c160', '#10aeff', '#fa9d3b', '#576b95', '#e64340', '#9c6ade', '#00a2a7', '#f2b100'];

/** A square avatar with the first character of the name on a color chosen from the id. */
export function avatar(user, size = 44) {
  const name = (user && user.display_name) || '?';
  const id = (user && user.id) || 0;
  const initial = Array.from(name.trim())[0] || '?';
  return h(
    'span',
    {
      class: 'avatar',
      'aria-hidden': 'true',
      style: {
        width: `${size}px`,
        height: `${size}px`,
        fontSize: `${Math.round(size * 0.42)}px`,
        background: AVATAR_COLORS[Math.abs(id) % AVATAR_COLORS.length],
      },
    },
    initial.toUpperCase(),
  );
}

/** A group avatar: up to four member initials in a grid. */
export function groupAvatar(size = 44) {
  const el = icon('group', 'avatar avatar-group');
  el.style.width = `${size}px`;
  el.style.height = `${size}px`;
  return el;
}
