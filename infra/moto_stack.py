#!/usr/bin/env python3
"""Provision an isolated Kefu stack in a running moto server from infra/template.yaml itself.

Tests never hand-write table names, indexes, queues or filter policies: they ask this script for a stack and use
what the template declares, so the code and the template cannot drift.

    python infra/moto_stack.py --endpoint http://127.0.0.1:5000 --stack kefu-test-01H...

prints ONE JSON object on stdout (see `describe()` below for the shape).

How it works:
1. The SAM template is loaded (CloudFormation short-form tags such as !Ref / !GetAtt / !Sub are understood), each
   function's local CodeUri is replaced by a fake s3:// location, and the SAM translator turns it into plain
   CloudFormation. The result is cached in the temp dir, keyed by the template's hash (translation is the slow part).
2. Only the resources the tests need and moto's CloudFormation can create are kept (table, queues, topics, export
   bucket, KMS key); every resource that references a dropped one (functions, APIs, alarms, IAM, the CloudFront
   distribution and the static site's bucket...) is dropped as well.
3. The stack is created through moto's CloudFormation API. Physical names are derived from the stack name, so many
   tests can create their own stacks in one moto server in parallel.
4. What moto's CloudFormation ignores is applied through the service APIs, from the template's own values:
   SNS subscriptions (with RawMessageDelivery and FilterPolicy), SQS queue policies, DynamoDB time-to-live and
   point-in-time recovery, S3 lifecycle rules and public access block. Everything is then described back and
   checked against the template, so a silent moto gap fails here rather than in a test.
5. Before any of that, the template itself is checked for encryption (`check_encryption`): a queue, topic, table
   or bucket without the stack's KMS key, or a queue, topic or bucket without a TLS-only policy, fails every
   AWS test.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

CACHE_VERSION = "7"
REGION = "us-east-1"
HERE = Path(__file__).resolve().parent
DEFAULT_TEMPLATE = HERE / "template.yaml"

# Resource types moto's CloudFormation creates and the tests need.
KEPT_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
}
# Resource types moto's CloudFormation ignores but that this script applies by API.
APPLIED_TYPES = {"AWS::SNS::Subscription", "AWS::SQS::QueuePolicy"}
# Resources of a kept type that no test uses: the static site's bucket is read only by CloudFront (its
# distribution, origin access control, policies and functions are not moto resources and are dropped anyway).
# Its encryption and TLS policy are still checked (`check_encryption`), like every bucket's.
NOT_USED_BY_TESTS = {"WebBucket"}


# ---------------------------------------------------------------------------------------------------------------------
# Template loading and translation
# ---------------------------------------------------------------------------------------------------------------------
class CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short-form tags into their long JSON form."""


def _construct_cfn_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


def load_template(path: Path) -> dict[str, Any]:
    """Loads a CloudFormation/SAM YAML template into plain JSON-shaped data."""
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


class _NoManagedPolicies:
    """Managed-policy loader stub: the translator only needs it for policy names we do not use."""

    def load(self) -> dict[str, str]:
        return {}


def translate(sam: dict[str, Any]) -> dict[str, Any]:
    """Runs the SAM translator on the template with every function's code replaced by a fake S3 location."""
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(sam)
    for resource in sam.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = "s3://kefu-moto-fake-code/function.zip"
    # The translator fills in the parameters' defaults itself; pseudo-parameters stay symbolic.
    return transform(sam, {}, _NoManagedPolicies())


def references(value: Any) -> set[str]:
    """Every logical id a piece of template refers to (Ref, Fn::GetAtt, ${...} inside Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                local = set(inner[1].keys()) if isinstance(inner, list) and len(inner) > 1 else set()
                for part in text.split("${")[1:]:
                    name = part.split("}")[0].split(".")[0]
                    if not name.startswith("!") and name not in local:
                        found.add(name)
                if isinstance(inner, list) and len(inner) > 1:
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def check_encryption(resources: dict[str, Any]) -> None:
    """Refuses a template that stores data unencrypted or accepts it without TLS: every table, queue (DLQs
    included), topic and bucket is encrypted with the stack's KMS key, and every queue, topic and bucket has a
    policy denying requests with aws:SecureTransport false."""

    def is_key(value: Any) -> bool:
        return value in ({"Ref": "KmsKey"}, {"Fn::GetAtt": ["KmsKey", "Arn"]})

    def tls_denied(policy: dict[str, Any]) -> bool:
        return any(
            st.get("Effect") == "Deny" and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for st in policy.get("Statement", [])
        )

    covered: set[str] = set()
    for r in resources.values():
        props = r.get("Properties", {})
        targets = {
            "AWS::SQS::QueuePolicy": "Queues",
            "AWS::SNS::TopicPolicy": "Topics",
            "AWS::S3::BucketPolicy": "Bucket",
        }.get(r["Type"])
        if targets and tls_denied(props.get("PolicyDocument", {})):
            refs = props[targets] if isinstance(props[targets], list) else [props[targets]]
            covered |= {ref["Ref"] for ref in refs if isinstance(ref, dict) and "Ref" in ref}
    for lid, r in resources.items():
        props, kind = r.get("Properties", {}), r["Type"]
        if kind in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
            expect(is_key(props.get("KmsMasterKeyId")), f"{lid} is not encrypted with KmsKey")
            expect(lid in covered, f"{lid} has no policy denying requests without TLS")
        elif kind == "AWS::DynamoDB::Table":
            sse = props.get("SSESpecification", {})
            expect(sse.get("SSEEnabled") is True and is_key(sse.get("KMSMasterKeyId")), f"{lid} is not KMS-encrypted")
        elif kind == "AWS::S3::Bucket":
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            expect(
                any(is_key(rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")) for rule in rules),
                f"{lid} is not KMS-encrypted",
            )
            expect(lid in covered, f"{lid} has no policy denying requests without TLS")


def plan(cfn: dict[str, Any]) -> dict[str, Any]:
    """Splits the translated template into what moto's CloudFormation creates and what is applied by API."""
    resources = cfn["Resources"]
    check_encryption(resources)
    # Conditional resources are optional extras (e.g. the alarm e-mail subscription): never needed by tests.
    kept = {
        lid
        for lid, r in resources.items()
        if r["Type"] in KEPT_TYPES and "Condition" not in r and lid not in NOT_USED_BY_TESTS
    }
    applied = {lid for lid, r in resources.items() if r["Type"] in APPLIED_TYPES and "Condition" not in r}
    params = set(cfn.get("Parameters", {}))

    # Drop, until nothing changes, every resource that refers to a dropped one.
    changed = True
    while changed:
        changed = False
        for lid in sorted(kept | applied):
            r = resources[lid]
            deps = references(r.get("Properties", {}))
            depends_on = r.get("DependsOn", [])
            deps |= set([depends_on] if isinstance(depends_on, str) else depends_on)
            deps = {d for d in deps if not d.startswith("AWS::") and d not in params}
            if not deps <= kept:
                kept.discard(lid)
                applied.discard(lid)
                changed = True

    stack_resources = {}
    for lid in sorted(kept):
        r = copy.deepcopy(resources[lid])
        # Retain policies would leave tables behind in moto when a test deletes its stack.
        r.pop("DeletionPolicy", None)
        r.pop("UpdateReplacePolicy", None)
        stack_resources[lid] = r

    return {
        "template": {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": cfn.get("Parameters", {}),
            "Resources": stack_resources,
        },
        "parameters": {name: p.get("Default") for name, p in cfn.get("Parameters", {}).items()},
        "resources": {lid: resources[lid] for lid in sorted(kept)},
        "applied": {lid: resources[lid] for lid in sorted(applied)},
    }


def cached_plan(template_path: Path) -> dict[str, Any]:
    """The plan for the template, from the temp-dir cache when the template has not changed."""
    raw = template_path.read_bytes()
    digest = hashlib.sha256(raw + CACHE_VERSION.encode()).hexdigest()[:24]
    cache = Path(tempfile.gettempdir()) / f"kefu-moto-plan-{digest}.json"
    try:
        return json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    sam = load_template(template_path)
    result = plan(translate(sam))
    # The variables every function gets (Globals), resolved per stack so tests configure the code like Lambda does.
    result["environment"] = sam.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    os.replace(tmp, cache)  # atomic: parallel tests never read half a file
    return result


# ---------------------------------------------------------------------------------------------------------------------
# Provisioning
# ---------------------------------------------------------------------------------------------------------------------
class Stack:
    """A created stack: physical ids by logical id, and a resolver for the template's intrinsic functions."""

    def __init__(self, session: Any, endpoint: str, name: str, the_plan: dict[str, Any]):
        self.session = session
        self.endpoint = endpoint
        self.name = name
        self.plan = the_plan
        self.physical: dict[str, str] = {}
        self._clients: dict[str, Any] = {}
        self._queue_arns: dict[str, str] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint, region_name=REGION)
        return self._clients[service]

    def create(self) -> None:
        cfn = self.client("cloudformation")
        cfn.create_stack(StackName=self.name, TemplateBody=json.dumps(self.plan["template"]))
        deadline = time.monotonic() + 60
        while True:
            status = cfn.describe_stacks(StackName=self.name)["Stacks"][0]["StackStatus"]
            if status == "CREATE_COMPLETE":
                break
            if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
                events = cfn.describe_stack_events(StackName=self.name)["StackEvents"]
                reasons = [e.get("ResourceStatusReason") for e in events if e.get("ResourceStatusReason")]
                raise SystemExit(f"moto stack {self.name} ended in {status}: {reasons}")
            time.sleep(0.1)
        for r in cfn.describe_stack_resources(StackName=self.name)["StackResources"]:
            self.physical[r["LogicalResourceId"]] = r["PhysicalResourceId"]
            if r["ResourceType"] == "AWS::SQS::Queue":
                # CloudFormation reports the AWS-style URL; ask for the one that points at this moto server.
                queue_name = r["PhysicalResourceId"].rsplit("/", 1)[-1]
                self.physical[r["LogicalResourceId"]] = self.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
        missing = set(self.plan["resources"]) - set(self.physical)
        if missing:
            raise SystemExit(f"moto did not create {sorted(missing)} in stack {self.name}")

    def queue_arn(self, lid: str) -> str:
        if lid not in self._queue_arns:
            attrs = self.client("sqs").get_queue_attributes(QueueUrl=self.physical[lid], AttributeNames=["QueueArn"])
            self._queue_arns[lid] = attrs["Attributes"]["QueueArn"]
        return self._queue_arns[lid]

    def resolve(self, value: Any) -> Any:
        """Evaluates the intrinsic functions this template uses on the kept resources."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            target = value["Ref"]
            if target == "AWS::Region":
                return REGION
            if target == "AWS::AccountId":
                return "123456789012"
            if target == "AWS::Partition":
                return "aws"
            if target == "AWS::URLSuffix":
                return "amazonaws.com"
            if target == "AWS::StackName":
                return self.name
            if target in self.plan["parameters"]:
                return self.plan["parameters"][target]
            return self.physical[target]
        if set(value) == {"Fn::GetAtt"}:
            lid, attribute = value["Fn::GetAtt"]
            rtype = self.plan["resources"][lid]["Type"]
            if rtype == "AWS::SQS::Queue" and attribute == "Arn":
                return self.queue_arn(lid)
            if rtype == "AWS::SQS::Queue" and attribute == "QueueName":
                return self.physical[lid].rsplit("/", 1)[-1]
            if rtype == "AWS::SNS::Topic" and attribute == "TopicArn":
                return self.physical[lid]
            if rtype == "AWS::SNS::Topic" and attribute == "TopicName":
                return self.physical[lid].rsplit(":", 1)[-1]
            if rtype == "AWS::S3::Bucket" and attribute == "Arn":
                return f"arn:aws:s3:::{self.physical[lid]}"
            raise SystemExit(f"moto_stack.py cannot resolve Fn::GetAtt {lid}.{attribute}; teach resolve() about it")
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for name in sorted(references(value)):
                if "." in text.split("${" + name, 1)[1].split("}", 1)[0]:
                    raise SystemExit(f"moto_stack.py cannot resolve ${{{name}.Attr}} in Fn::Sub")
                text = text.replace("${" + name + "}", str(self.resolve({"Ref": name})))
            return text
        return {k: self.resolve(v) for k, v in value.items()}

    def environment(self) -> dict[str, str]:
        """The functions' shared environment (template Globals), minus values that need dropped resources."""
        known = set(self.physical) | set(self.plan["parameters"])
        env = {}
        for name, value in self.plan["environment"].items():
            if {r for r in references(value) if not r.startswith("AWS::")} <= known:
                env[name] = str(self.resolve(value))
        return env

    def apply_moto_gaps(self) -> None:
        """Applies by API what moto's CloudFormation ignores, using the template's own values."""
        sns, sqs = self.client("sns"), self.client("sqs")
        for lid, r in self.plan["applied"].items():
            props = self.resolve(r["Properties"])
            if r["Type"] == "AWS::SNS::Subscription":
                attributes = {}
                if "RawMessageDelivery" in props:
                    attributes["RawMessageDelivery"] = str(props["RawMessageDelivery"]).lower()
                if "FilterPolicy" in props:
                    attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
                    attributes["FilterPolicyScope"] = props.get("FilterPolicyScope", "MessageAttributes")
                if "RedrivePolicy" in props:
                    attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
                arn = sns.subscribe(
                    TopicArn=props["TopicArn"],
                    Protocol=props["Protocol"],
                    Endpoint=props["Endpoint"],
                    Attributes=attributes,
                    ReturnSubscriptionArn=True,
                )["SubscriptionArn"]
                self.physical[lid] = arn
            elif r["Type"] == "AWS::SQS::QueuePolicy":
                for url in props["Queues"]:
                    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
                self.physical[lid] = ",".join(props["Queues"])

        for lid, r in self.plan["resources"].items():
            props = r.get("Properties", {})
            if r["Type"] == "AWS::DynamoDB::Table":
                ddb = self.client("dynamodb")
                ttl = props.get("TimeToLiveSpecification")
                if ttl and ttl.get("Enabled"):
                    ddb.update_time_to_live(
                        TableName=self.physical[lid],
                        TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                    )
                pitr = props.get("PointInTimeRecoverySpecification")
                if pitr and pitr.get("PointInTimeRecoveryEnabled"):
                    ddb.update_continuous_backups(
                        TableName=self.physical[lid],
                        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                    )
            elif r["Type"] == "AWS::S3::Bucket":
                s3 = self.client("s3")
                if "PublicAccessBlockConfiguration" in props:
                    s3.put_public_access_block(
                        Bucket=self.physical[lid],
                        PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
                    )
                rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
                if rules:
                    s3.put_bucket_lifecycle_configuration(
                        Bucket=self.physical[lid],
                        LifecycleConfiguration={"Rules": [lifecycle_rule_to_api(rule) for rule in rules]},
                    )
            # The bucket policy (deny non-TLS) is deliberately not applied: moto serves plain HTTP.

    def describe(self) -> dict[str, Any]:
        """Reads every resource back, checks it against the template and returns the JSON the tests consume."""
        sqs, sns, ddb = self.client("sqs"), self.client("sns"), self.client("dynamodb")
        res = self.plan["resources"]
        by_type: dict[str, list[str]] = {}
        for lid, r in res.items():
            by_type.setdefault(r["Type"], []).append(lid)

        tables = by_type.get("AWS::DynamoDB::Table", [])
        buckets = by_type.get("AWS::S3::Bucket", [])
        expect(len(tables) == 1 and len(buckets) == 1, "the template declares exactly one table and one bucket")
        table_lid, bucket_lid = tables[0], buckets[0]

        # Table: keys, indexes, time-to-live.
        table_props = res[table_lid]["Properties"]
        described = ddb.describe_table(TableName=self.physical[table_lid])["Table"]
        expect(described["KeySchema"] == table_props["KeySchema"], "table key schema")
        want_gsis = {g["IndexName"]: g["KeySchema"] for g in table_props.get("GlobalSecondaryIndexes", [])}
        got_gsis = {g["IndexName"]: g["KeySchema"] for g in described.get("GlobalSecondaryIndexes", [])}
        expect(got_gsis == want_gsis, f"table GSIs: want {want_gsis}, got {got_gsis}")
        if table_props.get("TimeToLiveSpecification", {}).get("Enabled"):
            ttl = ddb.describe_time_to_live(TableName=self.physical[table_lid])["TimeToLiveDescription"]
            expect(
                ttl.get("TimeToLiveStatus") == "ENABLED"
                and ttl.get("AttributeName") == table_props["TimeToLiveSpecification"]["AttributeName"],
                f"table TTL: {ttl}",
            )

        # Subscriptions: topic, queue, raw delivery and filter policy.
        subscriptions: dict[str, Any] = {}
        sub_by_queue: dict[str, str] = {}
        for lid, r in self.plan["applied"].items():
            if r["Type"] != "AWS::SNS::Subscription":
                continue
            props = r["Properties"]
            endpoint = props["Endpoint"]
            queue_lid = endpoint["Fn::GetAtt"][0] if isinstance(endpoint, dict) and "Fn::GetAtt" in endpoint else lid
            attrs = sns.get_subscription_attributes(SubscriptionArn=self.physical[lid])["Attributes"]
            want_raw = str(props.get("RawMessageDelivery", False)).lower()
            expect(attrs.get("RawMessageDelivery", "false") == want_raw, f"{lid} RawMessageDelivery")
            if "FilterPolicy" in props:
                expect(json.loads(attrs.get("FilterPolicy", "null")) == props["FilterPolicy"], f"{lid} FilterPolicy")
            key = short_name(queue_lid, "Queue")
            sub_by_queue[queue_lid] = lid
            subscriptions[key] = {
                "arn": self.physical[lid],
                "topic_arn": self.resolve(props["TopicArn"]),
                "raw_message_delivery": want_raw == "true",
                "filter_policy": props.get("FilterPolicy"),
            }

        # Queues: every queue with a redrive policy is a consumer queue; its target is its DLQ.
        queues: dict[str, Any] = {}
        for lid in by_type.get("AWS::SQS::Queue", []):
            props = res[lid]["Properties"]
            redrive = props.get("RedrivePolicy")
            if not redrive:
                continue
            dlq_lid = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attrs = sqs.get_queue_attributes(QueueUrl=self.physical[lid], AttributeNames=["All"])["Attributes"]
            got_redrive = json.loads(attrs.get("RedrivePolicy", "{}"))
            expect(
                got_redrive.get("deadLetterTargetArn") == self.queue_arn(dlq_lid)
                and int(got_redrive.get("maxReceiveCount", 0)) == int(redrive["maxReceiveCount"]),
                f"{lid} RedrivePolicy: {got_redrive}",
            )
            want_visibility = int(props.get("VisibilityTimeout", 30))
            expect(int(attrs["VisibilityTimeout"]) == want_visibility, f"{lid} VisibilityTimeout")
            queues[short_name(lid, "Queue")] = {
                "url": self.physical[lid],
                "arn": attrs["QueueArn"],
                "dlq_url": self.physical[dlq_lid],
                "dlq_arn": self.queue_arn(dlq_lid),
                "max_receive_count": int(redrive["maxReceiveCount"]),
                "visibility_timeout": want_visibility,
                "subscribed": lid in sub_by_queue,
            }

        # Bucket: lifecycle rules as declared.
        bucket_rules = res[bucket_lid]["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        if bucket_rules:
            got = self.client("s3").get_bucket_lifecycle_configuration(Bucket=self.physical[bucket_lid])["Rules"]
            expect(len(got) == len(bucket_rules), f"bucket lifecycle rules: {got}")

        topics = {short_name(lid, "Topic"): self.physical[lid] for lid in by_type.get("AWS::SNS::Topic", [])}
        expect("events" in topics and "mail" in topics, f"EventsTopic and MailTopic in {sorted(topics)}")
        return {
            "endpoint": self.endpoint,
            "region": REGION,
            "stack": self.name,
            "table": self.physical[table_lid],
            "events_topic_arn": topics["events"],
            "mail_topic_arn": topics["mail"],
            "export_bucket": self.physical[bucket_lid],
            "topics": topics,
            "queues": queues,
            "subscriptions": subscriptions,
            "environment": self.environment(),
            "resources": self.physical,
        }


def lifecycle_rule_to_api(rule: dict[str, Any]) -> dict[str, Any]:
    """Converts a CloudFormation S3 lifecycle rule into the PutBucketLifecycleConfiguration shape."""
    out: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule.get("Status", "Enabled")}
    out["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    transitions = rule.get("Transitions", [])
    if "Transition" in rule:
        transitions = transitions + [rule["Transition"]]
    if transitions:
        out["Transitions"] = [
            {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]} for t in transitions
        ]
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return out


def short_name(logical_id: str, suffix: str) -> str:
    """`AssignQueue` -> `assign`, `EventsTopic` -> `events`, `AssignSubscription` -> `assign`."""
    for s in (suffix, "Subscription"):
        if logical_id.endswith(s) and logical_id != s:
            logical_id = logical_id[: -len(s)]
            break
    return logical_id.lower()


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"moto_stack.py: the stack in moto does not match infra/template.yaml: {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--stack", required=True, help="unique stack name; physical names derive from it")
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="SAM template (default: %(default)s)")
    parser.add_argument("--print-plan", action="store_true", help="print the moto template and exit")
    args = parser.parse_args()

    # Dummy credentials unless the caller has set any; moto accepts anything. The translator needs a region.
    for var, default in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "test"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        os.environ.setdefault(var, default)

    # Physical names are "<stack>-<LogicalId>-<12 random>" and SQS names are cut at 80 characters.
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,47}", args.stack):
        parser.error("--stack must match [A-Za-z][A-Za-z0-9-]{0,47} (it prefixes every physical name)")

    the_plan = cached_plan(Path(args.template))
    if args.print_plan:
        json.dump(the_plan, sys.stdout, indent=2)
        print()
        return

    import boto3
    import botocore.config

    session = boto3.session.Session(region_name=REGION)
    # boto3 reads a shared config per client; keep retries short so a dead moto fails fast.
    session._session.set_default_client_config(  # noqa: SLF001
        botocore.config.Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    )
    stack = Stack(session, args.endpoint.rstrip("/"), args.stack, the_plan)
    stack.create()
    stack.apply_moto_gaps()
    json.dump(stack.describe(), sys.stdout)
    print()


if __name__ == "__main__":
    main()
