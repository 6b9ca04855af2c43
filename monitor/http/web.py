"""The Starlette application: /healthz, /readyz, /metrics, the status page at / and its
query box at /backtest."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor.app import App
from monitor.http.metrics import CONTENT_TYPE, Metrics
from monitor.http.query_box import QueryBox, render_query_box
from monitor.http.status import render_status

log = logging.getLogger("monitor.http")

READY_TIMEOUT = 5.0
OPEN_PATHS = frozenset({"/healthz"})  # a liveness probe needs no secret
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The page has no script at all, and its only style is inline; its one form (the query
    # box) is sent to this server.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}


def token_matches(authorization: str | None, token: str) -> bool:
    """``Bearer TOKEN``, or basic auth with the token as password (any user name)."""
    if not authorization:
        return False
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        given = value.encode()
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        given = decoded.partition(b":")[2]
    else:
        return False
    return hmac.compare_digest(given, token.encode())


class TokenAuth:
    """Every path but the open ones needs the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if token_matches(Headers(scope=scope).get("authorization"), self.token):
            await self.app(scope, receive, send)
            return
        response = PlainTextResponse(
            "401 unauthorized: send Authorization: Bearer <http.token>\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="news monitor", charset="UTF-8"',
                     **SECURITY_HEADERS},
        )  # fmt: skip
        await response(scope, receive, send)


ReadyCheck = Callable[[], bool]


def create_app(
    app: App,
    metrics: Metrics,
    *,
    scheduler_running: ReadyCheck,
    token: str | None = None,
) -> Starlette:
    """The ASGI app over a running :class:`monitor.app.App`; every store read is on its threads."""

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n", headers=SECURITY_HEADERS)

    async def readyz(request: Request) -> Response:
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(
                app.store.run(lambda uow: uow.instances.all(), write=False), READY_TIMEOUT
            )
            checks["store"] = "ok"
        except TimeoutError:
            checks["store"] = f"no answer to a read within {READY_TIMEOUT:g} s"
        except Exception as exc:
            checks["store"] = f"error: {exc}"
        ruleset = app.ruleset
        checks["rules"] = "ok" if ruleset is not None else "no rule set loaded"
        checks["scheduler"] = "ok" if scheduler_running() else "not running"
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"ready": ready, "checks": checks}
        if ruleset is not None:
            body["rules"] = {"version": ruleset.version, "count": len(ruleset.rules)}
        if not ready:
            body["not_ready"] = sorted(k for k, v in checks.items() if v != "ok")
        return JSONResponse(body, status_code=200 if ready else 503, headers=SECURITY_HEADERS)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(
            await metrics.exposition(), media_type=CONTENT_TYPE, headers=SECURITY_HEADERS
        )

    async def status(request: Request) -> Response:
        html = await render_status(app, instance_id=app.instance.id)
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    box = QueryBox(app.store, ZoneInfo(app.settings.timezone))

    async def query_box(request: Request) -> Response:
        html, code = await render_query_box(app, box, request.query_params)
        headers = {**SECURITY_HEADERS, **({"Retry-After": "5"} if code == 429 else {})}
        return HTMLResponse(html, status_code=code, headers=headers)

    middleware = [Middleware(TokenAuth, token=token)] if token else []
    return Starlette(
        routes=[
            Route("/", status, methods=["GET", "HEAD"]),
            Route("/backtest", query_box, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics_endpoint, methods=["GET", "HEAD"]),
        ],
        middleware=middleware,
    )
