// "Scan" (#/me/scan): read a QR code with the camera (the browser's
// BarcodeDetector where it has one, jsQR on the frames where not), from a
// photo (jsQR, then the server as a second reader), or pasted as text; then
// pay a merchant's code (the amount, across currencies the quote, the PIN)
// or open a person's code to add them.

import { api } from '../api.js';
import { clear, h, icon, setText } from '../dom.js';
import { currencyDigits } from '../i18n.js';
import { attemptKeys, parseAmountMinor, validPin } from '../money.js';
import { formError, topbar } from '../ui.js';
import { personCard } from './contacts.js';

/** The text of the first QR code in an image, read in the browser with jsQR. */
async function readInBrowser(blob) {
  if (!window.jsQR) return null;
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const found = window.jsQR(pixels.data, pixels.width, pixels.height);
  return found ? found.data : null;
}

/** A photo's QR code: jsQR first, the server's reader if it finds nothing. */
export async function readPhoto(blob) {
  try {
    const text = await readInBrowser(blob);
    if (text) return text;
  } catch {
    // an image the browser cannot draw: the server may still read it
  }
  return (await api.decodePhoto(blob)).payload;
}

/** Reads codes from the camera until `onText` returns true or `stop()` is called. */
function startCamera(video, onText, onError) {
  let stream = null;
  let stopped = false;
  const canvas = document.createElement('canvas');
  const detector = 'BarcodeDetector' in window ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
  const tick = async () => {
    if (stopped) return;
    try {
      let text = null;
      if (video.readyState >= 2) {
        if (detector) {
          const codes = await detector.detect(video);
          text = codes.length ? codes[0].rawValue : null;
        } else if (window.jsQR) {
          canvas.width = video.videoWidth;
          canvas.height = video.videoHeight;
          const ctx = canvas.getContext('2d', { willReadFrequently: true });
          ctx.drawImage(video, 0, 0);
          const px = ctx.getImageData(0, 0, canvas.width, canvas.height);
          const found = window.jsQR(px.data, px.width, px.height);
          text = found ? found.data : null;
        }
      }
      if (text && onText(text)) {
        stop();
        return;
      }
    } catch {
      // a frame that could not be read: try the next
    }
    setTimeout(tick, 200);
  };
  const stop = () => {
    stopped = true;
    if (stream) for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  navigator.mediaDevices
    .getUserMedia({ video: { facingMode: 'environment' } })
    .then((s) => {
      if (stopped) {
        for (const track of s.getTracks()) track.stop();
        return;
      }
      stream = s;
      video.srcObject = s;
      video.play().catch(() => {});
      tick();
    })
    .catch(onError);
  return stop;
}

export function scanView(root) {
  const body = h('div', { class: 'list-scroll scan', testid: 'scan' });
  root.append(topbar({ back: '#/me', title: 'scan', testid: 'scan-title' }), body);

  const error = formError();
  const video = h('video', { class: 'scan-video', testid: 'scan-video', playsinline: true, muted: true, hidden: true });
  let stopCamera = null;
  const cameraBtn = h('button', {
    type: 'button',
    class: 'btn btn-primary',
    testid: 'scan-camera',
    i18n: 'scan_camera',
    onclick: () => {
      if (stopCamera) return;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        error.setKey('scan_no_camera');
        return;
      }
      video.hidden = false;
      stopCamera = startCamera(
        video,
        (text) => {
          video.hidden = true;
          stopCamera = null;
          resolve(text);
          return true;
        },
        () => {
          video.hidden = true;
          stopCamera = null;
          error.setKey('scan_no_camera');
        },
      );
    },
  });
  const photo = h('input', {
    type: 'file',
    accept: 'image/*',
    class: 'visually-hidden',
    testid: 'scan-photo',
    onchange: async () => {
      const file = photo.files && photo.files[0];
      if (!file) return;
      error.set(null);
      try {
        resolve(await readPhoto(file));
      } catch (err) {
        error.set(err);
      } finally {
        photo.value = '';
      }
    },
  });
  const photoBtn = h('label', { class: 'btn btn-plain', testid: 'scan-photo-button' }, h('span', { i18n: 'scan_photo' }), photo);
  const pasted = h('input', { class: 'text-input', testid: 'scan-text', ph: 'scan_text_ph', autocomplete: 'off' });
  const pasteForm = h(
    'form',
    {
      class: 'inline-form',
      onsubmit: (e) => {
        e.preventDefault();
        if (pasted.value.trim()) resolve(pasted.value.trim());
      },
    },
    h('span', { class: 'field-label', i18n: 'scan_text' }),
    h('div', { class: 'inline-row' }, pasted, h('button', { type: 'submit', class: 'btn btn-plain btn-small', testid: 'scan-text-go', i18n: 'next' })),
  );
  const result = h('div', { class: 'scan-result', testid: 'scan-result' });
  body.append(
    h('div', { class: 'card scan-card' }, icon('scan', 'icon scan-icon'), h('p', { class: 'muted', i18n: 'scan_hint' }), h('div', { class: 'button-row' }, cameraBtn, photoBtn), video),
    h('div', { class: 'card' }, pasteForm),
    error.el,
    result,
  );

  async function resolve(text) {
    error.set(null);
    clear(result);
    try {
      const scanned = await api.scan(text);
      if (scanned.kind === 'user') {
        // A person's code: who it is, and a friend request (or a chat, if friends).
        const person = await api.user(scanned.user_id);
        result.append(h('div', { testid: 'scan-person' }, h('p', { class: 'list-note', i18n: 'scan_person' }), personCard(person)));
        return;
      }
      result.append(paySheet(text, scanned));
    } catch (err) {
      error.set(err);
    }
  }

  return () => {
    if (stopCamera) stopCamera();
  };
}

/** What a quote says, for a line of the pay sheet. */
function quoteLine(q) {
  return h('p', {
    class: 'quote-line',
    testid: 'pay-quote',
    i18n: ['quote_line', { debit: q.debit_minor, fee: q.fee_minor, from: q.from_currency, to: q.to_currency, rate: q.rate, until: q.expires_at_ms }],
  });
}

function merchantHead(m) {
  return h(
    'div',
    { class: 'merchant-head' },
    icon('shop', 'icon merchant-icon'),
    h(
      'div',
      {},
      h('div', { class: 'merchant-name', testid: 'pay-merchant' }, m.name),
      h('div', { class: 'muted' }, `${m.city} · ${m.country}`),
      h('div', { class: m.verified ? 'verified' : 'muted', testid: 'pay-verified', i18n: m.verified ? 'merchant_verified' : 'merchant_unverified' }),
    ),
  );
}

/** The card to pay a scanned merchant code: amount, quote, PIN, pay; then the receipt. */
function paySheet(payload, scanned) {
  const sheet = h('div', { class: 'card pay-sheet', testid: 'pay-sheet' });
  const keys = attemptKeys();
  const error = formError();
  const digits = currencyDigits(scanned.currency);
  let amountMinor = scanned.amount_minor;
  let quote = scanned.quote;
  const amountInput = h('input', { class: 'text-input', testid: 'pay-amount', ph: 'amount_ph', inputmode: 'decimal', autocomplete: 'off' });
  const amountLine = h('div', { class: 'pay-amount-value', testid: 'pay-amount-value' });
  const quoteBox = h('div', { testid: 'pay-quote-box' });
  const pin = h('input', { class: 'text-input pin-input', testid: 'pay-pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, ph: 'pin_ph' });
  const payBtn = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'pay-confirm', i18n: 'pay_now' });

  const showAmount = () => {
    clear(quoteBox);
    if (amountMinor) setText(amountLine, 'money', { minor: amountMinor, currency: scanned.currency });
    if (quote) quoteBox.append(quoteLine(quote));
  };
  showAmount();

  // A static code: the payer types the amount; across currencies a quote follows.
  if (!scanned.order && !scanned.amount_minor) {
    amountInput.addEventListener('change', async () => {
      const minor = parseAmountMinor(amountInput.value, digits);
      if (!minor) {
        error.setKey('amount_invalid');
        return;
      }
      error.set(null);
      amountMinor = minor;
      try {
        quote = (await api.scan(payload, minor)).quote;
      } catch (err) {
        error.set(err);
      }
      showAmount();
    });
  }

  const form = h(
    'form',
    {
      class: 'pay-form',
      onsubmit: async (e) => {
        e.preventDefault();
        error.set(null);
        if (!amountMinor) {
          const minor = parseAmountMinor(amountInput.value, digits);
          if (!minor) {
            error.setKey('amount_invalid');
            return;
          }
          amountMinor = minor;
          if (scanned.currency && !scanned.order) quote = (await api.scan(payload, minor).catch(() => ({}))).quote;
        }
        const typed = pin.value.trim();
        if (typed && !validPin(typed)) {
          error.setKey('pin_invalid');
          return;
        }
        const req = { payload, idempotency_key: keys.key(`${payload}|${amountMinor}|${quote ? quote.id : ''}`) };
        if (!scanned.order) req.amount_minor = amountMinor;
        if (quote) req.quote_id = quote.id;
        if (typed) req.pin = typed;
        payBtn.disabled = true;
        try {
          const receipt = await api.payMerchant(req);
          keys.settled(null);
          clear(sheet);
          sheet.append(receiptCard(receipt));
        } catch (err) {
          keys.settled(err);
          payBtn.disabled = false;
          if (['wrong_pin', 'pin_required'].includes(err.code)) pin.value = '';
          error.set(err);
        }
      },
    },
    scanned.order || scanned.amount_minor
      ? amountLine
      : h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: ['amount_in', { currency: scanned.currency }] }), amountInput),
    quoteBox,
    h('label', { class: 'field' }, h('span', { class: 'field-label', i18n: 'payment_pin' }), pin),
    error.el,
    payBtn,
  );
  sheet.append(
    merchantHead(scanned.merchant),
    scanned.order ? h('p', { class: 'muted', testid: 'pay-description' }, scanned.order.description) : null,
    form,
  );
  return sheet;
}

/** A paid (or refunded) payment as its payer sees it. */
export function receiptCard(r) {
  const payer = r.payer;
  return h(
    'div',
    { class: 'receipt', testid: 'receipt' },
    icon('check', 'icon receipt-icon'),
    h('div', { class: 'receipt-status', testid: 'receipt-status', i18n: `order_${r.status}` }),
    h('div', { class: 'receipt-amount', testid: 'receipt-amount', i18n: ['money', { minor: r.amount_minor, currency: r.currency }] }),
    h('div', { class: 'muted', testid: 'receipt-merchant' }, r.merchant.name),
    payer && payer.currency !== r.currency
      ? h('div', { class: 'muted', testid: 'receipt-payer', i18n: ['paid_from_wallet', { minor: payer.amount_minor, currency: payer.currency, rate: payer.rate || '' }] })
      : null,
  );
}
