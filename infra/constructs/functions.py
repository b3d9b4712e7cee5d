"""One Lambda per `wiring.FUNCTIONS` entry, sharing the core and deps layers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import wiring

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_LAYER_DIR = REPO_ROOT / "layers" / "core"
DEPS_LAYER_DIR = REPO_ROOT / "build" / "layers" / "deps"

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache"]

BASE_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "invoicing",
    "POWERTOOLS_METRICS_NAMESPACE": "Invoicing",
    "LOG_LEVEL": "INFO",
}


def pascal(name: str) -> str:
    """`late_fees` -> `LateFees`: construct ids from wiring names."""
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def deps_layer_dir() -> Path:
    if not (DEPS_LAYER_DIR / "python").is_dir():
        raise FileNotFoundError(
            f"{DEPS_LAYER_DIR / 'python'} does not exist: run `make build` first; it installs the "
            "Lambda dependencies (manylinux2014_aarch64, Python 3.12) that the deps layer ships."
        )
    return DEPS_LAYER_DIR


_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")  # TransactWriteItems uses these
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {"none": (), "read": _READ, "read_write": _READ + _WRITE}


class Functions(Construct):
    """The Lambdas, each with its own role, log group and table grant.

    `by_name` maps each wiring function name to its `lambda_.Function`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.Table,
        environment: Mapping[str, str] | None = None,
        functions: tuple[wiring.Function, ...] = wiring.FUNCTIONS,
    ) -> None:
        super().__init__(scope, construct_id)
        self._table = table
        self._environment = {**BASE_ENVIRONMENT, "TABLE_NAME": table.table_name, **(environment or {})}
        self._layers = [
            self._layer("CoreLayer", CORE_LAYER_DIR, "invoicing: the shared domain and adapters package"),
            self._layer("DepsLayer", deps_layer_dir(), "invoicing: third-party libraries (pip, aarch64)"),
        ]
        self.by_name: dict[str, lambda_.Function] = {fn.name: self._function(fn) for fn in functions}

    def _layer(self, construct_id: str, path: Path, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            code=lambda_.Code.from_asset(str(path), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
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
            layers=self._layers,
            environment={**self._environment, **fn.environment},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
        )
        # CDK adds DependsOn on the role that the Role GetAtt already implies:
        # harmless, but cfn-lint W3005 reports the redundancy.
        function.node.default_child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        self._grant_table_access(fn, role)
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

    def _suppress_findings(self, fn: wiring.Function, function: lambda_.Function, role: iam.Role) -> None:
        NagSuppressions.add_resource_suppressions(
            function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="Python 3.12 is pinned on purpose: the deps layer is built for it "
                    "(pip --python-version 3.12 --platform manylinux2014_aarch64); move both together.",
                ),
            ],
        )
        wildcards = [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords "
                "support no resource-level permissions, so their resource is '*'.",
                applies_to=["Resource::*"],
            )
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
        NagSuppressions.add_resource_suppressions(role, wildcards, apply_to_children=True)
