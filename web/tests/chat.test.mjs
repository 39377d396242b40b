// End-to-end tests of the web client against the real server, in headless
// Chromium: two people sign up, become friends, chat in real time (text,
// receipts, recall, images, quotes, a group), the language switch, a phone
// viewport, sign-out and sign-in, and reconnecting after a server restart.
//
// The steps share one server and two browser contexts and run in order.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DESKTOP, PHONE, QiaoServer, launchBrowser, makePng, newPage, screenshot, visibleTexts, waitForText, signUp } from './helpers.mjs';

const ALICE = { name: 'Alice Wang', phone: '+8613800138000', local: '13800138000', region: 'CN', password: 'alice-secret-1' };
const BOB = { name: 'Bob Smith', phone: '+14155550123', region: 'US', password: 'bob-secret-12' };

let server;
let browser;
let alice; // desktop page
let bob; // phone page


function convRow(page, name) {
  const exact = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( \\(\\d+\\))?$`);
  return page.getByTestId('conv-row').filter({ has: page.getByTestId('conv-name').filter({ hasText: exact }) });
}

function messages(page) {
  return page.getByTestId('message-list');
}

async function openChatsTab(page) {
  await page.getByTestId('tab-chats').click();
  await page.getByTestId('chat-list').waitFor();
}

async function sendText(page, text) {
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('send-button').click();
}

async function noHorizontalOverflow(page, width) {
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(sw <= width, `page is ${sw}px wide, more than the ${width}px viewport`);
}

async function assertInViewport(page, testid) {
  const box = await page.getByTestId(testid).first().boundingBox();
  const vp = page.viewportSize();
  assert.ok(box, `${testid} has no box`);
  assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width + 0.5 && box.y + box.height <= vp.height + 0.5, `${testid} is outside the viewport: ${JSON.stringify(box)}`);
}

/** Fixed UI strings of a language, straight from the app's own table. */
async function labels(page, lang) {
  return page.evaluate(async (l) => (await import('/app/i18n.js')).staticStrings(l), lang);
}

/** No visible text on the page is one of the English UI labels (language names aside). */
async function assertNoEnglishLabels(page, screen) {
  const en = await labels(page, 'en-US');
  const zh = await labels(page, 'zh-CN');
  const english = new Set(Object.entries(en).filter(([k, v]) => v !== zh[k] && !['lang_toggle', 'language_name'].includes(k)).map(([, v]) => v));
  const leftovers = (await visibleTexts(page)).filter((text) => english.has(text));
  assert.deepEqual(leftovers, [], `English labels still visible on ${screen}`);
}

async function switchLanguage(page) {
  await page.locator('[data-testid=lang-toggle]:visible').first().click();
}

describe('Qiao web client', { timeout: 240000 }, () => {
  before(async () => {
    server = new QiaoServer();
    await server.start();
    browser = await launchBrowser();
    alice = await newPage(browser, { viewport: DESKTOP });
    bob = await newPage(browser, { viewport: PHONE });
  });

  after(async () => {
    const errors = [...(alice?.errors || []), ...(bob?.errors || [])];
    if (browser) await browser.close();
    if (server) await server.dispose();
    assert.deepEqual(errors, [], 'no JavaScript errors in the pages');
  });

  it('shows sign-in and sign-up screens, and the server’s error on a bad sign-in', async () => {
    await bob.goto(server.url);
    await bob.getByTestId('login-form').waitFor();
    await screenshot(bob, 'sign-in');
    await bob.getByTestId('login-identifier').fill('+14155550000');
    await bob.getByTestId('login-password').fill('wrong-password');
    await bob.getByTestId('login-submit').click();
    await waitForText(bob.getByTestId('form-error'), 'Wrong account or password.');
    await bob.getByTestId('goto-signup').click();
    await bob.getByTestId('signup-form').waitFor();
    await bob.getByTestId('signup-name').fill(BOB.name);
    await bob.getByTestId('signup-phone').fill(BOB.phone);
    await screenshot(bob, 'sign-up');
  });

  it('two people sign up through the UI', async () => {
    await signUp(alice, server, ALICE);
    await signUp(bob, server, BOB);
    await alice.getByTestId('tab-me').click();
    await waitForText(alice.getByTestId('me-phone'), ALICE.phone);
  });

  it('become friends: search by phone, add with a greeting, accept', async () => {
    await alice.getByTestId('tab-contacts').click();
    await alice.getByTestId('row-add-friend').click();
    await alice.getByTestId('search-input').fill(BOB.phone);
    await alice.getByTestId('search-submit').click();
    await waitForText(alice.getByTestId('result-name'), BOB.name);
    await alice.getByTestId('greeting-input').fill('Hi Bob, it’s Alice from the hiking club');
    await alice.getByTestId('send-request').click();
    await alice.getByTestId('request-sent').waitFor();

    // Bob is told live: a badge on the Contacts tab.
    await waitForText(bob.getByTestId('tab-contacts-badge'), '1');
    await bob.getByTestId('tab-contacts').click();
    await waitForText(bob.getByTestId('requests-badge'), '1');
    await screenshot(bob, 'contacts');
    await bob.getByTestId('row-new-friends').click();
    const request = bob.getByTestId('incoming-request').filter({ hasText: ALICE.name });
    await request.filter({ hasText: 'hiking club' }).waitFor();
    await screenshot(bob, 'friend-requests');
    await request.getByTestId('request-accept').click();
    await waitForText(request.getByTestId('request-status'), 'Added');

    // Both have each other as contacts and a conversation.
    await bob.getByTestId('back').click();
    await bob.getByTestId('contact-row').filter({ hasText: ALICE.name }).waitFor();
    await alice.getByTestId('contact-row').filter({ hasText: BOB.name }).waitFor();
    await openChatsTab(alice);
    await convRow(alice, BOB.name).waitFor();
    await openChatsTab(bob);
    await convRow(bob, ALICE.name).waitFor();
  });

  it('chats in real time with unread badges, delivered and read receipts', async () => {
    await convRow(alice, BOB.name).click();
    await alice.getByTestId('conversation').waitFor();
    await sendText(alice, 'Hello Bob! Are you coming on Saturday?');

    // Bob, on his chat list, sees the preview and an unread badge without reloading.
    const row = convRow(bob, ALICE.name);
    await waitForText(row.getByTestId('unread-badge'), '1');
    await waitForText(row.getByTestId('conv-preview'), 'Hello Bob! Are you coming on Saturday?');
    await waitForText(bob.getByTestId('tab-chats-badge'), '1');
    await screenshot(bob, 'chat-list');

    // Bob's device got it: Alice sees "Delivered", then "Read" once Bob opens the chat.
    await waitForText(alice.getByTestId('receipt-status'), /^(Delivered|Read)$/);
    await row.click();
    await messages(bob).getByText('Hello Bob! Are you coming on Saturday?').waitFor();
    await waitForText(alice.getByTestId('receipt-status'), 'Read');
    await bob.getByTestId('tab-chats-badge').waitFor({ state: 'hidden' });

    // Bob replies; Alice sees it live.
    await sendText(bob, 'Hi Alice! Yes, count me in.');
    await messages(alice).getByText('Hi Alice! Yes, count me in.').waitFor();
    await waitForText(bob.getByTestId('receipt-status'), 'Read');
  });

  it('recalls a message: both sides see the notice', async () => {
    await sendText(alice, 'Oops, wrong chat');
    await messages(bob).getByText('Oops, wrong chat').waitFor();
    const bubble = messages(alice).getByTestId('bubble').filter({ hasText: 'Oops, wrong chat' });
    await bubble.click({ button: 'right' });
    await alice.getByTestId('action-recall').click();
    await waitForText(messages(alice).getByTestId('recall-notice'), 'You recalled a message');
    await waitForText(messages(bob).getByTestId('recall-notice'), `${ALICE.name} recalled a message`);
    await messages(bob).getByText('Oops, wrong chat').waitFor({ state: 'detached' });
  });

  it('sends an image that the other side sees rendered', async () => {
    await alice.getByTestId('image-input').setInputFiles({ name: 'trail.png', mimeType: 'image/png', buffer: makePng() });
    for (const page of [alice, bob]) {
      await page.waitForFunction(() =>
        [...document.querySelectorAll('[data-testid=message-list] [data-testid=message-image]')].some((img) => img.complete && img.naturalWidth === 96),
      );
    }
    await waitForText(convRow(alice, BOB.name).getByTestId('conv-preview'), '[Photo]');
  });

  it('replies with a quote', async () => {
    await messages(bob).getByTestId('bubble').filter({ hasText: 'Hello Bob! Are you coming' }).click({ button: 'right' });
    await bob.getByTestId('action-quote').click();
    await bob.getByTestId('reply-chip').waitFor();
    await sendText(bob, 'I’ll bring snacks');
    const msg = messages(alice).getByTestId('message').filter({ hasText: 'I’ll bring snacks' });
    await waitForText(msg.getByTestId('quote'), /Hello Bob! Are you coming/);
    await screenshot(alice, 'conversation-desktop');
    await screenshot(bob, 'conversation');
  });

  it('lays out the chat list and a conversation on a 390×844 phone', async () => {
    // Bob's page is phone-sized: the open conversation fills the screen.
    await noHorizontalOverflow(bob, PHONE.width);
    for (const id of ['composer-input', 'send-button', 'back', 'conversation-title']) await assertInViewport(bob, id);
    assert.equal(await bob.getByTestId('tabbar').isVisible(), false, 'tab bar hidden inside a conversation');
    const bubbleBox = await messages(bob).getByTestId('bubble').last().boundingBox();
    assert.ok(bubbleBox.x + bubbleBox.width <= PHONE.width, 'bubbles fit the screen');

    await bob.getByTestId('back').click();
    await bob.getByTestId('chat-list').waitFor();
    await noHorizontalOverflow(bob, PHONE.width);
    for (const id of ['tabbar', 'tab-chats', 'tab-contacts', 'tab-me', 'conv-row']) await assertInViewport(bob, id);

    // A very long word still wraps inside the bubble.
    await convRow(bob, ALICE.name).click();
    await sendText(bob, 'Route: https://maps.example.com/trails/saturday-hike-2025-west-ridge-loop-trailhead-parking');
    await messages(bob).getByTestId('bubble').filter({ hasText: 'west-ridge-loop' }).waitFor();
    await noHorizontalOverflow(bob, PHONE.width);
  });

  it('creates a group from contacts', async () => {
    await alice.getByTestId('tab-contacts').click();
    await alice.getByTestId('row-new-group').click();
    await alice.getByTestId('group-name').fill('Saturday hike');
    await alice.getByTestId('group-member').filter({ hasText: BOB.name }).click();
    await alice.getByTestId('group-create').click();
    await waitForText(alice.getByTestId('conversation-title'), 'Saturday hike (2)');
    await sendText(alice, 'Meet at 8 at the trailhead');
    await bob.getByTestId('back').click();
    const row = convRow(bob, 'Saturday hike');
    await waitForText(row.getByTestId('conv-preview'), `${ALICE.name}: Meet at 8 at the trailhead`);
    await row.click();
    await waitForText(messages(bob).getByTestId('msg-sender').last(), ALICE.name);
  });

  it('Me: profile, Qiao ID (with the server’s validation message) and QR code', async () => {
    await alice.getByTestId('tab-me').click();
    await alice.getByTestId('qiao-id-input').fill('1bad');
    await alice.getByTestId('qiao-id-save').click();
    await waitForText(alice.getByTestId('form-error'), /Qiao ID is 6–20 letters/);
    await alice.getByTestId('qiao-id-input').fill('alice_wang');
    await alice.getByTestId('qiao-id-save').click();
    await waitForText(alice.getByTestId('qiao-id-value'), 'alice_wang');
    // On a desktop the QR code also fills the detail pane.
    await alice.waitForFunction(() => {
      const img = document.querySelector('[data-testid=qr-image-large]');
      return img && img.complete && img.naturalWidth > 0 && img.dataset.payload.startsWith('qiao://user/');
    });
    await screenshot(alice, 'me-desktop');

    await bob.getByTestId('back').click();
    await bob.getByTestId('tab-me').click();
    await bob.waitForFunction(() => {
      const img = document.querySelector('[data-testid=qr-image]');
      return img && img.complete && img.naturalWidth > 0;
    });
    await screenshot(bob, 'me');
  });

  it('switches every visible text to Chinese and back, on each main screen', async () => {
    // Bob is on "Me" (phone). Switch there.
    await switchLanguage(bob);
    await waitForText(bob.getByTestId('me-title'), '我');
    assert.equal(await bob.evaluate(() => document.documentElement.lang), 'zh-CN');
    await assertNoEnglishLabels(bob, 'Me');
    await bob.getByText('我的二维码').waitFor();
    await bob.getByText('退出登录').waitFor();

    await bob.getByTestId('tab-chats').click();
    await waitForText(bob.getByTestId('chats-title'), '聊天');
    await waitForText(bob.getByTestId('tab-contacts'), '通讯录');
    await assertNoEnglishLabels(bob, 'Chats');

    await bob.getByTestId('tab-contacts').click();
    await waitForText(bob.getByTestId('contacts-title'), '通讯录');
    await bob.getByText('新的朋友').waitFor();
    await assertNoEnglishLabels(bob, 'Contacts');
    await bob.getByTestId('row-new-friends').click();
    await bob.getByText('收到的申请').waitFor();
    await waitForText(bob.getByTestId('request-status'), '已添加');
    await assertNoEnglishLabels(bob, 'Friend requests');
    await bob.getByTestId('back').click();

    await bob.getByTestId('tab-chats').click();
    await convRow(bob, ALICE.name).click();
    await waitForText(messages(bob).getByTestId('recall-notice'), `${ALICE.name} 撤回了一条消息`);
    await waitForText(bob.getByTestId('send-button'), '发送');
    assert.equal(await bob.getByTestId('composer-input').getAttribute('placeholder'), '发消息');
    await waitForText(bob.getByTestId('receipt-status'), /^(已读|已送达|已发送)$/);
    await assertNoEnglishLabels(bob, 'Conversation');
    await screenshot(bob, 'conversation-zh');

    // The choice survives a reload, and errors come back in Chinese too.
    await bob.reload();
    await waitForText(bob.getByTestId('send-button'), '发送');
    await bob.getByTestId('back').click();
    await waitForText(bob.getByTestId('chats-title'), '聊天');
    await screenshot(bob, 'chat-list-zh');

    // …and back to English.
    await switchLanguage(bob);
    await waitForText(bob.getByTestId('chats-title'), 'Chats');
    await waitForText(bob.getByTestId('tab-me'), 'Me');
    const zh = await labels(bob, 'zh-CN');
    const texts = await visibleTexts(bob);
    assert.deepEqual(texts.filter((t) => Object.values(zh).includes(t) && t !== 'English' && t !== '中文'), [], 'no Chinese labels left');
    await convRow(bob, ALICE.name).click();
    await waitForText(messages(bob).getByTestId('recall-notice'), `${ALICE.name} recalled a message`);
    await bob.getByTestId('back').click();
  });

  it('starts in Chinese for a zh browser, with localized server errors', async () => {
    const page = await newPage(browser, { viewport: PHONE, locale: 'zh-CN' });
    await page.goto(server.url);
    await waitForText(page.getByTestId('auth-title'), '登录桥');
    await assertNoEnglishLabels(page, 'Sign in (zh)');
    await page.getByTestId('login-identifier').fill(ALICE.phone);
    await page.getByTestId('login-password').fill('not-her-password');
    await page.getByTestId('login-submit').click();
    await waitForText(page.getByTestId('form-error'), '账号或密码错误。');
    await screenshot(page, 'sign-in-zh');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('logs out and signs back in', async () => {
    await alice.getByTestId('tab-me').click();
    await alice.getByTestId('logout').click();
    await alice.getByTestId('login-form').waitFor();
    assert.equal(await alice.evaluate(() => localStorage.getItem('qiao.token')), null);
    await alice.getByTestId('login-identifier').fill('alice_wang');
    await alice.getByTestId('login-password').fill(ALICE.password);
    await alice.getByTestId('login-submit').click();
    await alice.getByTestId('chat-list').waitFor();
    await convRow(alice, BOB.name).click();
    await messages(alice).getByText('I’ll bring snacks').waitFor();
    await screenshot(alice, 'desktop');
  });

  it('reconnects after a server restart and keeps receiving in real time', async () => {
    await alice.getByTestId('conn-status').waitFor({ state: 'hidden' });
    await server.stop();
    await alice.getByTestId('conn-status').waitFor({ state: 'visible' });
    await server.start();
    await alice.getByTestId('conn-status').waitFor({ state: 'hidden', timeout: 30000 });
    await bob.getByTestId('conn-status').waitFor({ state: 'hidden', timeout: 30000 });
    await convRow(bob, ALICE.name).click();
    await sendText(bob, 'Still there after the restart?');
    await messages(alice).getByText('Still there after the restart?').waitFor();
  });
});
