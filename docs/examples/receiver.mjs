// A merchant's notification receiver for Qiao, with Node's standard library only.
//
//     QIAO_SIGNING_SECRET=whsec_... node receiver.mjs 8000
//
// Checks the signature (HMAC-SHA256 over "{timestamp}\n{nonce}\n{body}", hex,
// after "v1="), refuses timestamps more than five minutes away, answers 200 to
// a genuine notification (also to a repeat: deduplicate by the event id) and
// 400 to anything else. Qiao retries until it gets a 2xx.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const SECRET = process.env.QIAO_SIGNING_SECRET;
const seen = new Set(); // event ids already handled; keep these in your database

function genuine(headers, body) {
  const timestamp = headers['qiao-timestamp'] || '';
  const nonce = headers['qiao-nonce'] || '';
  const given = Buffer.from(headers['qiao-signature'] || '');
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const mac = createHmac('sha256', SECRET).update(`${timestamp}\n${nonce}\n`).update(body).digest('hex');
  const expected = Buffer.from(`v1=${mac}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const port = Number(process.argv[2] || 8000);
createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.method !== 'POST' || !genuine(req.headers, body)) {
      res.writeHead(400).end();
      return;
    }
    const event = JSON.parse(body);
    if (!seen.has(event.id)) {
      seen.add(event.id);
      console.log(`${event.type}: order ${event.order.out_trade_no} is ${event.order.status}`);
    }
    res.writeHead(200).end();
  });
}).listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
