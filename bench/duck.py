"""DuckDB versions of pec-bench's measurements, for bench/run.sh.

  duck.py ingest FILE THREADS MODE    MODE: decimal (every amount DECIMAL(38,12)) or auto
  duck.py settle DIR THREADS RATE     the interval-coverage SQL over pec-bench's CSV inputs

Prints one JSON object: seconds (the query alone) and the same checksum pec-bench prints.
"""
import json
import os
import sys
import time
from decimal import Decimal

import duckdb


def connect():
    """An in-memory database whose spill files go where bench/run.sh says (not /tmp or ./.tmp)."""
    temp = os.environ.get("DUCKDB_TEMP_DIRECTORY")
    return duckdb.connect(config={"temp_directory": temp} if temp else {})


def canon(d):
    """pec's fmt_amount: no exponent, no trailing zeros, 0 for zero."""
    if isinstance(d, float):
        return repr(d)
    d = Decimal(d)
    if d == 0:
        return "0"
    s = format(d.normalize(), "f")
    return s


def ingest(path, threads, mode):
    con = connect()
    if threads != "all":
        con.execute(f"SET threads={int(threads)}")
    if mode == "decimal":
        cast = "DECIMAL(38,12)"
        types = ", types={'UnitPrice': 'DECIMAL(38,12)', 'Quantity': 'DECIMAL(38,12)', " \
                "'PartnerEarnedCreditPercentage': 'DECIMAL(38,12)', 'UsageDate': 'VARCHAR', " \
                "'Tier2MpnId': 'VARCHAR', 'MpnId': 'VARCHAR'}"
        # q × p has scale 24; Microsoft credit is summed as (q × p) × pec and divided by 100 in
        # Python (a DuckDB decimal division would go through DOUBLE).
        ms = f"CAST(Quantity * UnitPrice AS {cast}) * PartnerEarnedCreditPercentage"
    else:
        types = ""
        ms = "Quantity * UnitPrice * PartnerEarnedCreditPercentage"
    sql = f"""
        SELECT count(*), sum(list), sum(ms) FROM (
          SELECT sum(Quantity * UnitPrice) AS list, sum({ms}) AS ms
          FROM read_csv('{path}', header=true{types})
          GROUP BY PartnerId, CustomerId, SubscriptionId,
                   lower(CASE WHEN coalesce(trim(ResourceURI), '') = ''
                         THEN '/subscriptions/' || SubscriptionId ELSE ResourceURI END),
                   UsageDate, upper(PricingCurrency), MpnId, Tier2MpnId)
    """
    started = time.perf_counter()
    groups, list_amount, ms_sum = con.execute(sql).fetchone()
    seconds = time.perf_counter() - started
    if mode == "decimal":
        ms_sum = Decimal(ms_sum) / 100
    else:
        ms_sum = ms_sum / 100
    return {"seconds": seconds, "groups": groups, "listAmount": canon(list_amount),
            "microsoftCredit": canon(ms_sum)}


SETTLE_SQL = """
WITH rd AS (SELECT row_number() OVER () AS rid, * , day_s + 86400 AS de FROM resource_days),
-- Candidate pieces: assignments of the customer whose scope covers the resource and whose held
-- interval meets the closed day, clipped to it, tagged with the criteria they fail (bits:
-- 1 PAL, 2 role, 4 permanent); those failing two or more cannot matter.
pieces AS (
  SELECT rd.rid, greatest(a.start_s, rd.day_s) AS s, least(a.end_s, rd.de) AS e,
         (CASE WHEN a.aobo OR (a.pal <> '' AND (a.pal = rd.mpn OR (rd.tier2 <> '' AND a.pal = rd.tier2)))
               THEN 0 ELSE 1 END)
         + (CASE WHEN a.role_ok THEN 0 ELSE 2 END)
         + (CASE WHEN a.permanent THEN 0 ELSE 4 END) AS fails
  FROM rd JOIN assignments a
    ON a.customer = rd.customer AND a.start_s <= rd.de AND a.end_s >= rd.day_s
   AND (rd.resource = a.scope OR starts_with(rd.resource, a.scope || '/'))
),
-- For each criterion `also` (0 = none): the pieces usable when that one failure is forgiven.
usable AS (
  SELECT p.rid, x.also, p.s, p.e
  FROM pieces p JOIN (VALUES (0), (1), (2), (4)) x(also) ON p.fails = 0 OR p.fails = x.also
),
-- Gaps and islands: a gap is a piece starting after the reach of every earlier piece.
reach AS (
  SELECT rid, also, s, e,
         max(e) OVER (PARTITION BY rid, also ORDER BY s, e
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
  FROM usable
),
covered AS (
  SELECT r.rid, r.also,
         bool_and(r.s <= coalesce(r.before, rd.day_s)) AND max(r.e) >= rd.de AS full
  FROM reach r JOIN rd USING (rid)
  GROUP BY r.rid, r.also, rd.day_s, rd.de
),
verdict AS (
  SELECT rd.rid, rd.eligible,
         coalesce(bool_or(c.full) FILTER (WHERE c.also = 0), false) AS full0,
         coalesce(bool_or(c.full) FILTER (WHERE c.also = 1), false) AS full1,
         coalesce(bool_or(c.full) FILTER (WHERE c.also = 2), false) AS full2,
         coalesce(bool_or(c.full) FILTER (WHERE c.also = 4), false) AS full4,
         rd.rid IN (SELECT rid FROM pieces WHERE fails = 0) AS partial
  FROM rd LEFT JOIN covered c USING (rid)
  GROUP BY rd.rid, rd.eligible
),
labelled AS (
  SELECT eligible,
         CASE WHEN full0 THEN 'FULL' WHEN partial THEN 'PARTIAL' ELSE 'NONE' END AS status,
         CASE WHEN full0 THEN ''
              WHEN full1 THEN 'PAL_MISSING'
              WHEN full2 THEN 'ROLE_NOT_ELIGIBLE'
              WHEN full4 THEN 'NOT_PERMANENT'
              WHEN partial THEN 'PARTIAL_DAY' ELSE 'NO_ACCESS' END AS reason
  FROM verdict
)
SELECT status, reason, count(*),
       sum(CASE WHEN status = 'FULL' THEN eligible * {rate} ELSE 0 END),
       sum(CASE WHEN status = 'FULL' THEN 0 ELSE eligible * {rate} END)
FROM labelled GROUP BY status, reason ORDER BY status, reason
"""


def settle(directory, threads, rate):
    con = connect()
    if threads != "all":
        con.execute(f"SET threads={int(threads)}")
    con.execute(f"""CREATE TABLE resource_days AS SELECT * FROM read_csv('{directory}/resource_days.csv',
        header=true, types={{'customer': 'BIGINT', 'resource': 'VARCHAR', 'day_s': 'BIGINT',
        'mpn': 'VARCHAR', 'tier2': 'VARCHAR', 'eligible': 'DECIMAL(38,12)'}})""")
    con.execute(f"""CREATE TABLE assignments AS SELECT * FROM read_csv('{directory}/assignments.csv',
        header=true, types={{'customer': 'BIGINT', 'scope': 'VARCHAR', 'role_ok': 'BOOLEAN',
        'permanent': 'BOOLEAN', 'aobo': 'BOOLEAN', 'pal': 'VARCHAR', 'start_s': 'BIGINT',
        'end_s': 'BIGINT'}})""")
    con.execute("UPDATE resource_days SET tier2 = coalesce(tier2, '')")
    con.execute("UPDATE assignments SET pal = coalesce(pal, '')")
    rate = Decimal(rate)
    started = time.perf_counter()
    rows = con.execute(SETTLE_SQL.format(rate=f"CAST('{rate}' AS DECIMAL(38,12))")).fetchall()
    seconds = time.perf_counter() - started
    counts, earned, lost = {}, Decimal(0), Decimal(0)
    for status, reason, n, e, l in rows:
        counts[f"{status}/{reason}"] = n
        earned += Decimal(e)
        lost += Decimal(l)
    total = sum(counts.values())
    return {"seconds": seconds, "resourceDays": total, "resourceDaysPerSecond": total / seconds,
            "counts": counts, "earned": canon(earned), "lost": canon(lost)}


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "ingest":
        print(json.dumps(ingest(sys.argv[2], sys.argv[3], sys.argv[4])))
    elif kind == "settle":
        print(json.dumps(settle(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        sys.exit(f"unknown measurement {kind}")
