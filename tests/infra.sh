#!/usr/bin/env bash
# Checks the SAM template, infra/template.yaml, without an AWS account:
#   1. cfn-lint on the template as written (any error or warning fails);
#   2. the SAM transform (aws-sam-translator, offline) and cfn-lint again on the CloudFormation it
#      produces: this is where generated resources, event source mappings, the bucket
#      notification and circular dependencies are checked;
#   3. the ledger stays append-only in IAM: no role or policy may be allowed anything on the
#      ledger table but PutItem, ConditionCheckItem, GetItem, BatchGetItem, Query and DescribeTable,
#      and every
#      function role explicitly denies the ledger's mutations; the check is first shown to catch
#      three broken variants of the template;
#   4. the contract the functions are written against (binaries, environment, events, queue).
# Installs its own tools in ${CARGO_TARGET_DIR:-target}/venv on the first run (tests/venv.sh,
# shared with tests/api.sh; python3 and PyPI needed); later runs reuse them and take a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/venv.sh

TEMPLATE=infra/template.yaml
REQUIREMENTS=("cfn-lint==1.58.0" "aws-sam-translator==1.115.0")
pec_venv_install infra "${REQUIREMENTS[@]}"
VENV="$PEC_VENV"

echo "== cfn-lint $TEMPLATE ($("$VENV/bin/cfn-lint" --version))"
"$VENV/bin/cfn-lint" -- "$TEMPLATE"

echo "== SAM transform, cfn-lint on the result, ledger IAM and contract checks"
mkdir -p target/infra
AWS_DEFAULT_REGION=us-east-1 "$VENV/bin/python" - "$TEMPLATE" target/infra <<'PY'
import copy
import fnmatch
import json
import logging
import os
import re
import subprocess
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

logging.getLogger("samtranslator").setLevel(logging.ERROR)  # "unpublished metrics" noise
template_path, out_dir = sys.argv[1], sys.argv[2]
cfn_lint = os.path.join(os.path.dirname(sys.executable), "cfn-lint")

LEDGER_ALLOWED = {"putitem", "conditioncheckitem", "getitem", "batchgetitem", "query", "describetable"}
LEDGER_MUTATIONS = {"updateitem", "deleteitem", "batchwriteitem", "partiqlupdate",
                    "partiqldelete", "partiqlinsert", "deletetable", "updatetable"}
# AWS managed policies SAM attaches by itself; none of them grants DynamoDB.
MANAGED_POLICIES_OK = ("service-role/AWSLambdaBasicExecutionRole",
                       "service-role/AWSLambdaSQSQueueExecutionRole")
REFERS_TO_LEDGER = re.compile(r"\bLedgerTable\b")


class NoManagedPolicies:
    """SAM asks for the account's managed policy names only for names written in Policies."""

    def load(self):
        return {}


def load_template(path):
    template, matches = decode(path)
    if matches or template is None:
        for m in matches:
            print(m, file=sys.stderr)
        sys.exit(f"{path}: cannot be parsed")
    return json.loads(json.dumps(template))  # plain dicts; !Sub etc. as {"Fn::Sub": ...}


def sam_transform(template):
    t = copy.deepcopy(template)
    # The translator wants packaged code; `sam build`/`sam deploy` put the S3 location there.
    t.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://pec-lint/code.zip"
    for res in t["Resources"].values():
        if res.get("Type") == "AWS::Serverless::Function" and "CodeUri" in res.get("Properties", {}):
            res["Properties"]["CodeUri"] = "s3://pec-lint/code.zip"
    return transform(t, {}, NoManagedPolicies())


def as_list(x):
    return x if isinstance(x, list) else [x]


def statements(resource):
    props = resource.get("Properties", {})
    docs = []
    if resource["Type"] == "AWS::IAM::Role":
        docs = [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
    elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        docs = [props.get("PolicyDocument", {})]
    for doc in docs:
        for st in as_list(doc.get("Statement", [])):
            yield st


def dynamodb_actions(actions):
    """Lower-cased action names; `dynamodb:X` -> `x`, wildcards (`*`, `dynamodb:*`) kept."""
    out = []
    for a in as_list(actions):
        if not isinstance(a, str):
            out.append("<intrinsic>")
            continue
        a = a.lower()
        if a == "*":
            out.append("*")
        elif a.startswith("dynamodb:"):
            out.append(a[len("dynamodb:"):])
    return out


def could_be_ledger_wildcard(resources):
    for r in as_list(resources):
        if isinstance(r, str) and (r == "*" or re.match(r"arn:[^:]*:dynamodb:[^:]*:[^:]*:(\*|table/\*)", r)):
            return True
    return False


def ledger_violations(transformed):
    """Every way the transformed template lets a role change the ledger, as messages."""
    resources = transformed["Resources"]
    problems = []
    for name, res in resources.items():
        if res.get("Type") not in ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        for arn in res.get("Properties", {}).get("ManagedPolicyArns", []):
            if not (isinstance(arn, str) and arn.endswith(MANAGED_POLICIES_OK)):
                problems.append(f"{name}: managed policy {json.dumps(arn)} is not on the allowed list")
        for st in statements(res):
            if st.get("Effect") != "Allow":
                continue
            sid = st.get("Sid", "(no Sid)")
            if "NotAction" in st:
                problems.append(f"{name} {sid}: Allow with NotAction")
                continue
            resources_of = st.get("Resource", st.get("NotResource"))
            names = dynamodb_actions(st.get("Action", []))
            if REFERS_TO_LEDGER.search(json.dumps(resources_of)) or "NotResource" in st:
                for a in names:
                    if a not in LEDGER_ALLOWED:
                        problems.append(f"{name} {sid}: allows dynamodb:{a} on the ledger table")
            elif could_be_ledger_wildcard(resources_of):
                for a in names:
                    if any(fnmatch.fnmatchcase(m, a) for m in LEDGER_MUTATIONS):
                        problems.append(f"{name} {sid}: allows dynamodb:{a} on {json.dumps(resources_of)}")
    for name, res in resources.items():
        if res.get("Type") != "AWS::Lambda::Function":
            continue
        role = res["Properties"].get("Role", {})
        role_name = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
        if role_name not in resources:
            problems.append(f"{name}: its role is not a role of this template")
            continue
        denied = set()
        for st in statements(resources[role_name]):
            resource_json = json.dumps(st.get("Resource"))
            if st.get("Effect") == "Deny" and '["LedgerTable", "Arn"]' in resource_json:
                denied |= set(dynamodb_actions(st.get("Action", [])))
        if "*" not in denied and not LEDGER_MUTATIONS <= denied:
            missing = ", ".join(sorted(LEDGER_MUTATIONS - denied))
            problems.append(f"{name}: role {role_name} does not deny {missing} on the ledger table")
    return problems


LAMBDA_BUILD_FLAGS = ["--disable-optimizations", "--config", "infra/lambda-build.toml"]


def contract_problems(template, transformed):
    """The names and settings the Rust functions are written against (see infra/README.md)."""
    res, out = template["Resources"], []
    expected = {
        "UsageUploadFunction": "usage-upload",
        "AccessWebhookFunction": "access-webhook",
        "StatementApiFunction": "statement-api",
        "NightlySettleCoordinatorFunction": "nightly-settle-coordinator",
        "NightlySettleWorkerFunction": "nightly-settle-worker",
        "MonthlyStatementFunction": "monthly-statement",
        "AlertPublisherFunction": "alert-publisher",
    }
    g = template["Globals"]["Function"]
    for key, want in (("Runtime", "provided.al2023"), ("Architectures", ["arm64"]),
                      ("Handler", "bootstrap"), ("CodeUri", "..")):
        if g.get(key) != want:
            out.append(f"Globals.Function.{key} is {g.get(key)!r}, not {want!r}")
    env = set(g.get("Environment", {}).get("Variables", {}))
    want_env = {"PEC_LEDGER_TABLE", "PEC_STATE_TABLE", "PEC_BUCKET", "PEC_SECRETS_PREFIX",
                "PEC_SETTLE_QUEUE_URL", "PEC_ALERT_TOPIC_ARN", "PEC_LOG"}
    if env != want_env:
        out.append(f"Globals environment is {sorted(env)}, not {sorted(want_env)}")
    functions = {k for k, v in res.items() if v["Type"] == "AWS::Serverless::Function"}
    if functions != set(expected):
        out.append(f"functions are {sorted(functions)}, not {sorted(expected)}")
    for fn, binary in expected.items():
        md = res.get(fn, {}).get("Metadata", {})
        if md.get("BuildMethod") != "rust-cargolambda" or md.get("BuildProperties", {}).get("Binary") != binary:
            out.append(f"{fn}: not built as rust-cargolambda binary {binary}")
        # The size-oriented release settings (cargo-lambda's own defaults would keep the
        # workspace's debug info and not strip): see infra/lambda-build.toml.
        if md.get("BuildProperties", {}).get("Flags") != LAMBDA_BUILD_FLAGS:
            out.append(f"{fn}: BuildProperties.Flags is not {LAMBDA_BUILD_FLAGS}")
        for prop in ("Environment", "Role", "Runtime", "Architectures", "Handler", "CodeUri"):
            if prop in res.get(fn, {}).get("Properties", {}):
                out.append(f"{fn}: overrides {prop} (keep it in Globals / let SAM make the role)")
    # Every function reads config/config.json at start, and may list the bucket so that a missing
    # one reads as absent (404) rather than forbidden (403).
    bucket = "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-${AWS::Region}"
    for fn in expected:
        stmts = [st for p in res[fn]["Properties"].get("Policies", []) if isinstance(p, dict)
                 for st in p.get("Statement", [])]
        def allows(action, resource):
            return any(st.get("Effect") == "Allow" and st.get("Action") == action
                       and st.get("Resource") == {"Fn::Sub": resource} for st in stmts)
        if not allows("s3:GetObject", bucket + "/config/config.json"):
            out.append(f"{fn}: may not read config/config.json")
        if not allows("s3:ListBucket", bucket):
            out.append(f"{fn}: may not list the bucket (a missing config.json would be a 403)")
    # Access-lost alerts: the publisher alone may publish, to the stack's topic, which is an output.
    for fn in expected:
        publishes = [st for p in res[fn]["Properties"].get("Policies", []) if isinstance(p, dict)
                     for st in p.get("Statement", []) if "sns:Publish" in str(st.get("Action"))]
        want = [{"Sid": "PublishAlerts", "Effect": "Allow", "Action": "sns:Publish",
                 "Resource": {"Ref": "AlertTopic"}}] if fn == "AlertPublisherFunction" else []
        if publishes != want:
            out.append(f"{fn}: sns:Publish statements are {publishes}, not {want}")
    if template.get("Outputs", {}).get("AlertTopicArn", {}).get("Value") != {"Ref": "AlertTopic"}:
        out.append("no AlertTopicArn output of the AlertTopic")
    worker = res["NightlySettleWorkerFunction"]["Properties"]
    sqs = worker["Events"]["SettleShard"]["Properties"]
    if (sqs.get("BatchSize"), sqs.get("FunctionResponseTypes")) != (5, ["ReportBatchItemFailures"]):
        out.append("worker SQS event: BatchSize 5 and ReportBatchItemFailures expected")
    queue = res["SettleQueue"]["Properties"]
    if queue["VisibilityTimeout"] < 6 * worker["Timeout"]:
        out.append("SettleQueue VisibilityTimeout is under 6 x the worker's timeout")
    if queue["RedrivePolicy"].get("maxReceiveCount") != 3:
        out.append("SettleQueue maxReceiveCount is not 3")
    schedules = {
        ("NightlySettleCoordinatorFunction", "Nightly"): "cron(0 2 * * ? *)",
        ("MonthlyStatementFunction", "Monthly"): "cron(0 4 2 * ? *)",
        ("AlertPublisherFunction", "EveryMinute"): "rate(1 minute)",
    }
    for (fn, ev), cron in schedules.items():
        if res[fn]["Properties"]["Events"][ev]["Properties"].get("Schedule") != cron:
            out.append(f"{fn}: schedule is not {cron}")
    routes = {fn: {(e["Properties"]["Method"], e["Properties"]["Path"], e["Properties"].get("PayloadFormatVersion"))
                   for e in res[fn]["Properties"]["Events"].values()}
              for fn in ("AccessWebhookFunction", "StatementApiFunction")}
    want_routes = {
        "AccessWebhookFunction": {("POST", "/v1/partners/{partnerId}/access-snapshots", "2.0")},
        "StatementApiFunction": {("GET", "/v1/partners/{partnerId}/statements/{month}", "2.0")},
    }
    if routes != want_routes:
        out.append(f"HTTP routes are {routes}")
    def resolved(value, step):
        """`value` with the template's upgrade conditions decided for TableUpgradeStep=step."""
        if isinstance(value, dict) and list(value) == ["Fn::If"]:
            cond, yes, no = value["Fn::If"]
            taken = {"UpgradeStep1": step == "1", "UpgradeStep2": step == "2"}[cond]
            return resolved(yes if taken else no, step)
        if isinstance(value, dict) and value == {"Ref": "AWS::NoValue"}:
            return []
        return value

    def indexes(step):
        out_ = {}
        for t in ("LedgerTable", "StateTable"):
            props = res[t]["Properties"]
            gsis_ = resolved(props.get("GlobalSecondaryIndexes", []), step)
            attrs = {a["AttributeName"] for a in resolved(props["AttributeDefinitions"], step)}
            used = {"pk", "sk"} | {k["AttributeName"] for i in gsis_ for k in i["KeySchema"]}
            if attrs != used:
                out.append(f"{t} (TableUpgradeStep={step}): attribute definitions {sorted(attrs)} are not the keys used {sorted(used)}")
            out_[t] = {(i["IndexName"], i["Projection"]["ProjectionType"]) for i in gsis_}
        return out_

    done = indexes("done")
    if done != {"LedgerTable": {("PriorPeriod", "KEYS_ONLY")}, "StateTable": set()}:
        out.append(f"table indexes are {done} (table format 2: one keys-only index)")
    # An existing stack's upgrade: from format 1's indexes, each deployment creates or deletes at
    # most one index per table (CloudFormation's limit), and step 1 already has PriorPeriod.
    format1 = {"LedgerTable": {("ByUsageMonth", "ALL"), ("ByPostingMonth", "ALL")},
               "StateTable": {("ByIndex", "ALL")}}
    steps = [format1, indexes("1"), indexes("2"), done]
    if ("PriorPeriod", "KEYS_ONLY") not in steps[1]["LedgerTable"]:
        out.append("TableUpgradeStep=1 does not add the PriorPeriod index")
    for before, after in zip(steps, steps[1:]):
        for t in before:
            if len(before[t] ^ after[t]) > 1:
                out.append(f"{t}: an upgrade step changes more than one index: {sorted(before[t])} -> {sorted(after[t])}")
    notif = transformed["Resources"]["DataBucket"]["Properties"].get("NotificationConfiguration", {})
    if "uploads/" not in json.dumps(notif) or "UsageUploadFunction" not in json.dumps(notif):
        out.append("the bucket does not notify UsageUploadFunction for uploads/")
    if not os.path.isfile(LAMBDA_BUILD_FLAGS[-1]):
        out.append(f"{LAMBDA_BUILD_FLAGS[-1]} (the functions' build settings) is missing")
    if "whsec_" in json.dumps(template):
        out.append("a webhook secret (whsec_...) is in the template")
    return out


failures = 0


def report(ok, what, details=()):
    global failures
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    for d in details:
        print(f"       {d}")
    if not ok:
        failures += 1


template = load_template(template_path)
transformed = sam_transform(template)
out_path = os.path.join(out_dir, "transformed.json")
with open(out_path, "w") as f:
    json.dump(transformed, f, indent=1)
report(True, f"SAM transform ({len(transformed['Resources'])} resources) -> {out_path}")

lint = subprocess.run([cfn_lint, "--", out_path], capture_output=True, text=True)
report(lint.returncode == 0, "cfn-lint on the transformed template (errors, warnings, circular dependencies)",
       (lint.stdout + lint.stderr).strip().splitlines())

problems = ledger_violations(transformed)
report(not problems, "ledger table: only PutItem/ConditionCheckItem/GetItem/BatchGetItem/Query/DescribeTable allowed, "
       "mutations denied in every function role", problems)

# The check must not be vacuous: the worker is allowed to append, and broken templates are caught.
worker_role = transformed["Resources"]["NightlySettleWorkerFunctionRole"]
appends = any(st.get("Effect") == "Allow" and "dynamodb:PutItem" in as_list(st.get("Action"))
              and REFERS_TO_LEDGER.search(json.dumps(st.get("Resource")))
              for st in statements(worker_role))
report(appends, "the settlement worker may append to the ledger (PutItem)")


def mutated(change):
    t = copy.deepcopy(template)
    change(t["Resources"])
    return ledger_violations(sam_transform(t))


def policy_statements(resources, fn):
    return resources[fn]["Properties"]["Policies"][0]["Statement"]


def allow_update(r):
    st = next(s for s in policy_statements(r, "NightlySettleWorkerFunction") if s.get("Sid") == "LedgerAppend")
    st["Action"].append("dynamodb:UpdateItem")


def drop_deny(r):
    stmts = policy_statements(r, "MonthlyStatementFunction")
    stmts[:] = [s for s in stmts if s.get("Sid") != "LedgerIsAppendOnly"]


def crud_template(r):
    r["NightlySettleCoordinatorFunction"]["Properties"]["Policies"].append(
        {"DynamoDBCrudPolicy": {"TableName": {"Ref": "LedgerTable"}}})


for what, change in (("UpdateItem added to the worker's ledger statement", allow_update),
                     ("the monthly function's ledger Deny removed", drop_deny),
                     ("a DynamoDBCrudPolicy on the ledger for the coordinator", crud_template)):
    caught = mutated(change)
    report(bool(caught), f"self-test: the check catches {what}", caught[:1])

problems = contract_problems(template, transformed)
report(not problems, "contract: binaries, environment, events, routes, queue, indexes, bucket notification",
       problems)

if failures:
    sys.exit(f"infra: {failures} check(s) failed")
print("infra: all checks passed")
PY
