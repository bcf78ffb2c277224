#!/usr/bin/env python3
"""Signed requests to the PEC ledger webhook (Standard Webhooks), with the standard library only.

    PEC_WEBHOOK_SECRET=whsec_... python3 post_snapshot.py URL PARTNER_ID SNAPSHOT.json
    PEC_WEBHOOK_SECRET=whsec_... python3 post_snapshot.py URL PARTNER_ID --statement 2026-09

e.g. URL http://127.0.0.1:8080. Prints the status and the response body; exits 0 on 200 or 202.
"""

import base64
import hashlib
import hmac
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


def signed_request(url, secret, method, body=b"", content_type=None):
    """A request signed over `{webhook-id}.{webhook-timestamp}.{body}` with the secret's key."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id = "msg_" + uuid.uuid4().hex
    timestamp = str(int(time.time()))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode(),
    }
    if content_type:
        headers["Content-Type"] = content_type
    return urllib.request.Request(url, data=body if method == "POST" else None, headers=headers, method=method)


def send(request):
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:  # 4xx and 5xx still carry the error body
        return e.code, e.read()


def main(url, partner, what, month=None):
    secret = os.environ["PEC_WEBHOOK_SECRET"]
    if what == "--statement":
        request = signed_request(f"{url}/v1/partners/{partner}/statements/{month}", secret, "GET")
    else:
        with open(what, "rb") as f:
            body = f.read()  # signed and sent as these exact bytes
        request = signed_request(f"{url}/v1/partners/{partner}/access-snapshots", secret, "POST", body,
                                 "application/json")
    status, body = send(request)
    print(status)
    print(body.decode("utf-8", "replace"))
    return 0 if status in (200, 202) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
