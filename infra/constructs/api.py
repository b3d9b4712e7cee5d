"""The REST API: one method per `wiring.ROUTES` entry, behind a Cognito authorizer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct, IConstruct

from infra import wiring

STAGE_NAME = "v1"
THROTTLING_RATE_LIMIT = 100  # requests per second, per stage
THROTTLING_BURST_LIMIT = 200
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match"]
# What a browser's script may read of a response: the handlers expose them on theirs (invoicing.api.http)
CORS_EXPOSE_HEADERS = ["Location", "Idempotent-Replayed", "Retry-After"]
# Browsers cap it (Chrome: 2 h); the editor's live preview otherwise preflights every keystroke.
CORS_MAX_AGE = Duration.hours(2)
TENANT_ATTRIBUTE = "tenant_id"
CLOUDWATCH_ROLE_POLICY = "AmazonAPIGatewayPushToCloudWatchLogs"

# No caller IP, user agent or claims: SPEC §10 keeps personal data out of logs.
ACCESS_LOG_FORMAT = apigw.AccessLogFormat.custom(
    json.dumps(
        {
            "requestId": apigw.AccessLogField.context_request_id(),
            "requestTime": apigw.AccessLogField.context_request_time(),
            "httpMethod": apigw.AccessLogField.context_http_method(),
            "resourcePath": apigw.AccessLogField.context_resource_path(),
            "status": apigw.AccessLogField.context_status(),
            "protocol": apigw.AccessLogField.context_protocol(),
            "responseLength": apigw.AccessLogField.context_response_length(),
            "responseLatency": apigw.AccessLogField.context_response_latency(),
            "integrationLatency": apigw.AccessLogField.context_integration_latency(),
            "errorType": apigw.AccessLogField.context_error_response_type(),
            "xrayTraceId": apigw.AccessLogField.context_xray_trace_id(),
        }
    )
)


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        frontend_origins: Sequence[str],
        routes: Sequence[wiring.Route] = wiring.ROUTES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = self._user_pool()
        self.user_pool_client = self._user_pool_client()
        self.rest_api = self._rest_api(frontend_origins)
        self._add_cors_to_gateway_responses(frontend_origins)

        authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[self.user_pool])
        # One API-scoped invoke permission per function instead of one per
        # method, which would outgrow Lambda's 20 KB resource policy as routes are added.
        integrations = {
            name: apigw.LambdaIntegration(function, scope_permission_to_method=False)
            for name, function in functions.items()
        }
        for route in routes:
            self._add_route(route, integrations[route.function], authorizer)

        self._output("ApiUrl", self.rest_api.url, "Base URL of the invoicing API (stage v1)")
        self._output("UserPoolId", self.user_pool.user_pool_id, "Cognito user pool of the CRM users")
        self._output(
            "UserPoolClientId", self.user_pool_client.user_pool_client_id, "Cognito app client of the frontend"
        )

    @property
    def base_url(self) -> str:
        """The stage URL built from the API id, not the stage: functions can hold it without a dependency cycle."""
        stack = Stack.of(self)
        return f"https://{self.rest_api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}/{STAGE_NAME}"

    def _user_pool(self) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "UserPool",
            # Operators create users (AdminCreateUser) with their immutable tenant.
            self_sign_up_enabled=False,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            custom_attributes={TENANT_ATTRIBUTE: cognito.StringAttribute(min_len=1, max_len=64, mutable=False)},
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        _suppress(
            pool,
            "AwsSolutions-COG2",
            "MFA is OPTIONAL (TOTP) so businesses can turn it on per user; requiring it for every "
            "CRM user is a product decision the spec does not take.",
        )
        _suppress(
            pool,
            "AwsSolutions-COG8",
            "Essentials feature plan: threat protection (Plus) is a per-user cost not budgeted yet; "
            "self sign-up is off, operators create the users, the password policy is strict.",
        )
        return pool

    def _user_pool_client(self) -> cognito.UserPoolClient:
        writable = {"email": True, "fullname": True}
        return self.user_pool.add_client(
            "WebClient",
            generate_secret=False,
            # The SPA signs in with SRP; no hosted UI, so no OAuth flows (CDK would enable implicit).
            auth_flows=cognito.AuthFlow(user_srp=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            # The tenant reaches the ID token (and the authorizer's claims) but a
            # user can never write it: it is the isolation boundary (SPEC §3).
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email_verified=True, **writable)
            .with_custom_attributes(TENANT_ATTRIBUTE),
            write_attributes=cognito.ClientAttributes().with_standard_attributes(**writable),
        )

    def _rest_api(self, frontend_origins: Sequence[str]) -> apigw.RestApi:
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_YEAR)
        api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{Stack.of(self).stack_name}-api",
            description="Invoicing API for the CRM frontend, Stripe and the hosted invoice page",
            endpoint_configuration=apigw.EndpointConfiguration(types=[apigw.EndpointType.REGIONAL]),
            # API Gateway needs the account-level CloudWatch role to write any log;
            # kept on stack deletion because other APIs in the account share it.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # would log request bodies: personal data
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=ACCESS_LOG_FORMAT,
                throttling_rate_limit=THROTTLING_RATE_LIMIT,
                throttling_burst_limit=THROTTLING_BURST_LIMIT,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(frontend_origins),
                allow_methods=apigw.Cors.ALL_METHODS,
                allow_headers=CORS_ALLOW_HEADERS,
                max_age=CORS_MAX_AGE,
            ),
        )
        _suppress(
            api,
            "AwsSolutions-APIG2",
            "Bodies are validated by the handlers' pydantic models, which answer 400/422 with "
            "field-level detail (SPEC §5); an API Gateway model would duplicate them and drift.",
        )
        _suppress(
            api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4",
            "AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for API Gateway's "
            "account-level logging role; a hand-written copy would need the same log-group wildcards.",
            applies_to=[f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{CLOUDWATCH_ROLE_POLICY}"],
        )
        return api

    def _add_cors_to_gateway_responses(self, frontend_origins: Sequence[str]) -> None:
        """Errors API Gateway answers itself (authorizer 401, throttling 429, 504...) must reach the frontend too."""
        if len(frontend_origins) == 1:
            headers = {"Access-Control-Allow-Origin": f"'{frontend_origins[0]}'"}
        else:
            # A header can only be static or mapped, so echo the caller's origin;
            # these bodies are API Gateway's own messages, never tenant data.
            headers = {"Access-Control-Allow-Origin": "method.request.header.Origin", "Vary": "'Origin'"}
        headers["Access-Control-Allow-Headers"] = "'" + ",".join(CORS_ALLOW_HEADERS) + "'"
        headers["Access-Control-Expose-Headers"] = "'" + ",".join(CORS_EXPOSE_HEADERS) + "'"  # a 429's Retry-After
        # The same error shape as the handlers': {"error": {"code", "message"}}.
        for construct_id, response_type, status, code in (
            ("Unauthorized", apigw.ResponseType.UNAUTHORIZED, "401", "unauthorized"),
            # an unknown resource: API Gateway says 403 "Missing Authentication Token"
            ("NoRoute", apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "not_found"),
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX, None, "$context.error.responseType"),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX, None, "$context.error.responseType"),
        ):
            body = json.dumps({"error": {"code": code, "message": "MESSAGE"}}).replace(
                '"MESSAGE"',
                "$context.error.messageString",  # already a quoted JSON string
            )
            self.rest_api.add_gateway_response(
                construct_id,
                type=response_type,
                status_code=status,
                response_headers=headers,
                templates={"application/json": body},
            )

    def _add_route(self, route: wiring.Route, integration: apigw.Integration, authorizer: apigw.IAuthorizer) -> None:
        resource = self.rest_api.root.resource_for_path(route.path)
        if route.public:
            method = resource.add_method(route.method, integration, authorization_type=apigw.AuthorizationType.NONE)
            _suppress_unauthenticated(
                method,
                f"{route.method} {route.path} is public by design (wiring public=True, SPEC §3): Stripe "
                "webhooks authenticate by signature, /pay/{token} and /quote/{token} by an unguessable token, "
                "/openapi.json is documentation. Every other route has the Cognito authorizer.",
            )
        else:
            resource.add_method(
                route.method, integration, authorization_type=apigw.AuthorizationType.COGNITO, authorizer=authorizer
            )

    def _output(self, name: str, value: str, description: str) -> None:
        output = CfnOutput(self, name, value=value, description=description)
        output.override_logical_id(name)  # stable keys for the frontend's config


def _suppress(construct: IConstruct, rule: str, reason: str, applies_to: list[str] | None = None) -> None:
    NagSuppressions.add_resource_suppressions(
        construct, [NagPackSuppression(id=rule, reason=reason, applies_to=applies_to)]
    )


def _suppress_unauthenticated(method: apigw.Method, reason: str) -> None:
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        _suppress(method, rule, reason)
