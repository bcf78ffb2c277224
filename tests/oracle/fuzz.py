#!/usr/bin/env python3
"""Random edge-case scenarios for the differential check (complements `pec generate`).

    python3 tests/oracle/fuzz.py --out DIR --seed N

Writes DIR/manifest.json in the same shape as `pec generate` ({"partners": [{"partnerId",
"usageFiles", "snapshotFiles"}]}, paths relative to DIR) with usage files and snapshots that
exercise what the generator rarely does: restatements (supersession), byte-identical
re-uploads, rejected files, gzip, shuffled/case-varied headers, BOM or not, all UsageDate
forms, exponents and `15%`, empty/odd-cased/double-slashed ResourceURIs, several
(MpnId, Tier2MpnId) groups in one resource-day, every R7 reason, assignments without
createdOn, snapshot gaps around maxSnapshotGap, resource-level scopes, PAL on Tier2, roles by
GUID path, by table name, unknown roles, and customers whose evidence ends early (UNKNOWN).
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import random
import uuid

COLUMNS = (
    "PartnerId,PartnerName,CustomerId,CustomerName,CustomerDomainName,CustomerCountry,MpnId,"
    "Tier2MpnId,InvoiceNumber,ProductId,SkuId,AvailabilityId,SkuName,ProductName,"
    "PublisherName,PublisherId,SubscriptionDescription,SubscriptionId,ChargeStartDate,"
    "ChargeEndDate,UsageDate,MeterType,MeterCategory,MeterId,MeterSubCategory,MeterName,"
    "MeterRegion,Unit,ResourceLocation,ConsumedService,ResourceGroup,ResourceURI,ChargeType,"
    "UnitPrice,Quantity,UnitType,BillingPreTaxTotal,BillingCurrency,PricingPreTaxTotal,"
    "PricingCurrency,ServiceInfo1,ServiceInfo2,Tags,AdditionalInfo,EffectiveUnitPrice,"
    "PCToBCExchangeRate,PCToBCExchangeRateDate,EntitlementId,EntitlementDescription,"
    "PartnerEarnedCreditPercentage,CreditPercentage,CreditType,BenefitOrderId,BenefitId,"
    "BenefitType").split(",")

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIB = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
UAA = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"


def guid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rcase(rng, s):
    r = rng.random()
    if r < 0.15:
        return s.upper()
    if r < 0.3:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in s)
    return s


def csv_field(v: str) -> str:
    if any(c in v for c in ',"\r\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


def fmt_date(rng, d: dt.date) -> str:
    r = rng.randrange(5)
    if r == 0:
        return d.isoformat()
    if r == 1:
        return d.isoformat() + "T00:00:00Z"
    if r == 2:
        return d.isoformat() + "T13:45:10"
    if r == 3:
        return f"{d.month}/{d.day}/{d.year}"
    return f"{d.month}/{d.day}/{d.year} {rng.choice(['12:00:00 AM', '11:59:59 PM', '3:04:05 PM'])}"


def fmt_dec(rng, q: int, scale: int) -> str:
    """q * 10^-scale in a random valid textual form."""
    s = f"{q}"
    if scale:
        s = s.rjust(scale + 1, "0")
        s = s[:-scale] + "." + s[-scale:]
    r = rng.random()
    if r < 0.15 and q:
        return f"{q}E-{scale}" if scale else f"{q}E0"
    if r < 0.25:
        return "+" + s
    if r < 0.35 and "." in s:
        return s + "00"
    return s


def build(out: str, seed: int):
    rng = random.Random(seed)
    partner = guid(rng)
    mpn, tier2, other = "1000001", "2000002", "3000003"
    start = dt.date(2026, 9, 27)
    ndays = 7
    days = [start + dt.timedelta(days=i) for i in range(ndays)]
    customers = []
    for ci in range(rng.randint(2, 3)):
        cust = guid(rng)
        subs = []
        for si in range(rng.randint(1, 2)):
            sub = guid(rng)
            res = [""]  # subscription-level line (empty ResourceURI)
            for ri in range(rng.randint(2, 4)):
                rg = rng.choice(["rg-web", "rg-data", "RG-Ops"])
                kind = rng.choice(["Microsoft.Compute/virtualMachines/vm",
                                   "Microsoft.Sql/servers/sql1/databases/db",
                                   "Microsoft.Web/sites/app"])
                res.append(f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{kind}{ri}")
                if rng.random() < 0.3:  # a child resource, and a name that is a prefix trap
                    res.append(res[-1] + "/extensions/ext")
                    res.append(res[-2] + "0")
            subs.append((sub, res))
        customers.append((cust, subs))

    os.makedirs(os.path.join(out, "usage"), exist_ok=True)
    os.makedirs(os.path.join(out, "snapshots"), exist_ok=True)

    # ---------------- usage rows ----------------
    def row(cust, sub, uri, d):
        r = {c: "" for c in COLUMNS}
        r.update(PartnerId=partner, PartnerName="Fuzz", CustomerId=rcase(rng, cust),
                 CustomerName="C", SubscriptionId=rcase(rng, sub), UsageDate=fmt_date(rng, d),
                 MeterId=guid(rng), MeterName="D4s v5", MeterCategory="Virtual Machines",
                 MeterSubCategory="Dsv5", ProductName="Azure plan", PublisherName="Microsoft",
                 ChargeType="new", PricingCurrency="USD", BillingCurrency="USD",
                 PartnerEarnedCreditPercentage="15", MpnId=mpn)
        u = uri
        if u:
            x = rng.random()
            if x < 0.2:
                u = u.lower()
            elif x < 0.3:
                u = u.upper()
            elif x < 0.4:
                u = u + "/"
            elif x < 0.5:
                u = u.replace("/providers/", "//providers/")
            elif x < 0.55:
                u = " " + u + " "
        elif rng.random() < 0.3:
            u = f"/subscriptions/{sub}"  # explicit subscription id: same key as empty
        r["ResourceURI"] = u
        r["UnitPrice"] = fmt_dec(rng, rng.randint(0, 99999), 4)
        r["Quantity"] = fmt_dec(rng, rng.randint(1, 4800), rng.choice([0, 1, 2, 6]))
        p = rng.random()
        r["PartnerEarnedCreditPercentage"] = ("15" if p < 0.5 else "0" if p < 0.8 else
                                             "15%" if p < 0.9 else "15.00")
        k = rng.random()
        if k < 0.05:
            r["ChargeType"] = rng.choice(["purchase", "refund", "Cancel"])
        elif k < 0.1:
            r["ChargeType"] = rng.choice(["Usage", "NEW", "usage"])
        k = rng.random()
        if k < 0.05:
            r["BenefitType"] = rng.choice(["Reservation", "reservation", "Savings Plan",
                                           "SavingsPlan"])
        elif k < 0.08:
            r["MeterCategory"] = rng.choice(["Reserved VM Instance", "Reservation"])
        elif k < 0.1:
            r["ProductName"] = "Reserved Instance D4s"
        k = rng.random()
        if k < 0.05:
            r["PublisherName"] = rng.choice(["Contoso Ltd", " microsoft corporation ",
                                             "MICROSOFT", "Microsoft Corp"])
        elif k < 0.09:
            r["Tags"] = rng.choice(['{"third-party": "yes"}', '{"ThirdParty": true}',
                                    '{"thirdparty": "no"}', '{"env": "spot"}',
                                    '{"third_party": "TRUE"}'])
        k = rng.random()
        if k < 0.05:
            r["MeterName"] = rng.choice(["D4s v5 Spot", "Spot", "Spotlight D2", "D2 spot"])
        elif k < 0.07:
            r["MeterSubCategory"] = rng.choice(["Dsv5 Series Spot", "Spotless"])
        k = rng.random()
        if k < 0.15:
            r["Tier2MpnId"] = tier2
        elif k < 0.2:
            r["MpnId"] = other
        if rng.random() < 0.1:
            r["PricingCurrency"] = rng.choice(["EUR", "eur"])
        return r

    # Which (subscription, date) keys exist, and the files that carry them.
    keys = [(cust, sub, res, d) for cust, subs in customers for sub, res in subs for d in days]
    usage_files = []
    contents_seen = []

    def write_usage(name, rows, gz=False, bad=None, header_fault=None):
        cols = COLUMNS[:]
        if rng.random() < 0.3:
            rng.shuffle(cols)
        if header_fault == "missing":
            cols.remove(rng.choice(["MeterId", "Quantity", "PricingCurrency", "ResourceURI"]))
        elif header_fault == "duplicate":
            cols.append(rng.choice(["MeterId", "Quantity", "subscriptionid"]))
        hdr = [rcase(rng, c) for c in cols]
        if rng.random() < 0.2:
            cols.append("ExtraColumn")
            hdr.append("ExtraColumn")
        lines = [",".join(csv_field(h) for h in hdr)]
        for i, r in enumerate(rows):
            r = dict(r)
            if bad is not None and i == bad[0]:
                r[bad[1]] = bad[2]
            lines.append(",".join(csv_field(r.get(c, "x")) for c in cols))
        text = ("\r\n" if rng.random() < 0.3 else "\n").join(lines) + "\n"
        data = (b"\xef\xbb\xbf" if rng.random() < 0.6 else b"") + text.encode("utf-8")
        if gz:
            data = gzip.compress(data, mtime=0)
            name += ".gz"
        path = os.path.join("usage", name)
        with open(os.path.join(out, path), "wb") as f:
            f.write(data)
        usage_files.append(path)
        contents_seen.append(path)

    n = 0
    for d in days:
        # a daily file for day d, with rows for every subscription of every customer
        rows = []
        for cust, sub, res, dd in keys:
            if dd != d:
                continue
            for uri in res:
                for _ in range(rng.choice([1, 1, 1, 2])):
                    rows.append(row(cust, sub, uri, d))
        rng.shuffle(rows)
        write_usage(f"{n:03d}-day-{d}.csv", rows, gz=rng.random() < 0.3)
        n += 1
        r = rng.random()
        if r < 0.25:
            # restatement of some keys of earlier days (supersession)
            picked = rng.sample(keys, k=min(len(keys), rng.randint(1, 4)))
            picked = [k for k in picked if k[3] <= d]
            rows = [row(c, s, u, dd) for c, s, res, dd in picked for u in
                    rng.sample(res, k=rng.randint(1, len(res)))]
            if rows:
                write_usage(f"{n:03d}-restate.csv", rows)
                n += 1
        elif r < 0.35:
            # a file with one invalid row: rejected whole
            picked = rng.sample(keys, k=2)
            rows = [row(c, s, u, dd) for c, s, res, dd in picked for u in res]
            bad = rng.choice([("Quantity", "1,5"), ("UnitPrice", "abc"),
                              ("UsageDate", "2026-13-01"), ("PartnerId", guid(rng)),
                              ("CustomerId", ""), ("PartnerEarnedCreditPercentage", "fifteen")])
            if rng.random() < 0.3:
                write_usage(f"{n:03d}-badheader.csv", rows,
                            header_fault=rng.choice(["missing", "duplicate"]))
            else:
                write_usage(f"{n:03d}-bad.csv", rows, bad=(rng.randrange(len(rows)), *bad))
            n += 1
        elif r < 0.45 and usage_files:
            # byte-identical re-upload of an earlier file: a no-op
            usage_files.append(rng.choice(usage_files))

    # ---------------- snapshots ----------------
    snapshot_files = []
    for ci, (cust, subs) in enumerate(customers):
        if ci == len(customers) - 1 and ci > 1 and rng.random() < 0.5:
            continue  # a customer with usage but no access evidence at all
        pool = []
        for sub, res in subs:
            scopes = [f"/subscriptions/{sub}", f"/subscriptions/{sub}/resourceGroups/rg-web",
                      f"/subscriptions/{sub}/resourceGroups/rg-data",
                      f"/subscriptions/{sub}/resourceGroups/rg-ops"] + [u for u in res[1:]]
            for _ in range(rng.randint(3, 6)):
                role = rng.choice([
                    (OWNER, "Owner"), (CONTRIB, "Contributor"), (READER, "Reader"),
                    (UAA, "User Access Administrator"),
                    (f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
                     + CONTRIB.upper(), "Contributor"),
                    (guid(rng), "AcrPush"), (guid(rng), "backup reader"),
                    (guid(rng), "Custom Ops Role"), (READER, "Owner")])
                access = rng.choice(["AOBO", "AOBO", "LIGHTHOUSE", "GDAP", "DIRECT"])
                a = {"id": f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
                           f"roleAssignments/{guid(rng)}",
                     "scope": rcase(rng, rng.choice(scopes)),
                     "roleDefinitionId": role[0], "roleName": rcase(rng, role[1]),
                     "principalId": guid(rng),
                     "principalType": rng.choice(["ForeignGroup", "Group", "User",
                                                  "ServicePrincipal"]),
                     "accessType": access,
                     "assignmentType": rng.choice(["permanent"] * 4 + ["eligible",
                                                                       "activated"])}
                pal = rng.random()
                if pal < 0.3:
                    a["partnerAdminLinkMpnId"] = mpn
                elif pal < 0.45:
                    a["partnerAdminLinkMpnId"] = tier2
                elif pal < 0.55:
                    a["partnerAdminLinkMpnId"] = other
                if rng.random() < 0.5:
                    a["createdOn"] = (dt.datetime(2026, 9, 20, tzinfo=dt.timezone.utc)
                                      + dt.timedelta(hours=rng.randint(0, 300))
                                      ).strftime("%Y-%m-%dT%H:%M:%SZ")
                pool.append(a)
                if rng.random() < 0.15:
                    # the same assignment id later seen with other attributes
                    b = dict(a)
                    b["roleName"], b["roleDefinitionId"] = rng.choice(
                        [("Reader", READER), ("Owner", OWNER), ("Contributor", CONTRIB)])
                    b["assignmentType"] = rng.choice(["permanent", "eligible"])
                    pool.append(b)
        t = dt.datetime(2026, 9, 26, 18, tzinfo=dt.timezone.utc)
        end = dt.datetime(2026, 10, 4, 6, tzinfo=dt.timezone.utc)
        if ci == 0 and rng.random() < 0.5:
            end = dt.datetime(2026, 10, 1, 12, tzinfo=dt.timezone.utc)  # evidence ends early
        present = {id(a): rng.random() < 0.7 for a in pool}
        listed_ids = set()
        k = 0
        while t <= end:
            listed = []
            listed_ids.clear()
            for a in pool:
                if rng.random() < 0.12:
                    present[id(a)] = not present[id(a)]
                if present[id(a)] and a["id"].lower() not in listed_ids:
                    listed_ids.add(a["id"].lower())
                    x = dict(a)
                    if rng.random() < 0.2:
                        x["id"] = x["id"].upper()
                    listed.append(x)
            snap = {"schemaVersion": 1, "snapshotId": guid(rng), "partnerId": partner,
                    "customerId": rcase(rng, cust),
                    "takenAt": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "source": "fuzz",
                    "assignments": listed}
            path = os.path.join("snapshots", f"{ci}-{k:04d}.json")
            with open(os.path.join(out, path), "w") as f:
                json.dump(snap, f, indent=1)
            snapshot_files.append(path)
            if rng.random() < 0.05:
                snapshot_files.append(path)  # re-posted: a duplicate
            k += 1
            t += dt.timedelta(hours=rng.choice([3, 6, 12, 24, 25, 25, 26, 30]),
                              minutes=rng.choice([0, 0, 0, 1, -1]))
    rng.shuffle(snapshot_files)  # posting order must not matter
    manifest = {"partners": [{"partnerId": partner, "partnerName": "Fuzz", "mpnId": mpn,
                              "usageFiles": usage_files, "snapshotFiles": snapshot_files}]}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    build(a.out, a.seed)
