"""Swagger UI at /swagger, offline: the page and its two files come from
the swagger-ui-py package (Swagger UI 5, which reads OpenAPI 3.1), served by
the local gateway; the page asks nothing of any other host."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoicing API</title>
<link rel="stylesheet" href="/swagger/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/swagger/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", deepLinking: true})</script>
</body></html>"""
ASSETS = {"swagger-ui.css": "text/css; charset=utf-8", "swagger-ui-bundle.js": "text/javascript; charset=utf-8"}

Route = Callable[[bytes], tuple[int, str, bytes]]


def routes() -> dict[tuple[str, str], Route]:
    """The local gateway's routes of the page and its files."""
    found: dict[tuple[str, str], Route] = {("GET", "/swagger"): lambda _body: (200, "text/html; charset=utf-8",
                                                                                 PAGE.encode())}  # fmt: skip
    for name, content_type in ASSETS.items():
        found[("GET", f"/swagger/{name}")] = lambda _body, name=name, kind=content_type: (200, kind, _asset(name))
    return found


@cache
def _asset(name: str) -> bytes:
    from importlib.util import find_spec

    spec = find_spec("swagger_ui")  # its files only: the package (web-framework handlers) is never imported
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("swagger_ui: install requirements-dev.txt (make dev does)")
    return (Path(spec.submodule_search_locations[0]) / "static" / name).read_bytes()
