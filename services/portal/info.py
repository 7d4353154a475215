"""The pages anyone may read, signed in or not: accessibility statement and cookies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.portal.rendering import render
from services.portal.sessions import cookie_name
from services.portal.web import portal

__all__ = ["router"]

router = APIRouter()


@router.get("/accessibility")
async def accessibility(request: Request) -> Response:
    return await render(request, "accessibility.html", {"title": "Accessibility statement"})


@router.get("/cookies")
async def cookies(request: Request) -> Response:
    settings = portal(request).settings
    return await render(
        request,
        "cookies.html",
        {
            "title": "Cookies",
            "cookies": [
                {
                    "name": cookie_name(settings, "session"),
                    "purpose": "Keeps you signed in",
                    "expires": "When you close your browser, sign out, or after "
                    f"{settings.portal_session_idle_minutes} minutes without using the service",
                },
                {
                    "name": cookie_name(settings, "signin"),
                    "purpose": "Remembers that you asked for a sign-in code",
                    "expires": f"After {settings.portal_code_minutes} minutes",
                },
                {
                    "name": cookie_name(settings, "csrf"),
                    "purpose": "Protects the forms you fill in before you sign in from "
                    "being sent by another website",
                    "expires": "When you close your browser",
                },
            ],
        },
    )
