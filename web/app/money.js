// Money on the client: amounts typed by people become integer minor units
// (parsed from the string, never through floating point), and every request
// that moves money carries an idempotency key.

/** "100.50" → 10050 (an integer number of minor units, parsed from the string:
 * no floating point), or null when it is not a valid positive amount. */
export function parseAmountMinor(text, digits = 2) {
  const s = String(text ?? '').trim().replace(/^[¥$]/, '').replace(/,/g, '');
  const re = digits > 0 ? new RegExp(`^(\\d+)(?:\\.(\\d{0,${digits}}))?$|^\\.(\\d{1,${digits}})$`) : /^(\d+)$/;
  const m = re.exec(s);
  if (!m) return null;
  const whole = m[1] || '0';
  const frac = (m[2] || m[3] || '').padEnd(digits, '0');
  const minor = BigInt(whole + frac);
  if (minor <= 0n || minor > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(minor);
}

/** A fresh idempotency key: a UUID without dashes (32 of [0-9a-f]). */
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID().replace(/-/g, '');
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Whether a failed request may have taken effect on the server (no answer, or an unexpected one). */
export function outcomeUnknown(err) {
  if (!err || typeof err.status !== 'number') return true;
  return err.status === 0 || err.code === 'internal' || (err.status >= 500 && String(err.code).startsWith('http_'));
}

/**
 * Idempotency keys for one money form. `key(fingerprint)` gives the key for
 * a submission of these values: the key of the previous attempt while the
 * values are the same and that attempt did not succeed (a retry is then
 * applied at most once), a fresh key for new values or after a success.
 * Call `settled(err)` with each outcome.
 *
 * `renewAfterAnswer`: also start afresh once the server has answered with an
 * error (for requests whose failed outcome is remembered under the key, such
 * as a withdrawal the bank declined), keeping the key only while the outcome
 * is unknown.
 */
export function attemptKeys({ renewAfterAnswer = false } = {}) {
  let open = null; // { fingerprint, key } of the last attempt that did not succeed
  return {
    key(fingerprint) {
      if (!open || open.fingerprint !== fingerprint) open = { fingerprint, key: newIdempotencyKey() };
      return open.key;
    },
    /** `err` null: done, the next submission is a new request. */
    settled(err) {
      if (!err || (renewAfterAnswer && !outcomeUnknown(err))) open = null;
    },
  };
}

/** PINs are six digits. */
export function validPin(pin) {
  return /^\d{6}$/.test(pin);
}

/** The most a no-PIN limit may be, in minor units (1000.00). */
export const NO_PIN_MAX_MINOR = 100000;

/** Like `parseAmountMinor`, but "0" (or "0.00") is 0: an amount that may be zero, such as a limit turned off. */
export function parseAmountOrZeroMinor(text, digits = 2) {
  const s = String(text ?? '').trim().replace(/^[¥$]/, '');
  const zero = digits > 0 ? new RegExp(`^0+(?:\\.0{0,${digits}})?$|^\\.0{1,${digits}}$`) : /^0+$/;
  if (zero.test(s)) return 0;
  return parseAmountMinor(text, digits);
}
