"""The API's web ACL (AWS WAF, regional): rate limits per client IP on the
public routes, per token on the others, a per-IP ceiling over everything,
and AWS's managed rules where they cannot refuse a valid body.

Rate-based rules count over a five-minute window (WAF's default) and block a
key (an IP, a token) for as long as it stays over its limit. The limits are
far above what a person or Stripe does, and far below what would take the
functions' reserved concurrency or the stage's 100 requests a second.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra import wiring
from infra.constructs.api import STAGE_NAME

WINDOW_S = 300

# The client's pages: /pay/{token} (the invoice, its PDF, its attachments,
# Checkout) and /quote/{token} (the estimate's page, SPEC §11), and the API's
# OpenAPI document. A client opens a page, its PDF and Checkout: a handful of
# requests. 300 in five minutes (one a second, sustained) leaves room for an
# office behind one address, and stops a script cycling tokens or rendering
# PDFs in a loop long before the pay function's reserved concurrency.
PUBLIC_PAGES = ("pay", "quote", "openapi.json")
PAGES_PER_IP = 300
# Stripe's webhook: Stripe posts from a dozen documented addresses, each event
# once (and again only on failure). 3,000 in five minutes per address (ten a
# second) is far beyond a platform's payment events; beyond it WAF answers 403
# and Stripe retries with backoff for three days: delayed, never lost.
WEBHOOKS = ("webhooks",)
WEBHOOKS_PER_IP = 3000
# Every other route carries a Cognito token (the Authorization header): counted
# per token, so that one user's script cannot take what the others need. The
# editor's live totals call the API on keystrokes (a few a second while typing);
# 3,000 in five minutes is ten a second for five minutes, which no person keeps
# up. A request without the header is not counted here (WAF skips a request
# missing its key): API Gateway's authorizer refuses it, and the ceiling below
# counts it.
TOKEN_HEADER = "Authorization"
REQUESTS_PER_TOKEN = 3000
# Everything from one address, whatever its path and tokens: a token rotated
# at each request escapes the per-token rule, not this one. An office of fifty
# people behind one address stays well under it (33 a second for five minutes).
REQUESTS_PER_IP = 10_000

# AWS's managed rule groups, in order. The common rule set's SizeRestrictions_BODY
# blocks bodies over 8 KB, where SPEC §5 takes JSON bodies up to 1 MB (an invoice's
# lines and notes): counted, not blocked. Neither body-reading group looks at
# Stripe's webhook: its body is signed by Stripe, and carries text the payer typed
# (names, addresses), which a false positive there would turn into a payment event
# refused until Stripe gives up.
IP_REPUTATION = "AWSManagedRulesAmazonIpReputationList"
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
COMMON = "AWSManagedRulesCommonRuleSet"
# Its body rules for HTML, paths and URLs count too: an invoice's notes and lines are the
# business's free text ("<b>", "../annexe", "https://…" are ordinary there), the API
# takes JSON and every page escapes what it shows, and a false positive would be a 403
# outside the API's error shape that the frontend cannot explain.
COUNTED_COMMON_RULES = ("SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY", "GenericRFI_BODY")


def path_pattern(first_segments: Sequence[str]) -> str:
    """The request paths whose first segment is one of these, with or without
    the stage in front (the execute-api URL has it, a custom domain may not)."""
    names = "|".join(segment.replace(".", r"\.") for segment in first_segments)
    return f"^(/{STAGE_NAME})?/({names})(/|$)"


def public_first_segments() -> set[str]:
    """The first path segment of each public route of the wiring."""
    return {route.path.split("/")[1] for route in wiring.ROUTES if route.public}


class Firewall(Construct):
    """`web_acl` is associated with the API's stage."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: apigw.Stage) -> None:
        super().__init__(scope, construct_id)
        uncovered = public_first_segments() - {*PUBLIC_PAGES, *WEBHOOKS}
        if uncovered:
            raise ValueError(f"public routes under {sorted(uncovered)} have no per-IP rate rule (firewall.py)")
        rules = [
            self._rate("PublicPagesPerIp", PAGES_PER_IP, scope_down=self._path_matches(PUBLIC_PAGES)),
            self._rate("WebhooksPerIp", WEBHOOKS_PER_IP, scope_down=self._path_matches(WEBHOOKS)),
            self._rate(
                "RequestsPerToken",
                REQUESTS_PER_TOKEN,
                scope_down=self._not(self._path_matches((*PUBLIC_PAGES, *WEBHOOKS))),
                header=TOKEN_HEADER,
            ),
            self._rate("RequestsPerIp", REQUESTS_PER_IP),
            self._managed(IP_REPUTATION),
            self._managed(KNOWN_BAD_INPUTS, scope_down=self._not(self._path_matches(WEBHOOKS))),
            self._managed(COMMON, scope_down=self._not(self._path_matches(WEBHOOKS)), counted=COUNTED_COMMON_RULES),
        ]
        for priority, rule in enumerate(rules):
            rule["priority"] = priority
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description="invoicing API, rate limits per IP on public routes, per token on the others, managed rules",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("InvoicingApi"),
            rules=[wafv2.CfnWebACL.RuleProperty(**rule) for rule in rules],
        )
        wafv2.CfnWebACLAssociation(
            self, "StageAssociation", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )

    @staticmethod
    def _path_matches(first_segments: Sequence[str]) -> wafv2.CfnWebACL.StatementProperty:
        return wafv2.CfnWebACL.StatementProperty(
            regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                regex_string=path_pattern(first_segments),
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                # /v1/p%61y/… is /v1/pay/… to API Gateway: decoded first, so it cannot dodge its rule.
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="URL_DECODE")],
            )
        )

    @staticmethod
    def _not(statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
        return wafv2.CfnWebACL.StatementProperty(
            not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=statement)
        )

    @staticmethod
    def _rate(
        name: str,
        limit: int,
        *,
        scope_down: wafv2.CfnWebACL.StatementProperty | None = None,
        header: str | None = None,
    ) -> dict[str, object]:
        """A rate-based rule: per client IP, or per value of `header`."""
        keys = (
            {
                "aggregate_key_type": "CUSTOM_KEYS",
                "custom_keys": [
                    wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                        header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                            name=header,
                            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                        )
                    )
                ],
            }
            if header
            else {"aggregate_key_type": "IP"}
        )
        return {
            "name": name,
            "action": wafv2.CfnWebACL.RuleActionProperty(block={}),
            "statement": wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=limit, evaluation_window_sec=WINDOW_S, scope_down_statement=scope_down, **keys
                )
            ),
            "visibility_config": _visibility(name),
        }

    @staticmethod
    def _managed(
        group: str,
        *,
        scope_down: wafv2.CfnWebACL.StatementProperty | None = None,
        counted: Sequence[str] = (),
    ) -> dict[str, object]:
        """An AWS managed rule group, with its own actions but for the `counted` rules."""
        return {
            "name": group,
            "override_action": wafv2.CfnWebACL.OverrideActionProperty(none={}),
            "statement": wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS",
                    name=group,
                    scope_down_statement=scope_down,
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                        )
                        for rule in counted
                    ]
                    or None,
                )
            ),
            "visibility_config": _visibility(group),
        }


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    """CloudWatch metrics per rule. No sampled requests: they keep whole
    requests, headers included (the users' tokens), for three hours, where
    the access logs keep neither tokens nor addresses (SPEC §10)."""
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=False
    )
