"""Debian's Chromium for the browser tests, installed from the package archive when missing.

The web pages are tested in a real headless Chromium driven by Playwright (tests/browser/).
Playwright's own `playwright install` downloads a browser build from outside the package
registries, which neither this machine nor CI can reach, so the tests drive Debian's
`chromium` package instead. `make test` runs `python -m deploy.local.browser` first: on a
fresh machine it installs the package with apt-get (as root, or through sudo), and where
Chromium is already there it only says which one, in well under a second.

`make run` does not need a browser, so this is not part of `lifeevents stack prepare`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "APT_INSTALL",
    "BrowserError",
    "chromium_version",
    "ensure_chromium",
    "find_chromium",
    "install_command",
]

PACKAGE = "chromium"
# Where Debian's package puts it: found even by a PATH that leaves /usr/bin out.
DEBIAN_PATH = Path("/usr/bin/chromium")
APT_INSTALL = f"apt-get update && apt-get install -y --no-install-recommends {PACKAGE}"
# No question may wait for an answer (CI has no standard input); set inside the shell, as
# sudo passes on little of the caller's environment.
_SCRIPT = f"export DEBIAN_FRONTEND=noninteractive; {APT_INSTALL}"


class BrowserError(Exception):
    """A problem the developer can fix; the message says what to install and how."""


def find_chromium(path: str | None = None, debian_path: Path = DEBIAN_PATH) -> str | None:
    """The Chromium executable on PATH (or `path`), else Debian's, else None."""
    found = shutil.which(PACKAGE, path=path)
    if found:
        return found
    if debian_path.is_file() and os.access(debian_path, os.X_OK):
        return str(debian_path)
    return None


def install_command(path: str | None = None, *, root: bool | None = None) -> list[str] | None:
    """The command that installs Debian's Chromium here, or None when we cannot: not root and
    no sudo, or no apt-get (not Debian)."""
    if shutil.which("apt-get", path=path) is None:
        return None
    if root is None:
        root = os.geteuid() == 0
    if root:
        return ["/bin/sh", "-c", _SCRIPT]
    sudo = shutil.which("sudo", path=path)
    if sudo is None:
        return None
    # sudo asks for a password on a developer's terminal; with no terminal (CI) it fails,
    # and so do we, with the message below.
    return [sudo, "/bin/sh", "-c", _SCRIPT]


def _how_to_install() -> str:
    return (
        "The browser tests (tests/browser) need Debian's Chromium, driven by Playwright; "
        f"never a browser Playwright downloads. Install it as root: `{APT_INSTALL}`"
    )


def ensure_chromium(
    path: str | None = None,
    *,
    root: bool | None = None,
    debian_path: Path = DEBIAN_PATH,
) -> tuple[str, bool]:
    """The Chromium executable, and whether this call installed it. Raises `BrowserError`
    when it is missing and cannot be installed here."""
    found = find_chromium(path, debian_path)
    if found:
        return found, False
    command = install_command(path, root=root)
    if command is None:
        why = (
            "no apt-get here to install it with"
            if shutil.which("apt-get", path=path) is None
            else "installing it needs root, and there is no sudo"
        )
        raise BrowserError(f"Chromium is not installed ({why}). {_how_to_install()}")
    run_env = dict(os.environ)
    if path is not None:
        run_env["PATH"] = path
    print(f"Installing Debian's Chromium: {APT_INSTALL}", flush=True)
    installed = subprocess.run(
        command, env=run_env, stdin=subprocess.DEVNULL, check=False, timeout=1800
    )
    found = find_chromium(path, debian_path)
    if installed.returncode != 0 or found is None:
        raise BrowserError(
            f"Installing Chromium failed (exit {installed.returncode}; apt-get's output is "
            f"above). {_how_to_install()}"
        )
    return found, True


def chromium_version(executable: str) -> str:
    """`chromium --version`: "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)"."""
    result = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise BrowserError(
            f"{executable} --version failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        )
    return result.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    del argv  # no options: the command only makes sure the browser is there
    try:
        executable, installed = ensure_chromium()
        version = chromium_version(executable)
    except BrowserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Chromium: {'installed' if installed else 'present'}, {executable} ({version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
