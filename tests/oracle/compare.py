#!/usr/bin/env python3
"""Compare two PEC monthly statement JSON files figure by figure.

    python3 tests/oracle/compare.py OURS.json ORACLE.json

Every decimal figure is compared as an exact Decimal, except `effectiveRate`, which is
compared to 20 significant digits (the Rust side divides with 28-digit decimals; for rates
below 1E-8 the tolerance is 1E-28, rust_decimal's smallest unit). Entries are
matched by currency, customerId, subscriptionId, date and reason (a reason or entry missing on
one side counts as zero figures there). Ids are compared case-insensitively. Prints each
difference with its path and exits 1 if there is any, else prints `oracle: N figures equal`.
"""
from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation, getcontext

getcontext().prec = 60

TOTALS = ["listAmount", "eligibleAmount", "ineligibleAmount", "earnedCredit", "lostCredit",
          "microsoftCredit", "variance", "effectiveRate"]
DAY_FIGURES = ["earnedCredit", "lostCredit", "microsoftCredit"]


class Comparer:
    def __init__(self):
        self.equal = 0
        self.diffs: list[str] = []

    @staticmethod
    def dec(v, path, diffs):
        if v is None:
            return Decimal(0)
        try:
            return Decimal(str(v))
        except InvalidOperation:
            diffs.append(f"{path}: not a decimal: {v!r}")
            return None

    def fig(self, path, a, b, rate=False):
        da = self.dec(a, path + " (ours)", self.diffs)
        db = self.dec(b, path + " (oracle)", self.diffs)
        if da is None or db is None:
            return
        if rate:
            big = max(abs(da), abs(db))
            # 20 significant digits; but never finer than 1E-28, the smallest unit of
            # rust_decimal (28 fractional digits at most), so tiny rates still compare.
            tol = Decimal(0) if big == 0 else max(Decimal(1).scaleb(big.adjusted() - 19),
                                                  Decimal("1E-28"))
            same = abs(da - db) <= tol
        else:
            same = da == db
        if same:
            self.equal += 1
        else:
            self.diffs.append(f"{path}: ours {a} oracle {b} (diff {da - db})")

    def totals(self, path, a, b):
        a = a or {}
        b = b or {}
        for k in TOTALS:
            if k not in a:
                self.diffs.append(f"{path}.{k}: missing in ours")
                continue
            if k not in b:
                self.diffs.append(f"{path}.{k}: missing in oracle")
                continue
            self.fig(f"{path}.{k}", a[k], b[k], rate=(k == "effectiveRate"))

    def by_reason(self, path, a, b):
        a = a or {}
        b = b or {}
        for k in sorted(set(a) | set(b)):
            self.fig(f"{path}.{k}", a.get(k, "0"), b.get(k, "0"))

    def keyed(self, path, a, b, key, body):
        ma = {str(x.get(key)).lower(): x for x in (a or [])}
        mb = {str(x.get(key)).lower(): x for x in (b or [])}
        if len(ma) != len(a or []):
            self.diffs.append(f"{path}: duplicate {key} in ours")
        for k in sorted(set(ma) | set(mb)):
            p = f"{path}[{k}]"
            if k not in ma:
                self.diffs.append(f"{p}: missing in ours")
                continue
            if k not in mb:
                self.diffs.append(f"{p}: missing in oracle")
                continue
            body(p, ma[k], mb[k])

    def check_order(self, path, lst, key):
        keys = [str(x.get(key)).lower() for x in (lst or [])]
        if keys != sorted(keys):
            self.diffs.append(f"{path}: ours not sorted by {key}")

    def currency(self, p, a, b):
        self.totals(f"{p}.totals", a.get("totals"), b.get("totals"))
        self.by_reason(f"{p}.lostCreditByReason", a.get("lostCreditByReason"),
                       b.get("lostCreditByReason"))
        self.by_reason(f"{p}.ineligibleByReason", a.get("ineligibleByReason"),
                       b.get("ineligibleByReason"))

        def customer(cp, ca, cb):
            ta, tb = ca.get("tier2MpnId"), cb.get("tier2MpnId")
            if (ta or None) != (tb or None):
                self.diffs.append(f"{cp}.tier2MpnId: ours {ta!r} oracle {tb!r}")
            else:
                self.equal += 1
            self.totals(f"{cp}.totals", ca.get("totals"), cb.get("totals"))
            self.check_order(f"{cp}.subscriptions", ca.get("subscriptions"), "subscriptionId")
            self.keyed(f"{cp}.subscriptions", ca.get("subscriptions"), cb.get("subscriptions"),
                       "subscriptionId",
                       lambda sp, sa, sb: self.totals(f"{sp}.totals", sa.get("totals"),
                                                      sb.get("totals")))

        self.check_order(f"{p}.customers", a.get("customers"), "customerId")
        self.keyed(f"{p}.customers", a.get("customers"), b.get("customers"), "customerId",
                   customer)

        def day(dp, da, db):
            for k in DAY_FIGURES:
                self.fig(f"{dp}.{k}", da.get(k), db.get(k))

        self.check_order(f"{p}.days", a.get("days"), "date")
        self.keyed(f"{p}.days", a.get("days"), b.get("days"), "date", day)
        for i, adj in enumerate(a.get("priorPeriodAdjustments") or []):
            for k in ("earnedCredit", "lostCredit"):
                self.fig(f"{p}.priorPeriodAdjustments[{i}].{k}", adj.get(k), "0")

    def statement(self, a, b):
        self.keyed("currencies", a.get("currencies"), b.get("currencies"), "currency",
                   self.currency)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        ours = json.load(f)
    with open(argv[2], encoding="utf-8") as f:
        oracle = json.load(f)
    c = Comparer()
    c.statement(ours, oracle)
    if c.diffs:
        for d in c.diffs:
            print(d)
        print(f"oracle: {len(c.diffs)} difference(s), {c.equal} figures equal")
        return 1
    print(f"oracle: {c.equal} figures equal")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
