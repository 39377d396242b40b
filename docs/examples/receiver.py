#!/usr/bin/env python3
"""A merchant's notification receiver for Qiao, with the standard library only.

    QIAO_SIGNING_SECRET=whsec_... python3 receiver.py 8000

Checks the signature (HMAC-SHA256 over "{timestamp}\n{nonce}\n{body}", hex,
after "v1="), refuses timestamps more than five minutes away, answers 200 to
a genuine notification (also to one it has seen before: deduplicate by the
event id) and 400 to anything else. Qiao retries until it gets a 2xx.
"""
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["QIAO_SIGNING_SECRET"].encode()
SEEN = set()  # event ids already handled; keep these in your database


def genuine(headers, body: bytes) -> bool:
    timestamp = headers.get("Qiao-Timestamp", "")
    nonce = headers.get("Qiao-Nonce", "")
    given = headers.get("Qiao-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    signed = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    expected = "v1=" + hmac.new(SECRET, signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not genuine(self.headers, body):
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(body)
        if event["id"] not in SEEN:
            SEEN.add(event["id"])
            order = event["order"]
            print(f"{event['type']}: order {order['out_trade_no']} is {order['status']}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    server = HTTPServer(("127.0.0.1", port), Receiver)
    print(f"listening on {port}", flush=True)
    server.serve_forever()
