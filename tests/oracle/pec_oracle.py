#!/usr/bin/env python3
"""Independent reference implementation ("oracle") of the PEC monthly statement.

Written from the contract's rules (docs/RULES.md; SPEC sections 2-5) only, in Python 3.11 standard library, with exact
`decimal.Decimal` arithmetic (never floats). It computes a partner's monthly statement
directly from its usage files and access snapshots, as of after every input arrived and a
single settlement (so `priorPeriodAdjustments` is always empty).

    python3 tests/oracle/pec_oracle.py --partner P --month YYYY-MM \
        --usage FILE [--usage FILE ...] --snapshot FILE [--snapshot FILE ...] \
        [--max-gap-hours 25] [--rate 0.15] [--roles CSV]

A `--usage` or `--snapshot` argument that is a directory stands for every file in it
(sorted by name; usage: *.csv / *.csv.gz, snapshots: *.json).

Self-test: python3 tests/oracle/pec_oracle.py --self-test
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import sys
import unittest
from collections import OrderedDict, defaultdict
from decimal import Decimal, InvalidOperation, getcontext

getcontext().prec = 60

ZERO = Decimal(0)
HUNDRED = Decimal(100)

# --------------------------------------------------------------------------------------------
# Constants from the SPEC
# --------------------------------------------------------------------------------------------

REQUIRED = [
    "partnerid", "customerid", "mpnid", "subscriptionid", "usagedate", "resourceuri",
    "meterid", "metername", "metercategory", "productname", "publishername", "chargetype",
    "unitprice", "quantity", "pricingcurrency", "partnerearnedcreditpercentage",
]

BUILTIN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": True,   # Owner
    "b24988ac-6180-42a0-ab88-20f7382dd24c": True,   # Contributor
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": True,   # User Access Administrator
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": False,  # Reader
}

DEFAULT_ROLES_CSV = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
    "pec-role-eligibility.csv")

REASON_ORDER = ["PAL_MISSING", "ROLE_NOT_ELIGIBLE", "NOT_PERMANENT"]

DAY = dt.timedelta(days=1)

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

_DEC_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_decimal(s: str, percent: bool = False) -> Decimal | None:
    s = s.strip()
    if percent and s.endswith("%"):
        s = s[:-1].strip()
    if not _DEC_RE.match(s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_DT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z?$")
_US_DT = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2}):(\d{2})\s*([AaPp][Mm]))?$")


def parse_usage_date(s: str) -> dt.date | None:
    s = s.strip()
    try:
        m = _ISO_DATE.match(s)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = _ISO_DT.match(s)
        if m:
            hh, mm, ss = int(m[4]), int(m[5]), int(m[6])
            if hh > 23 or mm > 59 or ss > 59:
                return None
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = _US_DT.match(s)
        if m:
            if m[4] is not None:
                hh, mm, ss = int(m[4]), int(m[5]), int(m[6])
                if not (1 <= hh <= 12) or mm > 59 or ss > 59:
                    return None
            return dt.date(int(m[3]), int(m[1]), int(m[2]))
    except ValueError:
        return None
    return None


def parse_ts(s: str) -> dt.datetime:
    """RFC 3339 timestamp -> aware UTC datetime."""
    s = s.strip()
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc)


def day_start(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.timezone.utc)


def norm_path(p: str) -> str:
    """Azure resource id / scope: trim, lower-case, collapse repeated slashes, no trailing /."""
    p = p.strip().lower()
    p = re.sub(r"/{2,}", "/", p)
    while len(p) > 1 and p.endswith("/"):
        p = p[:-1]
    return p


def scope_covers(scope: str, resource: str) -> bool:
    scope = norm_path(scope)
    resource = norm_path(resource)
    if not scope:
        return False
    return resource == scope or resource.startswith(scope + "/")


def fmt(d: Decimal) -> str:
    if d == 0:
        return "0"
    s = format(d.normalize(), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


# --------------------------------------------------------------------------------------------
# R7 product eligibility
# --------------------------------------------------------------------------------------------

_SPOT = re.compile(r"(?<![A-Za-z0-9])spot(?![A-Za-z0-9])", re.IGNORECASE)


def _tags_third_party(tags: str) -> bool:
    tags = (tags or "").strip()
    if not tags:
        return False
    try:
        obj = json.loads(tags)
    except (ValueError, RecursionError):
        return False
    if not isinstance(obj, dict):
        return False
    for k, v in obj.items():
        key = "".join(ch for ch in str(k).lower() if ch.isalnum())
        if key != "thirdparty":
            continue
        if v is True:
            return True
        if isinstance(v, str) and v.strip().lower() in ("true", "yes"):
            return True
    return False


def ineligible_reason(row: dict) -> str | None:
    g = lambda k: (row.get(k) or "")  # noqa: E731
    charge = g("chargetype").strip().lower()
    if charge not in ("new", "usage"):
        return "NOT_CONSUMPTION"
    benefit = g("benefittype").lower()
    names = (g("productname") + "\n" + g("metercategory")).lower()
    if ("reservation" in benefit or "reservation" in names or "reserved instance" in names
            or "reserved vm instance" in names):
        return "RESERVATION"
    if "savings plan" in benefit or "savingsplan" in benefit:
        return "SAVINGS_PLAN"
    pub = g("publishername").strip().lower()
    if pub not in ("microsoft", "microsoft corporation") or _tags_third_party(g("tags")):
        return "THIRD_PARTY"
    if _SPOT.search(g("metername")) or _SPOT.search(g("metersubcategory")):
        return "SPOT"
    return None


# --------------------------------------------------------------------------------------------
# Usage files
# --------------------------------------------------------------------------------------------

class Line:
    __slots__ = ("customer", "subscription", "resource", "date", "currency", "mpn", "tier2",
                 "amount", "ms_credit", "reason")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def read_usage_file(path: str, partner: str) -> tuple[list[Line] | None, list[str]]:
    """Returns (lines, errors). lines is None when the file is rejected."""
    raw = open(path, "rb").read()
    data = raw
    if raw[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            return None, [f"gzip: {e}"]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, [f"utf-8: {e}"]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    errors: list[str] = []
    try:
        header = next(reader)
    except StopIteration:
        return None, ["empty file"]
    except csv.Error as e:
        return None, [f"csv: {e}"]
    names = [h.strip().lower() for h in header]
    idx: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in REQUIRED and n in idx:
            errors.append(f"duplicated header {n}")
        idx.setdefault(n, i)
    for r in REQUIRED:
        if r not in idx:
            errors.append(f"missing header {r}")
    if errors:
        return None, errors
    lines: list[Line] = []
    lineno = 1
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            errors.append(f"line {reader.line_num}: csv: {e}")
            break
        lineno += 1
        if not rec or (len(rec) == 1 and rec[0] == ""):
            continue  # blank line
        if len(rec) != len(header):
            errors.append(f"line {lineno}: {len(rec)} fields, header has {len(header)}")
            continue
        row = {n: rec[i] for n, i in idx.items()}
        bad = False
        for r in REQUIRED:
            if r == "resourceuri":
                continue
            if row[r].strip() == "":
                errors.append(f"line {lineno}: {r} empty")
                bad = True
        if bad:
            continue
        if row["partnerid"].strip().lower() != partner.lower():
            errors.append(f"line {lineno}: TENANT_MISMATCH {row['partnerid']}")
            continue
        date = parse_usage_date(row["usagedate"])
        price = parse_decimal(row["unitprice"])
        qty = parse_decimal(row["quantity"])
        pct = parse_decimal(row["partnerearnedcreditpercentage"], percent=True)
        for name, v in (("usagedate", date), ("unitprice", price), ("quantity", qty),
                        ("partnerearnedcreditpercentage", pct)):
            if v is None:
                errors.append(f"line {lineno}: {name} invalid {row[name]!r}")
                bad = True
        if bad:
            continue
        sub = row["subscriptionid"].strip().lower()
        uri = row["resourceuri"]
        resource = norm_path(uri) if uri.strip() else f"/subscriptions/{sub}"
        amount = qty * price
        lines.append(Line(
            customer=row["customerid"].strip().lower(),
            subscription=sub,
            resource=resource,
            date=date,
            currency=row["pricingcurrency"].strip().upper(),
            mpn=row["mpnid"].strip(),
            tier2=(row.get("tier2mpnid") or "").strip(),
            amount=amount,
            ms_credit=amount * pct / HUNDRED,
            reason=ineligible_reason(row),
        ))
    if errors:
        return None, errors
    return lines, []


def expand(paths: list[str], exts: tuple[str, ...]) -> list[str]:
    out = []
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if name.lower().endswith(exts):
                    out.append(os.path.join(p, name))
        else:
            out.append(p)
    return out


def current_usage(paths: list[str], partner: str, log=None) -> list[Line]:
    """Apply files in order with supersession by (SubscriptionId, UsageDate)."""
    seen_hashes: set[str] = set()
    store: "OrderedDict[tuple, list[Line]]" = OrderedDict()
    for p in paths:
        digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
        if digest in seen_hashes:
            if log:
                log(f"usage {p}: duplicate")
            continue
        lines, errs = read_usage_file(p, partner)
        if lines is None:
            if log:
                log(f"usage {p}: rejected ({len(errs)} errors: {errs[:3]})")
            continue
        seen_hashes.add(digest)
        fresh: "OrderedDict[tuple, list[Line]]" = OrderedDict()
        for ln in lines:
            fresh.setdefault((ln.subscription, ln.date), []).append(ln)
        for k, v in fresh.items():
            store.pop(k, None)
            store[k] = v
        if log:
            log(f"usage {p}: accepted {len(lines)} rows, {len(fresh)} keys")
    return [ln for v in store.values() for ln in v]


# --------------------------------------------------------------------------------------------
# Snapshots and access intervals (SPEC 3.2, 3.3)
# --------------------------------------------------------------------------------------------

ACCESS_TYPES = {"AOBO", "LIGHTHOUSE", "DIRECT", "GDAP"}
ASSIGNMENT_TYPES = {"permanent", "eligible", "activated"}
PRINCIPAL_TYPES = {"ForeignGroup", "Group", "User", "ServicePrincipal"}


def validate_snapshot(s) -> list[str]:
    errs = []
    if not isinstance(s, dict):
        return ["$: not an object"]
    if s.get("schemaVersion") != 1:
        errs.append("$.schemaVersion")
    for k in ("snapshotId", "partnerId", "customerId", "takenAt"):
        if not isinstance(s.get(k), str) or not s.get(k):
            errs.append(f"$.{k}")
    try:
        parse_ts(s.get("takenAt", ""))
    except (ValueError, AttributeError):
        errs.append("$.takenAt format")
    a = s.get("assignments")
    if not isinstance(a, list):
        errs.append("$.assignments")
        return errs
    ids = set()
    for i, x in enumerate(a):
        p = f"$.assignments[{i}]"
        if not isinstance(x, dict):
            errs.append(p)
            continue
        for k in ("id", "scope", "roleDefinitionId", "roleName", "principalId",
                  "principalType", "accessType", "assignmentType"):
            if not isinstance(x.get(k), str) or not x.get(k):
                errs.append(f"{p}.{k}")
        if x.get("accessType") not in ACCESS_TYPES:
            errs.append(f"{p}.accessType enum")
        if x.get("assignmentType") not in ASSIGNMENT_TYPES:
            errs.append(f"{p}.assignmentType enum")
        if x.get("principalType") not in PRINCIPAL_TYPES:
            errs.append(f"{p}.principalType enum")
        if x.get("createdOn") is not None:
            try:
                parse_ts(x["createdOn"])
            except (ValueError, AttributeError, TypeError):
                errs.append(f"{p}.createdOn")
        aid = str(x.get("id", "")).lower()
        if aid in ids:
            errs.append(f"{p}.id duplicate")
        ids.add(aid)
    return errs


class Assignment:
    """One assignment identity with its attributes and held intervals."""

    def __init__(self, key, scope, role_def, role_name, access, pal, atype):
        self.key = key
        self.scope = scope
        self.role_def = role_def
        self.role_name = role_name
        self.access = access
        self.pal = pal
        self.atype = atype
        self.intervals: list[tuple[dt.datetime, dt.datetime]] = []

    def __repr__(self):
        return f"Assignment({self.key}, {self.intervals})"


def assignment_identity(x: dict):
    created = x.get("createdOn")
    c = parse_ts(created) if created else None
    ident = (
        x["id"].strip().lower(), c,
        norm_path(x["scope"]), x["roleDefinitionId"].strip().lower(),
        x["roleName"].strip().lower(), x["accessType"].strip().upper(),
        (x.get("partnerAdminLinkMpnId") or "").strip(), x["assignmentType"].strip().lower(),
    )
    return ident


def build_intervals(snapshots: list[dict], max_gap: dt.timedelta) -> list[Assignment]:
    """snapshots: of one (partner, customer), any order. Returns assignments with intervals."""
    snaps = sorted(snapshots, key=lambda s: (parse_ts(s["takenAt"]), s.get("snapshotId", "")))
    times = [parse_ts(s["takenAt"]) for s in snaps]
    listings: dict[tuple, list[int]] = {}
    protos: dict[tuple, dict] = {}
    for i, s in enumerate(snaps):
        for x in s["assignments"]:
            ident = assignment_identity(x)
            lst = listings.setdefault(ident, [])
            if not lst or lst[-1] != i:
                lst.append(i)
            protos.setdefault(ident, x)
    out = []
    for ident, idxs in listings.items():
        a = Assignment(ident, ident[2], ident[3], ident[4], ident[5], ident[6], ident[7])
        created = ident[1]
        if created is not None:
            first, last = times[idxs[0]], times[idxs[-1]]
            a.intervals = [(min(created, first), last)]
        else:
            run_start = idxs[0]
            prev = idxs[0]
            for j in idxs[1:]:
                consecutive = (j == prev + 1) and (times[j] - times[prev] <= max_gap)
                if not consecutive:
                    a.intervals.append((times[run_start], times[prev]))
                    run_start = j
                prev = j
            a.intervals.append((times[run_start], times[prev]))
        out.append(a)
    return out


# --------------------------------------------------------------------------------------------
# Day status (SPEC 3.4)
# --------------------------------------------------------------------------------------------

def load_roles(path: str) -> dict[str, bool]:
    table = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            table[row["role_name"].strip().lower()] = row["pec_eligible"].strip().lower() == "true"
    return table


def role_eligible(a: Assignment, roles: dict[str, bool]) -> bool:
    last = a.role_def.rstrip("/").split("/")[-1].lower()
    if last in BUILTIN_ROLES:
        return BUILTIN_ROLES[last]
    return roles.get(a.role_name.strip().lower(), False)


def criteria(a: Assignment, resource: str, mpn: str, tier2: str, roles) -> dict[str, bool]:
    pal_ok = a.access == "AOBO" or (a.pal != "" and (a.pal == mpn or (tier2 != "" and a.pal == tier2)))
    return {
        "SCOPE": scope_covers(a.scope, resource),
        "PAL_MISSING": pal_ok,
        "ROLE_NOT_ELIGIBLE": role_eligible(a, roles),
        "NOT_PERMANENT": a.atype == "permanent",
    }


def merge(intervals):
    iv = sorted(intervals)
    out = []
    for s, e in iv:
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def covers(intervals, lo, hi) -> bool:
    return any(s <= lo and e >= hi for s, e in merge(intervals))


def touches(intervals, lo, hi) -> bool:
    return any(s <= hi and e >= lo for s, e in intervals)


def day_status(assignments: list[Assignment], snapshot_times: list[dt.datetime],
               resource: str, date: dt.date, mpn: str, tier2: str, roles):
    """Returns (status, reason or None)."""
    lo = day_start(date)
    hi = lo + DAY
    if not any(t >= hi for t in snapshot_times):
        return "UNKNOWN", "NO_EVIDENCE"
    crit = [(a, criteria(a, resource, mpn, tier2, roles)) for a in assignments]
    eligible = [iv for a, c in crit if all(c.values()) for iv in a.intervals]
    if covers(eligible, lo, hi):
        return "FULL", None
    for reason in REASON_ORDER:
        extra = [iv for a, c in crit
                 if not c[reason] and all(v for k, v in c.items() if k != reason)
                 for iv in a.intervals]
        if extra and covers(eligible + extra, lo, hi):
            return ("PARTIAL" if touches(eligible, lo, hi) else "NONE"), reason
    if touches(eligible, lo, hi):
        return "PARTIAL", "PARTIAL_DAY"
    return "NONE", "NO_ACCESS"


# --------------------------------------------------------------------------------------------
# Settlement and statement
# --------------------------------------------------------------------------------------------

FIGURES = ["listAmount", "eligibleAmount", "ineligibleAmount", "earnedCredit", "lostCredit",
           "microsoftCredit"]


class Acc:
    def __init__(self):
        self.v = {k: ZERO for k in FIGURES}

    def add(self, other: dict):
        for k in FIGURES:
            self.v[k] += other[k]

    def to_json(self):
        d = {k: fmt(self.v[k]) for k in FIGURES}
        variance = self.v["earnedCredit"] - self.v["microsoftCredit"]
        d["variance"] = fmt(variance)
        el = self.v["eligibleAmount"]
        d["effectiveRate"] = fmt(self.v["earnedCredit"] / el) if el != 0 else "0"
        return d


def settle(lines: list[Line], snapshots: list[dict], rate: Decimal, max_gap: dt.timedelta,
           roles) -> list[dict]:
    """Returns one record per resource-day with figures, and per-reason breakdowns."""
    by_customer: dict[str, list[dict]] = defaultdict(list)
    for s in snapshots:
        by_customer[s["customerId"].strip().lower()].append(s)
    access = {c: build_intervals(ss, max_gap) for c, ss in by_customer.items()}
    times = {c: [parse_ts(s["takenAt"]) for s in ss] for c, ss in by_customer.items()}

    rdays: "OrderedDict[tuple, list[Line]]" = OrderedDict()
    for ln in lines:
        rdays.setdefault((ln.customer, ln.subscription, ln.resource, ln.date, ln.currency),
                         []).append(ln)
    out = []
    for key, lns in rdays.items():
        customer, sub, resource, date, currency = key
        fig = {k: ZERO for k in FIGURES}
        lost_by = defaultdict(lambda: ZERO)
        inel_by = defaultdict(lambda: ZERO)
        groups: "OrderedDict[tuple, list[Line]]" = OrderedDict()
        for ln in lns:
            groups.setdefault((ln.mpn, ln.tier2), []).append(ln)
        statuses = []
        for (mpn, tier2), gl in groups.items():
            status, reason = day_status(access.get(customer, []), times.get(customer, []),
                                        resource, date, mpn, tier2, roles)
            statuses.append((mpn, tier2, status, reason))
            eligible = ZERO
            for ln in gl:
                fig["listAmount"] += ln.amount
                fig["microsoftCredit"] += ln.ms_credit
                if ln.reason is None:
                    eligible += ln.amount
                else:
                    fig["ineligibleAmount"] += ln.amount
                    inel_by[ln.reason] += ln.amount
            fig["eligibleAmount"] += eligible
            credit = eligible * rate
            if status == "FULL":
                fig["earnedCredit"] += credit
            else:
                fig["lostCredit"] += credit
                lost_by[reason] += credit
        out.append({"key": key, "fig": fig, "lostBy": dict(lost_by), "inelBy": dict(inel_by),
                    "statuses": statuses,
                    "tier2": next((ln.tier2 for ln in lns if ln.tier2), None)})
    return out


def statement(partner: str, month: str, lines: list[Line], snapshots: list[dict],
              rate: Decimal, max_gap: dt.timedelta, roles, as_of: str | None = None,
              debug: bool = False) -> dict:
    y, m = (int(x) for x in month.split("-"))
    month_lines = [ln for ln in lines if ln.date.year == y and ln.date.month == m]
    rds = settle(month_lines, snapshots, rate, max_gap, roles)
    # tier2: first non-empty Tier2MpnId seen for the customer (usage line order)
    tier2_of: dict[tuple, str] = {}
    for ln in month_lines:
        if ln.tier2 and (ln.currency, ln.customer) not in tier2_of:
            tier2_of[(ln.currency, ln.customer)] = ln.tier2
    currencies = []
    for cur in sorted({rd["key"][4] for rd in rds}):
        tot = Acc()
        lost_by = defaultdict(lambda: ZERO)
        inel_by = defaultdict(lambda: ZERO)
        cust: dict[str, Acc] = defaultdict(Acc)
        subs: dict[tuple, Acc] = defaultdict(Acc)
        days: dict[dt.date, Acc] = defaultdict(Acc)
        for rd in rds:
            customer, sub, resource, date, currency = rd["key"]
            if currency != cur:
                continue
            tot.add(rd["fig"])
            cust[customer].add(rd["fig"])
            subs[(customer, sub)].add(rd["fig"])
            days[date].add(rd["fig"])
            for k, v in rd["lostBy"].items():
                lost_by[k] += v
            for k, v in rd["inelBy"].items():
                inel_by[k] += v
        c_json = {
            "currency": cur,
            "totals": tot.to_json(),
            "lostCreditByReason": {k: fmt(v) for k, v in sorted(lost_by.items()) if v != 0},
            "ineligibleByReason": {k: fmt(v) for k, v in sorted(inel_by.items()) if v != 0},
            "customers": [
                {"customerId": c,
                 "tier2MpnId": tier2_of.get((cur, c)),
                 "totals": cust[c].to_json(),
                 "subscriptions": [
                     {"subscriptionId": s, "totals": subs[(c, s)].to_json()}
                     for (cc, s) in sorted(subs) if cc == c]}
                for c in sorted(cust)],
            "days": [
                {"date": d.isoformat(),
                 "earnedCredit": fmt(days[d].v["earnedCredit"]),
                 "lostCredit": fmt(days[d].v["lostCredit"]),
                 "microsoftCredit": fmt(days[d].v["microsoftCredit"])}
                for d in sorted(days)],
            "priorPeriodAdjustments": [],
        }
        if debug:
            c_json["resourceDays"] = [
                {"customerId": rd["key"][0], "subscriptionId": rd["key"][1],
                 "resource": rd["key"][2], "date": rd["key"][3].isoformat(),
                 "statuses": [{"mpnId": a, "tier2MpnId": b, "status": s, "reason": r}
                              for a, b, s, r in rd["statuses"]],
                 **{k: fmt(v) for k, v in rd["fig"].items()}}
                for rd in rds if rd["key"][4] == cur]
        currencies.append(c_json)
    return {"partnerId": partner.lower(), "month": month, "asOf": as_of,
            "currencies": currencies}


def load_snapshots(paths: list[str], partner: str, log=None) -> list[dict]:
    snaps = {}
    for p in paths:
        try:
            s = json.load(open(p, encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as e:
            if log:
                log(f"snapshot {p}: invalid JSON {e}")
            continue
        errs = validate_snapshot(s)
        if errs:
            if log:
                log(f"snapshot {p}: rejected {errs[:3]}")
            continue
        if s["partnerId"].strip().lower() != partner.lower():
            if log:
                log(f"snapshot {p}: other partner")
            continue
        sid = s["snapshotId"].strip().lower()
        if sid in snaps:
            if log:
                log(f"snapshot {p}: duplicate snapshotId")
            continue
        snaps[sid] = s
    return list(snaps.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partner", required=True)
    ap.add_argument("--month", required=True)
    ap.add_argument("--usage", action="append", default=[])
    ap.add_argument("--snapshot", action="append", default=[])
    ap.add_argument("--max-gap-hours", type=Decimal, default=Decimal(25))
    ap.add_argument("--rate", type=Decimal, default=Decimal("0.15"))
    ap.add_argument("--roles", default=DEFAULT_ROLES_CSV)
    ap.add_argument("--as-of", default=None)
    ap.add_argument("--debug", action="store_true", help="add per resource-day detail")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if not re.match(r"^\d{4}-\d{2}$", args.month):
        ap.error("--month must be YYYY-MM")
    log = (lambda msg: print(msg, file=sys.stderr)) if args.verbose else None
    roles = load_roles(args.roles)
    lines = current_usage(expand(args.usage, (".csv", ".csv.gz", ".gz")), args.partner, log)
    snaps = load_snapshots(expand(args.snapshot, (".json",)), args.partner, log)
    max_gap = dt.timedelta(seconds=float(args.max_gap_hours * 3600))
    st = statement(args.partner, args.month, lines, snaps, args.rate, max_gap, roles,
                   args.as_of, args.debug)
    json.dump(st, sys.stdout, indent=2)
    sys.stdout.write("\n")


# --------------------------------------------------------------------------------------------
# Self-test
# --------------------------------------------------------------------------------------------

SUB = "/subscriptions/11111111-1111-1111-1111-111111111111"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _a(id_, scope=SUB, role=OWNER, name="Owner", access="AOBO", pal=None,
       atype="permanent", created=None):
    x = {"id": id_, "scope": scope, "roleDefinitionId": role, "roleName": name,
         "principalId": "p", "principalType": "User", "accessType": access,
         "assignmentType": atype}
    if pal is not None:
        x["partnerAdminLinkMpnId"] = pal
    if created is not None:
        x["createdOn"] = created
    return x


def _s(taken, *assignments, sid=None):
    return {"schemaVersion": 1, "snapshotId": sid or taken, "partnerId": "p",
            "customerId": "c", "takenAt": taken, "assignments": list(assignments)}


class SelfTest(unittest.TestCase):
    gap = dt.timedelta(hours=25)
    roles = {"owner": True, "reader": False, "contributor": True}

    def status(self, snaps, date="2026-09-01", resource=SUB + "/resourcegroups/rg/x",
               mpn="100", tier2=""):
        asg = build_intervals(snaps, self.gap)
        times = [parse_ts(s["takenAt"]) for s in snaps]
        return day_status(asg, times, resource, dt.date.fromisoformat(date), mpn, tier2,
                          self.roles)

    def test_run_of_consecutive_snapshots(self):
        a = _a("A")
        snaps = [_s("2026-09-01T00:00:00Z", a), _s("2026-09-01T12:00:00Z", a),
                 _s("2026-09-02T00:00:00Z", a)]
        self.assertEqual(self.status(snaps), ("FULL", None))

    def test_run_broken_by_snapshot_not_listing(self):
        a = _a("A")
        snaps = [_s("2026-09-01T00:00:00Z", a), _s("2026-09-01T12:00:00Z"),
                 _s("2026-09-02T00:00:00Z", a)]
        [asg] = build_intervals(snaps, self.gap)
        self.assertEqual(len(asg.intervals), 2)
        self.assertEqual(self.status(snaps), ("PARTIAL", "PARTIAL_DAY"))

    def test_gap_exactly_max_does_not_break(self):
        a = _a("A")
        snaps = [_s("2026-08-31T23:00:00Z", a), _s("2026-09-02T00:00:00Z", a)]
        self.assertEqual(self.status(snaps), ("FULL", None))

    def test_gap_over_max_breaks(self):
        a = _a("A")
        snaps = [_s("2026-08-31T22:59:59Z", a), _s("2026-09-02T00:00:00Z", a)]
        self.assertEqual(self.status(snaps), ("PARTIAL", "PARTIAL_DAY"))

    def test_point_listing_is_partial(self):
        a = _a("A")
        snaps = [_s("2026-09-01T00:00:00Z"), _s("2026-09-01T12:00:00Z", a),
                 _s("2026-09-02T00:00:00Z")]
        self.assertEqual(self.status(snaps), ("PARTIAL", "PARTIAL_DAY"))

    def test_point_at_day_end_touches(self):
        a = _a("A")
        snaps = [_s("2026-09-01T00:00:00Z"), _s("2026-09-02T00:00:00Z", a),
                 _s("2026-09-02T06:00:00Z")]
        self.assertEqual(self.status(snaps), ("PARTIAL", "PARTIAL_DAY"))

    def test_none(self):
        snaps = [_s("2026-09-01T00:00:00Z"), _s("2026-09-02T00:00:00Z")]
        self.assertEqual(self.status(snaps), ("NONE", "NO_ACCESS"))

    def test_unknown_without_later_snapshot(self):
        a = _a("A", created="2026-01-01T00:00:00Z")
        snaps = [_s("2026-09-01T00:00:00Z", a), _s("2026-09-01T23:59:59Z", a)]
        self.assertEqual(self.status(snaps), ("UNKNOWN", "NO_EVIDENCE"))

    def test_created_on_extends_back(self):
        a = _a("A", created="2026-08-01T00:00:00Z")
        snaps = [_s("2026-09-01T12:00:00Z"), _s("2026-09-02T00:00:00Z", a)]
        # listed only once, at the end of the day, but created long before: held over the day
        self.assertEqual(self.status(snaps), ("FULL", None))

    def test_created_on_no_pause_across_gap(self):
        a = _a("A", created="2026-08-01T00:00:00Z")
        snaps = [_s("2026-08-30T00:00:00Z", a), _s("2026-09-03T00:00:00Z", a)]
        self.assertEqual(self.status(snaps), ("FULL", None))

    def test_without_created_gap_breaks(self):
        a = _a("A")
        snaps = [_s("2026-08-30T00:00:00Z", a), _s("2026-09-03T00:00:00Z", a)]
        self.assertEqual(self.status(snaps), ("NONE", "NO_ACCESS"))

    def test_created_after_first_listing(self):
        a = _a("A", created="2026-09-05T00:00:00Z")
        snaps = [_s("2026-09-01T00:00:00Z", a), _s("2026-09-02T00:00:00Z", a)]
        self.assertEqual(self.status(snaps), ("FULL", None))

    def test_recreated_assignment_is_new_identity(self):
        a1 = _a("A", created="2026-08-01T00:00:00Z")
        a2 = _a("A", created="2026-09-01T18:00:00Z")
        snaps = [_s("2026-09-01T00:00:00Z", a1), _s("2026-09-01T12:00:00Z"),
                 _s("2026-09-02T00:00:00Z", a2)]
        self.assertEqual(self.status(snaps), ("PARTIAL", "PARTIAL_DAY"))

    def test_reason_pal_missing(self):
        a = _a("A", access="LIGHTHOUSE", pal="999")
        snaps = [_s("2026-09-01T00:00:00Z", a), _s("2026-09-02T00:00:00Z", a)]
        self.assertEqual(self.status(snaps), ("NONE", "PAL_MISSING"))
        self.assertEqual(self.status(snaps, mpn="999"), ("FULL", None))
        self.assertEqual(self.status(snaps, tier2="999"), ("FULL", None))

    def test_reason_order_pal_before_role(self):
        a = _a("A", access="GDAP", pal="999")
        b = _a("B", role=READER, name="Reader")
        snaps = [_s("2026-09-01T00:00:00Z", a, b), _s("2026-09-02T00:00:00Z", a, b)]
        self.assertEqual(self.status(snaps), ("NONE", "PAL_MISSING"))

    def test_reason_role_then_permanent(self):
        b = _a("B", role=READER, name="Reader")
        c = _a("C", atype="eligible")
        snaps = [_s("2026-09-01T00:00:00Z", b, c), _s("2026-09-02T00:00:00Z", b, c)]
        self.assertEqual(self.status(snaps), ("NONE", "ROLE_NOT_ELIGIBLE"))
        snaps = [_s("2026-09-01T00:00:00Z", c), _s("2026-09-02T00:00:00Z", c)]
        self.assertEqual(self.status(snaps), ("NONE", "NOT_PERMANENT"))

    def test_failing_two_criteria_gives_no_reason(self):
        d = _a("D", role=READER, name="Reader", atype="eligible")
        snaps = [_s("2026-09-01T00:00:00Z", d), _s("2026-09-02T00:00:00Z", d)]
        self.assertEqual(self.status(snaps), ("NONE", "NO_ACCESS"))

    def test_reason_combined_with_eligible_partial(self):
        # eligible covers the first half, a PIM one covers the rest: NOT_PERMANENT, PARTIAL
        a = _a("A")
        c = _a("C", atype="activated", created="2026-08-01T00:00:00Z")
        snaps = [_s("2026-09-01T00:00:00Z", a), _s("2026-09-01T12:00:00Z", a),
                 _s("2026-09-02T00:00:00Z", c)]
        self.assertEqual(self.status(snaps), ("PARTIAL", "NOT_PERMANENT"))

    def test_scope_prefix_is_segment_wise(self):
        a = _a("A", scope=SUB + "/resourceGroups/RG")
        snaps = [_s("2026-09-01T00:00:00Z", a), _s("2026-09-02T00:00:00Z", a)]
        self.assertEqual(self.status(snaps, resource=SUB + "/resourcegroups/rg/x"),
                         ("FULL", None))
        self.assertEqual(self.status(snaps, resource=SUB + "/resourcegroups/rg2/x"),
                         ("NONE", "NO_ACCESS"))
        # an out-of-scope assignment never gives a reason
        b = _a("B", scope=SUB + "/resourceGroups/other", atype="eligible")
        snaps = [_s("2026-09-01T00:00:00Z", b), _s("2026-09-02T00:00:00Z", b)]
        self.assertEqual(self.status(snaps), ("NONE", "NO_ACCESS"))

    def test_role_by_name_and_guid_path(self):
        roles = load_roles(DEFAULT_ROLES_CSV)
        mk = lambda rd, n: Assignment(None, SUB, rd, n.lower(), "AOBO", "", "permanent")  # noqa
        self.assertTrue(role_eligible(mk("/providers/Microsoft.Authorization/roleDefinitions/"
                                         + OWNER.upper(), "whatever"), roles))
        self.assertFalse(role_eligible(mk(READER, "Owner"), roles))
        self.assertTrue(role_eligible(mk("x", "ACRPULL"), roles))
        self.assertFalse(role_eligible(mk("x", "Billing Reader"), roles))
        self.assertFalse(role_eligible(mk("x", "Nonexistent"), roles))

    def test_product_rules(self):
        base = {"chargetype": "new", "publishername": "Microsoft", "metername": "D4s v5",
                "metersubcategory": "", "productname": "Azure plan",
                "metercategory": "Virtual Machines", "benefittype": "", "tags": ""}
        r = lambda **kw: ineligible_reason({**base, **kw})  # noqa: E731
        self.assertIsNone(r())
        self.assertIsNone(r(chargetype="Usage", publishername=" microsoft corporation "))
        self.assertEqual(r(chargetype="purchase", benefittype="Reservation"), "NOT_CONSUMPTION")
        self.assertEqual(r(metercategory="Reserved VM Instance"), "RESERVATION")
        self.assertEqual(r(benefittype="SavingsPlan"), "SAVINGS_PLAN")
        self.assertEqual(r(publishername="Contoso"), "THIRD_PARTY")
        self.assertEqual(r(tags='{"Third-Party": "yes"}'), "THIRD_PARTY")
        self.assertIsNone(r(tags='{"thirdParty": false}'))
        self.assertEqual(r(metername="D4s v5 Spot"), "SPOT")
        self.assertIsNone(r(metername="Spotlight"))

    def test_parsing(self):
        self.assertEqual(parse_usage_date("9/1/2026 12:00:00 AM"), dt.date(2026, 9, 1))
        self.assertEqual(parse_usage_date("2026-09-01T00:00:00Z"), dt.date(2026, 9, 1))
        self.assertIsNone(parse_usage_date("2026-13-01"))
        self.assertEqual(parse_decimal("1.2E-05"), Decimal("0.000012"))
        self.assertEqual(parse_decimal("15%", percent=True), Decimal(15))
        self.assertIsNone(parse_decimal("1,5"))
        self.assertEqual(fmt(Decimal("1.500")), "1.5")
        self.assertEqual(fmt(Decimal("0E-10")), "0")
        self.assertEqual(fmt(Decimal("1.2E+3")), "1200")
        self.assertEqual(norm_path(" /Subscriptions//S/rg/ "), "/subscriptions/s/rg")

    def test_supersession_duplicates_rejection(self):
        import tempfile
        hdr = ("PartnerId,CustomerId,MpnId,SubscriptionId,UsageDate,ResourceURI,MeterId,"
               "MeterName,MeterCategory,ProductName,PublisherName,ChargeType,UnitPrice,"
               "Quantity,PricingCurrency,PartnerEarnedCreditPercentage\n")

        def line(sub, date, qty, partner="p", uri=""):
            return (f"{partner},c,1,{sub},{date},{uri},m,n,cat,prod,Microsoft,new,1,{qty},"
                    f"usd,15%\n")

        with tempfile.TemporaryDirectory() as d:
            def w(name, body, gz=False):
                p = os.path.join(d, name)
                data = ("\ufeff" + hdr + body).encode()
                open(p, "wb").write(gzip.compress(data) if gz else data)
                return p
            f1 = w("1.csv", line("S1", "2026-09-01", 1) + line("S1", "2026-09-01", 2)
                   + line("S1", "2026-09-02", 4) + line("S2", "2026-09-01", 8))
            f2 = w("2.csv.gz", line("s1", "9/1/2026 12:00:00 AM", 16), gz=True)
            f3 = w("3.csv", line("S2", "2026-09-01", 32) + line("S2", "2026-09-01", 64, "q"))
            f4 = w("4.csv", line("S2", "2026-09-01", "1,5"))
            lines = current_usage([f1, f2, f1, f3, f4], "P")
            got = sorted((ln.subscription, ln.date.isoformat(), ln.amount) for ln in lines)
            self.assertEqual(got, [("s1", "2026-09-01", 16), ("s1", "2026-09-02", 4),
                                   ("s2", "2026-09-01", 8)])
            self.assertEqual({ln.resource for ln in lines},
                             {"/subscriptions/s1", "/subscriptions/s2"})
            self.assertEqual(lines[0].ms_credit, lines[0].amount * Decimal("0.15"))
            bad = os.path.join(d, "5.csv")
            open(bad, "w").write(hdr.replace("MeterId,", "") + "\n")
            self.assertIsNone(read_usage_file(bad, "p")[0])
            open(bad, "w").write(hdr.strip() + ",meterid\n")
            self.assertIsNone(read_usage_file(bad, "p")[0])

    def test_examples(self):
        ex = os.path.join(os.path.dirname(DEFAULT_ROLES_CSV), "examples")
        if not os.path.isdir(ex):
            self.skipTest("no examples")
        p = "7a3c0000-0000-4000-8000-000000000001"
        lines = current_usage([os.path.join(ex, "daily-rated-usage.csv")], p)
        snaps = load_snapshots(expand([ex], (".json",)), p)
        st = statement(p, "2026-09", lines, snaps, Decimal("0.15"), self.gap,
                       load_roles(DEFAULT_ROLES_CSV))
        t = st["currencies"][0]["totals"]
        self.assertEqual(t, {"listAmount": "71.4624", "eligibleAmount": "62.2464",
                             "ineligibleAmount": "9.216", "earnedCredit": "9.33696",
                             "lostCredit": "0", "microsoftCredit": "2.0736",
                             "variance": "7.26336", "effectiveRate": "0.15"})
        self.assertEqual(st["currencies"][0]["ineligibleByReason"], {"RESERVATION": "9.216"})


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        unittest.main(argv=[sys.argv[0]] + [a for a in sys.argv[1:] if a != "--self-test"])
    else:
        main()
