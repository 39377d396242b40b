// End-to-end test of the pay-later line, the no-PIN limit and statement entry
// details in headless Chromium (a phone) against the real server: Alice (US)
// binds the sandbox credit card 5555 5555 5555 4444, pays her friend Bob
// later in their chat, sees what she owes on the pay-later screen and in the
// month's statement, repays from her balance with the PIN (a refusal, a wrong
// PIN and a lost answer on the way), sets a no-PIN limit and sends a small
// transfer without the PIN, and opens statement entries' details. The
// pay-later screen is then checked in Chinese.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DESKTOP, PHONE, QiaoServer, launchBrowser, newPage, screenshot, visibleTexts, waitForText, signUp } from './helpers.mjs';

const ALICE = { name: 'Alice Chen', local: '4155550123', region: 'US', password: 'alice-later-123' };
const BOB = { name: 'Bob Lee', phone: '+14155550177', password: 'bob-later-456' };
const PIN = '135246';

let server;
let browser;
let alice; // phone, en-US
const ids = {};
const tokens = {};


/** The HTTP API (setup the other tests cover through the UI). */
async function call(token, method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The app's own text for `key` and `args` in the page's language (what the browser's Intl gives). */
async function pageText(p, key, args) {
  // No eval in the page: the app's Content-Security-Policy forbids it.
  return p.evaluate(async ([k, a]) => (await import('/app/i18n.js')).t(k, a), [key, args]);
}

function money(p, language, minor, currency = 'USD', signed = false) {
  return p.evaluate(
    async ([l, m, c, s]) => {
      const i = await import('/app/i18n.js');
      return s ? i.formatSignedMoney(l, m, c) : i.formatMoney(l, m, c);
    },
    [language, minor, currency, signed],
  );
}

async function labels(p, language) {
  return p.evaluate(async (l) => (await import('/app/i18n.js')).staticStrings(l), language);
}

async function assertNoEnglishLabels(p, screen) {
  const en = await labels(p, 'en-US');
  const zh = await labels(p, 'zh-CN');
  const english = new Set(Object.entries(en).filter(([k, v]) => v !== zh[k] && !['lang_toggle', 'language_name'].includes(k)).map(([, v]) => v));
  const leftovers = (await visibleTexts(p)).filter((text) => english.has(text));
  assert.deepEqual(leftovers, [], `English labels still visible on ${screen}`);
}

async function noHorizontalOverflow(p) {
  const { width } = p.viewportSize();
  const sw = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(sw <= width, `page is ${sw}px wide, more than the ${width}px viewport`);
}

/** "YYYY-MM" of now in UTC, shifted by `delta` months (the server's months are UTC). */
function utcMonth(delta = 0) {
  const d = new Date();
  const i = d.getUTCFullYear() * 12 + d.getUTCMonth() + delta;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
}

function convRow(p, name) {
  return p.getByTestId('conv-row').filter({ has: p.getByTestId('conv-name').filter({ hasText: name }) });
}

/** Back (a phone shows one pane: a detail hides the tab bar) until the tabs show. */
async function leaveDetail(p) {
  for (let i = 0; i < 4; i++) {
    if (!(await p.evaluate(() => document.body.classList.contains('has-detail')))) return;
    const from = p.url();
    await p.getByTestId('pane-main').getByTestId('back').click();
    await p.waitForFunction((u) => location.href !== u, from);
  }
}

async function openChat(p, name) {
  await leaveDetail(p);
  await p.getByTestId('tab-chats').click();
  await convRow(p, name).click();
  await p.getByTestId('conversation').waitFor();
}

/** From anywhere in the shell to the wallet. */
async function openWallet(p) {
  await leaveDetail(p);
  await p.getByTestId('tab-me').click();
  await p.getByTestId('me-wallet').click();
  await p.getByTestId('wallet').waitFor();
}

async function openCredit(p) {
  await openWallet(p);
  await p.getByTestId('credit-open').click();
  await p.getByTestId('credit').waitFor();
  await p.getByTestId('credit-statement').waitFor();
}

/** Screenshots without a passing toast in them. */
async function shot(p, name) {
  await p.waitForFunction(() => {
    const toast = document.querySelector('.toast');
    return !toast || (!toast.classList.contains('show') && getComputedStyle(toast).opacity === '0');
  });
  await screenshot(p, name);
}

function entry(scope, { purpose, direction, account }) {
  return scope.locator(`[data-testid=statement-entry][data-purpose=${purpose}][data-direction=${direction}][data-account=${account}]`);
}

function postTo(p, path) {
  return p.waitForRequest((r) => r.url().endsWith(path) && r.method() === 'POST');
}

describe('Qiao pay later, no-PIN limit and statement details', { timeout: 240000 }, () => {
  before(async () => {
    server = new QiaoServer();
    await server.start();
    browser = await launchBrowser();
    alice = await newPage(browser, { viewport: PHONE });
  });

  after(async () => {
    const errors = [...(alice?.errors || [])];
    if (browser) await browser.close();
    if (server) await server.dispose();
    assert.deepEqual(errors, [], 'no JavaScript errors in the page');
  });

  it('Alice (US) signs up; Bob is her friend; she has a debit card, 100.00 and a PIN', async () => {
    await signUp(alice, server, ALICE);
    tokens.alice = await alice.evaluate(() => localStorage.getItem('qiao.token'));
    ids.alice = (await call(tokens.alice, 'GET', '/api/me')).id;
    const bob = await call(null, 'POST', '/api/auth/register', { phone: BOB.phone, password: BOB.password, display_name: BOB.name, region: 'US', language: 'en-US' });
    tokens.bob = bob.token;
    ids.bob = bob.user.id;
    await call(tokens.alice, 'POST', '/api/friend-requests', { to_user_id: ids.bob, greeting: 'Hi Bob' });
    const requests = await call(tokens.bob, 'GET', '/api/friend-requests');
    await call(tokens.bob, 'POST', `/api/friend-requests/${requests.incoming[0].id}/accept`);
    const debit = await call(tokens.alice, 'POST', '/api/wallet/cards', { number: '4242424242424242', funding: 'debit', password: ALICE.password });
    ids.debit = debit.id;
    await call(tokens.alice, 'POST', '/api/wallet/top-ups', { card_id: debit.id, amount_minor: 10000, idempotency_key: 'credit-test-top-up-1' });
    await call(tokens.alice, 'PUT', '/api/wallet/pin', { password: ALICE.password, pin: PIN });
    await convRow(alice, BOB.name).waitFor();
  });

  it('binding a credit card opens the pay-later line; its screen shows limit, owed, available and this month', async () => {
    await openWallet(alice);
    await alice.getByTestId('card-number').fill('5555 5555 5555 4444');
    await alice.getByTestId('card-funding-credit').check();
    // Binding a card is confirmed with the PIN (or the password).
    await alice.getByTestId('card-confirm').fill(PIN);
    await alice.getByTestId('card-submit').click();
    await waitForText(alice.getByTestId('credit-limit'), await money(alice, 'en-US', 100000));
    await waitForText(alice.getByTestId('credit-open'), 'Statements and repayment');
    await alice.getByTestId('credit-open').click();
    await alice.getByTestId('credit').waitFor();
    assert.match(alice.url(), /#\/me\/wallet\/credit$/);
    await waitForText(alice.getByTestId('credit-title'), 'Pay later');
    await waitForText(alice.getByTestId('credit-available'), await money(alice, 'en-US', 100000));
    await waitForText(alice.getByTestId('credit-owed'), await money(alice, 'en-US', 0));
    await waitForText(alice.getByTestId('credit-limit'), await money(alice, 'en-US', 100000));

    const month = utcMonth();
    await alice.locator(`[data-testid=credit-statement][data-month="${month}"]`).waitFor();
    await waitForText(alice.getByTestId('credit-month'), await pageText(alice, 'month_label', { month }));
    assert.equal(await alice.getByTestId('month-next').isDisabled(), true, 'no statement after the current month');
    await alice.getByTestId('credit-entries-empty').waitFor();
    await alice.getByTestId('repay-nothing-owed').waitFor();
    assert.equal(await alice.getByTestId('repay-submit').isDisabled(), true);
    await noHorizontalOverflow(alice);
  });

  it('Alice pays Bob later in their chat; the line and this month’s statement show what she owes', async () => {
    await openChat(alice, BOB.name);
    await alice.getByTestId('attach-button').click();
    await alice.getByTestId('attach-transfer').click();
    const form = alice.getByTestId('pay-form');
    await form.getByTestId('pay-amount').fill('25.50');
    await form.getByTestId('pay-note').fill('Concert ticket');
    await form.getByTestId('pay-source-pay_later').check();
    await form.getByTestId('pay-pin').fill(PIN);
    const request = postTo(alice, '/transfers');
    await form.getByTestId('pay-submit').click();
    const body = (await request).postDataJSON();
    assert.deepEqual([body.amount_minor, body.source, body.pin], [2550, 'pay_later', PIN]);
    await alice.getByTestId('pay-dialog').waitFor({ state: 'detached' });
    await waitForText(alice.locator('[data-testid=payment-card][data-kind=transfer]').getByTestId('payment-amount'), await money(alice, 'en-US', 2550));

    await openCredit(alice);
    await waitForText(alice.getByTestId('credit-owed'), await money(alice, 'en-US', 2550));
    await waitForText(alice.getByTestId('credit-available'), await money(alice, 'en-US', 100000 - 2550));
    const statement = alice.getByTestId('credit-statement');
    await waitForText(statement.getByTestId('month-opening'), await money(alice, 'en-US', 0));
    await waitForText(statement.getByTestId('month-spent'), await money(alice, 'en-US', 2550));
    await waitForText(statement.getByTestId('month-repaid'), await money(alice, 'en-US', 0));
    await waitForText(statement.getByTestId('month-closing'), await money(alice, 'en-US', 2550));
    const spent = entry(statement, { purpose: 'transfer', direction: 'out', account: 'credit_line' });
    await waitForText(spent.getByTestId('statement-amount'), await money(alice, 'en-US', -2550, 'USD', true));
    await waitForText(spent.getByTestId('statement-purpose'), 'Transfer');
    assert.equal(await statement.getByTestId('statement-entry').count(), 1);
    // Due the 25th of the next month, written as the language writes dates.
    const due = `${utcMonth(1)}-25`;
    await waitForText(statement.getByTestId('month-due'), await pageText(alice, 'date_label', { date: due }));
    await noHorizontalOverflow(alice);
    await shot(alice, 'pay-later');

    // Last month: nothing yet; and back.
    const answer = alice.waitForResponse((r) => r.url().includes(`/api/wallet/credit/statement?month=${utcMonth(-1)}`));
    await alice.getByTestId('month-prev').click();
    assert.equal((await answer).status(), 200);
    await alice.locator(`[data-testid=credit-statement][data-month="${utcMonth(-1)}"]`).waitFor();
    await waitForText(alice.getByTestId('credit-month'), await pageText(alice, 'month_label', { month: utcMonth(-1) }));
    await alice.getByTestId('credit-entries-empty').waitFor();
    await waitForText(statement.getByTestId('month-spent'), await money(alice, 'en-US', 0));
    await waitForText(statement.getByTestId('month-closing'), await money(alice, 'en-US', 0));
    assert.equal(await alice.getByTestId('month-next').isDisabled(), false);
    await alice.getByTestId('month-next').click();
    await alice.locator(`[data-testid=credit-statement][data-month="${utcMonth()}"]`).waitFor();
    await waitForText(statement.getByTestId('month-spent'), await money(alice, 'en-US', 2550));
    await alice.waitForFunction(() => document.querySelector('[data-testid=month-next]').disabled);
  });

  it('repaying from the balance: too much and a wrong PIN are refused, a lost answer is retried with its key, owed goes to 0', async () => {
    const form = alice.getByTestId('repay-form');
    await waitForText(form.getByTestId('repay-balance'), `Available: ${await money(alice, 'en-US', 10000)}`);

    // More than owed: the server's message, in English.
    await form.getByTestId('repay-amount').fill('30');
    await form.getByTestId('repay-pin').fill(PIN);
    let request = postTo(alice, '/api/wallet/credit/repayments');
    await form.getByTestId('repay-submit').click();
    const tooMuch = (await request).postDataJSON();
    await waitForText(form.getByTestId('form-error'), 'That is more than you owe.');
    assert.deepEqual([tooMuch.amount_minor, tooMuch.source, tooMuch.pin, tooMuch.card_id], [3000, 'balance', PIN, undefined]);

    // "Repay all" fills in what is owed, exactly.
    await form.getByTestId('repay-all').click();
    assert.equal(await form.getByTestId('repay-amount').inputValue(), '25.50');
    await form.getByTestId('repay-pin').fill('000000');
    request = postTo(alice, '/api/wallet/credit/repayments');
    await form.getByTestId('repay-submit').click();
    const wrong = (await request).postDataJSON();
    await waitForText(form.getByTestId('form-error'), 'Wrong payment PIN.');
    assert.equal(await form.getByTestId('repay-pin').inputValue(), '', 'a wrong PIN is cleared');
    assert.equal(wrong.amount_minor, 2550);

    // The right PIN; the answer is lost on the way back.
    let attempts = 0;
    await alice.route('**/api/wallet/credit/repayments', async (route) => {
      attempts += 1;
      if (attempts === 1) {
        await route.fetch();
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });
    await form.getByTestId('repay-pin').fill(PIN);
    request = postTo(alice, '/api/wallet/credit/repayments');
    await form.getByTestId('repay-submit').click();
    const lost = (await request).postDataJSON();
    await waitForText(form.getByTestId('form-error'), 'Network error. Check your connection and try again.');
    assert.notEqual(lost.idempotency_key, wrong.idempotency_key, 'an answered failure starts a new key');
    assert.match(lost.idempotency_key, /^[0-9a-f]{32}$/);

    request = postTo(alice, '/api/wallet/credit/repayments');
    const response = alice.waitForResponse((r) => r.url().endsWith('/api/wallet/credit/repayments') && r.request().method() === 'POST');
    await form.getByTestId('repay-submit').click();
    const retry = (await request).postDataJSON();
    assert.equal(retry.idempotency_key, lost.idempotency_key, 'an unknown outcome is retried with the same key');
    const res = await response;
    assert.equal(res.status(), 201);
    assert.equal((await res.json()).owed_minor, 0);
    await alice.unroute('**/api/wallet/credit/repayments');

    await waitForText(alice.getByTestId('credit-owed'), await money(alice, 'en-US', 0));
    await waitForText(alice.getByTestId('credit-available'), await money(alice, 'en-US', 100000));
    const statement = alice.getByTestId('credit-statement');
    await waitForText(statement.getByTestId('month-repaid'), await money(alice, 'en-US', 2550));
    await waitForText(statement.getByTestId('month-closing'), await money(alice, 'en-US', 0));
    await waitForText(entry(statement, { purpose: 'repayment', direction: 'in', account: 'credit_line' }).getByTestId('statement-amount'), await money(alice, 'en-US', 2550, 'USD', true));
    await form.getByTestId('repay-nothing-owed').waitFor();

    // Repaid once: the balance went down by 25.50, not 51.00.
    const wallet = await call(tokens.alice, 'GET', '/api/wallet');
    assert.equal(wallet.balances[0].balance_minor, 10000 - 2550);
    assert.equal(wallet.credit_line.owed_minor, 0);
    const all = await call(tokens.alice, 'GET', '/api/wallet/statement');
    assert.equal(all.entries.filter((e) => e.purpose === 'repayment' && e.account === 'wallet').length, 1);
  });

  it('a no-PIN limit is set with the PIN; then a transfer below it goes without one', async () => {
    await alice.getByTestId('pane-main').getByTestId('back').click();
    await alice.getByTestId('wallet').waitFor();
    await waitForText(alice.getByTestId('no-pin-status'), 'Off');
    await alice.getByTestId('no-pin-change').click();
    const form = alice.getByTestId('no-pin-form');
    await waitForText(form.getByTestId('no-pin-hint'), `Payments up to this amount go through without the PIN. 0 turns it off; at most ${await money(alice, 'en-US', 100000)}.`);
    await form.getByTestId('no-pin-amount').fill('1000.01');
    await form.getByTestId('no-pin-pin').fill(PIN);
    await form.getByTestId('no-pin-submit').click();
    await waitForText(form.getByTestId('form-error'), `The limit is at most ${await money(alice, 'en-US', 100000)}.`);
    await form.getByTestId('no-pin-amount').fill('20');
    const request = alice.waitForRequest((r) => r.url().endsWith('/api/wallet/pin/no-pin-limit') && r.method() === 'PUT');
    await form.getByTestId('no-pin-submit').click();
    assert.deepEqual((await request).postDataJSON(), { pin: PIN, limit_minor: 2000 });
    await waitForText(alice.getByTestId('no-pin-status'), `Up to ${await money(alice, 'en-US', 2000)}`);
    await form.waitFor({ state: 'hidden' });
    assert.equal((await call(tokens.alice, 'GET', '/api/wallet')).pin.no_pin_limit_minor, 2000);

    await openChat(alice, BOB.name);
    await alice.getByTestId('attach-button').click();
    await alice.getByTestId('attach-transfer').click();
    const pay = alice.getByTestId('pay-form');
    await waitForText(pay.getByTestId('pay-no-pin-hint'), `No PIN needed up to ${await money(alice, 'en-US', 2000)}.`);
    // Above the limit the PIN is still asked for, before anything is sent.
    await pay.getByTestId('pay-amount').fill('20.01');
    await pay.getByTestId('pay-submit').click();
    await waitForText(pay.getByTestId('form-error'), 'Enter your payment PIN.');
    await pay.getByTestId('pay-amount').fill('5');
    await pay.getByTestId('pay-note').fill('Coffee');
    const sent = postTo(alice, '/transfers');
    const answer = alice.waitForResponse((r) => r.url().endsWith('/transfers') && r.request().method() === 'POST');
    await pay.getByTestId('pay-submit').click();
    const body = (await sent).postDataJSON();
    assert.equal(body.amount_minor, 500);
    assert.equal('pin' in body, false, 'no PIN sent');
    assert.equal((await answer).status(), 201);
    await alice.getByTestId('pay-dialog').waitFor({ state: 'detached' });
    await waitForText(alice.locator('[data-testid=payment-card][data-kind=transfer]').getByTestId('payment-note'), 'Coffee');

    // Turning it off again takes the PIN too.
    await openWallet(alice);
    await alice.getByTestId('no-pin-change').click();
    assert.equal(await form.getByTestId('no-pin-amount').inputValue(), '20.00');
    await form.getByTestId('no-pin-pin').fill(PIN);
    await form.getByTestId('no-pin-off').click();
    await waitForText(alice.getByTestId('no-pin-status'), 'Off');
    assert.equal((await call(tokens.alice, 'GET', '/api/wallet')).pin.no_pin_limit_minor, 0);
  });

  it('a statement entry’s detail: the pay-later transfer and its chat, the top-up’s card, a repayment’s two accounts', async () => {
    const list = alice.getByTestId('statement-list');
    const lines = (await call(tokens.alice, 'GET', '/api/wallet/statement')).entries;
    const spent = lines.find((e) => e.purpose === 'transfer' && e.account === 'credit_line');
    assert.ok(spent, JSON.stringify(lines));

    await entry(list, { purpose: 'transfer', direction: 'out', account: 'credit_line' }).click();
    const detail = alice.getByTestId('entry-detail');
    await detail.getByTestId('entry-payment').waitFor();
    await waitForText(detail.getByTestId('entry-purpose'), 'Transfer');
    await waitForText(detail.getByTestId('entry-amount'), await money(alice, 'en-US', -2550, 'USD', true));
    await waitForText(detail.getByTestId('entry-status'), 'Completed');
    await waitForText(detail.getByTestId('entry-direction'), 'Out');
    await waitForText(detail.getByTestId('entry-account'), 'Pay later');
    await waitForText(detail.getByTestId('entry-time'), await pageText(alice, 'date_time', { ms: spent.at_ms }));
    await waitForText(detail.getByTestId('entry-id'), String(spent.id));
    await waitForText(detail.getByTestId('entry-payment-kind'), 'Transfer');
    await waitForText(detail.getByTestId('entry-payment-note'), 'Concert ticket');
    await waitForText(detail.getByTestId('entry-payment-status'), 'Waiting to be accepted');
    assert.equal(await detail.getByTestId('entry-card').count(), 0);
    await noHorizontalOverflow(alice);
    await shot(alice, 'statement-entry');

    // The chat it was sent in, one tap away.
    const payment = await detail.getByTestId('entry-payment').getAttribute('data-payment-id');
    await detail.getByTestId('entry-open-chat').click();
    await detail.waitFor({ state: 'detached' });
    await alice.getByTestId('conversation').waitFor();
    await alice.locator(`[data-testid=payment-card][data-payment-id="${payment}"]`).waitFor();

    // The top-up came from the debit card.
    await openWallet(alice);
    await entry(list, { purpose: 'top_up', direction: 'in', account: 'wallet' }).click();
    await waitForText(detail.getByTestId('entry-card'), 'Visa •••• 4242 · Debit');
    await waitForText(detail.getByTestId('entry-account'), 'Wallet balance');
    await waitForText(detail.getByTestId('entry-direction'), 'In');
    await waitForText(detail.getByTestId('entry-amount'), await money(alice, 'en-US', 10000, 'USD', true));
    assert.equal(await detail.getByTestId('entry-payment').count(), 0);
    await detail.getByTestId('dialog-close').click();
    await detail.waitFor({ state: 'detached' });

    // A repayment from the balance moves money between two of her accounts.
    await entry(list, { purpose: 'repayment', direction: 'out', account: 'wallet' }).click();
    await detail.locator('[data-testid=entry-detail-body][data-loaded=true]').waitFor();
    assert.equal(await detail.getByTestId('entry-line').count(), 2);
    await waitForText(detail.getByTestId('entry-purpose'), 'Repayment');
    await waitForText(detail.locator('[data-testid=entry-line][data-account=credit_line]').getByTestId('entry-account'), 'Pay later');
    await waitForText(detail.locator('[data-testid=entry-line][data-account=wallet]').getByTestId('entry-direction'), `Out ${await money(alice, 'en-US', -2550, 'USD', true)}`);
    await alice.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached' });
  });

  it('the pay-later screen and an entry’s detail in Chinese: no English left', async () => {
    await openCredit(alice);
    await alice.getByTestId('pane-main').getByTestId('lang-toggle').click();
    await waitForText(alice.getByTestId('credit-title'), '先用后付');
    await waitForText(alice.getByTestId('credit-month'), await pageText(alice, 'month_label', { month: utcMonth() }));
    assert.match(await alice.getByTestId('credit-month').innerText(), /年/);
    await waitForText(alice.getByTestId('credit-owed'), await money(alice, 'zh-CN', 0));
    await waitForText(alice.getByTestId('repay-nothing-owed'), '暂无待还金额。');
    for (const text of ['还款', '还款方式', '期初欠款', '本期消费', '本期还款', '期末欠款', '到期还款日']) {
      await alice.getByTestId('credit').getByText(text, { exact: true }).first().waitFor();
    }
    await assertNoEnglishLabels(alice, 'Pay later (zh-CN)');
    await noHorizontalOverflow(alice);
    await shot(alice, 'pay-later-zh');

    await entry(alice.getByTestId('credit-entries'), { purpose: 'transfer', direction: 'out', account: 'credit_line' }).click();
    const detail = alice.getByTestId('entry-detail');
    await detail.getByTestId('entry-payment').waitFor();
    await waitForText(detail.getByTestId('entry-payment-status'), '待收款');
    await waitForText(detail.getByTestId('entry-direction'), '支出');
    await waitForText(detail.getByTestId('entry-open-chat'), '前往聊天');
    await assertNoEnglishLabels(alice, 'Statement entry (zh-CN)');
    await detail.getByTestId('dialog-close').click();

    await openWallet(alice);
    await waitForText(alice.getByTestId('no-pin-status'), '未开启');
    await waitForText(alice.getByTestId('credit-open'), '账单与还款');
    await assertNoEnglishLabels(alice, 'Wallet (zh-CN)');
    await alice.getByTestId('pane-main').getByTestId('lang-toggle').click();
    await waitForText(alice.getByTestId('wallet-title'), 'Wallet');
  });

  it('on a desktop the pay-later screen keeps its way back to the wallet', async () => {
    await alice.setViewportSize(DESKTOP);
    await alice.getByTestId('credit-open').click();
    await alice.getByTestId('credit-statement').waitFor();
    await alice.getByTestId('me-wallet').waitFor(); // the list pane shows Me beside it
    await alice.getByTestId('pane-main').getByTestId('back').click();
    await alice.getByTestId('wallet').waitFor();
    assert.match(alice.url(), /#\/me\/wallet$/);
    await alice.setViewportSize(PHONE);
  });
});
