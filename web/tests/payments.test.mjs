// End-to-end test of chat payments in headless Chromium against the real
// server: Alice (US, English, desktop) tops up from the sandbox debit card
// 4242 4242 4242 4242, sets her payment PIN and sends Bob (CN, a Chinese
// browser on a phone) a red packet and a transfer in their chat; Bob sees
// them arrive live, opens the packet and accepts the transfer, and Alice's
// cards update live. Then a lucky-draw packet in a group (best luck), the
// statement (paging, CSV), a withdrawal, and Bob's wallet in Chinese.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';

import { DESKTOP, PHONE, QiaoServer, apiCall, launchBrowser, newPage, screenshot, visibleTexts, waitForText, signUp } from './helpers.mjs';

const ALICE = { name: 'Alice Chen', local: '4155550188', phone: '+14155550188', region: 'US', password: 'alice-pays-123' };
const BOB = { name: '王小明', local: '13700137000', phone: '+8613700137000', region: 'CN', password: 'bob-secret-456' };
const PIN = '246810';

let server;
let browser;
let alice; // desktop, en-US
let bob; // phone, zh-CN
const ids = {};
const tokens = {};


/** The HTTP API as a user (setup steps the chat test already covers through the UI). */
async function call(token, method, path, body) {
  const res = await apiCall(server, token, method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** What the browser's Intl gives for minor units in a language and currency (optionally signed). */
async function money(p, language, minor, currency, signed = false) {
  return p.evaluate(
    async ([l, m, c, s]) => {
      const i18n = await import('/app/i18n.js');
      return s ? i18n.formatSignedMoney(l, m, c) : i18n.formatMoney(l, m, c);
    },
    [language, minor, currency, signed],
  );
}

function convRow(p, name) {
  // Groups show their size: "Family (2)", "Family（2）" in Chinese.
  const exact = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\(\\d+\\)|（\\d+）)?$`);
  return p.getByTestId('conv-row').filter({ has: p.getByTestId('conv-name').filter({ hasText: exact }) });
}

function messages(p) {
  return p.getByTestId('message-list');
}

function cards(p, kind) {
  return messages(p).locator(`[data-testid=payment-card][data-kind=${kind}]`);
}

async function openChat(p, name) {
  await p.getByTestId('tab-chats').click();
  await convRow(p, name).click();
  await p.getByTestId('conversation').waitFor();
}

async function openWallet(p) {
  await p.getByTestId('tab-me').click();
  await p.getByTestId('me-wallet').click();
  await p.getByTestId('wallet').waitFor();
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

function paymentRequest(p, path) {
  return p.waitForRequest((r) => r.url().endsWith(path) && r.method() === 'POST');
}

describe('Qiao chat payments', { timeout: 240000 }, () => {
  before(async () => {
    server = new QiaoServer();
    await server.start();
    browser = await launchBrowser();
    alice = await newPage(browser, { viewport: DESKTOP });
    bob = await newPage(browser, { viewport: PHONE, locale: 'zh-CN' });
  });

  after(async () => {
    const errors = [...(alice?.errors || []), ...(bob?.errors || [])];
    if (browser) await browser.close();
    if (server) await server.dispose();
    assert.deepEqual(errors, [], 'no JavaScript errors in the pages');
  });

  it('two friends with a chat (signed up in the browser, befriended through the API)', async () => {
    await signUp(alice, server, ALICE);
    await signUp(bob, server, BOB);
    tokens.alice = await alice.evaluate(() => localStorage.getItem('qiao.token'));
    tokens.bob = await bob.evaluate(() => localStorage.getItem('qiao.token'));
    ids.alice = (await call(tokens.alice, 'GET', '/api/me')).id;
    ids.bob = (await call(tokens.bob, 'GET', '/api/me')).id;
    await call(tokens.alice, 'POST', '/api/friend-requests', { to_user_id: ids.bob, greeting: 'Hi, Alice here' });
    const requests = await call(tokens.bob, 'GET', '/api/friend-requests');
    await call(tokens.bob, 'POST', `/api/friend-requests/${requests.incoming[0].id}/accept`);
    await convRow(alice, BOB.name).waitFor();
    await convRow(bob, ALICE.name).waitFor();
  });

  it('Alice binds the sandbox debit card, tops up 200.00 and sets her payment PIN', async () => {
    await openWallet(alice);
    await waitForText(alice.getByTestId('pin-status'), 'Not set');
    await alice.getByTestId('pin-form').waitFor();

    await alice.getByTestId('card-number').fill('4242 4242 4242 4242');
    await alice.getByTestId('card-funding-debit').check();
    // No PIN yet: the first card is confirmed with the account password.
    await alice.getByTestId('card-submit').click();
    await waitForText(alice.getByTestId('card-form').getByTestId('form-error'), 'Enter your payment PIN or your account password to add a card.');
    await alice.getByTestId('card-confirm').fill(ALICE.password);
    await alice.getByTestId('card-submit').click();
    await waitForText(alice.getByTestId('card-name'), 'Visa •••• 4242');
    await alice.getByTestId('topup-amount').fill('200.00');
    await alice.getByTestId('topup-submit').click();
    await waitForText(alice.getByTestId('wallet-balance'), await money(alice, 'en-US', 20000, 'USD'));

    // The PIN form checks its input before asking the server, and shows the server's answer.
    const form = alice.getByTestId('pin-form');
    await form.getByTestId('pin-password').fill(ALICE.password);
    await form.getByTestId('pin-new').fill('12345');
    await form.getByTestId('pin-submit').click();
    await waitForText(form.getByTestId('form-error'), 'A payment PIN is 6 digits.');
    await form.getByTestId('pin-new').fill(PIN);
    await form.getByTestId('pin-confirm').fill('135790');
    await form.getByTestId('pin-submit').click();
    await waitForText(form.getByTestId('form-error'), 'The two PINs are not the same.');
    await form.getByTestId('pin-password').fill('not-my-password');
    await form.getByTestId('pin-confirm').fill(PIN);
    await form.getByTestId('pin-submit').click();
    await waitForText(form.getByTestId('form-error'), 'Wrong password.');
    await form.getByTestId('pin-password').fill(ALICE.password);
    await form.getByTestId('pin-submit').click();
    await waitForText(alice.getByTestId('pin-status'), 'Set');
    await alice.getByTestId('pin-form').waitFor({ state: 'hidden' });
    await alice.getByTestId('pin-change').waitFor();

    // A credit card (allowed in the US) opens the pay-later line, shown in the wallet.
    await alice.getByTestId('card-number').fill('5555 5555 5555 4444');
    await alice.getByTestId('card-funding-credit').check();
    // Now the PIN confirms it.
    await alice.getByTestId('card-confirm').fill(PIN);
    await alice.getByTestId('card-submit').click();
    await waitForText(alice.getByTestId('credit-limit'), await money(alice, 'en-US', 100000, 'USD'));
    await waitForText(alice.getByTestId('credit-owed'), await money(alice, 'en-US', 0, 'USD'));
  });

  it('Alice sends Bob a red packet: a wrong PIN is refused, the retry keeps its idempotency key', async () => {
    await openChat(bob, ALICE.name);
    await openChat(alice, BOB.name);
    await alice.getByTestId('attach-button').click();
    await alice.getByTestId('attach-transfer').waitFor(); // direct chat: transfers offered
    await alice.getByTestId('attach-red-packet').click();
    const form = alice.getByTestId('pay-form');
    await waitForText(form.getByTestId('pay-form-title'), 'Send a red packet');
    assert.equal(await form.getByTestId('pay-count').count(), 0, 'no packet count in a direct chat');
    await waitForText(form.getByTestId('pay-available'), `Available: ${await money(alice, 'en-US', 20000, 'USD')}`);
    await form.getByTestId('pay-source').waitFor(); // balance or pay later

    await form.getByTestId('pay-amount').fill('8.888');
    await form.getByTestId('pay-submit').click();
    await waitForText(form.getByTestId('form-error'), 'Enter an amount such as 100.50 (at most 2 decimals).');

    await form.getByTestId('pay-amount').fill('8.88');
    await waitForText(form.getByTestId('pay-total'), await money(alice, 'en-US', 888, 'USD'));
    await form.getByTestId('pay-note').fill('Happy New Year');
    await form.getByTestId('pay-pin').fill('000000');
    let request = paymentRequest(alice, '/red-packets');
    await form.getByTestId('pay-submit').click();
    const first = (await request).postDataJSON();
    await waitForText(form.getByTestId('form-error'), 'Wrong payment PIN.');
    assert.equal(await form.getByTestId('pay-pin').inputValue(), '');

    await form.getByTestId('pay-pin').fill(PIN);
    request = paymentRequest(alice, '/red-packets');
    const response = alice.waitForResponse((r) => r.url().endsWith('/red-packets') && r.request().method() === 'POST');
    await form.getByTestId('pay-submit').click();
    const second = (await request).postDataJSON();
    assert.equal((await response).status(), 201);
    assert.deepEqual(
      { amount_minor: second.amount_minor, split: second.split, count: second.count, note: second.note, pin: second.pin },
      { amount_minor: 888, split: 'identical', count: 1, note: 'Happy New Year', pin: PIN },
    );
    assert.match(first.idempotency_key, /^[0-9a-f]{32}$/);
    assert.equal(second.idempotency_key, first.idempotency_key, 'the same submission retried keeps its key');
    await alice.getByTestId('pay-dialog').waitFor({ state: 'detached' });

    const mine = cards(alice, 'red_packet');
    await waitForText(mine.getByTestId('payment-note'), 'Happy New Year');
    await waitForText(mine.getByTestId('payment-status'), 'Not opened yet');
    await waitForText(convRow(alice, BOB.name).getByTestId('conv-preview'), '[Red packet] Happy New Year');
  });

  it('Bob sees it arrive live, opens it and sees the amount; Alice’s card updates live', async () => {
    const card = cards(bob, 'red_packet');
    await waitForText(card.getByTestId('payment-note'), 'Happy New Year');
    await waitForText(card.getByTestId('payment-status'), '领取红包');
    await card.click();
    const detail = bob.getByTestId('payment-detail');
    await waitForText(detail.getByTestId('rp-from'), `${ALICE.name}的红包`);
    await waitForText(detail.getByTestId('rp-open'), '開');
    await detail.getByTestId('rp-open').click();
    await waitForText(detail.getByTestId('rp-my-amount'), await money(bob, 'zh-CN', 888, 'USD'));
    await waitForText(detail.getByTestId('rp-summary'), `已领取 1/1 个，共 ${await money(bob, 'zh-CN', 888, 'USD')}/${await money(bob, 'zh-CN', 888, 'USD')}`);
    await waitForText(detail.getByTestId('rp-share-name'), '你');
    await noHorizontalOverflow(bob);
    await detail.getByTestId('dialog-close').click();
    await waitForText(card.getByTestId('payment-status'), '已领取');

    // Alice never reloaded: payment.updated turned her card into "Opened".
    await waitForText(cards(alice, 'red_packet').getByTestId('payment-status'), 'Opened');
    await cards(alice, 'red_packet').click();
    const hers = alice.getByTestId('payment-detail');
    await waitForText(hers.getByTestId('rp-share-name'), BOB.name);
    await waitForText(hers.getByTestId('rp-share-amount'), await money(alice, 'en-US', 888, 'USD'));
    assert.equal(await hers.getByTestId('rp-open').count(), 0, 'the sender of a direct packet cannot open it');
    await alice.keyboard.press('Escape');
    await hers.waitFor({ state: 'detached' });
  });

  it('a transfer whose answer is lost is retried with the same key and sent once; Bob accepts, both see it live', async () => {
    await alice.getByTestId('attach-button').click();
    await alice.getByTestId('attach-transfer').click();
    const form = alice.getByTestId('pay-form');
    await waitForText(form.getByTestId('pay-form-title'), `Transfer to ${BOB.name}`);
    await form.getByTestId('pay-amount').fill('12.34');
    await form.getByTestId('pay-note').fill('Lunch');
    await form.getByTestId('pay-pin').fill(PIN);

    // The first attempt reaches the server, but its answer never comes back.
    let attempts = 0;
    await alice.route('**/api/conversations/*/transfers', async (route) => {
      attempts += 1;
      if (attempts === 1) {
        await route.fetch();
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });
    let request = paymentRequest(alice, '/transfers');
    await form.getByTestId('pay-submit').click();
    const first = (await request).postDataJSON();
    await waitForText(form.getByTestId('form-error'), 'Network error. Check your connection and try again.');
    request = paymentRequest(alice, '/transfers');
    const response = alice.waitForResponse((r) => r.url().endsWith('/transfers') && r.request().method() === 'POST');
    await form.getByTestId('pay-submit').click();
    const second = (await request).postDataJSON();
    assert.equal(second.idempotency_key, first.idempotency_key);
    assert.equal((await response).status(), 200, 'the server answers the retry with the transfer it already made');
    await alice.unroute('**/api/conversations/*/transfers');
    await alice.getByTestId('pay-dialog').waitFor({ state: 'detached' });

    const mine = cards(alice, 'transfer');
    await waitForText(mine.getByTestId('payment-amount'), await money(alice, 'en-US', 1234, 'USD'));
    await waitForText(mine.getByTestId('payment-status'), `Waiting for ${BOB.name} to accept`);
    const theirs = cards(bob, 'transfer');
    await waitForText(theirs.getByTestId('payment-amount'), await money(bob, 'zh-CN', 1234, 'USD'));
    await waitForText(theirs.getByTestId('payment-note'), 'Lunch');
    await waitForText(theirs.getByTestId('payment-status'), '请收款');
    assert.equal(await mine.count(), 1, 'one transfer, not two');
    assert.equal(await theirs.count(), 1);

    await theirs.click();
    const detail = bob.getByTestId('payment-detail');
    await waitForText(detail.getByTestId('detail-amount'), await money(bob, 'zh-CN', 1234, 'USD'));
    await waitForText(detail.getByTestId('transfer-decline'), '退还');
    await waitForText(detail.getByTestId('transfer-accept'), '收款');
    await detail.getByTestId('transfer-accept').click();
    await waitForText(detail.getByTestId('transfer-detail-status'), '已收款');
    await detail.getByTestId('settled-at').waitFor();
    assert.equal(await detail.getByTestId('transfer-accept').count(), 0);
    await detail.getByTestId('dialog-close').click();
    await waitForText(theirs.getByTestId('payment-status'), '已收款');
    await waitForText(mine.getByTestId('payment-status'), 'Accepted');

    // Bob's conversation screen, new cards and all, has no English label left.
    await bob.getByTestId('attach-button').click();
    await waitForText(bob.getByTestId('attach-red-packet'), '红包');
    await waitForText(bob.getByTestId('attach-transfer'), '转账');
    await assertNoEnglishLabels(bob, 'Conversation with payments');
    await bob.getByTestId('attach-button').click();
  });

  it('a lucky-draw packet in a group: both open, amounts add up, best luck is marked', async () => {
    const group = await call(tokens.alice, 'POST', '/api/groups', { name: 'Family', member_ids: [ids.bob] });
    await convRow(alice, 'Family').waitFor();
    await openChat(alice, 'Family');
    await alice.getByTestId('attach-button').click();
    // A group offers transfers too (to a member the sender picks: see trust.test.mjs).
    await alice.getByTestId('attach-transfer').waitFor();
    await alice.getByTestId('attach-red-packet').click();
    const form = alice.getByTestId('pay-form');
    await form.getByTestId('pay-split-lucky').check();
    await form.getByTestId('pay-count').fill('3');
    await form.getByTestId('pay-amount').fill('10');
    await form.getByTestId('pay-pin').fill(PIN);
    await form.getByTestId('pay-submit').click();
    await waitForText(form.getByTestId('form-error'), 'Choose between 1 and 2 packets.');
    await form.getByTestId('pay-count').fill('2');
    await waitForText(form.getByTestId('pay-amount-label'), 'Total');
    await waitForText(form.getByTestId('pay-total'), await money(alice, 'en-US', 1000, 'USD'));
    await form.getByTestId('pay-note').fill('Dinner on me');
    const request = paymentRequest(alice, `/conversations/${group.conversation?.id ?? group.id}/red-packets`);
    await form.getByTestId('pay-submit').click();
    const body = (await request).postDataJSON();
    assert.deepEqual([body.split, body.count, body.amount_minor], ['lucky', 2, 1000]);
    await alice.getByTestId('pay-dialog').waitFor({ state: 'detached' });

    // Bob (back on his chat list) opens the group and his share.
    await bob.getByTestId('back').click();
    await openChat(bob, 'Family');
    const card = cards(bob, 'red_packet');
    await waitForText(card.getByTestId('payment-note'), 'Dinner on me');
    await card.click();
    const detail = bob.getByTestId('payment-detail');
    await detail.getByTestId('rp-open').click();
    await detail.getByTestId('rp-my-amount').waitFor();
    await waitForText(detail.getByTestId('rp-summary'), /^已领取 1\/2 个/);

    // In a group the sender may grab a share too; that finishes the packet.
    const hers = cards(alice, 'red_packet');
    await waitForText(hers.getByTestId('payment-status'), 'Open red packet');
    await hers.click();
    const aliceDetail = alice.getByTestId('payment-detail');
    await aliceDetail.getByTestId('rp-open').click();
    await aliceDetail.getByTestId('rp-my-amount').waitFor();
    await waitForText(aliceDetail.getByTestId('rp-summary'), /^2\/2 opened/);
    await waitForText(aliceDetail.getByTestId('rp-best-luck'), 'Best luck');

    // Bob's open dialog fills in live: both shares, the best-luck mark, and they add up to 10.00.
    await waitForText(detail.getByTestId('rp-summary'), `已领取 2/2 个，共 ${await money(bob, 'zh-CN', 1000, 'USD')}/${await money(bob, 'zh-CN', 1000, 'USD')}`);
    assert.equal(await detail.getByTestId('rp-share').count(), 2);
    await waitForText(detail.getByTestId('rp-best-luck'), '手气最佳');
    assert.equal(await detail.getByTestId('rp-best-luck').count(), 1);
    const payment = await call(tokens.bob, 'GET', `/api/payments/${await card.getAttribute('data-payment-id')}`);
    assert.equal(payment.status, 'finished');
    assert.equal(payment.opened.reduce((n, o) => n + o.amount_minor, 0), 1000);
    assert.ok(payment.best_luck_user_id === ids.alice || payment.best_luck_user_id === ids.bob);
    ids.aliceShare = payment.opened.find((o) => o.user_id === ids.alice).amount_minor;
    ids.bobShare = payment.opened.find((o) => o.user_id === ids.bob).amount_minor;
    const bestName = payment.best_luck_user_id === ids.bob ? '你' : ALICE.name;
    await waitForText(detail.getByTestId('rp-share').filter({ has: bob.getByTestId('rp-best-luck') }).getByTestId('rp-share-name'), bestName);
    await waitForText(card.getByTestId('payment-status'), '已领取');
    await noHorizontalOverflow(bob);
    await screenshot(bob, 'red-packet');
    await detail.getByTestId('dialog-close').click();
    await aliceDetail.getByTestId('dialog-close').click();
  });

  it('Alice’s wallet: withdrawal with PIN, statement with signed amounts, paging and CSV export', async () => {
    await openWallet(alice);
    // 200.00 − 8.88 − 12.34 − 10.00 + her share
    const balance = 20000 - 888 - 1234 - 1000 + ids.aliceShare;
    await waitForText(alice.getByTestId('wallet-balance'), await money(alice, 'en-US', balance, 'USD'));

    const form = alice.getByTestId('withdraw-form');
    await form.getByTestId('withdraw-amount').fill('50');
    await form.getByTestId('withdraw-pin').fill('111111');
    await form.getByTestId('withdraw-submit').click();
    await waitForText(form.getByTestId('form-error'), 'Wrong payment PIN.');
    await form.getByTestId('withdraw-pin').fill(PIN);
    const request = paymentRequest(alice, '/api/wallet/withdrawals');
    await form.getByTestId('withdraw-submit').click();
    const body = (await request).postDataJSON();
    assert.deepEqual([body.amount_minor, body.pin], [5000, PIN]);
    await waitForText(alice.getByTestId('wallet-balance'), await money(alice, 'en-US', balance - 5000, 'USD'));

    const entry = (purpose, direction) => alice.locator(`[data-testid=statement-entry][data-purpose=${purpose}][data-direction=${direction}]`);
    await waitForText(entry('withdrawal', 'out').getByTestId('statement-amount'), await money(alice, 'en-US', -5000, 'USD', true));
    await waitForText(entry('withdrawal', 'out').getByTestId('statement-purpose'), 'Withdrawal');
    await waitForText(entry('top_up', 'in').getByTestId('statement-amount'), await money(alice, 'en-US', 20000, 'USD', true));
    await waitForText(entry('transfer', 'out').getByTestId('statement-amount'), await money(alice, 'en-US', -1234, 'USD', true));
    await waitForText(entry('red_packet', 'out').getByTestId('statement-amount'), await money(alice, 'en-US', -888, 'USD', true));
    await waitForText(entry('red_packet', 'in').getByTestId('statement-amount'), await money(alice, 'en-US', ids.aliceShare, 'USD', true));
    assert.match(await money(alice, 'en-US', -5000, 'USD', true), /^-\$50\.00$/);
    const all = await alice.getByTestId('statement-entry').count();
    assert.equal(all, 6);

    // Paging: with pages of two, "Load more" walks back to the first top-up.
    await alice.route('**/api/wallet/statement?*', (route) => route.continue({ url: route.request().url().replace(/limit=\d+/, 'limit=2') }));
    await alice.reload();
    await alice.getByTestId('wallet').waitFor();
    await alice.waitForFunction(() => document.querySelectorAll('[data-testid=statement-entry]').length === 2);
    const more = alice.getByTestId('statement-more');
    let pages = 1;
    while (await more.isVisible()) {
      assert.ok(pages < 10, 'paging ends');
      const answer = alice.waitForResponse((r) => r.url().includes('/api/wallet/statement?'));
      await more.click();
      const page = await (await answer).json();
      pages += 1;
      assert.ok(page.entries.length <= 2);
      await alice.waitForFunction(() => !document.querySelector('[data-testid=statement-more]:disabled'));
    }
    // Three full pages, then an empty one that tells the list is complete.
    assert.equal(pages, 4);
    assert.equal(await alice.getByTestId('statement-entry').count(), all);
    assert.equal(await alice.getByTestId('statement-entry').last().getAttribute('data-purpose'), 'top_up');
    await alice.unroute('**/api/wallet/statement?*');

    // CSV export: fetched with the bearer token, saved as a file.
    const download = alice.waitForEvent('download');
    await alice.getByTestId('statement-export').click();
    const file = await download;
    assert.equal(file.suggestedFilename(), 'qiao-statement.csv');
    const csv = await readFile(await file.path(), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines[0], 'id,time_utc,purpose,reference,direction,amount,currency,status,account');
    assert.equal(lines.length, 1 + all);
    assert.ok(lines.some((l) => /,withdrawal,card-\d+,out,-50\.00,USD,posted,wallet$/.test(l)), csv);
  });

  it('Bob’s wallet in Chinese: PIN, statement of what he received, no English left', async () => {
    await bob.getByTestId('back').click();
    await openWallet(bob);
    await waitForText(bob.getByTestId('wallet-title'), '钱包');
    await waitForText(bob.getByTestId('pin-status'), '未设置');
    await bob.getByTestId('wallet').getByText('支付密码', { exact: true }).first().waitFor();
    await waitForText(bob.getByTestId('pin-submit'), '设置支付密码');
    await bob.getByTestId('pin-password').fill(BOB.password);
    await bob.getByTestId('pin-new').fill('975310');
    await bob.getByTestId('pin-confirm').fill('975310');
    await bob.getByTestId('pin-submit').click();
    await waitForText(bob.getByTestId('pin-status'), '已设置');

    // His home currency is CNY: what Alice sent in dollars arrived converted
    // to yuan (at the rate taken when she sent it), and he holds no dollars.
    const wallet = await call(tokens.bob, 'GET', '/api/wallet');
    assert.deepEqual(wallet.balances.map((b) => b.currency), ['CNY']);
    assert.ok(wallet.balances[0].balance_minor > 0);
    await waitForText(bob.getByTestId('wallet-balance'), await money(bob, 'zh-CN', wallet.balances[0].balance_minor, 'CNY'));
    assert.equal(await bob.getByTestId('wallet-other-balance').count(), 0);
    const received = (await call(tokens.bob, 'GET', '/api/wallet/statement?limit=50')).entries.find((e) => e.purpose === 'transfer');
    assert.equal(received.currency, 'CNY');
    const entry = (purpose) => bob.locator(`[data-testid=statement-entry][data-purpose=${purpose}]`);
    await waitForText(entry('transfer').getByTestId('statement-purpose'), '转账');
    await waitForText(entry('transfer').getByTestId('statement-amount'), await money(bob, 'zh-CN', received.amount_minor, 'CNY', true));
    await waitForText(entry('red_packet').getByTestId('statement-purpose'), '红包');
    assert.equal(await entry('red_packet').count(), 2);
    for (const text of ['账单', '提现', '到账储蓄卡', '导出 CSV']) await bob.getByTestId('wallet').getByText(text, { exact: true }).first().waitFor();
    await assertNoEnglishLabels(bob, 'Wallet (zh-CN)');
    await noHorizontalOverflow(bob);
  });
});
