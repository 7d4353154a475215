"""The portal's front-end build: GOV.UK Frontend from npm, compiled with the council's fonts.

`build_assets(static_dir)` (run by `lifeevents stack prepare`):

1. `npm ci` in `services/portal/assets/` (the committed `package-lock.json`: govuk-frontend,
   sass, and axe-core for the browser tests), install scripts off;
2. `sass` compiles `assets/portal.scss` to `<static>/portal.css`;
3. GOV.UK Frontend's JS (`govuk-frontend.min.js`, an ES module) and images are copied under
   `<static>/govuk/`, with `assets/portal.js`, which calls its `initAll()`.

It skips all of it when a stamp in the static folder holds the hash of every input (the
lock file, package.json, the Sass, the JS, this module's build version) and the CSS is
there: a second `prepare` costs a few file reads.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from services.portal.settings import PORTAL_DIR, PortalSettings

__all__ = [
    "ASSETS_DIR",
    "AssetBuildError",
    "assets_built",
    "build_assets",
    "fingerprint",
    "prepare_portal_assets",
]

ASSETS_DIR = PORTAL_DIR / "assets"
# Raise when the build's steps change, so that a static folder built the old way is rebuilt.
_BUILD_VERSION = "1"
_INPUTS = ("package.json", "package-lock.json", "portal.scss", "portal.js")
_STAMP = ".build-stamp"
_GOVUK_DIST = Path("node_modules/govuk-frontend/dist/govuk")


class AssetBuildError(Exception):
    """The build could not run (no npm, no network for `npm ci`, a Sass error)."""


def fingerprint(assets_dir: Path = ASSETS_DIR) -> str:
    """The hash of every input of the build, as the stamp holds it."""
    digest = hashlib.sha256(_BUILD_VERSION.encode())
    for name in _INPUTS:
        digest.update(name.encode() + b"\0" + (assets_dir / name).read_bytes() + b"\0")
    return digest.hexdigest()


def assets_built(static_dir: Path, assets_dir: Path = ASSETS_DIR) -> bool:
    """Whether `static_dir` holds a build of exactly the current inputs."""
    stamp = static_dir / _STAMP
    try:
        return (static_dir / "portal.css").is_file() and stamp.read_text().strip() == (
            fingerprint(assets_dir)
        )
    except OSError:
        return False


def _run(command: list[str], cwd: Path, what: str) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise AssetBuildError(f"{command[0]} is not installed (Node.js 20 or newer)") from None
    except subprocess.TimeoutExpired:
        raise AssetBuildError(f"{what} took longer than 10 minutes") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise AssetBuildError(f"{what} failed (exit {done.returncode}):\n{tail}")


def build_assets(
    static_dir: Path, *, assets_dir: Path = ASSETS_DIR, force: bool = False, npm: str = "npm"
) -> bool:
    """Build the assets into `static_dir`; False when they were up to date already."""
    if not force and assets_built(static_dir, assets_dir):
        return False
    _run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        assets_dir,
        "npm ci",
    )
    static_dir.mkdir(parents=True, exist_ok=True)
    (static_dir / _STAMP).unlink(missing_ok=True)
    _run(
        [
            "node",
            str(assets_dir / "node_modules" / "sass" / "sass.js"),
            "--load-path=node_modules",
            "--style=compressed",
            "--no-source-map",
            "--quiet-deps",
            "portal.scss",
            str(static_dir / "portal.css"),
        ],
        assets_dir,
        "sass",
    )
    govuk = static_dir / "govuk"
    shutil.rmtree(govuk, ignore_errors=True)
    (govuk / "assets").mkdir(parents=True)
    dist = assets_dir / _GOVUK_DIST
    shutil.copy2(dist / "govuk-frontend.min.js", govuk / "govuk-frontend.min.js")
    shutil.copytree(dist / "assets" / "images", govuk / "assets" / "images")
    shutil.copy2(assets_dir / "portal.js", static_dir / "portal.js")
    (static_dir / _STAMP).write_text(fingerprint(assets_dir) + "\n")
    return True


def prepare_portal_assets(static_dir: Path | None = None) -> str:
    """`lifeevents stack prepare`'s step: build if needed, and say what happened. Without
    Node.js (or the npm registry) the portal still serves its pages, unstyled: a warning,
    not a failure, so the rest of the stack still prepares."""
    static_dir = static_dir or PortalSettings().portal_static_dir
    try:
        built = build_assets(static_dir)
    except AssetBuildError as error:
        return f"Portal assets: NOT BUILT, the portal's pages will be unstyled: {error}"
    return f"Portal assets: {'built' if built else 'up to date'} in {static_dir}"
