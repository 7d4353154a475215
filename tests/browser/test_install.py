"""`make test` installs Debian's Chromium when it is missing (deploy/local/browser.py).

apt-get, sudo and chromium are stand-ins on a PATH of the test's own making: each records
how it was called, so nothing is installed and nothing needs the network.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local.browser import APT_INSTALL, BrowserError, ensure_chromium, install_command


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


@pytest.fixture
def nowhere(tmp_path: Path) -> Path:
    """Where Debian's Chromium is not (the real /usr/bin/chromium is on this machine)."""
    return tmp_path / "no" / "chromium"


def stand_in(bin_dir: Path, name: str, body: str = "") -> Path:
    """A Python script called `name` that appends its arguments to calls.log, then runs
    `body`."""
    script = bin_dir / name
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, pathlib\n"
        f"log = pathlib.Path({str(bin_dir / 'calls.log')!r})\n"
        "with log.open('a') as f:\n"
        "    f.write(' '.join([os.path.basename(sys.argv[0]), *sys.argv[1:]])\n"
        "            + ' DEBIAN_FRONTEND=' + os.environ.get('DEBIAN_FRONTEND', '') + '\\n')\n"
        f"{body}\n"
    )
    script.chmod(0o755)
    return script


# apt-get that "installs" a chromium next to itself.
INSTALLS = (
    "if sys.argv[1:2] == ['install']:\n"
    "    target = pathlib.Path(sys.argv[0]).with_name('chromium')\n"
    "    target.write_text('#!/bin/sh\\necho Chromium 1.2.3\\n')\n"
    "    target.chmod(0o755)\n"
)


def calls(bin_dir: Path) -> list[str]:
    log = bin_dir / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_present_chromium_is_left_alone(bin_dir: Path, nowhere: Path) -> None:
    chromium = stand_in(bin_dir, "chromium")
    stand_in(bin_dir, "apt-get", INSTALLS)
    assert ensure_chromium(str(bin_dir), root=True, debian_path=nowhere) == (str(chromium), False)
    assert calls(bin_dir) == []


def test_debian_path_is_found_off_path(bin_dir: Path, tmp_path: Path) -> None:
    debian = stand_in(tmp_path, "chromium")
    assert ensure_chromium(str(bin_dir), root=True, debian_path=debian) == (str(debian), False)


def test_root_installs_with_apt_get(bin_dir: Path, nowhere: Path) -> None:
    stand_in(bin_dir, "apt-get", INSTALLS)
    found, installed = ensure_chromium(str(bin_dir), root=True, debian_path=nowhere)
    assert (found, installed) == (str(bin_dir / "chromium"), True)
    assert calls(bin_dir) == [
        "apt-get update DEBIAN_FRONTEND=noninteractive",
        "apt-get install -y --no-install-recommends chromium DEBIAN_FRONTEND=noninteractive",
    ]
    # A second run installs nothing.
    assert ensure_chromium(str(bin_dir), root=True, debian_path=nowhere) == (found, False)
    assert len(calls(bin_dir)) == 2


def test_not_root_installs_through_sudo(bin_dir: Path, nowhere: Path) -> None:
    stand_in(bin_dir, "apt-get", INSTALLS)
    stand_in(bin_dir, "sudo", "os.execv(sys.argv[1], sys.argv[1:])")
    assert install_command(str(bin_dir), root=False) == [
        str(bin_dir / "sudo"),
        "/bin/sh",
        "-c",
        f"export DEBIAN_FRONTEND=noninteractive; {APT_INSTALL}",
    ]
    assert ensure_chromium(str(bin_dir), root=False, debian_path=nowhere)[1] is True
    assert calls(bin_dir)[0].startswith("sudo /bin/sh -c")
    assert calls(bin_dir)[1:] == [
        "apt-get update DEBIAN_FRONTEND=noninteractive",
        "apt-get install -y --no-install-recommends chromium DEBIAN_FRONTEND=noninteractive",
    ]


def test_not_root_without_sudo_says_what_to_install(bin_dir: Path, nowhere: Path) -> None:
    stand_in(bin_dir, "apt-get", INSTALLS)
    with pytest.raises(BrowserError) as failed:
        ensure_chromium(str(bin_dir), root=False, debian_path=nowhere)
    assert "needs root, and there is no sudo" in str(failed.value)
    assert APT_INSTALL in str(failed.value)
    assert calls(bin_dir) == []


def test_no_apt_get_says_what_to_install(bin_dir: Path, nowhere: Path) -> None:
    with pytest.raises(BrowserError, match="no apt-get here") as failed:
        ensure_chromium(str(bin_dir), root=True, debian_path=nowhere)
    assert APT_INSTALL in str(failed.value)


def test_a_failed_install_says_so(bin_dir: Path, nowhere: Path) -> None:
    stand_in(bin_dir, "apt-get", "sys.exit(100)")
    with pytest.raises(BrowserError, match=r"Installing Chromium failed \(exit 100"):
        ensure_chromium(str(bin_dir), root=True, debian_path=nowhere)


def test_the_command_on_this_machine() -> None:
    """What `make test` runs: here Chromium is installed, so it only says which."""
    result = subprocess.run(
        [sys.executable, "-m", "deploy.local.browser"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Chromium: present, ")
    assert "Chromium " in result.stdout.split("(", 1)[1]
