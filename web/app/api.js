// The HTTP API: JSON in and out, the bearer token, the UI language in
// Accept-Language so the server's error messages come back localized.

import { lang, t } from './i18n.js';

const TOKEN_KEY = 'qiao.token';

let token = null;
try {
  token = localStorage.getItem(TOKEN_KEY);
} catch {
  token = null;
}

const unauthorizedListeners = new Set();

export function getToken() {
  return token;
}

export function setToken(next) {
  token = next;
  try {
    if (next) localStorage.setItem(TOKEN_KEY, next);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // memory only
  }
}

/** Called when the server says the token is no longer valid. */
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
}

/** An API failure: `code` is the server's stable code, `message` is already localized. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const h = { 'Accept-Language': lang(), Accept: 'application/json', ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function fail(res) {
  let code = `http_${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body && body.code) code = body.code;
    if (body && body.message) message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  // 401 bad_credentials is a wrong password typed into a form (e.g. setting the
  // payment PIN), not a dead session.
  if (res.status === 401 && token && code !== 'bad_credentials') {
    for (const fn of unauthorizedListeners) fn();
  }
  throw new ApiError(res.status, code, message);
}

async function send(method, path, { json, body, contentType } = {}) {
  const init = { method, headers: headers() };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.headers['Content-Type'] = contentType || 'application/octet-stream';
    init.body = body;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', t('error_network'));
  }
  if (!res.ok) return fail(res);
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

const enc = encodeURIComponent;

export const api = {
  register: (req) => send('POST', '/api/auth/register', { json: req }),
  login: (req) => send('POST', '/api/auth/login', { json: req }),
  logout: () => send('POST', '/api/auth/logout'),
  me: () => send('GET', '/api/me'),
  updateMe: (req) => send('PATCH', '/api/me', { json: req }),
  setQiaoId: (qiaoId) => send('PUT', '/api/me/qiao-id', { json: { qiao_id: qiaoId } }),
  myQr: () => send('GET', '/api/me/qr'),
  searchUsers: (q) => send('GET', `/api/users/search?q=${enc(q)}`),
  user: (id) => send('GET', `/api/users/${id}`),
  friendRequests: () => send('GET', '/api/friend-requests'),
  requestFriend: (toUserId, greeting) =>
    send('POST', '/api/friend-requests', { json: { to_user_id: toUserId, greeting } }),
  acceptRequest: (id) => send('POST', `/api/friend-requests/${id}/accept`),
  declineRequest: (id) => send('POST', `/api/friend-requests/${id}/decline`),
  contacts: () => send('GET', '/api/contacts'),
  conversations: () => send('GET', '/api/conversations'),
  conversation: (id) => send('GET', `/api/conversations/${id}`),
  openDirect: (userId) => send('POST', '/api/conversations/direct', { json: { user_id: userId } }),
  createGroup: (name, memberIds) => send('POST', '/api/groups', { json: { name, member_ids: memberIds } }),
  history: (id, { before, limit = 50 } = {}) =>
    send('GET', `/api/conversations/${id}/messages?limit=${limit}${before ? `&before=${before}` : ''}`),
  sendMessage: (id, req) => send('POST', `/api/conversations/${id}/messages`, { json: req }),
  recall: (messageId) => send('POST', `/api/messages/${messageId}/recall`),
  receipt: (id, kind, upToSeq) =>
    send('POST', `/api/conversations/${id}/receipts`, { json: { kind, up_to_seq: upToSeq } }),
  sendCode: (kind) => send('POST', '/api/me/verification', { json: { kind } }),
  confirmCode: (kind, code) => send('POST', '/api/me/verification/confirm', { json: { kind, code } }),
  sessions: () => send('GET', '/api/sessions'),
  wallet: () => send('GET', '/api/wallet'),
  cards: () => send('GET', '/api/wallet/cards'),
  // `proof` is { pin } or { password }: binding a card needs one of them.
  bindCard: (number, funding, proof) => send('POST', '/api/wallet/cards', { json: { number, funding, ...proof } }),
  topUp: (cardId, amountMinor, idempotencyKey) =>
    send('POST', '/api/wallet/top-ups', { json: { card_id: cardId, amount_minor: amountMinor, idempotency_key: idempotencyKey } }),
  upload: (blob, contentType) => send('POST', '/api/uploads', { body: blob, contentType }),
  setPin: (password, pin) => send('PUT', '/api/wallet/pin', { json: { password, pin } }),
  resetPin: (password, cardNumber, pin) => send('POST', '/api/wallet/pin/reset', { json: { password, card_number: cardNumber, pin } }),
  withdraw: (req) => send('POST', '/api/wallet/withdrawals', { json: req }),
  statement: ({ before, limit = 20 } = {}) =>
    send('GET', `/api/wallet/statement?limit=${limit}${before ? `&before=${before}` : ''}`),
  statementEntry: (id) => send('GET', `/api/wallet/statement/${id}`),
  setNoPinLimit: (pin, limitMinor) => send('PUT', '/api/wallet/pin/no-pin-limit', { json: { pin, limit_minor: limitMinor } }),
  creditStatement: (month) => send('GET', `/api/wallet/credit/statement${month ? `?month=${enc(month)}` : ''}`),
  repay: (req) => send('POST', '/api/wallet/credit/repayments', { json: req }),
  sendTransfer: (conversationId, req) => send('POST', `/api/conversations/${conversationId}/transfers`, { json: req }),
  sendRedPacket: (conversationId, req) => send('POST', `/api/conversations/${conversationId}/red-packets`, { json: req }),
  payment: (id) => send('GET', `/api/payments/${id}`),
  acceptTransfer: (id) => send('POST', `/api/payments/${id}/accept`),
  declineTransfer: (id) => send('POST', `/api/payments/${id}/decline`),
  openRedPacket: (id) => send('POST', `/api/payments/${id}/open`),
  // paying merchants
  scan: (payload, amountMinor) =>
    send('POST', '/api/pay/scan', { json: amountMinor ? { payload, amount_minor: amountMinor } : { payload } }),
  payMerchant: (req) => send('POST', '/api/pay', { json: req }),
  merchantPayment: (id) => send('GET', `/api/merchant-payments/${id}`),
  confirmMerchantPayment: (id, req) => send('POST', `/api/merchant-payments/${id}/confirm`, { json: req }),
  paymentCode: () => send('POST', '/api/wallet/payment-code', { json: {} }),
  decodePhoto: (blob) => send('POST', '/api/qr/decode', { body: blob, contentType: blob.type || 'image/png' }),
  quote: (req) => send('POST', '/api/fx/quotes', { json: req }),
  convert: (req) => send('POST', '/api/wallet/conversions', { json: req }),
  // the merchant console
  merchants: () => send('GET', '/api/merchants'),
  createMerchant: (req) => send('POST', '/api/merchants', { json: req }),
  merchant: (id) => send('GET', `/api/merchants/${id}`),
  updateMerchant: (id, req) => send('PATCH', `/api/merchants/${id}`, { json: req }),
  merchantOrders: (id) => send('GET', `/api/merchants/${id}/orders?limit=50`),
  createOrder: (id, req) => send('POST', `/api/merchants/${id}/orders`, { json: req }),
  merchantOrder: (id, orderId) => send('GET', `/api/merchants/${id}/orders/${orderId}`),
  closeOrder: (id, orderId) => send('POST', `/api/merchants/${id}/orders/${orderId}/close`),
  refundOrder: (id, orderId, req) => send('POST', `/api/merchants/${id}/orders/${orderId}/refunds`, { json: req }),
  chargeCode: (id, req) => send('POST', `/api/merchants/${id}/charges`, { json: req }),
  merchantReport: (id) => send('GET', `/api/merchants/${id}/report`),
  apiKeys: (id) => send('GET', `/api/merchants/${id}/api-keys`),
  createApiKey: (id, label) => send('POST', `/api/merchants/${id}/api-keys`, { json: { label } }),
  revokeApiKey: (id, keyId) => send('DELETE', `/api/merchants/${id}/api-keys/${keyId}`),
  notifications: (id) => send('GET', `/api/merchants/${id}/notifications`),
  resendNotification: (id, nid) => send('POST', `/api/merchants/${id}/notifications/${nid}/resend`),
  staticQr: (id) => send('GET', `/api/merchants/${id}/qr`),
  addCashier: (id, userId) => send('POST', `/api/merchants/${id}/staff`, { json: { user_id: userId, role: 'cashier' } }),
};

/** An authenticated download (the bearer header rules out a plain link): saved under `fileName`. */
export async function downloadFile(path, fileName) {
  let res;
  try {
    res = await fetch(path, { headers: { ...headers(), Accept: '*/*' } });
  } catch {
    throw new ApiError(0, 'network', t('error_network'));
  }
  if (!res.ok) return fail(res);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return fileName;
}

const blobCache = new Map();

/** Object URL of an upload (downloads need the bearer header, so no plain <img src>). */
export function blobUrl(hash) {
  if (!blobCache.has(hash)) {
    const p = (async () => {
      let res;
      try {
        res = await fetch(`/api/uploads/${enc(hash)}`, { headers: headers() });
      } catch {
        throw new ApiError(0, 'network', t('error_network'));
      }
      if (!res.ok) return fail(res);
      return URL.createObjectURL(await res.blob());
    })();
    p.catch(() => blobCache.delete(hash));
    blobCache.set(hash, p);
  }
  return blobCache.get(hash);
}

/** Seeds the cache with a local object URL (an image this device just uploaded). */
export function primeBlob(hash, url) {
  if (!blobCache.has(hash)) blobCache.set(hash, Promise.resolve(url));
}

export function forgetBlobs() {
  for (const p of blobCache.values()) p.then((url) => URL.revokeObjectURL(url)).catch(() => {});
  blobCache.clear();
}

/** A client message id: 1–64 of A-Za-z0-9_-. */
export function newClientMsgId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `w${Date.now().toString(36)}${Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('')}`.slice(0, 64);
}
