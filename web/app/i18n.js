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

/** Minor units with a sign: +CN¥100.50 / -CN¥10.00 (money in and out). */
export function formatSignedMoney(language, minor, currency) {
  if (minor == null || !currency) return '';
  return new Intl.NumberFormat(language, { style: 'currency', currency, signDisplay: 'exceptZero' }).format(minorToDecimal(minor, currencyDigits(currency)));
}

/** A moment with date and time, as the language writes it: "Nov 25, 2026, 2:05:09 AM" / "2026年11月25日 02:05:09". */
function dateTime(lang, ms) {
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(ms));
}

/** "2026-11" (a UTC calendar month) → "November 2026" / "2026年11月". */
function monthLabel(lang, month) {
  const [y, m] = String(month).split('-').map(Number);
  if (!y || !m) return String(month);
  return new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, 1)));
}

/** "2026-12-25" (a calendar date) → "Dec 25, 2026" / "2026年12月25日". */
function dateLabel(lang, date) {
  const [y, m, d] = String(date).split('-').map(Number);
  if (!y || !m || !d) return String(date);
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
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
  new_sign_in: ({ device }) => `New sign-in to your account: ${device}. Not you? Sign that device out under Me.`,
  pay_to: 'To',
  pay_to_choose: 'Choose a member',
  recipient_needed: 'Choose who receives the transfer.',
  pin_forgot: 'Forgot or locked? Reset the PIN',
  pin_reset_title: 'Reset the payment PIN',
  pin_reset_hint: 'Prove it is you with your account password and the number of a card you bound.',
  pin_reset_card: 'Number of a bound card',
  pin_reset_submit: 'Reset the PIN',
  pin_reset_done: 'Payment PIN reset',
  limits_title: "Today's limits",
  limit_top_up: 'Top-ups',
  limit_withdrawal: 'Withdrawals',
  limit_payment: 'Transfers and red packets',
  limit_line: ({ lang, used, per_day, per_operation, currency }) =>
    `${formatMoney(lang, used, currency)} of ${formatMoney(lang, per_day, currency)} used; at most ${formatMoney(lang, per_operation, currency)} at a time`,
  verify_title: 'Verify',
  verify_needed: 'Verify your phone or email',
  verify_phone: 'Your phone number',
  verify_email: 'Your email address',
  verify_sent_to: ({ to }) => `We sent a 6-digit code to ${to}. Until you enter it, the number or address can't be used to sign in or to find you.`,
  verify_code: 'Code',
  verify_code_ph: '6 digits',
  verify_code_invalid: 'The code is 6 digits.',
  verify_submit: 'Verify',
  verify_resend: 'Send a new code',
  verify_sent: 'A new code is on its way',
  verify_phone_done: 'Phone number verified',
  verify_email_done: 'Email address verified',
  verify_all_done: 'Everything is verified.',
  card_confirm: 'Payment PIN or account password',
  card_confirm_ph: 'Confirms it is you',
  card_confirm_needed: 'Enter your payment PIN or your account password to add a card.',
  card_added: 'Card added',
  top_up: 'Top up',
  top_up_card: 'From debit card',
  amount: 'Amount',
  amount_ph: 'e.g. 100.50',
  amount_invalid: 'Enter an amount such as 100.50 (at most 2 decimals).',
  need_debit_card: 'Add a debit card to top up.',
  topped_up: ({ lang, minor, currency }) => `Topped up ${formatMoney(lang, minor, currency)}`,
  // wallet: PIN, withdrawals, statement, pay later
  available_is: ({ lang, minor, currency }) => `Available: ${formatMoney(lang, minor, currency)}`,
  payment_pin: 'Payment PIN',
  pin_ph: '6 digits',
  pin_hint: 'Needed for transfers, red packets and withdrawals.',
  pin_is_set: 'Set',
  pin_locked_until: ({ lang, ms }) => `Locked until ${messageTime(lang, ms)}`,
  set_payment_pin: 'Set payment PIN',
  change_pin: 'Change PIN',
  pin_password: 'Account password',
  pin_password_ph: 'Your sign-in password',
  pin_new: 'New payment PIN',
  pin_confirm: 'Payment PIN again',
  password_needed: 'Enter your account password.',
  pin_invalid: 'A payment PIN is 6 digits.',
  pin_required: 'Enter your payment PIN.',
  pin_mismatch: 'The two PINs are not the same.',
  pin_saved: 'Payment PIN saved',
  pin_needed_first: 'Set a payment PIN in your wallet first.',
  withdraw: 'Withdraw',
  withdraw_card: 'To debit card',
  need_debit_card_withdraw: 'Add a debit card to withdraw.',
  withdrawn: ({ lang, minor, currency }) => `Withdrew ${formatMoney(lang, minor, currency)}`,
  statement: 'Transactions',
  export_csv: 'Export CSV',
  no_entries: 'No transactions yet',
  load_more: 'Load more',
  money_signed: ({ lang, minor, currency }) => formatSignedMoney(lang, minor, currency),
  purpose_top_up: 'Top-up',
  purpose_withdrawal: 'Withdrawal',
  purpose_transfer: 'Transfer',
  purpose_red_packet: 'Red packet',
  purpose_refund: 'Refund',
  purpose_merchant_payment: 'Payment to a shop',
  purpose_merchant_refund: 'Refund from a shop',
  purpose_payout: 'Payout',
  purpose_conversion: 'Currency exchange',
  purpose_repayment: 'Repayment',
  entry_pending: 'Processing',
  entry_voided: 'Cancelled',
  pay_later: 'Pay later',
  credit_available: 'Available',
  credit_owed: 'Owed',
  credit_limit: 'Limit',
  credit_details: 'Statements and repayment',
  // pay later: the line's own screen
  no_credit_line: 'No pay-later line yet. Add a credit card in your wallet to open one.',
  repay: 'Repay',
  repay_all: 'Repay all',
  repay_from: 'Repay from',
  repay_source_card: 'Debit card',
  repay_card: 'From debit card',
  need_debit_card_repay: 'Add a debit card to repay from it.',
  nothing_owed: 'Nothing to repay.',
  repaid: ({ lang, minor, currency }) => `Repaid ${formatMoney(lang, minor, currency)}`,
  prev_month: 'Previous month',
  next_month: 'Next month',
  month_label: ({ lang, month }) => monthLabel(lang, month),
  opening_owed: 'Owed at the start',
  month_spent: 'Spent',
  month_repaid: 'Repaid',
  closing_owed: 'Owed at the end',
  due_date: 'Due date',
  date_label: ({ lang, date }) => dateLabel(lang, date),
  no_entries_month: 'No transactions this month',
  // small payments without the PIN
  no_pin_payments: 'Payments without PIN',
  no_pin_off: 'Off',
  no_pin_up_to: ({ lang, minor, currency }) => `Up to ${formatMoney(lang, minor, currency)}`,
  no_pin_set: 'Change',
  no_pin_amount: 'No PIN needed up to',
  no_pin_amount_ph: 'e.g. 50.00',
  no_pin_hint: ({ lang, minor, currency }) => `Payments up to this amount go through without the PIN. 0 turns it off; at most ${formatMoney(lang, minor, currency)}.`,
  no_pin_limit_invalid: 'Enter an amount such as 50.00, or 0 to turn it off.',
  no_pin_too_high: ({ lang, minor, currency }) => `The limit is at most ${formatMoney(lang, minor, currency)}.`,
  no_pin_turn_off: 'Turn off',
  no_pin_saved: ({ lang, minor, currency }) => `No PIN needed up to ${formatMoney(lang, minor, currency)}`,
  no_pin_saved_off: 'Payments without PIN turned off',
  pay_no_pin_hint: ({ lang, minor, currency }) => `No PIN needed up to ${formatMoney(lang, minor, currency)}.`,
  // one statement entry
  entry_detail: 'Transaction details',
  entry_status: 'Status',
  entry_posted: 'Completed',
  entry_time: 'Time',
  date_time: ({ lang, ms }) => dateTime(lang, ms),
  entry_type: 'Type',
  entry_account: 'Account',
  account_wallet: 'Wallet balance',
  entry_direction: 'Direction',
  dir_in: 'In',
  dir_out: 'Out',
  entry_card: 'Card',
  entry_id: 'Transaction no.',
  entry_payment: 'Chat payment',
  entry_note: 'Note',
  entry_payment_status: 'Payment status',
  entry_chat_hint: 'Sent in a chat: open it to see the payment there.',
  open_chat: 'Go to chat',
  rp_status_open: 'Being opened',
  // chat payments
  transfer: 'Transfer',
  red_packet: 'Red packet',
  preview_transfer: '[Transfer]',
  preview_red_packet: ({ note }) => `[Red packet] ${note || 'Best wishes'}`,
  brand_transfer: 'Qiao Transfer',
  brand_red_packet: 'Qiao Red Packet',
  red_packet_greeting: 'Best wishes',
  transfer_to: ({ name }) => `Transfer to ${name}`,
  send_red_packet: 'Send a red packet',
  transfer_note: 'Note',
  transfer_note_ph: 'Add a note (optional)',
  red_packet_note: 'Message',
  split_lucky: 'Lucky draw',
  split_identical: 'Same amount',
  packet_count: 'Number of packets',
  count_ph: ({ n }) => `1 to ${n}`,
  count_invalid: ({ n }) => `Choose between 1 and ${n} packets.`,
  amount_total: 'Total',
  amount_each: 'Amount each',
  lucky_too_small: ({ lang, currency }) => `Each packet must get at least ${formatMoney(lang, 1, currency)}.`,
  pay_from: 'Pay with',
  put_money_in: 'Put money in',
  transfer_to_you: 'Transfer to you',
  transfer_waiting: ({ name }) => `Waiting for ${name} to accept`,
  transfer_pending: 'Waiting to be accepted',
  transfer_accepted: 'Accepted',
  transfer_declined: 'Declined, returned',
  transfer_refunded: 'Expired, returned',
  transfer_from: ({ name }) => `From ${name}`,
  transfer_expiry_hint: 'Not accepted within 24 hours, it goes back to the sender.',
  accept_transfer: 'Accept',
  decline_transfer: 'Decline and return',
  sent_at: ({ lang, ms }) => `Sent ${messageTime(lang, ms)}`,
  accepted_at: ({ lang, ms }) => `Accepted ${messageTime(lang, ms)}`,
  finished_at: ({ lang, ms }) => `All opened ${messageTime(lang, ms)}`,
  returned_at: ({ lang, ms }) => `Returned ${messageTime(lang, ms)}`,
  rp_tap_to_open: 'Open red packet',
  rp_not_opened: 'Not opened yet',
  rp_opened: 'Opened',
  rp_opened_by_peer: 'Opened',
  rp_all_gone: 'All opened',
  rp_expired: 'Expired',
  rp_from: ({ name }) => `Red packet from ${name}`,
  open_rp: 'Open',
  rp_deposited: 'Added to your balance',
  rp_refunded_detail: 'Expired: what was left went back to the sender.',
  rp_summary: ({ lang, opened, shares, openedMinor, totalMinor, currency }) =>
    `${opened}/${shares} opened, ${formatMoney(lang, openedMinor, currency)}/${formatMoney(lang, totalMinor, currency)}`,
  best_luck: 'Best luck',
  close: 'Close',
  // misc
  error_network: 'Network error. Check your connection and try again.',
  loading: 'Loading…',
  // paying merchants, payment codes, the merchant console
  scan: 'Scan',
  scan_camera: 'Scan with the camera',
  scan_no_camera: 'No camera available here: choose a photo of the code instead.',
  scan_photo: 'Choose a photo',
  scan_text: 'Or paste the code’s text',
  scan_text_ph: '000201…',
  scan_hint: 'Scan a shop’s QR code to pay it, or a friend’s to add them.',
  scan_person: 'This is a person’s QR code.',
  next: 'Next',
  quote_line: ({ lang, debit, fee, from, to, rate, until }) =>
    `You pay ${formatMoney(lang, debit, from)} (fee ${formatMoney(lang, fee, from)} included) at 1 ${from} = ${rate} ${to}; price held until ${clock(new Date(until))}`,
  merchant_verified: 'Verified by Qiao',
  merchant_unverified: 'Not verified yet',
  amount_in: ({ currency }) => `Amount (${currency})`,
  pay_now: 'Pay',
  order_created: 'Waiting for payment',
  order_awaiting_confirmation: 'Waiting for the customer to confirm',
  order_paid: 'Paid',
  order_partially_refunded: 'Partly refunded',
  order_refunded: 'Refunded',
  order_closed: 'Closed',
  order_expired: 'Expired',
  paid_from_wallet: ({ lang, minor, currency, rate }) => `${formatMoney(lang, minor, currency)} from your wallet${rate ? ` (rate ${rate})` : ''}`,
  payment_code: 'Payment code',
  payment_code_hint: 'Show this to the cashier. It works once and changes every minute.',
  confirm_waiting: ({ name }) => `${name} is waiting for you to confirm a payment`,
  merchants: 'Merchant console',
  merchant: 'Merchant',
  role_owner: 'Owner',
  role_cashier: 'Cashier',
  merchant_new: 'New merchant',
  merchant_display_name: 'Name customers see',
  merchant_legal_name: 'Legal name',
  merchant_country: 'Country (ISO code)',
  merchant_city: 'City',
  merchant_mcc: 'Category code (MCC)',
  merchant_currency: 'Settlement currency',
  merchant_card: 'Payouts go to',
  create: 'Create',
  signing_secret_once: 'Notification signing secret: it is shown only now; keep it on your server.',
  open_console: 'Open the console',
  report_today: ({ day }) => `Today (${day}, UTC)`,
  report_paid: 'Paid',
  report_refunded: 'Refunded',
  report_net: 'Net',
  report_held: 'Held, not yet paid out',
  orders: 'Orders',
  cashier: 'Cashier',
  cashier_show_code: 'Show a code for this amount',
  cashier_charge: 'Charge the customer’s code',
  customer_code: 'Customer’s payment code',
  customer_code_ph: '18 digits',
  refund: 'Refund',
  refunded_done: 'Refunded',
  static_code: 'Static code',
  static_code_hint: 'Print it at the till: customers scan it and type the amount.',
  download_png: 'Download PNG',
  api_keys: 'API keys',
  key_revoked: 'Revoked',
  revoke: 'Revoke',
  key_create: 'New API key',
  key_once: 'The key is shown only now: copy it to your point of sale.',
  notifications: 'Notifications',
  notify_url: 'Notification URL',
  notify_url_ph: 'https://your-server.example/qiao',
  delivered: 'Delivered',
  attempts: ({ n }) => `${n} attempts, not delivered yet`,
  resend: 'Send again',
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
  new_sign_in: ({ device }) => `你的账号在新设备上登录：${device}。不是你本人？请在“我”中让该设备退出。`,
  pay_to: '转给',
  pay_to_choose: '选择群成员',
  recipient_needed: '请选择收款人。',
  pin_forgot: '忘记或已锁定？重置支付密码',
  pin_reset_title: '重置支付密码',
  pin_reset_hint: '请用登录密码和已绑定银行卡的卡号证明是你本人。',
  pin_reset_card: '已绑定银行卡的卡号',
  pin_reset_submit: '重置支付密码',
  pin_reset_done: '支付密码已重置',
  limits_title: '今日限额',
  limit_top_up: '充值',
  limit_withdrawal: '提现',
  limit_payment: '转账和红包',
  limit_line: ({ lang, used, per_day, per_operation, currency }) =>
    `已用 ${formatMoney(lang, used, currency)} / 每日 ${formatMoney(lang, per_day, currency)}；单笔最多 ${formatMoney(lang, per_operation, currency)}`,
  verify_title: '验证',
  verify_needed: '验证手机号或邮箱',
  verify_phone: '你的手机号',
  verify_email: '你的邮箱',
  verify_sent_to: ({ to }) => `验证码（6 位数字）已发送至 ${to}。验证之前，不能用它登录，别人也无法通过它找到你。`,
  verify_code: '验证码',
  verify_code_ph: '6 位数字',
  verify_code_invalid: '验证码为 6 位数字。',
  verify_submit: '验证',
  verify_resend: '重新发送验证码',
  verify_sent: '新的验证码已发送',
  verify_phone_done: '手机号已验证',
  verify_email_done: '邮箱已验证',
  verify_all_done: '都已验证。',
  card_confirm: '支付密码或登录密码',
  card_confirm_ph: '确认是你本人',
  card_confirm_needed: '请输入支付密码或登录密码以绑定银行卡。',
  card_added: '银行卡已绑定',
  top_up: '充值',
  top_up_card: '付款储蓄卡',
  amount: '金额',
  amount_ph: '例如 100.50',
  amount_invalid: '请输入正确的金额，例如 100.50（最多两位小数）。',
  need_debit_card: '绑定储蓄卡后即可充值。',
  topped_up: ({ lang, minor, currency }) => `已充值 ${formatMoney(lang, minor, currency)}`,
  available_is: ({ lang, minor, currency }) => `可用余额：${formatMoney(lang, minor, currency)}`,
  payment_pin: '支付密码',
  pin_ph: '6 位数字',
  pin_hint: '转账、发红包和提现时需要输入。',
  pin_is_set: '已设置',
  pin_locked_until: ({ lang, ms }) => `已锁定，${messageTime(lang, ms)} 后可用`,
  set_payment_pin: '设置支付密码',
  change_pin: '修改支付密码',
  pin_password: '登录密码',
  pin_password_ph: '你的登录密码',
  pin_new: '新支付密码',
  pin_confirm: '再次输入支付密码',
  password_needed: '请输入登录密码。',
  pin_invalid: '支付密码须为 6 位数字。',
  pin_required: '请输入支付密码。',
  pin_mismatch: '两次输入的支付密码不一致。',
  pin_saved: '支付密码已设置',
  pin_needed_first: '请先在钱包中设置支付密码。',
  withdraw: '提现',
  withdraw_card: '到账储蓄卡',
  need_debit_card_withdraw: '绑定储蓄卡后即可提现。',
  withdrawn: ({ lang, minor, currency }) => `已提现 ${formatMoney(lang, minor, currency)}`,
  statement: '账单',
  export_csv: '导出 CSV',
  no_entries: '暂无账单',
  load_more: '加载更多',
  money_signed: ({ lang, minor, currency }) => formatSignedMoney(lang, minor, currency),
  purpose_top_up: '充值',
  purpose_withdrawal: '提现',
  purpose_transfer: '转账',
  purpose_red_packet: '红包',
  purpose_refund: '退款',
  purpose_merchant_payment: '商户付款',
  purpose_merchant_refund: '商户退款',
  purpose_payout: '结算',
  purpose_conversion: '货币兑换',
  purpose_repayment: '还款',
  entry_pending: '处理中',
  entry_voided: '已取消',
  pay_later: '先用后付',
  credit_available: '可用额度',
  credit_owed: '待还金额',
  credit_limit: '总额度',
  credit_details: '账单与还款',
  no_credit_line: '尚未开通先用后付。在钱包中绑定信用卡即可开通。',
  repay: '还款',
  repay_all: '全部还清',
  repay_from: '还款方式',
  repay_source_card: '储蓄卡',
  repay_card: '付款储蓄卡',
  need_debit_card_repay: '绑定储蓄卡后即可用储蓄卡还款。',
  nothing_owed: '暂无待还金额。',
  repaid: ({ lang, minor, currency }) => `已还款 ${formatMoney(lang, minor, currency)}`,
  prev_month: '上个月',
  next_month: '下个月',
  month_label: ({ lang, month }) => monthLabel(lang, month),
  opening_owed: '期初欠款',
  month_spent: '本期消费',
  month_repaid: '本期还款',
  closing_owed: '期末欠款',
  due_date: '到期还款日',
  date_label: ({ lang, date }) => dateLabel(lang, date),
  no_entries_month: '本月暂无交易',
  no_pin_payments: '小额免密支付',
  no_pin_off: '未开启',
  no_pin_up_to: ({ lang, minor, currency }) => `单笔 ${formatMoney(lang, minor, currency)} 以内`,
  no_pin_set: '设置',
  no_pin_amount: '免密额度（单笔）',
  no_pin_amount_ph: '例如 50.00',
  no_pin_hint: ({ lang, minor, currency }) => `单笔不超过该金额的付款无需输入支付密码。填 0 即关闭，最高 ${formatMoney(lang, minor, currency)}。`,
  no_pin_limit_invalid: '请输入金额，例如 50.00；填 0 即关闭。',
  no_pin_too_high: ({ lang, minor, currency }) => `免密额度最高 ${formatMoney(lang, minor, currency)}。`,
  no_pin_turn_off: '关闭免密支付',
  no_pin_saved: ({ lang, minor, currency }) => `已开启，单笔 ${formatMoney(lang, minor, currency)} 以内免密`,
  no_pin_saved_off: '已关闭小额免密支付',
  pay_no_pin_hint: ({ lang, minor, currency }) => `${formatMoney(lang, minor, currency)} 以内无需支付密码。`,
  entry_detail: '账单详情',
  entry_status: '状态',
  entry_posted: '已完成',
  entry_time: '时间',
  date_time: ({ lang, ms }) => dateTime(lang, ms),
  entry_type: '类型',
  entry_account: '账户',
  account_wallet: '钱包余额',
  entry_direction: '收支',
  dir_in: '收入',
  dir_out: '支出',
  entry_card: '银行卡',
  entry_id: '交易单号',
  entry_payment: '聊天中的付款',
  entry_note: '备注',
  entry_payment_status: '付款状态',
  entry_chat_hint: '这笔钱是在聊天中付的，可前往聊天查看。',
  open_chat: '前往聊天',
  rp_status_open: '领取中',
  transfer: '转账',
  red_packet: '红包',
  preview_transfer: '[转账]',
  preview_red_packet: ({ note }) => `[红包] ${note || '恭喜发财，大吉大利'}`,
  brand_transfer: '桥转账',
  brand_red_packet: '桥红包',
  red_packet_greeting: '恭喜发财，大吉大利',
  transfer_to: ({ name }) => `转账给 ${name}`,
  send_red_packet: '发红包',
  transfer_note: '转账说明',
  transfer_note_ph: '添加转账说明（选填）',
  red_packet_note: '祝福语',
  split_lucky: '拼手气红包',
  split_identical: '普通红包',
  packet_count: '红包个数',
  count_ph: ({ n }) => `1 到 ${n} 个`,
  count_invalid: ({ n }) => `红包个数须在 1 到 ${n} 之间。`,
  amount_total: '总金额',
  amount_each: '单个金额',
  lucky_too_small: ({ lang, currency }) => `单个红包金额不可低于 ${formatMoney(lang, 1, currency)}。`,
  pay_from: '付款方式',
  put_money_in: '塞钱进红包',
  transfer_to_you: '请收款',
  transfer_waiting: ({ name }) => `待 ${name} 收款`,
  transfer_pending: '待收款',
  transfer_accepted: '已收款',
  transfer_declined: '已退还',
  transfer_refunded: '已过期退还',
  transfer_from: ({ name }) => `来自 ${name}`,
  transfer_expiry_hint: '24 小时内未收款，将退还给对方。',
  accept_transfer: '收款',
  decline_transfer: '退还',
  sent_at: ({ lang, ms }) => `转账时间：${messageTime(lang, ms)}`,
  accepted_at: ({ lang, ms }) => `收款时间：${messageTime(lang, ms)}`,
  finished_at: ({ lang, ms }) => `领完时间：${messageTime(lang, ms)}`,
  returned_at: ({ lang, ms }) => `退还时间：${messageTime(lang, ms)}`,
  rp_tap_to_open: '领取红包',
  rp_not_opened: '未领取',
  rp_opened: '已领取',
  rp_opened_by_peer: '已被领取',
  rp_all_gone: '已被领完',
  rp_expired: '已过期',
  rp_from: ({ name }) => `${name}的红包`,
  open_rp: '開',
  rp_deposited: '已存入余额',
  rp_refunded_detail: '已过期，未领取的金额已退回给发送者。',
  rp_summary: ({ lang, opened, shares, openedMinor, totalMinor, currency }) =>
    `已领取 ${opened}/${shares} 个，共 ${formatMoney(lang, openedMinor, currency)}/${formatMoney(lang, totalMinor, currency)}`,
  best_luck: '手气最佳',
  close: '关闭',
  error_network: '网络错误，请检查网络后重试。',
  loading: '加载中…',
  // 商户付款、付款码、商户后台
  scan: '扫一扫',
  scan_camera: '用相机扫码',
  scan_no_camera: '此处无法使用相机：请选择二维码照片。',
  scan_photo: '从相册选择',
  scan_text: '或粘贴二维码内容',
  scan_text_ph: '000201…',
  scan_hint: '扫描商家二维码付款，或扫描好友二维码添加好友。',
  scan_person: '这是个人二维码。',
  next: '下一步',
  quote_line: ({ lang, debit, fee, from, to, rate, until }) =>
    `您将支付 ${formatMoney(lang, debit, from)}（含手续费 ${formatMoney(lang, fee, from)}），汇率 1 ${from} = ${rate} ${to}；价格保留至 ${clock(new Date(until))}`,
  merchant_verified: '已通过桥认证',
  merchant_unverified: '尚未认证',
  amount_in: ({ currency }) => `金额（${currency}）`,
  pay_now: '付款',
  order_created: '待付款',
  order_awaiting_confirmation: '等待顾客确认',
  order_paid: '已付款',
  order_partially_refunded: '部分退款',
  order_refunded: '已退款',
  order_closed: '已关闭',
  order_expired: '已过期',
  paid_from_wallet: ({ lang, minor, currency, rate }) => `钱包支出 ${formatMoney(lang, minor, currency)}${rate ? `（汇率 ${rate}）` : ''}`,
  payment_code: '付款码',
  payment_code_hint: '请向收银员出示。付款码仅可使用一次，每分钟更新。',
  confirm_waiting: ({ name }) => `${name} 正在等待您确认付款`,
  merchants: '商户后台',
  merchant: '商户',
  role_owner: '所有者',
  role_cashier: '收银员',
  merchant_new: '新建商户',
  merchant_display_name: '顾客看到的名称',
  merchant_legal_name: '法定名称',
  merchant_country: '国家/地区（ISO 代码）',
  merchant_city: '城市',
  merchant_mcc: '商户类别码（MCC）',
  merchant_currency: '结算币种',
  merchant_card: '结算至',
  create: '创建',
  signing_secret_once: '通知签名密钥仅显示这一次，请保存在您的服务器上。',
  open_console: '进入后台',
  report_today: ({ day }) => `今日（${day}，UTC）`,
  report_paid: '收款',
  report_refunded: '退款',
  report_net: '净额',
  report_held: '待结算',
  orders: '订单',
  cashier: '收银台',
  cashier_show_code: '生成此金额的收款码',
  cashier_charge: '扫顾客付款码收款',
  customer_code: '顾客付款码',
  customer_code_ph: '18 位数字',
  refund: '退款',
  refunded_done: '已退款',
  static_code: '静态收款码',
  static_code_hint: '打印后放在收银台：顾客扫码后自行输入金额。',
  download_png: '下载 PNG',
  api_keys: 'API 密钥',
  key_revoked: '已吊销',
  revoke: '吊销',
  key_create: '新建 API 密钥',
  key_once: '密钥仅显示这一次：请复制到您的收银系统。',
  notifications: '通知',
  notify_url: '通知地址',
  notify_url_ph: 'https://your-server.example/qiao',
  delivered: '已送达',
  attempts: ({ n }) => `已尝试 ${n} 次，尚未送达`,
  resend: '重新发送',
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
