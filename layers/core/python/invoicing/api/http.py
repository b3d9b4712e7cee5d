"""The HTTP edge shared by every API function: the resolver, the tenant from
the verified claims, domain errors mapped to status codes once, the body
limit, and JSON with exact decimals."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from invoicing import json_body
from invoicing.api import openapi
from invoicing.domain.errors import (
    Busy,
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    InvalidInput,
    KeyReused,
    NameTaken,
    NotFound,
    PaymentDeclined,
    ProviderRefused,
    RenderFailed,
    StaleVersion,
    TooLarge,
    TooSoon,
    UnsupportedType,
)
from invoicing.domain.money import UnknownCurrency
from invoicing.domain.tenants import is_tenant_name
from invoicing.logic.retry import time_budget
from invoicing.models.common import UNION_TAGS
from invoicing.settings import settings
from invoicing.transient import code_of, is_transient

logger = Logger(service="invoicing")

MAX_BODY_BYTES = 1_000_000
TENANT_CLAIM = "custom:tenant_id"
JSON = "application/json"


class Unauthorized(DomainError):
    code = "unauthorized"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str),
        headers=headers,
    )


def error_response(
    status: int,
    code: str,
    message: str,
    fields: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = [{"field": f.field, "message": f.message} for f in fields]
    return json_response(status, {"error": error}, headers)


def tenant_of(app: APIGatewayRestResolver | Router) -> str:
    """The tenant, from the claims API Gateway's authorizer verified — never
    from the body, the path or a header."""
    authorizer = app.current_event.request_context.authorizer
    claims = (authorizer.raw_event or {}).get("claims") or {}
    tenant = claims.get(TENANT_CLAIM) if isinstance(claims, dict) else None
    if not is_tenant_name(tenant):
        raise Unauthorized("the token carries no valid custom:tenant_id claim")
    return tenant


def public_url(app: APIGatewayRestResolver | Router) -> str:
    """Where clients reach the public routes (the hosted invoice page):
    PUBLIC_BASE_URL when set (a custom domain), else this API's own URL."""
    configured = settings().public_base_url
    if configured:
        return configured.rstrip("/")
    context = app.current_event.request_context
    return f"https://{context.domain_name}/{context.stage}"


def if_match(app: APIGatewayRestResolver | Router) -> int | None:
    """The version in an If-Match header (`3` or `"3"`), if any."""
    raw = app.current_event.headers.get("If-Match") or app.current_event.headers.get("if-match")
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise InvalidInput.of("If-Match", "a version number, such as 3")
    return int(value)


# A route names its response models (invoicing.models.responses) under this key;
# openapi_document puts the models in their place when it writes the document.
# A function never loads them: Powertools makes a field of each model a route
# declares, the first time the route is called.
MODEL_NAME = "x-model-name"


def named(model: str) -> dict[str, Any]:
    """A response's JSON content: the model, by its name in invoicing.models.responses."""
    return {JSON: {MODEL_NAME: model}}


ERRORS: dict[int, dict[str, Any]] = {
    int(status): {"description": description, "content": named("ErrorResponse")}
    for status, description in openapi.ERRORS.items()
}
# A route's own sense of a status, where it is not the general one.
ERRORS[415] = {**ERRORS[415], "description": "A file of a type not taken, or not of the type it claims"}


def responses(status: int, description: str, model: str | None = None, *errors: int) -> dict[int, Any]:
    """OpenAPI responses of a route: its success (`model`: the name of its
    model in invoicing.models.responses) and the errors it has of its own
    (those every route has, invoicing.api.openapi adds)."""
    success: dict[str, Any] = {"description": description}
    if model is not None:
        success["content"] = named(model)
    return {status: success, **{code: ERRORS[code] for code in errors}}


def _field_of(problem: dict[str, Any]) -> str:
    """The field at fault, as the client wrote it: a union's tag (pydantic
    puts the chosen variant in the path: body.cash.amount) is not a field,
    and a tag nobody knows is the discriminator's fault."""
    parts = [str(part) for part in problem.get("loc", ())]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    if problem.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        parts.append(str((problem.get("ctx") or {}).get("discriminator", "")).strip("'"))
    elif parts and parts[0] in UNION_TAGS:
        parts = parts[1:]
    return ".".join(part for part in parts if part) or "body"


def _cors() -> CORSConfig | None:
    """CORS for the SaaS frontend's origins (FRONTEND_ORIGINS, set by the
    stack): with a proxy integration only the handler can answer them."""
    origins = list(settings().frontend_origins)
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Idempotency-Key", "If-Match"],
        expose_headers=["Location", "Idempotent-Replayed", "Retry-After"],
        max_age=600,
    )


def build_resolver(*routers: Router, forms: bool = False) -> APIGatewayRestResolver:
    """The resolver of a function's routes. They take JSON bodies only,
    unless `forms` (the hosted page's buttons post forms)."""
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_body.parse, cors=_cors())
    app.takes_forms = forms  # type: ignore[attr-defined]
    for router in routers:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response:
        problems = error.errors()
        if any(problem.get("type") == "json_invalid" for problem in problems):
            return error_response(400, "malformed_json", "the body is not valid JSON")
        fields = [FieldError(_field_of(p), _message(p)) for p in problems]
        return error_response(422, "validation_error", "; ".join(f"{f.field}: {f.message}" for f in fields), fields)

    @app.not_found
    def _no_route(_error: Exception) -> Response:
        event = app.current_event
        return error_response(404, "not_found", f"no route for {event.http_method} {event.path}")

    @app.exception_handler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return _from_domain(error)

    @app.exception_handler(UnknownCurrency)
    def _unknown_currency(error: UnknownCurrency) -> Response:
        field = FieldError("currency", f"unknown currency {error}")
        return error_response(422, "validation_error", field.message, [field])

    return app


def _message(problem: dict[str, Any]) -> str:
    message = str(problem.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _from_domain(error: DomainError) -> Response:
    if isinstance(error, KeyReused):
        return error_response(422, error.code, error.message, error.errors)
    if isinstance(error, InvalidInput):
        status = 400 if any(f.field in ("cursor", "If-Match", "Idempotency-Key") for f in error.errors) else 422
        return error_response(status, error.code, error.message, error.errors)
    if isinstance(error, NotFound):
        return error_response(404, error.code, error.message)
    if isinstance(error, NameTaken):
        return error_response(409, error.code, error.message, [FieldError("name", error.message)])
    if isinstance(error, StaleVersion):
        return error_response(409, error.code, error.message, [FieldError("version", error.message)])
    if isinstance(error, Conflict):
        return error_response(409, error.code, error.message)
    if isinstance(error, Unauthorized):
        return error_response(401, error.code, error.message)
    if isinstance(error, Forbidden):
        return error_response(403, error.code, error.message)
    if isinstance(error, TooLarge):
        return error_response(
            413, error.code, error.message, [FieldError(error.field, error.message)] if error.field else None
        )
    if isinstance(error, UnsupportedType):
        return error_response(415, error.code, error.message, [FieldError(error.field, error.message)])
    if isinstance(error, Busy | RenderFailed):
        return error_response(503, error.code, error.message, headers={"Retry-After": str(error.retry_after_s)})
    if isinstance(error, PaymentDeclined):
        return error_response(402, error.code, error.message, [FieldError("payment_method_id", error.message)])
    if isinstance(error, ProviderRefused):
        return error_response(502, error.code, error.message)
    if isinstance(error, TooSoon):
        return error_response(429, error.code, error.message, headers={"Retry-After": str(error.retry_after_s)})
    return error_response(400, error.code, error.message)


def guarded(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve an event, refusing oversized bodies before parsing them and
    turning any unexpected failure into a 500 without a stack trace. One
    log line a request: the route's template, never its path (ids only) nor
    its query (it may hold anything)."""
    started = time.perf_counter()
    with time_budget(getattr(context, "get_remaining_time_in_millis", None)):  # 503 busy before the timeout
        response = _resolved(app, event, context)
    logger.info("request", extra={"method": event.get("httpMethod"), "route": event.get("resource"),
                                  "status": response["statusCode"],
                                  "ms": round((time.perf_counter() - started) * 1000, 1)})  # fmt: skip
    return response


def _resolved(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > MAX_BODY_BYTES:
        return _raw(413, "too_large", f"the body is over {MAX_BODY_BYTES:,} bytes (1 MB)")
    if body and not getattr(app, "takes_forms", False) and not _json_body(event):
        return _raw(415, "unsupported_media_type", "send the body as application/json", field="Content-Type")
    if event.get("isBase64Encoded") and body:
        try:
            base64.b64decode(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return _raw(400, "malformed_json", "the body is not UTF-8 JSON")
    try:
        return app.resolve(_without_empty_query_values(event), context)
    except Exception as error:
        if is_transient(error):
            logger.warning("an AWS service is busy", extra={"error": type(error).__name__, "code": code_of(error)})
            return _raw(503, "busy", "a service this request needs is busy: retry with the same "
                        "Idempotency-Key (what was already done is not done again)", 1)  # fmt: skip
        logger.exception("unhandled error")
        request_id = getattr(context, "aws_request_id", "")
        return _raw(500, "internal_error", f"unexpected error; request id {request_id}")


def _json_body(event: dict[str, Any]) -> bool:
    """Whether the body says it is JSON (application/json, …+json), or says nothing."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    media = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _without_empty_query_values(event: dict[str, Any]) -> dict[str, Any]:
    """`?status=&limit=` means no filter and the default limit, as forms send them."""
    query = event.get("multiValueQueryStringParameters")
    if not query or all(all(values) for values in query.values()):
        return event
    kept = {name: [v for v in values if v] for name, values in query.items()}
    kept = {name: values for name, values in kept.items() if values}
    return {
        **event,
        "multiValueQueryStringParameters": kept or None,
        "queryStringParameters": {name: values[-1] for name, values in kept.items()} or None,
    }


def _raw(
    status: int, code: str, message: str, retry_after_s: int | None = None, field: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["fields"] = [{"field": field, "message": message}]
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, **({"Retry-After": str(retry_after_s)} if retry_after_s else {})},
        "body": json.dumps({"error": error}),
        "isBase64Encoded": False,
    }


def openapi_document(app: APIGatewayRestResolver) -> str:
    """The OpenAPI document generated from the routes' models, finished with
    the platform's rules (invoicing.api.openapi), as committed."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    _with_models(app)
    generated = json.loads(
        app.get_openapi_json_schema(
            title="Invoicing API",
            version="1.0.0",
            summary="Invoices for a CRM: totals to the cent, French legal numbering",
            description="Amounts are decimal strings (JSON numbers are taken in requests). Every error is an "
            "ErrorResponse. Writes take an Idempotency-Key; updates take the version read (or If-Match).",
            security_schemes={"bearerAuth": HTTPBearer(scheme="bearer", bearerFormat="JWT")},
            security=[{"bearerAuth": []}],
        )
    )
    return openapi.dumps(openapi.finish(generated))


def _with_models(app: APIGatewayRestResolver) -> None:
    """Each route's responses with their models in place of their names
    (Powertools keeps a resolver's routes in these two lists; a route's
    fields, made from its responses, are made again)."""
    from invoicing.models import responses as models

    def resolved(content: dict[str, Any]) -> dict[str, Any]:
        return {
            media: {"model": getattr(models, body[MODEL_NAME])} if MODEL_NAME in body else body
            for media, body in content.items()
        }

    for route in app._static_routes + app._dynamic_routes:
        route.responses = {
            status: {**response, "content": resolved(response["content"])} if "content" in response else response
            for status, response in (route.responses or {}).items()
        }
        route._dependant = None
