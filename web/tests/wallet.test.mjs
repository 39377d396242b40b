// End-to-end test of the wallet screen against the real server, in headless
// Chromium: a CN user signs up, binds a UnionPay debit card, tops up 100.50
// and sees the formatted balance, is refused a credit card (region policy,
// the server's localized message), and the screen switches to Chinese.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DESKTOP, PHONE, QiaoServer, launchBrowser, newPage, screenshot, visibleTexts, waitForText, signUp } from './helpers.mjs';

const LIN = { name: 'Lin Hai', local: '13900139000', phone: '+8613900139000', region: 'CN', password: 'lin-secret-123' };

let server;
let browser;
let page;


/** What the browser's Intl gives for an amount (a decimal string) in a language and currency. */
async function money(p, language, amount, currency) {
  return p.evaluate(([l, a, c]) => new Intl.NumberFormat(l, { style: 'currency', currency: c }).format(a), [language, amount, currency]);
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

function cardForm(p) {
  return p.getByTestId('card-form');
}

function topUpForm(p) {
  return p.getByTestId('topup-form');
}

describe('Qiao wallet', { timeout: 120000 }, () => {
  before(async () => {
    server = new QiaoServer();
    await server.start();
    browser = await launchBrowser();
    page = await newPage(browser, { viewport: DESKTOP });
  });

  after(async () => {
    const errors = [...(page?.errors || [])];
    if (browser) await browser.close();
    if (server) await server.dispose();
    assert.deepEqual(errors, [], 'no JavaScript errors in the page');
  });

  it('a CN user opens the wallet from Me', async () => {
    await signUp(page, server, LIN);
    await page.getByTestId('tab-me').click();
    await page.getByTestId('me-wallet').click();
    await waitForText(page.getByTestId('wallet-title'), 'Wallet');
    assert.match(page.url(), /#\/me\/wallet$/);
    await waitForText(page.getByTestId('wallet-balance'), await money(page, 'en-US', '0.00', 'CNY'));
    await waitForText(page.getByTestId('no-cards'), 'No cards yet');
    await page.getByTestId('topup-need-debit').waitFor();
    assert.equal(await page.getByTestId('topup-submit').isDisabled(), true);
  });

  it('binds a UnionPay debit card', async () => {
    await cardForm(page).getByTestId('card-number').fill('6212 3456 7890 1265');
    await cardForm(page).getByTestId('card-funding-debit').check();
    await cardForm(page).getByTestId('card-confirm').fill(LIN.password);
    await cardForm(page).getByTestId('card-submit').click();
    const row = page.getByTestId('card-row').filter({ has: page.getByTestId('card-name').filter({ hasText: 'UnionPay •••• 1265' }) });
    await waitForText(row.getByTestId('card-funding-label'), 'Debit');
    assert.equal(await cardForm(page).getByTestId('card-number').inputValue(), '');
    assert.equal(await cardForm(page).getByTestId('card-confirm').inputValue(), '', 'the password is not kept');
    assert.equal(await page.getByTestId('no-cards').count(), 0);
    assert.equal(await page.getByTestId('topup-card').evaluate((s) => s.selectedOptions[0]?.textContent), 'UnionPay •••• 1265');
    assert.equal(await page.getByTestId('topup-submit').isDisabled(), false);
  });

  it('rejects a malformed amount without calling the server', async () => {
    await topUpForm(page).getByTestId('topup-amount').fill('1.005');
    await topUpForm(page).getByTestId('topup-submit').click();
    await waitForText(topUpForm(page).getByTestId('form-error'), 'Enter an amount such as 100.50 (at most 2 decimals).');
  });

  it('tops up 100.50 (10050 fen, a fresh idempotency key) and shows the new balance', async () => {
    await topUpForm(page).getByTestId('topup-amount').fill('100.50');
    const request = page.waitForRequest((r) => r.url().endsWith('/api/wallet/top-ups') && r.method() === 'POST');
    await topUpForm(page).getByTestId('topup-submit').click();
    const body = (await request).postDataJSON();
    assert.equal(body.amount_minor, 10050);
    assert.match(body.idempotency_key, /^[0-9a-f]{32}$/);
    const expected = await money(page, 'en-US', '100.50', 'CNY');
    assert.match(expected, /100\.50/);
    await waitForText(page.getByTestId('wallet-balance'), expected);
    assert.equal(await topUpForm(page).getByTestId('form-error').isHidden(), true);
    assert.equal(await topUpForm(page).getByTestId('topup-amount').inputValue(), '');

    // A second top-up gets its own key and adds up exactly (0.10 + 0.20 style sums).
    await topUpForm(page).getByTestId('topup-amount').fill('0.3');
    const second = page.waitForRequest((r) => r.url().endsWith('/api/wallet/top-ups') && r.method() === 'POST');
    await topUpForm(page).getByTestId('topup-submit').click();
    const body2 = (await second).postDataJSON();
    assert.equal(body2.amount_minor, 30);
    assert.notEqual(body2.idempotency_key, body.idempotency_key);
    await waitForText(page.getByTestId('wallet-balance'), await money(page, 'en-US', '100.80', 'CNY'));
  });

  it('shows the server’s funding_not_allowed message for a credit card in CN', async () => {
    await cardForm(page).getByTestId('card-number').fill('4242424242424242');
    await cardForm(page).getByTestId('card-funding-credit').check();
    await cardForm(page).getByTestId('card-confirm').fill(LIN.password);
    const response = page.waitForResponse((r) => r.url().endsWith('/api/wallet/cards') && r.request().method() === 'POST');
    await cardForm(page).getByTestId('card-submit').click();
    const res = await response;
    assert.equal(res.status(), 403);
    assert.equal((await res.json()).code, 'funding_not_allowed');
    await waitForText(cardForm(page).getByTestId('form-error'), 'This kind of card is not available in your region.');
    assert.equal(await page.getByTestId('card-row').count(), 1);
  });

  it('switches the wallet screen to Chinese', async () => {
    await page.locator('[data-testid=lang-toggle]:visible').first().click();
    await waitForText(page.getByTestId('wallet-title'), '钱包');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    await waitForText(page.getByTestId('wallet-balance'), await money(page, 'zh-CN', '100.80', 'CNY'));
    await waitForText(page.getByTestId('card-name'), '银联 •••• 1265');
    await waitForText(page.getByTestId('card-funding-label'), '储蓄卡');
    await waitForText(page.getByTestId('me-wallet'), '钱包');
    for (const text of ['余额', '银行卡', '添加银行卡', '卡号', '卡类型', '信用卡', '充值', '金额', '付款储蓄卡', '绑定']) {
      await page.getByTestId('wallet').getByText(text, { exact: true }).first().waitFor();
    }
    assert.equal(await page.getByTestId('topup-amount').getAttribute('placeholder'), '例如 100.50');

    // The server's messages come back in Chinese too.
    await cardForm(page).getByTestId('card-submit').click();
    await waitForText(cardForm(page).getByTestId('form-error'), '你所在的地区不支持此类银行卡。');
    await assertNoEnglishLabels(page, 'Wallet');
    // Tall enough for the whole wallet screen, from the balance to the error.
    await page.setViewportSize({ width: DESKTOP.width, height: 1160 });
    await page.getByTestId('wallet-balance-card').scrollIntoViewIfNeeded();
    await screenshot(page, 'wallet');
  });

  it('fits a phone screen, with a way back to Me', async () => {
    await page.setViewportSize(PHONE);
    await page.getByTestId('wallet-title').waitFor();
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(sw <= PHONE.width, `page is ${sw}px wide, more than the ${PHONE.width}px viewport`);
    await page.getByTestId('pane-main').getByTestId('back').click();
    await waitForText(page.getByTestId('me-title'), '我');
    await page.getByTestId('me-wallet').waitFor();
  });
});
