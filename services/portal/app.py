"""The portal's web app: `create_app(settings, ports…)`.

The composition root (`deploy/`) gives it adapters over the other services as the ports
of `services.portal.ports`; nothing here imports another service. Serve it with uvicorn:

    app = create_app(PortalSettings(), directory=…, inbox=…, code_sender=…,
                     call_requests=…, life_events=…, consents=…, letter_preferences=…)
    uvicorn.run(app, host=settings.portal_host, port=settings.portal_port)

The store is opened in the app's lifespan (unless one is given, as tests do). The
caseworker console (C2) adds its pages with `routers=[…]`: they share the layout,
sessions, `require_caseworker` and the app-wide CSRF check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.types import Scope

from services.portal import info, resident, signin
from services.portal.ports import (
    CallRequests,
    CodeSender,
    Consents,
    Inbox,
    LetterPreferences,
    LifeEvents,
    ResidentDirectory,
)
from services.portal.rendering import ERROR_TITLES, error_page, render
from services.portal.security import Keys, SecurityHeaders, portal_key
from services.portal.sessions import MAX_FORM_BYTES, csrf_protect
from services.portal.settings import PortalSettings
from services.portal.store import PortalStore
from services.portal.web import (
    Clock,
    PageError,
    Portal,
    ResidentPorts,
    SignInRequired,
    asset_version,
    templates_for,
    utc_now,
)

__all__ = ["SIGN_IN_PATHS", "create_app"]

# Where a page sends someone without a session of its role.
SIGN_IN_PATHS = {"resident": "/sign-in", "caseworker": "/caseworker/sign-in"}


def create_app(
    settings: PortalSettings,
    *,
    directory: ResidentDirectory,
    inbox: Inbox,
    code_sender: CodeSender,
    call_requests: CallRequests,
    life_events: LifeEvents,
    consents: Consents,
    letter_preferences: LetterPreferences,
    store: PortalStore | None = None,
    clock: Clock = utc_now,
    routers: Sequence[APIRouter] = (),
    unavailable: Sequence[type[Exception]] = (),
) -> FastAPI:
    """The portal. `unavailable`: the adapters' exceptions that mean "not available just
    now" (Temporal or the consent API not answering): answered with the 503 page.
    `letter_preferences`: where the resident's choice of large-print letters is kept. Without
    it (an app composed with no notification service, as some tests compose it) the
    preferences page does not offer the choice, rather than offer one nobody keeps."""
    state = Portal(
        settings=settings,
        keys=Keys(portal_key(settings)),
        templates=templates_for(),
        ports=ResidentPorts(
            directory=directory,
            inbox=inbox,
            code_sender=code_sender,
            call_requests=call_requests,
            life_events=life_events,
            consents=consents,
            letter_preferences=letter_preferences,
        ),
        clock=clock,
        store_=store,
        asset_version=asset_version(settings),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if state.store_ is not None:
            yield
            return
        state.store_ = await PortalStore.open(settings.database_url("portal"))
        try:
            yield
        finally:
            await state.store_.close()
            state.store_ = None

    app = FastAPI(
        title=f"{settings.portal_council_name} {settings.portal_service_name}",
        # A web app for people, not an API: no OpenAPI document or docs pages.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # Every route of every router, now and later: a POST without a valid token is 403.
        dependencies=[Depends(csrf_protect)],
        # Every form here is a few short fields: a larger body is refused as it streams in
        # (chunked too), before it is parsed.
        max_body_size=MAX_FORM_BYTES,
    )
    app.state.portal = state

    @app.exception_handler(SignInRequired)
    async def sign_in_required(_request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(SIGN_IN_PATHS[error.role], status_code=303)

    @app.exception_handler(PageError)
    async def page_error(request: Request, error: PageError) -> Response:
        return await error_page(request, error.status, error.reason, error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        return await error_page(request, error.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        # A path that does not fit its pattern names nothing: not found. Anything else
        # (a form field of the wrong shape) is a bad request; the errors are not shown.
        in_path = any(e.get("loc", ("",))[0] == "path" for e in error.errors())
        return await error_page(request, 404 if in_path else 400)

    async def not_available(request: Request, _error: Exception) -> Response:
        return await error_page(request, 503, headers={"Retry-After": "30"})

    for error_type in unavailable:
        app.add_exception_handler(error_type, not_available)

    for router in (signin.router, info.router, resident.router, *routers):
        app.include_router(router)

    settings.portal_static_dir.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=settings.portal_static_dir), name="static")

    async def fallback_error(scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            response = await render(
                Request(scope), "errors/500.html", {"title": ERROR_TITLES[500]}, status_code=500
            )
        except Exception:
            # The page itself failed (the store is down, say): a plain one.
            return 500, [(b"content-type", b"text/plain; charset=utf-8")], _PLAIN_500
        return 500, list(response.raw_headers), bytes(response.body)

    app.add_middleware(
        SecurityHeaders,
        error_page=fallback_error,
        hsts=settings.portal_public_url.startswith("https://"),
    )
    return app


_PLAIN_500 = b"Sorry, there is a problem with the service. Try again later."
