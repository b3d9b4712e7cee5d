"""What the synthesized stack must guarantee, checked against `infra.wiring`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cfnlint.api import ManualArgs, lint
from constructs import IConstruct

from infra import wiring
from infra.constructs import functions as functions_module
from infra.constructs.functions import REPO_ROOT, Functions
from infra.stack import InvoicingStack

pytestmark = pytest.mark.infra

CORS_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match")
DYNAMODB_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
DYNAMODB_READS = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
S3_OBJECT_ACTIONS = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
S3_ALLOWED = S3_OBJECT_ACTIONS | {"s3:ListBucket"}


# --- reading the template --------------------------------------------------


def resources(cfn: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in cfn["Resources"].items() if value["Type"] == resource_type}


def logical_id(construct: IConstruct) -> str:
    return Stack.of(construct).get_logical_id(construct.node.default_child)


def asset_folder(resource: dict[str, Any]) -> Path:
    return Path(resource["Metadata"]["aws:asset:path"]).resolve()


def resource_paths(cfn: dict[str, Any]) -> dict[str, str]:
    """Logical id of each AWS::ApiGateway::Resource -> its full path, e.g. /invoices/{invoice_id}."""
    parts = {
        key: (value["Properties"]["ParentId"], value["Properties"]["PathPart"])
        for key, value in resources(cfn, "AWS::ApiGateway::Resource").items()
    }

    def path_of(key: str) -> str:
        parent, part = parts[key]
        prefix = path_of(parent["Ref"]) if "Ref" in parent else ""  # else: GetAtt RootResourceId
        return f"{prefix}/{part}"

    return {key: path_of(key) for key in parts}


def methods(cfn: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, resource path) -> the AWS::ApiGateway::Method's properties."""
    paths = resource_paths(cfn)
    found = {}
    for method in resources(cfn, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        found[(props["HttpMethod"], path)] = props
    return found


def statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every policy statement anywhere in the template (IAM, key, topic policies...)."""
    if isinstance(node, dict):
        if isinstance(node.get("Statement"), list):
            yield from node["Statement"]
        for value in node.values():
            yield from statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from statements(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(cfn: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    found = []
    for policy in resources(cfn, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    # Inline and managed policies would escape the walk above.
    role = cfn["Resources"][role_id]["Properties"]
    assert not role.get("Policies"), f"{role_id} has inline policies"
    assert not role.get("ManagedPolicyArns"), f"{role_id} has managed policies"
    return found


def role_actions(cfn: dict[str, Any], role_id: str) -> set[str]:
    return {action for statement in role_statements(cfn, role_id) for action in as_list(statement["Action"])}


def function_role_id(stack: InvoicingStack, cfn: dict[str, Any], fn: wiring.Function) -> str:
    return cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]["Properties"]["Role"]["Fn::GetAtt"][0]


def bucket_policy_statements(cfn: dict[str, Any], bucket_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(cfn, "AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def object_arn(bucket_id: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/*"]]}


def route_id(route: wiring.Route) -> str:
    return f"{route.method} {route.path}"


# --- API and auth --------------------------------------------------------


@pytest.mark.parametrize("route", wiring.ROUTES, ids=route_id)
def test_each_wiring_route_is_a_proxy_method_to_its_function_with_the_right_auth(
    route: wiring.Route, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    method = methods(cfn).get((route.method, route.path))
    assert method is not None, f"no API Gateway method for {route_id(route)}"

    function_id = logical_id(stack.functions.by_name[route.function])
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert {"Fn::GetAtt": [function_id, "Arn"]} in method["Integration"]["Uri"]["Fn::Join"][1]
    if route.public:
        assert method["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in method
    else:
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert method["AuthorizerId"] == {"Ref": logical_id(stack.api.node.find_child("Authorizer"))}


def test_the_authorizer_trusts_only_the_stacks_user_pool(stack: InvoicingStack, template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "COGNITO_USER_POOLS",
            "IdentitySource": "method.request.header.Authorization",
            "ProviderARNs": [{"Fn::GetAtt": [logical_id(stack.api.user_pool), "Arn"]}],
        },
    )


def test_the_api_is_regional_and_its_v1_stage_is_traced_logged_and_throttled(template: Template) -> None:
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}})
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "v1",
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.any_value()},
            "MethodSettings": [
                Match.object_like(
                    {
                        "DataTraceEnabled": False,
                        "ThrottlingRateLimit": Match.any_value(),
                        "ThrottlingBurstLimit": Match.any_value(),
                    }
                )
            ],
        },
    )


def test_tenant_id_is_an_immutable_attribute_only_admins_can_set(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "Schema": Match.array_with(
                [Match.object_like({"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False})]
            ),
        },
    )


def test_the_app_client_reads_but_cannot_write_the_tenant(cfn: dict[str, Any]) -> None:
    clients = resources(cfn, "AWS::Cognito::UserPoolClient").values()
    assert clients
    for client in clients:
        assert "custom:tenant_id" in client["Properties"]["ReadAttributes"]
        assert "custom:tenant_id" not in client["Properties"].get("WriteAttributes", [])


@pytest.mark.parametrize("path", sorted({route.path for route in wiring.ROUTES}))
def test_each_route_path_answers_the_cors_preflight_with_the_frontend_headers(path: str, cfn: dict[str, Any]) -> None:
    preflight = methods(cfn).get(("OPTIONS", path))
    assert preflight is not None, f"no CORS preflight on {path}"
    headers = preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    allowed = headers["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")
    assert set(CORS_HEADERS) <= set(allowed)
    assert "method.response.header.Access-Control-Allow-Origin" in headers


EXPOSED = "'Location,Idempotent-Replayed,Retry-After'"


@pytest.mark.parametrize("response_type", ["DEFAULT_4XX", "DEFAULT_5XX"])
def test_gateway_errors_carry_cors_headers(response_type: str, template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": response_type,
            "ResponseParameters": Match.object_like(
                {
                    "gatewayresponse.header.Access-Control-Allow-Origin": Match.any_value(),
                    # a throttled browser call can read when to retry
                    "gatewayresponse.header.Access-Control-Expose-Headers": EXPOSED,
                }
            ),
        },
    )


def test_the_frontend_finds_the_api_url_user_pool_and_client_in_the_outputs(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    assert {"ApiUrl", "UserPoolId", "UserPoolClientId"} <= outputs.keys()


# --- functions -----------------------------------------------------------


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_each_wiring_function_runs_its_code_on_python312_arm64_with_its_declared_layers(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    function = cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]
    props = function["Properties"]
    assert asset_folder(function) == (REPO_ROOT / fn.code_dir).resolve()
    assert props["Handler"] == fn.handler
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == fn.memory_mb
    assert props["Timeout"] == fn.timeout_s
    assert props["TracingConfig"] == {"Mode": "Active"}

    layer_folders = [asset_folder(cfn["Resources"][layer["Ref"]]) for layer in props["Layers"]]
    assert layer_folders == [(REPO_ROOT / wiring.LAYERS[name]).resolve() for name in fn.layers]

    environment = props["Environment"]["Variables"]
    assert environment["TABLE_NAME"] == {"Ref": logical_id(stack.storage.table)}
    assert environment["POWERTOOLS_SERVICE_NAME"] == "invoicing"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "Invoicing"
    assert environment["LOG_LEVEL"] == "INFO"
    assert "PUBLIC_BASE_URL" in environment
    assert fn.environment.items() <= environment.items()

    log_group = cfn["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] > 0


def test_one_layer_version_per_layer_some_function_uses(cfn: dict[str, Any]) -> None:
    used = {name for fn in wiring.FUNCTIONS for name in fn.layers}
    folders = sorted(str(asset_folder(layer)) for layer in resources(cfn, "AWS::Lambda::LayerVersion").values())
    assert folders == sorted(str((REPO_ROOT / wiring.LAYERS[name]).resolve()) for name in used)


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_functions_with_bucket_access_know_the_documents_bucket(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    environment = cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]["Properties"]["Environment"]
    if fn.bucket_access == "read_write":
        bucket_name = {"Ref": logical_id(stack.storage.documents_bucket)}
        assert environment["Variables"].get(wiring.DOCUMENTS_BUCKET_ENV) == bucket_name
    else:
        assert wiring.DOCUMENTS_BUCKET_ENV not in environment["Variables"]


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_each_function_gets_exactly_its_declared_bucket_access(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    bucket_id = logical_id(stack.storage.documents_bucket)
    s3_statements = [
        statement
        for statement in role_statements(cfn, function_role_id(stack, cfn, fn))
        if any(action.startswith("s3:") for action in as_list(statement["Action"]))
    ]
    actions = {action for statement in s3_statements for action in as_list(statement["Action"])}
    if fn.bucket_access == "none":
        assert actions == set()
        return
    assert actions <= S3_ALLOWED
    assert {"s3:GetObject", "s3:PutObject"} <= actions  # what rendering and pre-signing need
    # Object actions on this bucket's objects, ListBucket on this bucket itself: nowhere else.
    bucket_arn = {"Fn::GetAtt": [bucket_id, "Arn"]}
    for statement in s3_statements:
        assert statement["Effect"] == "Allow"
        if set(as_list(statement["Action"])) == {"s3:ListBucket"}:
            assert as_list(statement["Resource"]) == [bucket_arn]
        else:
            assert set(as_list(statement["Action"])) <= S3_OBJECT_ACTIONS
            assert as_list(statement["Resource"]) == [object_arn(bucket_id)]


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_each_function_gets_exactly_its_declared_table_access(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    actions = role_actions(cfn, function_role_id(stack, cfn, fn))
    if fn.table_access == "none":
        assert not {action for action in actions if action.startswith("dynamodb:")}
    elif fn.table_access == "read":
        assert actions >= DYNAMODB_READS
        assert not DYNAMODB_WRITES & actions
    else:
        assert actions >= DYNAMODB_READS | DYNAMODB_WRITES
    # no request path scans the table, so no role may
    assert "dynamodb:Scan" not in actions


def test_no_policy_statement_allows_a_wildcard_action(cfn: dict[str, Any]) -> None:
    found = list(statements(cfn))
    assert found, "the walk found no policy statement: the test would prove nothing"
    for statement in found:
        assert "NotAction" not in statement, f"NotAction in {statement}"
        if statement.get("Effect") == "Deny":
            continue  # a wildcard in a Deny (the buckets' TLS-only s3:*) only widens the denial
        for action in as_list(statement.get("Action", [])):
            assert action != "*", f"wildcard action in {statement}"
            assert not action.endswith(":*"), f"service-wide action {action!r} in {statement}"
            assert "*" not in action, f"action pattern {action!r}: spell the actions out"


# --- table ----------------------------------------------------------------


def test_the_table_is_encrypted_recoverable_retained_and_expires_items(template: Template) -> None:
    spec = wiring.TABLE
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": spec.partition_key, "KeyType": "HASH"},
                        {"AttributeName": spec.sort_key, "KeyType": "RANGE"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "SSESpecification": {"SSEEnabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "TimeToLiveSpecification": {"AttributeName": spec.ttl_attribute, "Enabled": True},
                    "DeletionProtectionEnabled": True,
                }
            ),
        },
    )


@pytest.mark.parametrize("index", wiring.TABLE.indexes, ids=lambda index: index.name)
def test_each_wiring_index_is_a_gsi_projecting_all_on_string_keys(index: wiring.Index, template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "GlobalSecondaryIndexes": Match.array_with(
                [
                    {
                        "IndexName": index.name,
                        "KeySchema": [
                            {"AttributeName": index.partition_key, "KeyType": "HASH"},
                            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ]
            ),
            "AttributeDefinitions": Match.array_with(
                [
                    {"AttributeName": index.partition_key, "AttributeType": "S"},
                    {"AttributeName": index.sort_key, "AttributeType": "S"},
                ]
            ),
        },
    )


# --- documents bucket ------------------------------------------------------


def test_the_documents_bucket_is_private_encrypted_versioned_and_retained(
    stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    bucket = cfn["Resources"][logical_id(stack.storage.documents_bucket)]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs


def test_only_the_frontend_may_post_uploads_to_the_documents_bucket(stack: InvoicingStack, cfn: dict[str, Any]) -> None:
    from infra.stack import DEFAULT_FRONTEND_ORIGINS

    [rule] = cfn["Resources"][logical_id(stack.storage.documents_bucket)]["Properties"]["CorsConfiguration"][
        "CorsRules"
    ]
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST"]
    assert rule["AllowedOrigins"] == DEFAULT_FRONTEND_ORIGINS.split(",")


def test_the_documents_bucket_aborts_stale_multipart_uploads_and_expires_only_uploads_renders_and_deleted_files(
    stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    rules = cfn["Resources"][logical_id(stack.storage.documents_bucket)]["Properties"]["LifecycleConfiguration"][
        "Rules"
    ]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    assert any(rule.get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 1} for rule in rules)
    pending = [rule for rule in rules if rule.get("Prefix") == "pending/"]
    assert [rule.get("ExpirationInDays") for rule in pending] == [1]
    [renders] = [rule for rule in rules if rule.get("Prefix") == "renders/"]
    assert renders["ExpirationInDays"] == 1
    assert renders["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    [deleted] = [rule for rule in rules if rule.get("Prefix") == "attachments/"]
    assert deleted["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert "ExpirationInDays" not in deleted  # a listed attachment never expires
    # Invoices are kept ten years: nothing else ever expires or moves to
    # another storage class, and no version is deleted there.
    for rule in rules:
        if rule.get("Prefix") not in ("pending/", "renders/", "attachments/"):
            assert "Prefix" not in rule, f"unexpected prefix in {rule}"
            assert "Filter" not in rule, f"unexpected filter in {rule}"
            assert (
                not {
                    "ExpirationInDays",
                    "ExpirationDate",
                    "NoncurrentVersionExpiration",
                    "Transitions",
                    "NoncurrentVersionTransitions",
                }
                & rule.keys()
            ), f"rule {rule['Id']} ages invoices"


def test_no_tenant_can_be_named_after_a_prefix_the_bucket_expires(cfn: dict[str, Any]) -> None:
    """A tenant's documents live under its name: a tenant named like a
    folder the lifecycle rules expire would lose its invoices."""
    from invoicing.domain.tenants import is_tenant_name

    prefixes = {
        rule["Prefix"].rstrip("/")
        for resource in cfn["Resources"].values()
        if resource["Type"] == "AWS::S3::Bucket"
        for rule in resource["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        if "Prefix" in rule
    }
    assert {"pending", "renders", "attachments"} <= prefixes
    assert [prefix for prefix in prefixes if is_tenant_name(prefix)] == []


@pytest.mark.parametrize("bucket_name", ["documents_bucket", "access_logs_bucket"])
def test_each_bucket_refuses_plain_http(bucket_name: str, stack: InvoicingStack, cfn: dict[str, Any]) -> None:
    bucket_id = logical_id(getattr(stack.storage, bucket_name))
    denials = [
        statement
        for statement in bucket_policy_statements(cfn, bucket_id)
        if statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denials) == 1
    [deny] = denials
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Action"] == "s3:*"
    assert {"Fn::GetAtt": [bucket_id, "Arn"]} in deny["Resource"]
    assert object_arn(bucket_id) in deny["Resource"]


def test_the_documents_bucket_logs_its_accesses_to_an_encrypted_retained_private_log_bucket(
    stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    logs_id = logical_id(stack.storage.access_logs_bucket)
    logging = cfn["Resources"][logical_id(stack.storage.documents_bucket)]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": logs_id}

    log_bucket = cfn["Resources"][logs_id]
    assert log_bucket["DeletionPolicy"] == "Retain"
    props = log_bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    # Server access logging delivers only to SSE-S3 buckets.
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # Delivery through the bucket policy (ACLs stay disabled), from the documents bucket only.
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    [delivery] = [
        statement
        for statement in bucket_policy_statements(cfn, logs_id)
        if statement["Effect"] == "Allow" and statement.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    ]
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::GetAtt": [logical_id(stack.storage.documents_bucket), "Arn"]
    }


# --- construct guards -------------------------------------------------------


def build_functions(functions: tuple[wiring.Function, ...], *, with_bucket: bool = True) -> Functions:
    stack = Stack(App(), "Guard")
    table = dynamodb.Table(
        stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    bucket = s3.Bucket(stack, "Bucket") if with_bucket else None
    return Functions(stack, "Functions", table=table, bucket=bucket, functions=functions)


def test_an_unknown_bucket_access_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown bucket_access 'write'"):
        build_functions((wiring.Function("api", "x", bucket_access="write"),))


def test_bucket_access_without_a_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="no bucket"):
        build_functions((wiring.Function("api", "x", bucket_access="read_write"),), with_bucket=False)


def test_an_unknown_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown layer 'fonts'"):
        build_functions((wiring.Function("api", "x", layers=("core", "fonts")),))


def test_a_missing_built_layer_asks_for_make_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(functions_module, "BUILD_DIR", tmp_path)
    monkeypatch.setitem(functions_module.LAYER_DIRS, "pdf", tmp_path / "layers" / "pdf")
    with pytest.raises(FileNotFoundError, match="run `make build` first"):
        build_functions((wiring.Function("api", "x", layers=("core", "pdf")),))


# --- the bus -------------------------------------------------------------------


@pytest.mark.parametrize("rule", wiring.EVENT_RULES, ids=lambda rule: rule.name)
def test_each_wiring_rule_sends_its_detail_types_on_the_bus_to_its_function(
    rule: wiring.EventRule, stack: InvoicingStack, template: Template
) -> None:
    function_id = logical_id(stack.functions.by_name[rule.function])
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": {"Ref": logical_id(stack.bus.bus)},
            "EventPattern": {"source": [wiring.EVENT_SOURCE], "detail-type": list(rule.detail_types)},
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
                        "RetryPolicy": {
                            "MaximumRetryAttempts": rule.retry_attempts,
                            "MaximumEventAgeInSeconds": rule.max_event_age_s,
                        },
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                    }
                )
            ],
        },
    )


@pytest.mark.parametrize("rule", wiring.EVENT_RULES, ids=lambda rule: rule.name)
def test_a_target_that_keeps_failing_leaves_the_event_in_an_alarmed_encrypted_queue(
    rule: wiring.EventRule, stack: InvoicingStack, template: Template
) -> None:
    queue_id = logical_id(stack.bus.dead_letter_queues[rule.function])
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": logical_id(stack.functions.by_name[rule.function])},
            "MaximumRetryAttempts": rule.retry_attempts,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )
    template.has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        alarm_on("ApproximateNumberOfMessagesVisible", {"Name": "QueueName", "Value": Match.any_value()}),
    )


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_no_function_puts_events_on_the_bus_nor_knows_it(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    """The pipe alone puts events on the bus, from the table's changes (SPEC §16)."""
    actions = role_actions(cfn, function_role_id(stack, cfn, fn))
    variables = cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]["Properties"]["Environment"]["Variables"]
    assert "events:PutEvents" not in actions
    assert "EVENT_BUS_NAME" not in variables


def test_the_pipe_reads_the_table_stream_filters_enriches_and_puts_on_the_bus(
    stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    (pipe,) = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Pipes::Pipe"]
    table = cfn["Resources"][logical_id(stack.storage.table)]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert pipe["Source"] == {"Fn::GetAtt": [logical_id(stack.storage.table), "StreamArn"]}
    source = pipe["SourceParameters"]
    assert json.loads(source["FilterCriteria"]["Filters"][0]["Pattern"]) == wiring.PIPE.filter_pattern()
    stream = source["DynamoDBStreamParameters"]
    assert stream["MaximumRecordAgeInSeconds"] == wiring.PIPE.max_record_age_s
    assert stream["OnPartialBatchItemFailure"] == "AUTOMATIC_BISECT"
    dead_letters = logical_id(stack.bus.dead_letter_queues["pipe"])
    assert stream["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead_letters, "Arn"]}}
    enrichment = logical_id(stack.functions.by_name[wiring.PIPE.enrichment])
    assert pipe["Enrichment"] == {"Fn::GetAtt": [enrichment, "Arn"]}
    assert pipe["Target"] == {"Fn::GetAtt": [logical_id(stack.bus.bus), "Arn"]}
    target = pipe["TargetParameters"]
    assert target["InputTemplate"] == "<$.detail>"
    assert target["EventBridgeEventBusParameters"] == {"DetailType": "$.detail_type", "Source": wiring.EVENT_SOURCE}
    role = pipe["RoleArn"]["Fn::GetAtt"][0]
    actions = role_actions(cfn, role)
    assert {"events:PutEvents", "lambda:InvokeFunction", "dynamodb:GetRecords", "sqs:SendMessage"} <= set(actions)
    alarms = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert any(alarm.get("MetricName") == "ExecutionFailed" for alarm in alarms)


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_only_the_sender_may_send_email_from_the_accounts_identities_and_sms(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    statements = role_statements(cfn, function_role_id(stack, cfn, fn))
    ses = [st for st in statements if any(action.startswith("ses:") for action in as_list(st["Action"]))]
    sns = [st for st in statements if "sns:Publish" in as_list(st["Action"])]
    if not fn.sends_messages:
        assert (ses, sns) == ([], [])
        return
    (ses_statement,) = ses
    # sending, and the sender-address routes' verification of a business's address
    assert sorted(as_list(ses_statement["Action"])) == [
        "ses:CreateEmailIdentity", "ses:DeleteEmailIdentity", "ses:GetEmailIdentity", "ses:SendEmail",
        "ses:SendRawEmail",
    ]  # fmt: skip
    assert ":identity/*" in json.dumps(ses_statement["Resource"])
    (sns_statement,) = sns  # merged by CDK with X-Ray's, the other actions on '*'
    assert set(as_list(sns_statement["Action"])) == {
        "sns:Publish", "xray:PutTraceSegments", "xray:PutTelemetryRecords"
    }  # fmt: skip
    variables = cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]["Properties"]["Environment"]["Variables"]
    assert variables["DEFAULT_SENDER"]


# --- monitoring -------------------------------------------------------------


def alarm_on(metric_name: str, dimension: dict[str, Any]) -> dict[str, Any]:
    return {
        "MetricName": metric_name,
        "Dimensions": Match.array_with([dimension]),
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmActions": [{"Ref": Match.string_like_regexp("AlarmTopic")}],
    }


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
@pytest.mark.parametrize("metric_name", ["Errors", "Throttles"])
def test_each_function_alarms_on_its_first_error_and_throttle(
    fn: wiring.Function, metric_name: str, stack: InvoicingStack, template: Template
) -> None:
    dimension = {"Name": "FunctionName", "Value": {"Ref": logical_id(stack.functions.by_name[fn.name])}}
    template.has_resource_properties("AWS::CloudWatch::Alarm", alarm_on(metric_name, dimension))


def test_the_api_alarms_on_5xx(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm", alarm_on("5XXError", {"Name": "ApiName", "Value": Match.any_value()})
    )


def test_the_alarm_topic_is_encrypted_and_refuses_plain_http(template: Template) -> None:
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                ),
                "Version": Match.any_value(),
            }
        },
    )


# --- cdk-nag and cfn-lint ------------------------------------------------


@pytest.mark.parametrize("level", ["error", "warning"])
def test_cdk_nag_aws_solutions_reports_nothing_unsuppressed(level: str, annotations: Annotations) -> None:
    find = annotations.find_error if level == "error" else annotations.find_warning
    findings = find("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert findings == [], "\n".join(f"{f.id}: {f.entry.data}" for f in findings)


def test_every_nag_suppression_says_why(cfn: dict[str, Any]) -> None:
    suppressions = [
        rule
        for resource in cfn["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    suppressions += cfn.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    assert suppressions, "no suppression found: the test would prove nothing"
    for rule in suppressions:
        assert len(rule.get("reason", "").strip()) >= 20, f"{rule['id']} needs a real reason: {rule}"


def test_cfn_lint_finds_no_error_or_warning(cfn: dict[str, Any]) -> None:
    # Lints in the regions we deploy to. Informational findings are fine;
    # warnings are not ignored here: the one known (W3005 on CDK's redundant
    # DependsOn) is silenced on the resources themselves, with the reason.
    matches = lint(json.dumps(cfn), config=ManualArgs(regions=["eu-west-3", "us-east-1"]))
    problems = [match for match in matches if match.rule.id[0] in "EW"]
    assert problems == [], "\n".join(str(match) for match in problems)


@pytest.mark.parametrize("schedule", wiring.SCHEDULES, ids=lambda schedule: schedule.name)
def test_each_schedule_fires_its_function_daily_with_its_input_and_the_events_time(
    schedule: wiring.Schedule, stack: InvoicingStack, template: Template
) -> None:
    function_id = logical_id(stack.functions.by_name[schedule.function])
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": f"cron({schedule.cron})",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [function_id, "Arn"]},
                        "InputTransformer": {
                            "InputPathsMap": {"time": "$.time"},
                            "InputTemplate": Match.string_like_regexp(f'"sweep":"{schedule.input["sweep"]}"'),
                        },
                    }
                )
            ],
        },
    )


def test_a_schedule_moves_with_the_context() -> None:
    app = App(context={"late-fees_cron": "30 3 * * ? *"})
    moved = Template.from_stack(InvoicingStack(app, "Moved"))
    moved.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "cron(30 3 * * ? *)"})


@pytest.mark.parametrize("work", wiring.QUEUES, ids=lambda work: work.name)
def test_each_work_queue_feeds_its_function_reporting_failures_one_by_one_into_an_alarmed_dead_letter_queue(
    work: wiring.WorkQueue, stack: InvoicingStack, template: Template, cfn: dict[str, Any]
) -> None:
    queue_id = logical_id(stack.schedules.queues[work.name])
    dead_id = logical_id(stack.schedules.dead_letter_queues[work.name])
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
            "FunctionName": {"Ref": logical_id(stack.functions.by_name[work.function])},
            "BatchSize": work.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            **({"ScalingConfig": {"MaximumConcurrency": work.max_concurrency}} if work.max_concurrency else {}),
        },
    )
    queue = cfn["Resources"][queue_id]["Properties"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dead_id, "Arn"]},
                                      "maxReceiveCount": work.max_receives}  # fmt: skip
    assert queue["VisibilityTimeout"] == work.visibility_timeout_s
    assert queue["SqsManagedSseEnabled"] is True
    for fn in wiring.FUNCTIONS:
        variables = cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]["Properties"]["Environment"]
        sends = {
            resource["Fn::GetAtt"][0]
            for statement in role_statements(cfn, function_role_id(stack, cfn, fn))
            if "sqs:SendMessage" in as_list(statement["Action"])
            for resource in as_list(statement["Resource"])
            if isinstance(resource, dict) and "Fn::GetAtt" in resource
        }
        # the consumer and the producers find the queue and may send to it; no other function
        assert (work.url_env in variables["Variables"]) is (fn.name in (work.function, *work.producers)), fn.name
        assert (queue_id in sends) is (fn.name in (work.function, *work.producers)), fn.name
        assert (dead_id in sends) is (fn.name == work.function and work.dead_letters_env is not None), fn.name
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        alarm_on(
            "ApproximateNumberOfMessagesVisible", {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_id, "QueueName"]}}
        ),
    )


def test_the_documents_function_has_concurrency_of_its_own_and_time_for_the_largest_pdf(
    stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    """Renders (queued, or on the bus) never take the concurrency payments
    and the other functions need, and never starve for it: reserved, both
    ways; the queue's renders take a share of it, the rest serves previews
    and PDF links."""
    for fn in wiring.FUNCTIONS:
        properties = cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]["Properties"]
        assert properties.get("ReservedConcurrentExecutions") == fn.reserved_concurrency, fn.name
    assert wiring.DOCUMENTS.reserved_concurrency == 20
    renders = next(work for work in wiring.QUEUES if work.name == "renders")
    assert renders.function == "documents"
    assert renders.max_concurrency is not None
    assert renders.max_concurrency < wiring.DOCUMENTS.reserved_concurrency
    assert renders.visibility_timeout_s >= 6 * wiring.DOCUMENTS.timeout_s  # as AWS advises for a queue's consumer
