"""The engineers' sign-in page: a codec token in, a session cookie out.

The Temporal UI cannot send a bearer token of its own without an OIDC login, but it can send
cookies with its codec requests ("include cross-origin credentials"), and the UI and this
server are the same site on localhost. So an engineer signs in here once, with a codec
token, and the UI's decode requests from that browser carry the session. The cookie is
HttpOnly (no page script reads it), SameSite=Strict (no other site's page sends it) and
expires; it holds only a random session id.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs

import structlog
from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.codec.sessions import COOKIE, Sessions

__all__ = ["add_sign_in"]

log = structlog.get_logger(__name__)

# A form with one token in it; anything bigger is not our form.
MAX_FORM_BYTES = 4096

_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def _page(body: str, status_code: int = status.HTTP_200_OK) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Codec server: sign in - Life Events</title>
<style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}} label,input,button{{display:block;margin:.5rem 0}}
input{{width:100%;box-sizing:border-box;padding:.4rem}} code{{overflow-wrap:anywhere}}
.error{{color:#b00020;font-weight:bold}}</style>
</head><body><main>
<h1>Decode payloads in the Temporal UI</h1>
{body}
</main></body></html>""",
        status_code=status_code,
        headers=_HEADERS,
    )


def _ui_steps(endpoint: str) -> str:
    return f"""<h2>Once per browser, in the Temporal UI</h2>
<ol>
<li>Open <strong>Codec Server</strong> (in the navigation, or the codec status on a workflow).</li>
<li>Choose <strong>Use my browser setting and ignore Cluster-level setting.</strong></li>
<li>Enter <code>{html.escape(endpoint)}</code> as the endpoint.</li>
<li>Tick <strong>Include cross-origin credentials</strong>, then <strong>Apply</strong>.</li>
</ol>
<p>Without signing in here, the UI keeps showing ciphertext.</p>"""


def add_sign_in(
    app: FastAPI,
    *,
    token_allowed: Callable[[str], bool],
    sessions: Sessions,
    ui_url: str | None,
) -> None:
    """GET and POST /sign-in, POST /sign-out."""

    def endpoint_of(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def sign_in_form(request: Request, error: str = "", code: int = 200) -> HTMLResponse:
        message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        return _page(
            f"""{message}
<p>Sign in with a codec token (the embedded stack's is the first line of
<code>var/secrets/codec-tokens</code>; <code>lifeevents run</code> prints it).</p>
<form method="post" action="sign-in">
<label for="token">Codec token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{_ui_steps(endpoint_of(request))}""",
            code,
        )

    async def show(request: Request) -> Response:
        expires = sessions.expiry(request.cookies.get(COOKIE))
        if expires is None:
            return sign_in_form(request)
        until = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        link = f'<p><a href="{html.escape(ui_url)}">Open the Temporal UI</a></p>' if ui_url else ""
        return _page(
            f"""<p role="status">Signed in until {until}. The Temporal UI decodes payloads in
this browser.</p>
{link}
<form method="post" action="sign-out"><button type="submit">Sign out</button></form>
{_ui_steps(endpoint_of(request))}"""
        )

    async def sign_in(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return sign_in_form(request, "That is not a codec token.", 413)
        form = parse_qs(body.decode("utf-8", errors="replace"))
        token = (form.get("token") or [""])[0].strip()
        if not token or not token_allowed(token):
            log.warning("codec.sign_in_refused")
            return sign_in_form(request, "That is not a codec token.", 401)
        session_id, _ = sessions.open()
        log.info("codec.signed_in")
        response = RedirectResponse("sign-in", status.HTTP_303_SEE_OTHER, headers=_HEADERS)
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=int(sessions.lifetime_seconds),
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def sign_out(request: Request) -> Response:
        sessions.close(request.cookies.get(COOKIE))
        log.info("codec.signed_out")
        response = RedirectResponse("sign-in", status.HTTP_303_SEE_OTHER, headers=_HEADERS)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    app.add_api_route("/sign-in", show, methods=["GET"], include_in_schema=False)
    app.add_api_route("/sign-in", sign_in, methods=["POST"], include_in_schema=False)
    app.add_api_route("/sign-out", sign_out, methods=["POST"], include_in_schema=False)
