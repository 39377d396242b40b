// Paying shops in the web client, in real Chromium against the real server:
// a tourist with a CNY wallet pays a USD restaurant by uploading a photo of
// its QR code (the quote shown, the PIN, the receipt), and the restaurant's
// cashier screen shows a code for an amount and sees it paid, then charges
// the tourist's payment code, which she confirms on her phone.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { DESKTOP, PHONE, QiaoServer, apiCall, launchBrowser, newPage, screenshot, signUp, waitForText } from './helpers.mjs';

const MEI = { name: 'Mei Lin', local: '13600136001', region: 'CN', password: 'mei-secret-123' };
const SAM = { name: 'Sam Ortiz', local: '7025550142', region: 'US', password: 'sam-secret-456' };
const PIN = '975310';

let server;
let browser;
let mei; // phone, zh-CN: the tourist
let sam; // desktop, en-US: the restaurant
const tokens = {};
let merchant;

async function ok(token, method, path, body) {
  const res = await apiCall(server, token, method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function cny(token) {
  const wallet = await ok(token, 'GET', '/api/wallet');
  return wallet.balances.find((b) => b.currency === 'CNY').balance_minor;
}

describe('Paying shops in the web client', { timeout: 240000 }, () => {
  before(async () => {
    server = new QiaoServer();
    await server.start();
    browser = await launchBrowser();
    mei = await newPage(browser, { viewport: PHONE, locale: 'zh-CN' });
    sam = await newPage(browser, { viewport: DESKTOP });
    await signUp(mei, server, MEI);
    await signUp(sam, server, SAM);
    tokens.mei = await mei.evaluate(() => localStorage.getItem('qiao.token'));
    tokens.sam = await sam.evaluate(() => localStorage.getItem('qiao.token'));
    const meiCard = await ok(tokens.mei, 'POST', '/api/wallet/cards', { number: '6212345678901265', funding: 'debit', password: MEI.password });
    await ok(tokens.mei, 'POST', '/api/wallet/top-ups', { card_id: meiCard.id, amount_minor: 100000, idempotency_key: 'seed' });
    await ok(tokens.mei, 'PUT', '/api/wallet/pin', { password: MEI.password, pin: PIN });
    const samCard = await ok(tokens.sam, 'POST', '/api/wallet/cards', { number: '4242424242424242', funding: 'debit', password: SAM.password });
    merchant = (
      await ok(tokens.sam, 'POST', '/api/merchants', {
        legal_name: 'Lucky Noodle LLC',
        display_name: 'Lucky Noodle',
        country: 'US',
        city: 'Las Vegas',
        mcc: '5812',
        currency: 'USD',
        settlement_card_id: samCard.id,
      })
    ).merchant;
  });

  after(async () => {
    const errors = [...(mei?.errors || []), ...(sam?.errors || [])];
    if (browser) await browser.close();
    if (server) await server.dispose();
    assert.deepEqual(errors, [], 'no JavaScript errors in the pages');
  });

  it('pays a USD order from a CNY wallet by a photo of its code', async () => {
    const created = await ok(tokens.sam, 'POST', `/api/merchants/${merchant.id}/orders`, {
      out_trade_no: 'T-1001',
      amount_minor: 2372,
      description: 'Dinner for two',
    });
    const photo = join(mkdtempSync(join(tmpdir(), 'qiao-qr-')), 'order.png');
    writeFileSync(photo, Buffer.from(created.qr.png_base64, 'base64'));
    const before = await cny(tokens.mei);

    await mei.goto(`${server.url}/#/me/scan`);
    await mei.getByTestId('scan').waitFor();
    await mei.getByTestId('scan-photo').setInputFiles(photo);
    await mei.getByTestId('pay-sheet').waitFor();
    await waitForText(mei.getByTestId('pay-merchant'), 'Lucky Noodle');
    await waitForText(mei.getByTestId('pay-description'), 'Dinner for two');
    // The price in dollars and, in her language, what it costs her in yuan.
    await waitForText(mei.getByTestId('pay-amount-value'), /23\.72/);
    const quote = await mei.getByTestId('pay-quote').textContent();
    assert.match(quote, /您将支付 ¥170\.96/, quote);
    await screenshot(mei, 'scan-to-pay');
    await mei.getByTestId('pay-pin').fill(PIN);
    await mei.getByTestId('pay-confirm').click();
    await waitForText(mei.getByTestId('receipt-status'), '已付款');
    await waitForText(mei.getByTestId('receipt-payer'), /¥170\.96/);
    assert.equal(await cny(tokens.mei), before - 17096);
    const order = await ok(tokens.sam, 'GET', `/api/merchants/${merchant.id}/orders/${created.order.id}`);
    assert.equal(order.status, 'paid');
  });

  it('scanning a person’s code asks them to be friends', async () => {
    const code = await ok(tokens.sam, 'GET', '/api/me/qr');
    await mei.goto(`${server.url}/#/me/scan`);
    await mei.getByTestId('scan-text').fill(code.payload);
    await mei.getByTestId('scan-text-go').click();
    await mei.getByTestId('scan-person').waitFor();
    await waitForText(mei.getByTestId('result-name'), SAM.name);
    await mei.getByTestId('send-request').click();
    await mei.getByTestId('request-sent').waitFor();
    const requests = await ok(tokens.sam, 'GET', '/api/friend-requests');
    assert.equal(requests.incoming.length, 1);
  });

  it('the cashier screen shows a code for an amount and charges a payment code', async () => {
    await sam.goto(`${server.url}/#/me/merchants/${merchant.id}`);
    await sam.getByTestId('cashier').waitFor();
    await sam.getByTestId('cashier-amount').fill('8.80');
    await sam.getByTestId('cashier-show-code').click();
    const qr = sam.getByTestId('cashier-qr');
    await qr.waitFor();
    await waitForText(sam.getByTestId('cashier-status'), 'Waiting for payment');
    const payload = await qr.getAttribute('data-payload');
    // The tourist pays it (from her phone's scanner: here, over the API).
    const scanned = await ok(tokens.mei, 'POST', '/api/pay/scan', { payload });
    await ok(tokens.mei, 'POST', '/api/pay', { payload, quote_id: scanned.quote.id, pin: PIN, idempotency_key: 'cashier-1' });
    await waitForText(sam.getByTestId('cashier-status'), 'Paid');
    await screenshot(sam, 'cashier');

    // Her payment code, full screen; the cashier types it; above her no-PIN
    // limit she confirms on the phone.
    await mei.goto(`${server.url}/#/me/paycode`);
    const digits = mei.getByTestId('paycode-digits');
    await digits.waitFor();
    await mei.getByTestId('paycode-barcode').locator('svg').waitFor();
    await mei.getByTestId('paycode-qr').locator('svg').waitFor();
    const code = await digits.getAttribute('data-code');
    assert.match(code, /^\d{18}$/);
    await screenshot(mei, 'payment-code');
    await sam.getByTestId('cashier-amount').fill('1.50');
    await sam.getByTestId('cashier-code').fill(code);
    await sam.getByTestId('cashier-charge').click();
    await waitForText(sam.getByTestId('cashier-status'), 'Waiting for the customer to confirm');
    await mei.getByTestId('confirm-card').waitFor();
    await mei.getByTestId('confirm-pin').fill(PIN);
    await mei.getByTestId('confirm-pay').click();
    await waitForText(mei.getByTestId('receipt-status'), '已付款');
    await waitForText(sam.getByTestId('cashier-status'), 'Paid');
    // Today's report counts all three payments.
    await sam.reload();
    await waitForText(sam.getByTestId('report-paid'), /\$34\.02/);
  });
});
