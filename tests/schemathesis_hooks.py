"""Schemathesis hooks for tests/api.sh: sign requests as a partner's access tool would.

Loaded with SCHEMATHESIS_HOOKS=tests/schemathesis_hooks.py; the partner and its secret come from
PEC_API_PARTNER and PEC_API_SECRET (a `whsec_...` secret registered with `pec partner set-secret`).

- Signing (Standard Webhooks). A request whose webhook-id, webhook-timestamp and
  webhook-signature headers were all generated, and none of them on purpose malformed (negative
  testing), gets a fresh id, the current time and a placeholder signature (`before_call`); the
  auth registered below then replaces the placeholder on the prepared request, so the HMAC covers
  the exact bytes that are sent. Any other request goes out as generated and must get 401; so do
  schemathesis's own probes without or with made-up credentials (the `ignored_auth` check), as
  they are sent without this auth.
- Most requests name the test partner in the path and in the snapshot body, so that signed
  requests get past authentication and reach 202, 200, 400, 403 and 409; one in five keeps what
  was generated (401 for an unknown partner, 403 for another partner's snapshot).
- A request that schemathesis generated as valid should be valid. In such a snapshot, a takenAt
  in the future is moved to the present and repeated assignment ids are made unique (the two
  rules of SPEC 3.2 that a schema cannot state); a `date-time` value that is not one (takenAt,
  createdOn, asOf) is replaced by the current time, as schemathesis's coverage phase does not
  always respect `format` (it sent createdOn "" as valid); so is an asOf outside the years
  0000-9999 once in UTC (documented, but not expressible in the schema).
"""

import base64
import hashlib
import hmac
import os
import re
import time
import uuid

import requests
import schemathesis
from schemathesis.core.parameters import ParameterLocation

PARTNER = os.environ["PEC_API_PARTNER"]
SECRET = os.environ["PEC_API_SECRET"]
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
PLACEHOLDER = "v1,dG8gYmUgc2lnbmVk"  # base64("to be signed")
RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"([Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
# Unicode White_Space: what the server trims (Python's str.strip would also remove \x1c-\x1f).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def sign(msg_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks signature `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}`."""
    mac = hmac.new(KEY, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


class StandardWebhooksSigner(requests.auth.AuthBase):
    """Replaces the placeholder signature with the real one, over the body as sent."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if r.headers.get("webhook-signature") != PLACEHOLDER:
            return r
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        r.headers["webhook-signature"] = sign(r.headers["webhook-id"], r.headers["webhook-timestamp"], body)
        return r


schemathesis.auth.set_from_requests(StandardWebhooksSigner())


def _keep_generated(value) -> bool:
    """True for one generated value in five (deterministic in the value)."""
    digest = hashlib.sha256(repr(value).encode("utf-8", "surrogatepass")).digest()
    return digest[0] % 5 == 0


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year, unlike `datetime`)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _unix_seconds(text):
    """The time of an RFC 3339 `date-time` (seconds since the epoch), or None if it is not one."""
    m = RFC3339.fullmatch(text) if isinstance(text, str) else None
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    leap_year = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = [31, 29 if leap_year else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not 1 <= month <= 12 or not 1 <= day <= month_days[month - 1]:
        return None
    if hour > 23 or minute > 59 or second > 60:
        return None
    t = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + min(second, 59)
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            return None
        offset = oh * 3600 + om * 60
        t -= offset if m.group(9) == "+" else -offset
    return t


# asOf must fall in years 0000-9999 once in UTC (the statement repeats it in RFC 3339).
AS_OF_RANGE = (_days_from_civil(0, 1, 1) * 86400, _days_from_civil(10000, 1, 1) * 86400 - 1)


def _now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _make_snapshot_valid(body: dict) -> None:
    """Fixes, in a snapshot generated as valid, what the server refuses beyond what it could see."""
    t = _unix_seconds(body.get("takenAt"))
    if "takenAt" in body and (t is None or t > time.time() + 60):
        body["takenAt"] = _now_rfc3339()
    assignments = body.get("assignments")
    if not isinstance(assignments, list):
        return
    seen = set()
    for i, a in enumerate(assignments):
        if not isinstance(a, dict):
            continue
        if isinstance(a.get("createdOn"), str) and _unix_seconds(a["createdOn"]) is None:
            a["createdOn"] = _now_rfc3339()
        if isinstance(a.get("id"), str):
            key = a["id"].strip(WHITESPACE).lower()
            if key and key in seen:
                a["id"] = f"{a['id']}#{i}"
                key = a["id"].strip(WHITESPACE).lower()
            seen.add(key)


@schemathesis.hook
def before_call(context, case, kwargs):
    meta = case.meta

    def generated_valid(location) -> bool:
        return meta is None or not meta.is_negative_at(location)

    # Only what was generated valid is changed: an invalid part must stay invalid.
    path_parameters = case.path_parameters
    if (
        isinstance(path_parameters, dict)
        and "partnerId" in path_parameters
        and generated_valid(ParameterLocation.PATH)
        and not _keep_generated(path_parameters)
    ):
        path_parameters["partnerId"] = PARTNER
    if (
        isinstance(case.body, dict)
        and case.operation.path.endswith("/access-snapshots")
        and generated_valid(ParameterLocation.BODY)
    ):
        if isinstance(case.body.get("partnerId"), str) and not _keep_generated(case.body):
            case.body["partnerId"] = PARTNER
        _make_snapshot_valid(case.body)
    query = case.query
    if isinstance(query, dict) and "asOf" in query and generated_valid(ParameterLocation.QUERY):
        t = _unix_seconds(query["asOf"])
        if t is None or not AS_OF_RANGE[0] <= t <= AS_OF_RANGE[1]:
            query["asOf"] = _now_rfc3339()
    headers = case.headers
    if headers is None or not all(name in headers for name in HEADERS):
        return
    if not generated_valid(ParameterLocation.HEADER):
        return
    headers["webhook-id"] = f"msg_{uuid.uuid4().hex}"
    headers["webhook-timestamp"] = str(int(time.time()))
    headers["webhook-signature"] = PLACEHOLDER
