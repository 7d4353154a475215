"""The demo caseworker `lifeevents run` creates on the embedded stack, so the console's
sign-in works out of the box.

Its password is made at random the first time and kept in
`<var_dir>/portal/demo-caseworker.txt` (mode 0600), then printed by every `lifeevents run`:
a password known to everyone who reads this code would open the console of any machine
running the demo. A council's own caseworkers are added with `lifeevents caseworker add`.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.common.database import make_engine
from services.portal.caseworkers import AccountExists, Caseworkers
from services.portal.security import portal_key
from services.portal.settings import PortalSettings

__all__ = ["DEMO_CASEWORKER", "DemoCaseworker", "ensure_demo_caseworker"]

DEMO_CASEWORKER = "demo.caseworker"


@dataclass(frozen=True)
class DemoCaseworker:
    username: str
    password: str


def password_file(settings: PortalSettings) -> Path:
    return settings.var_dir / "portal" / "demo-caseworker.txt"


async def ensure_demo_caseworker(settings: PortalSettings) -> DemoCaseworker:
    """The demo caseworker's sign-in, the account created when missing (safe to repeat)."""
    kept = password_file(settings)
    if kept.is_file():
        password = kept.read_text().strip()
    else:
        password = secrets.token_urlsafe(12)
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.touch(mode=0o600)
        kept.write_text(password + "\n")
    engine = make_engine(settings.database_url("portal"))
    try:
        caseworkers = Caseworkers(engine, portal_key(settings))
        await caseworkers.create_tables()
        with contextlib.suppress(AccountExists):
            await caseworkers.add(DEMO_CASEWORKER, "Demo Caseworker", password)
    finally:
        await engine.dispose()
    return DemoCaseworker(DEMO_CASEWORKER, password)
