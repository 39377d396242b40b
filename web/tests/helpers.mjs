// Test harness: the real qiao server on a free port with a fresh data
// directory, headless Chromium through playwright-core, and small helpers.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(WEB_DIR, '..');
export const SCREENSHOT_DIR = join(REPO_DIR, 'docs', 'screenshots');
export const QIAO_BIN = resolve(WEB_DIR, process.env.QIAO_BIN || '../target/debug/qiao');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Polls `fn` until it returns truthy or `timeoutMs` passes (for process readiness, not the UI). */
async function until(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** The qiao server as a child process; `restart()` keeps port and data. */
export class QiaoServer {
  constructor() {
    this.dataDir = mkdtempSync(join(tmpdir(), 'qiao-web-test-'));
    this.proc = null;
    this.log = [];
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!existsSync(QIAO_BIN)) {
      throw new Error(`qiao binary not found at ${QIAO_BIN}: run \`cargo build -p qiao\` or set QIAO_BIN`);
    }
    if (!this.port) this.port = await freePort();
    // The server reads every QIAO_* variable as configuration and rejects
    // unknown ones, so QIAO_BIN (ours) must not reach it.
    const env = { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' };
    delete env.QIAO_BIN;
    this.proc = spawn(QIAO_BIN, ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir], {
      env,
      cwd: this.dataDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk) => {
      this.log.push(chunk.toString());
      if (this.log.length > 200) this.log.shift();
    };
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
    const proc = this.proc;
    let exited = false;
    // Never leave a server behind, even if the test process dies on an error.
    const reap = () => proc.kill('SIGKILL');
    process.once('exit', reap);
    proc.once('exit', () => {
      exited = true;
      process.removeListener('exit', reap);
    });
    await until(
      async () => {
        if (exited) throw Object.assign(new Error(`server exited early:\n${this.log.join('')}`), { fatal: true });
        const res = await fetch(`${this.url}/healthz`);
        return res.ok && (await res.json()).status === 'ok';
      },
      20000,
      'qiao /healthz',
    );
  }

  /** The last one-time code the sandbox outbox sent to `to` (a phone or an email). */
  lastCode(to) {
    const path = join(this.dataDir, 'outbox.jsonl');
    const sent = existsSync(path)
      ? readFileSync(path, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line))
          .filter((m) => m.to === to)
      : [];
    const last = sent[sent.length - 1];
    const code = last && last.body.match(/\b\d{6}\b/);
    if (!code) throw new Error(`no code was sent to ${to}`);
    return code[0];
  }

  async stop() {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page in a fresh browser context, with page errors collected into `page.errors`. */
export async function newPage(browser, { viewport = PHONE, locale = 'en-US' } = {}) {
  const context = await browser.newContext({ viewport, locale, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|WebSocket connection to/.test(m.text())) page.errors.push(m.text());
  });
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) });
}

/** Waits until the element's text equals (string) or matches (RegExp) the expected value. */
export async function waitForText(locator, expected, timeout = 15000) {
  const re = expected instanceof RegExp ? expected : new RegExp(`^\\s*${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
  await locator.filter({ hasText: re }).first().waitFor({ timeout });
}

/** Every visible text node and placeholder on the page (trimmed, non-empty). */
export async function visibleTexts(page) {
  return page.evaluate(() => {
    const out = [];
    const visible = (el) => {
      if (!el) return false;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none') return false;
      return el.getClientRects().length > 0;
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent.trim();
      if (text && visible(n.parentElement)) out.push(text);
    }
    for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
      if (visible(el) && el.placeholder) out.push(el.placeholder);
    }
    for (const el of document.querySelectorAll('[title], [aria-label]')) {
      if (visible(el)) out.push(el.getAttribute('title') || el.getAttribute('aria-label'));
    }
    return out;
  });
}

/** A small PNG (RGB, no libraries): a green tile with a white bridge-ish stripe. */
export function makePng(width = 96, height = 64) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const arch = Math.abs(y - (height * 0.75 - Math.sin((x / width) * Math.PI) * height * 0.45)) < 3;
      const deck = Math.abs(y - height * 0.75) < 2;
      const white = arch || deck;
      row[1 + x * 3] = white ? 255 : 7;
      row[2 + x * 3] = white ? 255 : 193 - Math.round((y / height) * 60);
      row[3 + x * 3] = white ? 255 : 96 + Math.round((x / width) * 80);
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The E.164 number a user signs up with: `phone`, or the region's code and `local`. */
export function e164(user) {
  return user.phone || `${user.region === 'CN' ? '+86' : '+1'}${user.local}`;
}

/**
 * Signs `user` up in the browser (typing `local` when given: the region adds
 * the country code) and proves the phone with the code the sandbox outbox
 * got, landing on the chat list.
 */
export async function signUp(page, server, user) {
  await page.goto(server.url);
  await page.getByTestId('login-form').waitFor();
  await page.getByTestId('goto-signup').click();
  await page.getByTestId('signup-form').waitFor();
  await page.getByTestId('signup-name').fill(user.name);
  await page.getByTestId('signup-region').selectOption(user.region);
  await page.getByTestId('signup-phone').fill(user.local || user.phone);
  await page.getByTestId('signup-password').fill(user.password);
  await page.getByTestId('signup-submit').click();
  await page.getByTestId('verify-form-phone').waitFor();
  await page.getByTestId('verify-code-phone').fill(server.lastCode(e164(user)));
  await page.getByTestId('verify-submit-phone').click();
  await page.getByTestId('chat-list').waitFor();
}

/** A call of the HTTP API as a user (setup the UI tests don't need to click through). */
export async function apiCall(server, token, method, path, body) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
