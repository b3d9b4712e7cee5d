"""What the synthesized stack must guarantee, checked against `infra.wiring`."""

from __future__ import annotations

import json
import re
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

from infra import app as infra_app
from infra import wiring
from infra.constructs import firewall
from infra.constructs import functions as functions_module
from infra.constructs.functions import REPO_ROOT, Functions
from infra.stack import STRIPE_SECRET_SHAPE, ContextError, DeployContext, InvoicingStack
from tests.infra.conftest import DEPLOY_CONTEXT

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


# --- what a role may do: IAM's evaluation, on the template's statements ----------

ACCOUNT, REGION = "111122223333", "eu-west-3"
BUCKET = "invoicing-documents"


def rendered(value: Any, cfn: dict[str, Any]) -> str:
    """A statement's resource as IAM sees it, in a made-up account: the
    documents bucket is arn:aws:s3:::invoicing-documents."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(rendered(part, cfn) for part in parts)
    if "Ref" in value:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        return pseudo.get(value["Ref"], value["Ref"])
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        if cfn["Resources"][logical]["Type"] == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{BUCKET}" if "Documents" in logical else f"arn:aws:s3:::{logical}"
        return f"arn:aws:{logical}:{attribute}"
    raise AssertionError(f"cannot render {value}")


def _matches(pattern: str, value: str) -> bool:
    """IAM's wildcards: * any characters (slashes too), ? one character."""
    return re.fullmatch(".*".join(map(_one_char, pattern.split("*"))), value, re.DOTALL) is not None


def _one_char(part: str) -> str:
    return ".".join(map(re.escape, part.split("?")))


def _conditions_hold(conditions: dict[str, Any], request: dict[str, Any]) -> bool:
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            if key not in request:
                return False
            given = request[key]
            if operator == "StringEquals" and given not in as_list(expected):
                return False
            if operator == "NumericLessThanEquals" and not float(given) <= float(expected):
                return False
            if operator not in ("StringEquals", "NumericLessThanEquals"):
                raise AssertionError(f"the test does not evaluate {operator}")
    return True


def allows(statements: list[dict[str, Any]], cfn: dict[str, Any], action: str, resource: str, **request: Any) -> bool:
    """Whether these statements let a principal make this call: an explicit
    Deny wins, else any Allow whose action, resource and conditions match."""

    def applies(statement: dict[str, Any]) -> bool:
        return (
            any(_matches(pattern, action) for pattern in as_list(statement["Action"]))
            and any(_matches(rendered(item, cfn), resource) for item in as_list(statement["Resource"]))
            and _conditions_hold(statement.get("Condition", {}), request)
        )

    if any(statement["Effect"] == "Deny" and applies(statement) for statement in statements):
        return False
    return any(statement["Effect"] == "Allow" and applies(statement) for statement in statements)


def can(
    stack: InvoicingStack, cfn: dict[str, Any], fn: wiring.Function, action: str, resource: str, **request: Any
) -> bool:
    return allows(role_statements(cfn, function_role_id(stack, cfn, fn)), cfn, action, resource, **request)


def document(key: str) -> str:
    return f"arn:aws:s3:::{BUCKET}/{key}"


def ses_identity(name: str) -> str:
    return f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{name}"


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
    assert {"StripeSecretName", "TableName"} <= outputs.keys()  # what the operator writes to, runs commands on
    assert "EventBusName" in outputs  # a platform's own rules may listen to the invoicing bus


def test_no_deployed_function_may_call_webhooks_on_loopback(cfn: dict[str, Any]) -> None:
    """SPEC §13: the local runtime alone allows loopback endpoints."""
    from invoicing.settings import WEBHOOKS_LOOPBACK_ENV

    for resource in cfn["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            assert WEBHOOKS_LOOPBACK_ENV not in resource["Properties"].get("Environment", {}).get("Variables", {})


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
    """Get and put on this bucket's objects, list it; delete and read pinned
    versions under the declared prefixes only; lock issued documents (never a
    draft's) if it writes them. Nothing else, nowhere else."""
    bucket = f"arn:aws:s3:::{BUCKET}"
    found = sorted(
        (
            statement["Effect"],
            tuple(sorted(as_list(statement["Action"]))),
            tuple(sorted(rendered(item, cfn) for item in as_list(statement["Resource"]))),
            json.dumps(statement.get("Condition"), sort_keys=True),
        )
        for statement in role_statements(cfn, function_role_id(stack, cfn, fn))
        if any(action.startswith("s3:") for action in as_list(statement["Action"]))
    )
    if fn.bucket_access == "none":
        assert found == []
        return
    expected = [
        ("Allow", ("s3:GetObject", "s3:PutObject"), (f"{bucket}/*",), "null"),  # rendering and pre-signing
        ("Allow", ("s3:ListBucket",), (bucket,), "null"),  # a missing key answers 404, not 403
    ]
    for action, prefixes in (("s3:DeleteObject", fn.deletes_under), ("s3:GetObjectVersion", fn.reads_versions_under)):
        if prefixes:
            expected.append(("Allow", (action,), tuple(sorted(f"{bucket}/{p}*" for p in prefixes)), "null"))
    if fn.retains_issued_documents:
        condition = {
            "NumericLessThanEquals": {"s3:object-lock-remaining-retention-days": functions_module.MAX_RETENTION_DAYS},
            "StringEquals": {"s3:object-lock-mode": "GOVERNANCE"},
        }
        issued = tuple(sorted(f"{bucket}/{key}" for key in functions_module.ISSUED_DOCUMENT_KEYS))
        expected.append(("Allow", ("s3:PutObjectRetention",), issued, json.dumps(condition, sort_keys=True)))
        expected.append(("Deny", ("s3:PutObjectRetention",), (f"{bucket}/*-draft-*",), "null"))
    assert found == sorted(expected)


# Keys of every kind the bucket holds (logic/documents.py, attachments.py, logo.py).
KEYS = {
    "issued invoice": "acme/invoices/inv_1/v2.pdf",
    "credit note": "acme/credit-notes/cn_1.pdf",
    "draft preview": "acme/invoices/inv_1/v1-draft-b3-c1.pdf",
    "render state": "renders/acme/invoices/inv_1/v2.json",
    "attachment": "attachments/acme/invoices/inv_1/att_1",
    "pending upload": "pending/acme/invoices/inv_1/attachments/att_1",
    "logo": "logos/acme/logo_1",
    "export part": "exports/acme/exp_1/parts/00000-run_1",
}


@pytest.mark.parametrize("fn", [fn for fn in wiring.FUNCTIONS if fn.bucket_access != "none"], ids=lambda fn: fn.name)
def test_no_function_can_delete_an_issued_document_nor_any_key_outside_its_folders(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    """Given any key of any tenant, when a function's role deletes it (a
    delete marker) or reads a pinned version, then IAM allows it only under
    the folders the wiring declares; pay and documents delete render states
    only, and no role can delete an issued invoice or credit note."""
    for kind, key in KEYS.items():
        deletable = key.startswith(fn.deletes_under) if fn.deletes_under else False
        assert can(stack, cfn, fn, "s3:DeleteObject", document(key)) is deletable, (fn.name, kind)
        versioned = key.startswith(fn.reads_versions_under) if fn.reads_versions_under else False
        assert can(stack, cfn, fn, "s3:GetObjectVersion", document(key)) is versioned, (fn.name, kind)
        assert not can(stack, cfn, fn, "s3:DeleteObjectVersion", document(key))
        assert not can(stack, cfn, fn, "s3:BypassGovernanceRetention", document(key))
    if fn.name in ("pay", "documents"):
        assert fn.deletes_under == ("renders/",)


def test_the_code_deletes_and_reads_versions_only_under_the_declared_folders() -> None:
    """The declared folders are those of the keys the code deletes or reads
    by version: render states (documents and pay), uploads and attachments."""
    from invoicing.logic import attachments, documents, logo

    assert documents._state_key(documents.pdf_key("acme", "inv_1", 2)).startswith(wiring.DOCUMENTS.deletes_under)
    assert wiring.PAY.deletes_under == wiring.DOCUMENTS.deletes_under
    from invoicing.logic import exports

    export = {"id": "exp_1"}
    assert exports._part_key("acme", export, 0, "run_1").startswith(wiring.REPORTS.deletes_under)
    for key in (
        attachments.pending_key("acme", "inv_1", "att_1"),
        attachments.stored_key("acme", "inv_1", "att_1"),
        logo.pending_key("acme", "logo_1"),
    ):
        assert key.startswith(wiring.ATTACHMENTS.deletes_under), key
    for key in (attachments.pending_key("acme", "inv_1", "att_1"), logo.pending_key("acme", "logo_1")):
        assert key.startswith(wiring.ATTACHMENTS.reads_versions_under), key


@pytest.mark.parametrize("fn", wiring.FUNCTIONS, ids=lambda fn: fn.name)
def test_each_function_gets_exactly_its_declared_table_access(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    actions = role_actions(cfn, function_role_id(stack, cfn, fn))
    if fn.table_access == "none":
        assert not {action for action in actions if action.startswith("dynamodb:")}
    elif fn.table_access == "read":
        assert actions >= DYNAMODB_READS
        if fn.marks_viewed:  # one write: the hosted page's opening, beside the document, nothing else
            (statement,) = [s for s in role_statements(cfn, function_role_id(stack, cfn, fn))
                            if "dynamodb:UpdateItem" in as_list(s["Action"])]  # fmt: skip
            assert as_list(statement["Action"]) == ["dynamodb:UpdateItem"]
            assert statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"] == [
                "pk", "sk", "version", "viewed_version", "version_viewed_at", "viewed_at"
            ]  # fmt: skip
            actions = actions - {"dynamodb:UpdateItem"}
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
    [rule] = cfn["Resources"][logical_id(stack.storage.documents_bucket)]["Properties"]["CorsConfiguration"][
        "CorsRules"
    ]
    assert sorted(rule["AllowedMethods"]) == ["GET", "POST"]
    assert rule["AllowedOrigins"] == DEPLOY_CONTEXT["frontend_origins"].split(",")


def test_the_documents_bucket_aborts_stale_multipart_uploads_and_expires_only_uploads_renders_exports_and_deleted_files(
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
    [exported] = [rule for rule in rules if rule.get("Prefix") == "exports/"]
    assert exported["ExpirationInDays"] == 7  # an export's file and a statement's PDF: fetched within minutes
    from invoicing.logic import exports

    assert exports.KEPT.days == exported["ExpirationInDays"]  # GET /exports/{id} says so past it, no dead link
    (queue,) = [work for work in wiring.QUEUES if work.name == "exports"]
    assert queue.max_receives == exports.MAX_RECEIVES  # its last receive marks the export failed
    assert exported["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    # Invoices are kept ten years: nothing else ever expires or moves to
    # another storage class, and no version is deleted there.
    for rule in rules:
        if rule.get("Prefix") not in ("pending/", "renders/", "attachments/", "exports/"):
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
    assert {"pending", "renders", "attachments", "exports"} <= prefixes
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
    """The stream's events on the invoicing bus; an AWS service's (SES's) on the account's default bus."""
    function_id = logical_id(stack.functions.by_name[rule.function])
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": "default" if rule.default_bus else {"Ref": logical_id(stack.bus.bus)},
            "EventPattern": {"source": [rule.source], "detail-type": list(rule.detail_types)},
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
    # what adapters/messaging.py calls (SES v2): sending raw MIME, reading an identity, and the
    # sender-address routes' verification of a business's address (created, renewed)
    allowed = {action for st in ses if st["Effect"] == "Allow" for action in as_list(st["Action"])}
    assert allowed == {
        "ses:SendEmail", "ses:SendRawEmail", "ses:GetEmailIdentity", "ses:CreateEmailIdentity",
        "ses:DeleteEmailIdentity",
    }  # fmt: skip
    for st in ses:  # on the account's identities, and the sends on the configuration set they name too
        on_set = ":configuration-set/" in json.dumps(st["Resource"])
        assert ":identity/" in json.dumps(st["Resource"]) or on_set
        assert not on_set or set(as_list(st["Action"])) == {"ses:SendEmail", "ses:SendRawEmail"}
    (publish,) = [st for st in sns if st["Effect"] == "Allow"]  # merged by CDK with X-Ray's, the other actions on '*'
    assert set(as_list(publish["Action"])) == {"sns:Publish", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    variables = cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]["Properties"]["Environment"]["Variables"]
    assert variables[wiring.PLATFORM_SENDER_ENV] == DEPLOY_CONTEXT["platform_sender"]


def test_ses_bounces_and_complaints_reach_the_delivery_function_from_the_configuration_set(
    stack: InvoicingStack, template: Template, cfn: dict[str, Any]
) -> None:
    """SPEC §15: every e-mail names the configuration set (its sender's
    environment), whose hard bounces and complaints go to the default bus,
    where a rule hands them to the delivery function (logic.limits)."""
    (configuration_set,) = [id for id, r in cfn["Resources"].items() if r["Type"] == "AWS::SES::ConfigurationSet"]
    assert cfn["Resources"][configuration_set]["Properties"]["SuppressionOptions"] == {
        "SuppressedReasons": ["BOUNCE", "COMPLAINT"]
    }
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "ConfigurationSetName": {"Ref": configuration_set},
            "EventDestination": Match.object_like(
                {
                    "Enabled": True,
                    "MatchingEventTypes": ["bounce", "complaint"],
                    "EventBridgeDestination": {"EventBusArn": Match.any_value()},
                }
            ),
        },
    )
    destination = next(
        r for r in cfn["Resources"].values() if r["Type"] == "AWS::SES::ConfigurationSetEventDestination"
    )
    assert ":event-bus/default" in json.dumps(destination["Properties"]["EventDestination"]["EventBridgeDestination"])
    (rule,) = [rule for rule in wiring.EVENT_RULES if rule.source == "aws.ses"]
    assert (rule.function, rule.default_bus) == ("delivery", True)
    assert set(rule.detail_types) == {"Email Bounced", "Email Complaint Received"}
    for fn in wiring.FUNCTIONS:
        variables = cfn["Resources"][logical_id(stack.functions.by_name[fn.name])]["Properties"]["Environment"]
        named = variables["Variables"].get(wiring.SES_CONFIGURATION_SET_ENV)
        assert named == ({"Ref": configuration_set} if fn.sends_messages else None), fn.name


def test_the_delivery_role_sends_sms_but_publishes_to_no_topic(stack: InvoicingStack, cfn: dict[str, Any]) -> None:
    """Given the delivery role, when it publishes to a phone number (IAM sees
    no resource: "*") it may; to any topic or mobile endpoint, of this account
    or another, it may not."""
    assert can(stack, cfn, wiring.DELIVERY, "sns:Publish", "*")
    for arn in (
        f"arn:aws:sns:{REGION}:{ACCOUNT}:InvoicingAlarms",
        "arn:aws:sns:us-east-1:999988887777:someone-elses-topic",
        f"arn:aws:sns:{REGION}:{ACCOUNT}:endpoint/GCM/app/0123",
    ):
        assert not can(stack, cfn, wiring.DELIVERY, "sns:Publish", arn), arn


def test_the_delivery_role_cannot_delete_the_platforms_ses_identities(
    stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    """Given the platform's sender (its address, or its domain verified in
    SES), when the delivery role deletes or re-creates it, IAM refuses; a
    business's address it may still verify again; no domain identity, and no
    SES v1 identity call at all."""
    sender = DEPLOY_CONTEXT["platform_sender"]
    domain = sender.rpartition("@")[2]
    for identity in (sender, domain, f"other@{domain}"):
        for action in ("ses:DeleteEmailIdentity", "ses:CreateEmailIdentity"):
            assert not can(stack, cfn, wiring.DELIVERY, action, ses_identity(identity)), (action, identity)
    for action in ("ses:DeleteEmailIdentity", "ses:CreateEmailIdentity"):
        assert can(stack, cfn, wiring.DELIVERY, action, ses_identity("factures@plomberie-dupont.example"))
        assert not can(stack, cfn, wiring.DELIVERY, action, ses_identity("plomberie-dupont.example"))
    for action in ("ses:DeleteIdentity", "ses:VerifyDomainIdentity", "ses:PutEmailIdentityDkimAttributes"):
        assert not can(stack, cfn, wiring.DELIVERY, action, ses_identity(domain)), action
    # sending from the platform's address still works
    assert can(stack, cfn, wiring.DELIVERY, "ses:SendRawEmail", ses_identity(sender))


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


@pytest.fixture(scope="module")
def dev_template() -> Template:
    """The dev profile's stack, with a schedule moved: one more synthesis, for both."""
    app = App(context={"profile": "dev", "late-fees_cron": "30 3 * * ? *"})
    return Template.from_stack(InvoicingStack(app, "Dev"))


def test_a_schedule_moves_with_the_context(dev_template: Template) -> None:
    dev_template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "cron(30 3 * * ? *)"})


@pytest.mark.parametrize("schedule", wiring.SCHEDULES, ids=lambda schedule: schedule.name)
def test_a_schedule_that_cannot_run_leaves_its_event_in_an_alarmed_dead_letter_queue(
    schedule: wiring.Schedule, stack: InvoicingStack, cfn: dict[str, Any], template: Template
) -> None:
    """Given a sweep's rule, when EventBridge cannot invoke the function
    (after its retries) or the function fails the run three times, then the
    event waits in one encrypted queue, whose depth is alarmed."""
    function_id = logical_id(stack.functions.by_name[schedule.function])
    (rule,) = [
        r["Properties"]
        for r in resources(cfn, "AWS::Events::Rule").values()
        if r["Properties"].get("ScheduleExpression") == f"cron({schedule.cron})"
    ]
    (target,) = rule["Targets"]
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert queue_id == logical_id(stack.schedules.dead_letter_queues[f"{schedule.function}-schedule"])
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert cfn["Resources"][queue_id]["Properties"]["SqsManagedSseEnabled"] is True
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": function_id},
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
        },
    )
    # EventBridge may send there: the queue's policy lets the rule in
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [Match.object_like({"Principal": {"Service": "events.amazonaws.com"}, "Effect": "Allow"})]
                    )
                }
            ),
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        alarm_on(
            "ApproximateNumberOfMessagesVisible",
            {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}},
        ),
    )


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


# --- the firewall (SPEC §15: abuse and load) ------------------------------------


def web_acl(cfn: dict[str, Any]) -> dict[str, Any]:
    (acl,) = resources(cfn, "AWS::WAFv2::WebACL").values()
    return acl["Properties"]


def waf_rules(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in web_acl(cfn)["Rules"]}


def scope_matches(statement: dict[str, Any] | None, path: str) -> bool:
    """Whether a rule's scope-down statement takes a request for `path` (the
    regular expressions and NOTs this firewall uses)."""
    if statement is None:
        return True
    if "NotStatement" in statement:
        return not scope_matches(statement["NotStatement"]["Statement"], path)
    regex = statement["RegexMatchStatement"]
    assert regex["FieldToMatch"] == {"UriPath": {}}
    return re.search(regex["RegexString"], path) is not None


def example_path(route_path: str) -> str:
    return re.sub(r"\{\w+\}", "x1", route_path)


def rate_rules_counting(cfn: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    """The rate-based rules that count a request for `path`, by name."""
    return {
        name: rule["Statement"]["RateBasedStatement"]
        for name, rule in waf_rules(cfn).items()
        if "RateBasedStatement" in rule["Statement"]
        and scope_matches(rule["Statement"]["RateBasedStatement"].get("ScopeDownStatement"), path)
    }


def per_ip(statement: dict[str, Any]) -> bool:
    return statement["AggregateKeyType"] == "IP"


def per_token(statement: dict[str, Any]) -> bool:
    return statement["AggregateKeyType"] == "CUSTOM_KEYS" and statement["CustomKeys"] == [
        {"Header": {"Name": "Authorization", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    ]


def test_a_regional_web_acl_guards_the_apis_stage(stack: InvoicingStack, cfn: dict[str, Any]) -> None:
    acl = web_acl(cfn)
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    (association,) = resources(cfn, "AWS::WAFv2::WebACLAssociation").values()
    acl_id = stack.get_logical_id(stack.firewall.web_acl)
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    stage_arn = json.dumps(association["Properties"]["ResourceArn"])
    assert json.dumps({"Ref": logical_id(stack.api.rest_api)}) in stage_arn
    assert json.dumps({"Ref": logical_id(stack.api.rest_api.deployment_stage)}) in stage_arn
    assert ":apigateway:" in stage_arn
    assert "/stages/" in stage_arn
    for rule in acl["Rules"]:  # a rate rule blocks; a managed group keeps its own actions
        assert rule.get("Action") == {"Block": {}} or rule.get("OverrideAction") == {"None": {}}, rule["Name"]


PUBLIC_PATHS = sorted({example_path(route.path) for route in wiring.ROUTES if route.public} | {"/quote/x1"})
PRIVATE_PATHS = sorted({example_path(route.path) for route in wiring.ROUTES if not route.public})


@pytest.mark.parametrize("stage", ["/v1", ""], ids=["execute-api", "custom-domain"])
@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_each_public_route_is_rate_limited_per_ip_and_not_per_token(path: str, stage: str, cfn: dict[str, Any]) -> None:
    """A request to /pay/…, /quote/…, /webhooks/… (and the OpenAPI document)
    is counted per client IP by a rule of its own, besides the ceiling."""
    counting = rate_rules_counting(cfn, stage + path)
    scoped = {name: rule for name, rule in counting.items() if "ScopeDownStatement" in rule}
    assert scoped, f"no rate rule of its own counts {stage + path}"
    assert all(per_ip(rule) for rule in scoped.values()), scoped
    assert not any(per_token(rule) for rule in counting.values())


@pytest.mark.parametrize("path", PRIVATE_PATHS)
def test_each_authenticated_route_is_rate_limited_per_token(path: str, cfn: dict[str, Any]) -> None:
    counting = rate_rules_counting(cfn, f"/v1{path}")
    assert [name for name, rule in counting.items() if per_token(rule)] == ["RequestsPerToken"], counting
    assert not any(per_ip(rule) and "ScopeDownStatement" in rule for rule in counting.values())


def test_a_path_encoded_to_dodge_its_rule_is_decoded_first(cfn: dict[str, Any]) -> None:
    """/v1/p%61y/… reaches the pay function: the public rules decode the path."""
    for rule in waf_rules(cfn).values():
        scope = rule["Statement"].get("RateBasedStatement", {}).get("ScopeDownStatement")
        while scope and "NotStatement" in scope:
            scope = scope["NotStatement"]["Statement"]
        if scope:
            assert scope["RegexMatchStatement"]["TextTransformations"] == [{"Priority": 0, "Type": "URL_DECODE"}]


def test_every_request_counts_against_a_ceiling_per_ip(cfn: dict[str, Any]) -> None:
    """A token rotated at each request escapes the per-token count, not this one."""
    ceilings = [
        rule["Statement"]["RateBasedStatement"]
        for rule in waf_rules(cfn).values()
        if "RateBasedStatement" in rule["Statement"]
        and "ScopeDownStatement" not in rule["Statement"]["RateBasedStatement"]
    ]
    assert [per_ip(rule) for rule in ceilings] == [True]
    limits = [
        rule["Statement"]["RateBasedStatement"]["Limit"]
        for rule in waf_rules(cfn).values()
        if "RateBasedStatement" in rule["Statement"]
    ]
    assert ceilings[0]["Limit"] == max(limits)  # above every narrower rule, or it would shadow them


def test_the_managed_rules_never_block_a_1_mb_body_nor_read_stripes_signed_webhook(cfn: dict[str, Any]) -> None:
    groups = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]: rule["Statement"]["ManagedRuleGroupStatement"]
        for rule in waf_rules(cfn).values()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert {"AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet"} <= groups.keys()
    # SPEC §5 takes bodies up to 1 MB; the common rule set blocks any over 8 KB unless told to count;
    # notes with "<b>", "../" or a URL are a business's ordinary text, never a 403
    assert groups["AWSManagedRulesCommonRuleSet"]["RuleActionOverrides"] == [
        {"Name": name, "ActionToUse": {"Count": {}}}
        for name in ("SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY", "GenericRFI_BODY")
    ]
    for name in ("AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet"):
        scope = groups[name].get("ScopeDownStatement")
        assert not scope_matches(scope, "/v1/webhooks/stripe"), name
        assert scope_matches(scope, "/v1/invoices"), name
        assert scope_matches(scope, "/v1/pay/x1/checkout"), name


def test_every_public_route_of_the_wiring_has_a_per_ip_rule_of_its_own() -> None:
    """A public route added to the wiring without a per-IP rule would be
    counted by the ceiling alone: the firewall refuses to be built."""
    assert firewall.public_first_segments() <= {*firewall.PUBLIC_PAGES, *firewall.WEBHOOKS}


# --- reserved concurrency -----------------------------------------------------------


def test_webhooks_pay_and_documents_have_concurrency_of_their_own(stack: InvoicingStack, cfn: dict[str, Any]) -> None:
    """Reserved both ways: a flood of one never takes the account's
    executions from the others, and the others never starve them."""
    for name in ("webhooks", "pay", "documents"):
        properties = cfn["Resources"][logical_id(stack.functions.by_name[name])]["Properties"]
        assert properties.get("ReservedConcurrentExecutions", 0) > 0, name
    total = sum(
        function["Properties"].get("ReservedConcurrentExecutions", 0)
        for function in resources(cfn, "AWS::Lambda::Function").values()
    )
    assert total <= 1000 - 100  # an account's usual quota, less the 100 Lambda keeps unreserved


def context_of(**context: Any) -> DeployContext:
    return DeployContext.of(App(context={**DEPLOY_CONTEXT, **context}).node)


def test_reserved_concurrency_is_turned_off_or_changed_by_context() -> None:
    declared = {fn.name: fn.reserved_concurrency for fn in wiring.FUNCTIONS}
    assert context_of().reserved_concurrency == declared
    assert set(context_of(reserved_concurrency="off").reserved_concurrency.values()) == {None}
    changed = context_of(reserved_concurrency="pay=25,webhooks=off").reserved_concurrency
    assert changed == {**declared, "pay": 25, "webhooks": None}
    assert context_of(reserved_concurrency={"documents": 5}).reserved_concurrency["documents"] == 5
    with pytest.raises(ContextError, match="'paie', which is no function"):
        context_of(reserved_concurrency="paie=5")


def test_reservations_leaving_fewer_than_100_unreserved_executions_are_refused_at_synthesis() -> None:
    """A new account often has 10 concurrent executions: the deployment would fail; synthesis says why first."""
    with pytest.raises(ContextError, match=r"fewer than 100 of the account's 10 .*reserved_concurrency=off"):
        context_of(account_concurrency=10)
    assert context_of(account_concurrency=10, reserved_concurrency="off")


# --- alarms and who gets them ----------------------------------------------------


def test_every_alarm_notifies_the_topic_that_emails_alarm_email(stack: InvoicingStack, cfn: dict[str, Any]) -> None:
    """Given a deployment (which cannot leave alarm_email out), every alarm
    notifies the topic, and the topic e-mails alarm_email."""
    with pytest.raises(ContextError, match="missing deploy context: alarm_email"):
        context_of(alarm_email=None)
    topic = {"Ref": logical_id(stack.monitoring.topic)}
    alarms = resources(cfn, "AWS::CloudWatch::Alarm")
    assert len(alarms) > 20
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [topic], name
    subscriptions = [s["Properties"] for s in resources(cfn, "AWS::SNS::Subscription").values()]
    assert subscriptions == [{"Protocol": "email", "TopicArn": topic, "Endpoint": DEPLOY_CONTEXT["alarm_email"]}]


@pytest.mark.parametrize("metric", ["DeliveriesMisconfigured", "StripeEventsParked"])
def test_deliveries_failing_for_a_configuration_reason_and_parked_stripe_events_raise_an_alarm(
    template: Template, metric: str
) -> None:
    """The delivery and webhook functions count them (Powertools Metrics:
    namespace Invoicing, dimension service=invoicing): one in five minutes alarms."""
    assert wiring.FUNCTION_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"] == "invoicing"
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            **alarm_on(metric, {"Name": "service", "Value": "invoicing"}),
            "Namespace": "Invoicing",
            "Dimensions": [{"Name": "service", "Value": "invoicing"}],
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
        },
    )


# --- the Stripe secret ----------------------------------------------------------------


def test_the_stripe_secret_is_created_with_the_json_shape_the_code_reads(
    stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    """Empty values until the operator fills them (the payment routes answer
    503 meanwhile), never random text that no JSON reader takes."""
    secret = cfn["Resources"][logical_id(stack.stripe_secret)]["Properties"]
    assert "GenerateSecretString" not in secret
    assert json.loads(secret["SecretString"]) == {"secret_key": "", "webhook_secret": ""} == STRIPE_SECRET_SHAPE
    source = "\n".join(path.read_text() for path in (REPO_ROOT / "layers/core/python/invoicing").rglob("*.py"))
    read = set(re.findall(r"stripe_secrets?\((?:\)\[)?\"(\w+)\"", source))  # stripe_secret("x"), stripe_secrets()["x"]
    assert read == set(STRIPE_SECRET_SHAPE), "the keys the code reads are the secret's"


# --- the deploy context (SPEC §15: deploy day) -----------------------------------


def test_synthesis_without_the_deploy_context_fails_naming_what_is_missing() -> None:
    with pytest.raises(ContextError, match="missing deploy context: platform_sender, frontend_origins, alarm_email"):
        InvoicingStack(App(), "Bare")
    with pytest.raises(ContextError, match="missing deploy context: alarm_email[.]"):
        context_of(alarm_email=None)


def test_the_app_prints_the_missing_context_and_exits_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert infra_app.main(["-c", "platform_sender=factures@facturation.example"]) == 2
    error = capsys.readouterr().err
    assert "missing deploy context: frontend_origins, alarm_email" in error
    assert "Traceback" not in error


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({"frontend_origins": "https://app.facturation.example/"}, "no path, no trailing /"),
        ({"frontend_origins": "app.facturation.example"}, "is not scheme://host"),
        ({"alarm_email": "astreinte"}, "alarm_email 'astreinte' is not an e-mail address"),
        ({"platform_sender": "Factures <f@x.example>"}, "platform_sender .* is not an e-mail address"),
        ({"profile": "prod"}, "unknown profile 'prod'"),
    ],
)
def test_a_malformed_deploy_context_is_refused(context: dict[str, str], problem: str) -> None:
    with pytest.raises(ContextError, match=problem):
        context_of(**context)


def test_the_former_default_sender_key_still_names_the_platform_sender() -> None:
    context = context_of(platform_sender=None, default_sender="factures@ancien.example")
    assert context.platform_sender == "factures@ancien.example"


def test_the_dev_profile_fills_the_context_with_local_values_and_no_alarm_subscriber(dev_template: Template) -> None:
    cfn = dev_template.to_json()
    senders = {
        function["Properties"]["Environment"]["Variables"].get(wiring.PLATFORM_SENDER_ENV)
        for function in resources(cfn, "AWS::Lambda::Function").values()
    }
    assert senders == {None, "factures@invoicing.local"}  # the local runtime's, verified in its emulation
    assert resources(cfn, "AWS::SNS::Subscription") == {}
    buckets = [
        b["Properties"] for b in resources(cfn, "AWS::S3::Bucket").values() if "CorsConfiguration" in b["Properties"]
    ]
    assert [b["CorsConfiguration"]["CorsRules"][0]["AllowedOrigins"] for b in buckets] == [["http://localhost:5173"]]


# --- Object Lock: issued invoices kept ten years -------------------------------


def test_the_documents_bucket_has_object_lock_and_no_default_retention(
    stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    """Object Lock is on (it can only be turned on when the bucket is made);
    no default retention, which would lock drafts' previews, render states
    and refused uploads for ten years and defeat the lifecycle rules: each
    issued document is locked by its writer."""
    bucket = cfn["Resources"][logical_id(stack.storage.documents_bucket)]["Properties"]
    assert bucket["ObjectLockEnabled"] is True
    assert "Rule" not in bucket.get("ObjectLockConfiguration", {})
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    # and no role may lift a lock, delete a version or change the bucket's rules
    forbidden = {
        "s3:BypassGovernanceRetention", "s3:PutObjectLegalHold", "s3:PutBucketObjectLockConfiguration",
        "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration", "s3:DeleteBucket",
    }  # fmt: skip
    for statement in statements(cfn):
        if statement.get("Effect") == "Allow":
            assert not forbidden & set(as_list(statement.get("Action", []))), statement


@pytest.mark.parametrize("fn", [fn for fn in wiring.FUNCTIONS if fn.bucket_access != "none"], ids=lambda fn: fn.name)
def test_the_writers_of_issued_documents_lock_them_in_governance_mode_for_at_most_eleven_years(
    fn: wiring.Function, stack: InvoicingStack, cfn: dict[str, Any]
) -> None:
    from invoicing.logic.documents import pdf_key

    governance = {"s3:object-lock-mode": "GOVERNANCE", "s3:object-lock-remaining-retention-days": 3653}
    issued = (pdf_key("acme", "inv_1", 2), "acme/credit-notes/cn_1.pdf")
    for key in issued:
        assert can(stack, cfn, fn, "s3:PutObjectRetention", document(key), **governance) is fn.retains_issued_documents
        compliance = {**governance, "s3:object-lock-mode": "COMPLIANCE"}
        assert not can(stack, cfn, fn, "s3:PutObjectRetention", document(key), **compliance)
        century = {**governance, "s3:object-lock-remaining-retention-days": 36525}
        assert not can(stack, cfn, fn, "s3:PutObjectRetention", document(key), **century)
    for kind in ("draft preview", "render state", "attachment", "pending upload", "logo"):
        assert not can(stack, cfn, fn, "s3:PutObjectRetention", document(KEYS[kind]), **governance), kind
    assert fn.retains_issued_documents is (fn.name in ("documents", "pay", "delivery"))  # those that render PDFs


def test_the_platforms_name_and_sending_limits_are_context_checked_at_synthesis() -> None:
    """SPEC §15: the limits are the platform's settings: context, never a tenant's."""
    from infra.stack import ContextError, DeployContext

    class Node:
        def __init__(self, **context: Any) -> None:
            self.context = {"profile": "dev", **context}

        def try_get_context(self, key: str) -> Any:
            return self.context.get(key)

    given = DeployContext.of(Node(platform_name="Facturo", sending_limits={"emails_per_day": 500}))  # type: ignore[arg-type]
    assert given.sending == {"PLATFORM_NAME": "Facturo", "SENDING_LIMITS": '{"emails_per_day": 500}'}
    assert DeployContext.of(Node()).sending == {}  # type: ignore[arg-type]
    with pytest.raises(ContextError, match="sending_limits: .*emails_a_day"):
        DeployContext.of(Node(sending_limits='{"emails_a_day": 500}'))  # type: ignore[arg-type]
