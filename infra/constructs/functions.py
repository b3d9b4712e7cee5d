"""One Lambda per `wiring.FUNCTIONS` entry, with the layers it names in `wiring.LAYERS`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import wiring

REPO_ROOT = Path(__file__).resolve().parents[2]
# Layer name -> its folder; those under build/ are made by `make build`.
LAYER_DIRS: dict[str, Path] = {name: REPO_ROOT / folder for name, folder in wiring.LAYERS.items()}
BUILD_DIR = REPO_ROOT / "build"
LAYER_DESCRIPTIONS = {
    "core": "invoicing: the shared domain and adapters package",
    "deps": "invoicing: third-party libraries (pip, aarch64)",
    "pdf": "invoicing: the PDF renderer's libraries (fpdf2, aarch64) and font",
    "stripe": "invoicing: Stripe's library, for the functions that call Stripe",
}

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache"]
# A built layer keeps its bytecode: `make build` compiled it for Lambda's
# Python 3.12 (what a local run leaves in a source folder is this Python's).
BUILT_LAYER_EXCLUDES = ["**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache"]

BASE_ENVIRONMENT = {**wiring.FUNCTION_ENVIRONMENT, "LOG_LEVEL": "INFO"}


def pascal(name: str) -> str:
    """`late_fees` -> `LateFees`: construct ids from wiring names."""
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


DEAD_LETTER_RETENTION = Duration.days(14)


def dead_letter_queue(scope: Construct, construct_id: str, *, keeps: str) -> sqs.Queue:
    """An encrypted, TLS-only queue that keeps for 14 days what `keeps` says
    could not be done (Monitoring alarms on its depth)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
    )
    NagSuppressions.add_resource_suppressions(
        queue,
        [
            NagPackSuppression(
                id="AwsSolutions-SQS3",
                reason=f"This queue is itself the dead-letter queue of {keeps}; an alarm watches its depth.",
            )
        ],
    )
    return queue


def is_built(layer_dir: Path) -> bool:
    return layer_dir.resolve().is_relative_to(BUILD_DIR.resolve())


def layer_dir(name: str) -> Path:
    """The folder of layer `name`; it must hold the `python/` folder Lambda mounts at /opt/python."""
    if name not in LAYER_DIRS:
        raise ValueError(f"unknown layer {name!r}, expected one of {sorted(LAYER_DIRS)} (wiring.LAYERS)")
    path = LAYER_DIRS[name]
    if not (path / "python").is_dir():
        if is_built(path):
            raise FileNotFoundError(
                f"{path / 'python'} does not exist: run `make build` first; it installs the "
                f"Lambda dependencies (aarch64, Python 3.12) that the {name} layer ships."
            )
        raise FileNotFoundError(f"{path / 'python'} does not exist: the {name} layer has no code to ship.")
    source = COPIED_FROM.get(name)
    if source is not None and _differs(source, path / "python"):
        raise FileNotFoundError(f"{path} is not a copy of {source} as it is now: run `make build` first")
    return path


# Built layers that are a copy of a source folder (with their bytecode).
COPIED_FROM: dict[str, Path] = {"core": REPO_ROOT / "layers" / "core" / "python"}


def _differs(source: Path, copy: Path) -> bool:
    """A module added, removed or changed in `source` since it was built
    (and a file the package's data leaves out)."""

    def files(folder: Path) -> dict[str, Path]:
        return {
            str(p.relative_to(folder)): p
            for p in folder.rglob("*")
            if p.is_file()
            and "__pycache__" not in p.parts
            and p.suffix != ".pyc"
            and not any(part.endswith(".egg-info") for part in p.parts)  # the editable install's
        }

    ours, copied = files(source), files(copy)
    return ours.keys() != copied.keys() or any(p.read_bytes() != copied[name].read_bytes() for name, p in ours.items())


_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")  # TransactWriteItems uses these
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {"none": (), "read": _READ, "read_write": _READ + _WRITE}
# What the store's mark_viewed names: the keys, the version it checks, and the attributes it sets.
VIEWED_ATTRIBUTES = ("pk", "sk", "version", "viewed_version", "version_viewed_at", "viewed_at")

# The blob store's calls: HeadObject (authorized by s3:GetObject), GetObject,
# PutObject, CopyObject, and the pre-signed GET and POST URLs, which S3
# authorizes against the signing role (s3:GetObject, s3:PutObject). DeleteObject
# only under the prefixes a function declares (wiring.Function.deletes_under),
# and a pinned version's GetObject (s3:GetObjectVersion) likewise. Never
# s3:DeleteObjectVersion nor s3:BypassGovernanceRetention: the bucket's versions
# are the invoices' history, and issued documents are locked ten years.
BUCKET_OBJECT_ACTIONS: dict[str, tuple[str, ...]] = {
    "none": (),
    "read_write": ("s3:GetObject", "s3:PutObject"),
}
# The keys of issued documents (logic/documents.py): each invoice version's PDF,
# `{tenant}/invoices/{id}/v{version}.pdf`, and each credit note's,
# `{tenant}/credit-notes/{id}.pdf`. A draft's preview PDF has "-draft-" in its
# key: it is no invoice, and is never locked.
ISSUED_DOCUMENT_KEYS = ("*/invoices/*/v*.pdf", "*/credit-notes/*.pdf")
DRAFT_KEYS = "*-draft-*"
# Issued invoices are kept ten years (French commercial code, art. L123-22),
# counted from the end of their fiscal year: a writer may lock one in GOVERNANCE
# mode only (an administrator with s3:BypassGovernanceRetention can still lift
# it), and for at most eleven years, so that no bug locks a file for a century.
RETENTION_MODE = "GOVERNANCE"
MAX_RETENTION_DAYS = 11 * 366
# On the bucket itself, so that HeadObject/GetObject on a missing key answer
# 404 (the store's "not rendered yet") instead of 403 AccessDenied.
BUCKET_ACTIONS: dict[str, tuple[str, ...]] = {"none": (), "read_write": ("s3:ListBucket",)}


SES_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
SES_READ_ACTIONS = ("ses:GetEmailIdentity",)
SES_ADDRESS_ACTIONS = ("ses:CreateEmailIdentity", "ses:DeleteEmailIdentity")
SNS_EVERY_ARN = f"arn:{Aws.PARTITION}:sns:*:*:*"


def _ses_identity(scope: Construct, name: str) -> str:
    return Stack.of(scope).format_arn(service="ses", resource="identity", resource_name=name)


def _prefix(fn: wiring.Function, prefix: str) -> str:
    if not prefix.endswith("/") or prefix.startswith("/") or "*" in prefix:
        raise ValueError(f"function {fn.name}: a bucket prefix is a folder such as 'renders/', not {prefix!r}")
    return prefix


class Functions(Construct):
    """The Lambdas, each with its own role, log group, table and bucket grants.

    `by_name` maps each wiring function name to its `lambda_.Function`;
    `layers` each layer name used by at least one function to its version.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.Table,
        bucket: s3.IBucket | None = None,
        environment: Mapping[str, str] | None = None,
        functions: tuple[wiring.Function, ...] = wiring.FUNCTIONS,
        reserved_concurrency: Mapping[str, int | None] | None = None,
        platform_sender: str | None = None,
    ) -> None:
        """`reserved_concurrency` overrides the wiring's, by function name (None:
        the account's pool); `platform_sender` is the platform's SES address,
        whose identities no function may delete."""
        super().__init__(scope, construct_id)
        self._table = table
        self._bucket = bucket
        self._reserved = dict(reserved_concurrency or {})
        self._platform_sender = platform_sender
        self._environment = {**BASE_ENVIRONMENT, "TABLE_NAME": table.table_name, **(environment or {})}
        used = dict.fromkeys(name for fn in functions for name in fn.layers)  # first use order, no duplicates
        self.layers: dict[str, lambda_.LayerVersion] = {name: self._layer(name) for name in used}
        self.by_name: dict[str, lambda_.Function] = {fn.name: self._function(fn) for fn in functions}

    def _layer(self, name: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            f"{pascal(name)}Layer",
            code=lambda_.Code.from_asset(
                str(layer_dir(name)), exclude=BUILT_LAYER_EXCLUDES if is_built(layer_dir(name)) else ASSET_EXCLUDES
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=LAYER_DESCRIPTIONS.get(name, f"invoicing: the {name} layer"),
        )

    def _function(self, fn: wiring.Function) -> lambda_.Function:
        scope = Construct(self, pascal(fn.name))
        log_group = logs.LogGroup(scope, "Logs", retention=LOG_RETENTION)
        # An explicit role instead of AWSLambdaBasicExecutionRole: it may write
        # to its own log group only, not create or write to any log group.
        role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"invoicing {fn.name} function",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            scope,
            "Function",
            description=fn.description,
            code=lambda_.Code.from_asset(str(REPO_ROOT / fn.code_dir), exclude=ASSET_EXCLUDES),
            handler=fn.handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            memory_size=fn.memory_mb,
            timeout=Duration.seconds(fn.timeout_s),
            layers=[self.layers[name] for name in fn.layers],
            environment={**self._environment, **self._bucket_environment(fn), **fn.environment},
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=self._reserved.get(fn.name, fn.reserved_concurrency),
            log_group=log_group,
            role=role,
        )
        # CDK adds DependsOn on the role that the Role GetAtt already implies:
        # harmless, but cfn-lint W3005 reports the redundancy.
        function.node.default_child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        self._grant_table_access(fn, role)
        self._grant_bucket_access(fn, role)
        self._grant_messaging(fn, role)
        self._suppress_findings(fn, function, role)
        return function

    def _grant_table_access(self, fn: wiring.Function, role: iam.IRole) -> None:
        """Exactly the calls the store makes: reads are GetItem and Query —
        never Scan (no request path may scan), so the role cannot either."""
        if fn.table_access not in TABLE_ACTIONS:
            raise ValueError(
                f"function {fn.name}: unknown table_access {fn.table_access!r}, expected one of {sorted(TABLE_ACTIONS)}"
            )
        actions = TABLE_ACTIONS[fn.table_access]
        if actions:
            self._table.grant(role, *actions)
        if fn.marks_viewed:  # UpdateItem of the viewed attributes only (and the keys, the version it checks)
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:UpdateItem"],
                    resources=[self._table.table_arn],
                    conditions={
                        "ForAllValues:StringEquals": {"dynamodb:Attributes": list(VIEWED_ATTRIBUTES)},
                        "StringEqualsIfExists": {"dynamodb:ReturnValues": "NONE"},
                    },
                )
            )

    def _bucket_environment(self, fn: wiring.Function) -> dict[str, str]:
        if fn.bucket_access not in BUCKET_OBJECT_ACTIONS:
            raise ValueError(
                f"function {fn.name}: unknown bucket_access {fn.bucket_access!r}, "
                f"expected one of {sorted(BUCKET_OBJECT_ACTIONS)}"
            )
        if fn.bucket_access == "none":
            return {}
        if self._bucket is None:
            raise ValueError(f"function {fn.name}: bucket_access {fn.bucket_access!r} but no bucket was given")
        return {wiring.DOCUMENTS_BUCKET_ENV: self._bucket.bucket_name}

    def _grant_bucket_access(self, fn: wiring.Function, role: iam.IRole) -> None:
        """Spelled out rather than `bucket.grant_read_write`, whose `s3:GetObject*`,
        `s3:List*` and `s3:Abort*` patterns reach versions, ACLs and tags."""
        if fn.bucket_access == "none" or self._bucket is None:  # validated by _bucket_environment
            if fn.deletes_under or fn.reads_versions_under or fn.retains_issued_documents:
                raise ValueError(f"function {fn.name}: bucket grants beyond its bucket_access {fn.bucket_access!r}")
            return
        bucket = self._bucket
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(BUCKET_OBJECT_ACTIONS[fn.bucket_access]), resources=[bucket.arn_for_objects("*")]
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(BUCKET_ACTIONS[fn.bucket_access]), resources=[bucket.bucket_arn])
        )
        per_prefix = (("s3:DeleteObject", fn.deletes_under), ("s3:GetObjectVersion", fn.reads_versions_under))
        for action, prefixes in per_prefix:
            if prefixes:
                role.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=[action], resources=[bucket.arn_for_objects(f"{_prefix(fn, p)}*") for p in prefixes]
                    )
                )
        if fn.retains_issued_documents:
            # PutObject with x-amz-object-lock-mode/-retain-until-date (or PutObjectRetention
            # on a version) needs s3:PutObjectRetention: on issued documents, never a draft's.
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:PutObjectRetention"],
                    resources=[bucket.arn_for_objects(key) for key in ISSUED_DOCUMENT_KEYS],
                    conditions={
                        "StringEquals": {"s3:object-lock-mode": RETENTION_MODE},
                        "NumericLessThanEquals": {"s3:object-lock-remaining-retention-days": MAX_RETENTION_DAYS},
                    },
                )
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    actions=["s3:PutObjectRetention"],
                    resources=[bucket.arn_for_objects(DRAFT_KEYS)],
                )
            )

    def _grant_messaging(self, fn: wiring.Function, role: iam.IRole) -> None:
        """SES e-mail from the account's verified identities (the platform's,
        and the businesses' addresses, which this function asks SES to verify
        once the business proved it reads them), SMS through SNS.

        The calls (adapters/messaging.py, SES v2): SendEmail with raw MIME
        (authorized as ses:SendRawEmail, and ses:SendEmail), GetEmailIdentity
        of an address and of its domain, CreateEmailIdentity of a business's
        address and DeleteEmailIdentity of one never verified (to send a new
        link). Creating and deleting reach address identities only
        (`identity/*@*`: a domain identity has no @), and never the
        platform's own address or domain, denied explicitly."""
        if not fn.sends_messages:
            return
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(SES_SEND_ACTIONS + SES_READ_ACTIONS), resources=[_ses_identity(self, "*")])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(SES_ADDRESS_ACTIONS), resources=[_ses_identity(self, "*@*")])
        )
        if self._platform_sender:
            domain = self._platform_sender.rpartition("@")[2]
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    actions=list(SES_ADDRESS_ACTIONS),
                    resources=[_ses_identity(self, domain), _ses_identity(self, f"*@{domain}")],
                )
            )
        # An SMS is a Publish to a phone number, which names no resource: IAM sees
        # "*". Every topic (and mobile push endpoint) has an ARN, denied here, so
        # the role sends SMS and nothing else through SNS.
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
        role.add_to_principal_policy(
            iam.PolicyStatement(effect=iam.Effect.DENY, actions=["sns:Publish"], resources=[SNS_EVERY_ARN])
        )

    def _suppress_findings(self, fn: wiring.Function, function: lambda_.Function, role: iam.Role) -> None:
        NagSuppressions.add_resource_suppressions(
            function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="Python 3.12 is pinned on purpose: the deps layer is built for it "
                    "(pip --python-version 3.12, manylinux aarch64 wheels); move both together.",
                ),
            ],
        )
        star_reason = (
            "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords "
            "support no resource-level permissions, so their resource is '*'."
        )
        if fn.sends_messages:
            star_reason += (
                " sns:Publish to a phone number (an SMS) has no resource to name either: the only "
                "action allowed on '*' besides X-Ray is that one."
            )
        wildcards = [NagPackSuppression(id="AwsSolutions-IAM5", reason=star_reason, applies_to=["Resource::*"])]
        if fn.sends_messages:
            identities = "Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/"
            wildcards += [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="SES identities are the platform's and the businesses' sender addresses, created at run "
                    "time: identity/* of this account and region; send from them and read them only.",
                    applies_to=[f"{identities}*"],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="The businesses' sender addresses, verified at run time: create or renew address "
                    "identities only (identity/*@*, a domain has no @), the platform's denied explicitly.",
                    applies_to=[f"{identities}*@*"],
                ),
            ]
        if fn.table_access != "none":
            table_id = Stack.of(self).get_logical_id(self._table.node.default_child)
            wildcards.append(
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Queries on the table's global secondary indexes (wiring.TABLE.indexes): "
                    "<table ARN>/index/* covers this one table's indexes and nothing else.",
                    applies_to=[f"Resource::<{table_id}.Arn>/index/*"],
                )
            )
        if fn.bucket_access != "none" and self._bucket is not None:
            bucket_id = Stack.of(self).get_logical_id(self._bucket.node.default_child)
            wildcards.append(
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Objects of the documents bucket: keys ({tenant}/invoices/{invoice id}/"
                    "v{version}.pdf, {tenant}/credit-notes/{id}.pdf, pending/ uploads) are made at run time, "
                    "so the object ARN ends in /*. "
                    "Only s3:GetObject, PutObject and DeleteObject, on this one bucket's objects; the tenant "
                    "prefix comes from the verified token's claims (SPEC §3), as for the table's keys.",
                    applies_to=[f"Resource::<{bucket_id}.Arn>/*"],
                )
            )
            prefixes = sorted({*fn.deletes_under, *fn.reads_versions_under})
            if prefixes:
                wildcards.append(
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason="s3:DeleteObject and s3:GetObjectVersion on the folders where this function "
                        "deletes objects or reads a pinned version (wiring.Function.deletes_under, "
                        "reads_versions_under): a delete leaves a delete marker, never removes a version.",
                        applies_to=[f"Resource::<{bucket_id}.Arn>/{prefix}*" for prefix in prefixes],
                    )
                )
            if fn.retains_issued_documents:
                wildcards.append(
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason="s3:PutObjectRetention on issued invoices' and credit notes' PDFs (their keys are "
                        "made at run time), GOVERNANCE mode and at most eleven years only, never on a draft's.",
                        applies_to=[f"Resource::<{bucket_id}.Arn>/{key}" for key in ISSUED_DOCUMENT_KEYS],
                    )
                )
        NagSuppressions.add_resource_suppressions(role, wildcards, apply_to_children=True)
