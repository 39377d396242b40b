// Every visible string of the web client, in zh-CN and en-US.
//
// Elements built with `dom.js` carry their translation key in data attributes
// (data-i18n, data-i18n-args, data-i18n-ph, data-i18n-title, data-i18n-alt),
// so switching the language re-translates the live DOM in place without
// losing form input, scroll position or open views.

export const LANGUAGES = ['en-US', 'zh-CN'];
const STORAGE_KEY = 'qiao.lang';

function pad(n) {
  return String(n).padStart(2, '0');
}

function clock(d) {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

// Short time for the chat list: 14:05 / Yesterday / Mon / 2024/3/5.
function listTime(lang, ms) {
  const d = new Date(ms);
  const today = startOfDay(new Date());
  const day = startOfDay(d);
  const dayMs = 86400000;
  if (day === today) return clock(d);
  if (day === today - dayMs) return lang === 'zh-CN' ? '昨天' : 'Yesterday';
  if (today - day < 7 * dayMs) {
    return new Intl.DateTimeFormat(lang, { weekday: lang === 'zh-CN' ? 'long' : 'short' }).format(d);
  }
  return lang === 'zh-CN'
    ? `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日`
    : `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()}`;
}

// Time separator inside a conversation: "14:05", "Yesterday 14:05", …
function messageTime(lang, ms) {
  const d = new Date(ms);
  const day = startOfDay(d);
  const today = startOfDay(new Date());
  if (day === today) return clock(d);
  return `${listTime(lang, ms)} ${clock(d)}`;
}

function fileSize(bytes) {
  if (bytes == null) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Digits after the decimal point of a currency (CNY/USD 2, JPY 0), as Intl knows it. */
export function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** 10050 minor units → "100.50", exactly, as a decimal string (no floating point). */
export function minorToDecimal(minor, digits = 2) {
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(digits + 1, '0');
  const out = digits > 0 ? `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}` : s;
  return neg ? `-${out}` : out;
}

/** Minor units in the language's currency format: ¥100.50 (zh-CN), CN¥100.50 (en-US). */
export function formatMoney(language, minor, currency) {
  if (minor == null || !currency) return '';
  // Intl formats a decimal string exactly, without float rounding.
  return new Intl.NumberFormat(language, { style: 'currency', currency }).format(minorToDecimal(minor, currencyDigits(currency)));
}

const BRAND_NAMES = {
  'en-US': { visa: 'Visa', mastercard: 'Mastercard', unionpay: 'UnionPay', amex: 'American Express', other: 'Card' },
  'zh-CN': { visa: 'Visa', mastercard: 'Mastercard', unionpay: '银联', amex: '美国运通', other: '银行卡' },
};

function cardName(language, brand, last4) {
  const names = BRAND_NAMES[language];
  return `${names[brand] || names.other} •••• ${last4}`;
}

const en = {
  app_name: 'Qiao',
  lang_toggle: '中文',
  lang_toggle_title: 'Switch language',
  tagline: 'Chats that cross every border',
  // tabs
  tab_chats: 'Chats',
  tab_contacts: 'Contacts',
  tab_me: 'Me',
  // auth
  sign_in: 'Sign in',
  sign_up: 'Sign up',
  signin_title: 'Sign in to Qiao',
  signup_title: 'Create your account',
  identifier: 'Account',
  identifier_ph: 'Phone (+86…), email or Qiao ID',
  password: 'Password',
  password_ph: 'At least 8 characters',
  display_name: 'Name',
  display_name_ph: 'How friends see you',
  region: 'Region',
  region_CN: 'China mainland',
  region_US: 'United States',
  region_code_CN: 'China mainland (+86)',
  region_code_US: 'United States (+1)',
  phone: 'Phone',
  phone_ph: 'Mobile number',
  email: 'Email',
  email_ph: 'Optional',
  no_account: 'New to Qiao?',
  have_account: 'Already have an account?',
  create_account: 'Create an account',
  working: 'Please wait…',
  // chats
  connecting: 'Connecting…',
  no_chats: 'No chats yet',
  no_chats_hint: 'Add a friend to start chatting.',
  preview_image: '[Photo]',
  preview_file: ({ name }) => `[File] ${name}`,
  preview_sender: ({ name }) => `${name}: `,
  you_recalled: 'You recalled a message',
  x_recalled: ({ name }) => `${name} recalled a message`,
  list_time: ({ lang, ms }) => listTime(lang, ms),
  msg_time: ({ lang, ms }) => messageTime(lang, ms),
  select_chat: 'Select a chat to start messaging',
  more_actions: 'More',
  // conversation
  back: 'Back',
  message_ph: 'Message',
  send: 'Send',
  attach: 'Photos and files',
  photo: 'Photo',
  file: 'File',
  quote: 'Quote',
  copy: 'Copy',
  recall: 'Recall',
  cancel: 'Cancel',
  copied: 'Copied',
  status_sending: 'Sending…',
  status_failed: 'Not sent',
  status_sent: 'Sent',
  status_delivered: 'Delivered',
  status_read: 'Read',
  load_earlier: 'Earlier messages',
  quoted_unknown: 'a message',
  quoted_recalled: 'This message was recalled',
  replying_to: ({ name }) => `Reply to ${name}`,
  group_title: ({ name, n }) => `${name} (${n})`,
  image_alt: 'Photo',
  file_size: ({ size }) => fileSize(size),
  unknown_user: 'Unknown',
  you: 'You',
  retry: 'Tap to resend',
  // contacts
  new_friends: 'New friends',
  add_friend: 'Add friend',
  new_group: 'New group',
  no_contacts: 'No friends yet',
  search_ph: 'Qiao ID, phone (+86…) or email',
  search: 'Search',
  no_user_found: 'No user found',
  greeting: 'Greeting',
  greeting_default: ({ name }) => `Hi, I'm ${name}`,
  send_request: 'Send request',
  request_sent: 'Request sent',
  send_message: 'Send message',
  already_friends: 'Already friends',
  incoming: 'Received',
  outgoing: 'Sent',
  accept: 'Accept',
  decline: 'Decline',
  req_waiting: 'Waiting',
  req_accepted: 'Added',
  req_declined: 'Declined',
  no_requests: 'No friend requests',
  qiao_id_is: ({ id }) => `Qiao ID: ${id}`,
  region_is: ({ region }) => `Region: ${region === 'CN' ? 'China mainland' : region === 'US' ? 'United States' : region}`,
  group_name: 'Group name',
  group_name_ph: 'Name the group',
  select_members: 'Choose friends',
  create_group: ({ n }) => (n ? `Create (${n})` : 'Create'),
  group_chats: 'Group chats',
  contact_info: 'Profile',
  // me
  qiao_id: 'Qiao ID',
  not_set: 'Not set',
  set_qiao_id: 'Set Qiao ID',
  qiao_id_ph: 'e.g. alice_2024',
  qiao_id_hint: '6–20 letters, digits, _ or -, starting with a letter. It can be set only once.',
  save: 'Save',
  saved: 'Saved',
  my_qr: 'My QR code',
  qr_hint: 'Scan the QR code to add me on Qiao',
  language: 'Language',
  language_name: 'English',
  logout: 'Log out',
  account: 'Account',
  // wallet
  wallet: 'Wallet',
  balance: 'Balance',
  money: ({ lang, minor, currency }) => formatMoney(lang, minor, currency),
  bank_cards: 'Bank cards',
  no_cards: 'No cards yet',
  card_debit: 'Debit',
  card_credit: 'Credit',
  card_option: ({ lang, brand, last4 }) => cardName(lang, brand, last4),
  add_card: 'Add a bank card',
  card_number: 'Card number',
  card_number_ph: '16–19 digits',
  card_type: 'Card type',
  bind_card: 'Add card',
  card_added: 'Card added',
  top_up: 'Top up',
  top_up_card: 'From debit card',
  amount: 'Amount',
  amount_ph: 'e.g. 100.50',
  amount_invalid: 'Enter an amount such as 100.50 (at most 2 decimals).',
  need_debit_card: 'Add a debit card to top up.',
  topped_up: ({ lang, minor, currency }) => `Topped up ${formatMoney(lang, minor, currency)}`,
  // misc
  error_network: 'Network error. Check your connection and try again.',
  loading: 'Loading…',
};

const zh = {
  app_name: '桥',
  lang_toggle: 'English',
  lang_toggle_title: '切换语言',
  tagline: '跨越山海，随时畅聊',
  tab_chats: '聊天',
  tab_contacts: '通讯录',
  tab_me: '我',
  sign_in: '登录',
  sign_up: '注册',
  signin_title: '登录桥',
  signup_title: '创建账号',
  identifier: '账号',
  identifier_ph: '手机号（+86…）、邮箱或桥号',
  password: '密码',
  password_ph: '至少 8 位',
  display_name: '昵称',
  display_name_ph: '好友看到的名字',
  region: '地区',
  region_CN: '中国大陆',
  region_US: '美国',
  region_code_CN: '中国大陆（+86）',
  region_code_US: '美国（+1）',
  phone: '手机号',
  phone_ph: '手机号码',
  email: '邮箱',
  email_ph: '选填',
  no_account: '还没有账号？',
  have_account: '已有账号？',
  create_account: '注册新账号',
  working: '请稍候…',
  connecting: '连接中…',
  no_chats: '还没有聊天',
  no_chats_hint: '添加好友，开始聊天吧。',
  preview_image: '[图片]',
  preview_file: ({ name }) => `[文件] ${name}`,
  preview_sender: ({ name }) => `${name}：`,
  you_recalled: '你撤回了一条消息',
  x_recalled: ({ name }) => `${name} 撤回了一条消息`,
  list_time: ({ lang, ms }) => listTime(lang, ms),
  msg_time: ({ lang, ms }) => messageTime(lang, ms),
  select_chat: '选择一个聊天开始发消息',
  more_actions: '更多',
  back: '返回',
  message_ph: '发消息',
  send: '发送',
  attach: '图片和文件',
  photo: '照片',
  file: '文件',
  quote: '引用',
  copy: '复制',
  recall: '撤回',
  cancel: '取消',
  copied: '已复制',
  status_sending: '发送中…',
  status_failed: '发送失败',
  status_sent: '已发送',
  status_delivered: '已送达',
  status_read: '已读',
  load_earlier: '查看更早的消息',
  quoted_unknown: '一条消息',
  quoted_recalled: '该消息已撤回',
  replying_to: ({ name }) => `回复 ${name}`,
  group_title: ({ name, n }) => `${name}（${n}）`,
  image_alt: '图片',
  file_size: ({ size }) => fileSize(size),
  unknown_user: '未知用户',
  you: '你',
  retry: '点击重发',
  new_friends: '新的朋友',
  add_friend: '添加朋友',
  new_group: '发起群聊',
  no_contacts: '还没有好友',
  search_ph: '桥号、手机号（+86…）或邮箱',
  search: '搜索',
  no_user_found: '该用户不存在',
  greeting: '打招呼',
  greeting_default: ({ name }) => `你好，我是${name}`,
  send_request: '发送申请',
  request_sent: '已发送申请',
  send_message: '发消息',
  already_friends: '已是好友',
  incoming: '收到的申请',
  outgoing: '发出的申请',
  accept: '接受',
  decline: '拒绝',
  req_waiting: '等待验证',
  req_accepted: '已添加',
  req_declined: '已拒绝',
  no_requests: '暂无好友申请',
  qiao_id_is: ({ id }) => `桥号：${id}`,
  region_is: ({ region }) => `地区：${region === 'CN' ? '中国大陆' : region === 'US' ? '美国' : region}`,
  group_name: '群名称',
  group_name_ph: '给群取个名字',
  select_members: '选择好友',
  create_group: ({ n }) => (n ? `完成（${n}）` : '完成'),
  group_chats: '群聊',
  contact_info: '详细资料',
  qiao_id: '桥号',
  not_set: '未设置',
  set_qiao_id: '设置桥号',
  qiao_id_ph: '例如 alice_2024',
  qiao_id_hint: '6–20 位字母、数字、下划线或减号，以字母开头；只能设置一次。',
  save: '保存',
  saved: '已保存',
  my_qr: '我的二维码',
  qr_hint: '扫一扫上面的二维码，加我为桥好友',
  language: '语言',
  language_name: '简体中文',
  logout: '退出登录',
  account: '账号',
  wallet: '钱包',
  balance: '余额',
  money: ({ lang, minor, currency }) => formatMoney(lang, minor, currency),
  bank_cards: '银行卡',
  no_cards: '还没有绑定银行卡',
  card_debit: '储蓄卡',
  card_credit: '信用卡',
  card_option: ({ lang, brand, last4 }) => cardName(lang, brand, last4),
  add_card: '添加银行卡',
  card_number: '卡号',
  card_number_ph: '16–19 位数字',
  card_type: '卡类型',
  bind_card: '绑定',
  card_added: '银行卡已绑定',
  top_up: '充值',
  top_up_card: '付款储蓄卡',
  amount: '金额',
  amount_ph: '例如 100.50',
  amount_invalid: '请输入正确的金额，例如 100.50（最多两位小数）。',
  need_debit_card: '绑定储蓄卡后即可充值。',
  topped_up: ({ lang, minor, currency }) => `已充值 ${formatMoney(lang, minor, currency)}`,
  error_network: '网络错误，请检查网络后重试。',
  loading: '加载中…',
};

const STRINGS = { 'en-US': en, 'zh-CN': zh };

function detect() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGUAGES.includes(saved)) return saved;
  } catch {
    // storage unavailable: fall through
  }
  const nav = (navigator.language || 'en-US').toLowerCase();
  return nav.startsWith('zh') ? 'zh-CN' : 'en-US';
}

let current = detect();
const listeners = new Set();

export function lang() {
  return current;
}

/** Translates `key` with optional arguments. Unknown keys show as themselves. */
export function t(key, args = {}) {
  const entry = STRINGS[current][key] ?? STRINGS['en-US'][key];
  if (entry === undefined) return key;
  return typeof entry === 'function' ? entry({ lang: current, ...args }) : entry;
}

/** Re-translates every tagged element under `root`. */
export function applyI18n(root = document) {
  const scope = root.querySelectorAll ? root : document;
  const all = [scope, ...scope.querySelectorAll('[data-i18n],[data-i18n-ph],[data-i18n-title],[data-i18n-alt]')];
  for (const el of all) {
    if (!el.dataset) continue;
    const args = el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : {};
    if (el.dataset.i18n) el.textContent = t(el.dataset.i18n, args);
    if (el.dataset.i18nPh) el.placeholder = t(el.dataset.i18nPh, args);
    if (el.dataset.i18nTitle) {
      el.title = t(el.dataset.i18nTitle, args);
      el.setAttribute('aria-label', el.title);
    }
    if (el.dataset.i18nAlt) el.alt = t(el.dataset.i18nAlt, args);
  }
}

export function setLang(next) {
  if (!LANGUAGES.includes(next) || next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not persisted; still switch
  }
  document.documentElement.lang = next;
  document.title = t('app_name');
  applyI18n(document);
  for (const fn of listeners) fn(next);
}

export function toggleLang() {
  setLang(current === 'zh-CN' ? 'en-US' : 'zh-CN');
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** For tests and audits: every key is translated in both languages. */
export function missingKeys() {
  const a = Object.keys(en);
  const b = Object.keys(zh);
  return [...a.filter((k) => !(k in zh)), ...b.filter((k) => !(k in en))];
}

/** The fixed (argument-free) strings of a language, for audits and tests. */
export function staticStrings(language) {
  const table = STRINGS[language] || {};
  return Object.fromEntries(Object.entries(table).filter(([, v]) => typeof v === 'string'));
}
