"""Pages in the portal's layout, and its GOV.UK-styled error pages.

`render` puts what the layout needs in every page: the council's name, the CSP nonce, the
CSRF token its forms carry (the session's, or the pre-session token, whose cookie is set
here when the browser has none yet) and who is signed in. Error pages never show an
exception's text: the status picks the page, and a `reason` code may pick its words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.responses import Response

from services.portal.sessions import current_session, form_token, set_presession_cookie
from services.portal.web import portal

__all__ = ["ERROR_TITLES", "error_page", "render"]


async def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    state = portal(request)
    session = await current_session(request) if state.store_ is not None else None
    token, new_cookie = form_token(request, session)
    response = state.templates.TemplateResponse(
        request,
        template,
        {
            "council_name": state.settings.portal_council_name,
            "service_name": state.settings.portal_service_name,
            "csp_nonce": getattr(request.state, "csp_nonce", ""),
            "csrf_token": token,
            "session": session,
            "path": request.url.path,
            "asset_version": state.asset_version,
            **(context or {}),
        },
        status_code=status_code,
        headers=dict(headers or {}),
    )
    if new_cookie is not None:
        set_presession_cookie(response, state.settings, new_cookie)
    return response


ERROR_TITLES: dict[int, str] = {
    400: "Sorry, there is a problem with the service",
    403: "You cannot do that",
    404: "Page not found",
    413: "Sorry, there is a problem with the service",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
    503: "Not available just now",
}
_PAGES = {
    403: "errors/403.html",
    404: "errors/404.html",
    429: "errors/429.html",
    503: "errors/503.html",
}


async def error_page(
    request: Request,
    status: int,
    reason: str = "",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The page for `status` (405 is answered as 404: no page is there for that method)."""
    shown = 404 if status == 405 else status
    return await render(
        request,
        _PAGES.get(shown, "errors/500.html"),
        {
            "title": ERROR_TITLES.get(shown, ERROR_TITLES[500]),
            "reason": reason,
            "wait_minutes": portal(request).settings.portal_rate_window_minutes,
        },
        status_code=shown,
        headers=headers,
    )
