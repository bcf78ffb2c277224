#!/bin/sh
# Signed requests to the PEC ledger webhook (Standard Webhooks) with curl and openssl:
#   PEC_WEBHOOK_SECRET=whsec_... sh post_snapshot.sh URL PARTNER_ID SNAPSHOT.json MONTH
# posts the snapshot, then reads the partner's statement of MONTH (YYYY-MM) as CSV.
set -eu
URL=$1 P=$2 FILE=$3 MONTH=$4
KEY=$(printf %s "${PEC_WEBHOOK_SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
ID="msg_$(date +%s)_$$" TS=$(date +%s)
SIG=$({ printf '%s.%s.' "$ID" "$TS"; cat "$FILE"; } \
  | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64)
curl -sS -i "$URL/v1/partners/$P/access-snapshots" -H 'Content-Type: application/json' \
  -H "webhook-id: $ID" -H "webhook-timestamp: $TS" -H "webhook-signature: v1,$SIG" \
  --data-binary "@$FILE"
echo
# A statement: the same headers, signed over an empty body (a new id for a new message).
ID="msg_$(date +%s)_$$_2"
SIG=$(printf '%s.%s.' "$ID" "$TS" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64)
curl -sS -i "$URL/v1/partners/$P/statements/$MONTH?format=csv" \
  -H "webhook-id: $ID" -H "webhook-timestamp: $TS" -H "webhook-signature: v1,$SIG"
