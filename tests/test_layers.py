"""Imports run one way (DESIGN.md, "Layout"): the import-linter contracts in pyproject.toml.

The real tree must keep every contract; a copy of the tree with one wrong import must break
the contract that forbids it, so the contracts are known to catch what they are for.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sysconfig.get_path("scripts")) / "lint-imports"
PACKAGES = ("contracts", "services", "workflows", "deploy")


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the tree under `root` (first on the path, so it is the copy that is
    analysed, not the installed project), with only the given contracts if any."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *selected],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def contracts_config() -> list[dict[str, object]]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_the_tree_keeps_every_layer_contract() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_service_is_held_independent_of_the_others() -> None:
    independence = next(c for c in contracts_config() if c["id"] == "services-independent")
    services = sorted(
        f"services.{path.parent.name}"
        for path in (REPO_ROOT / "services").glob("*/__init__.py")
        if path.parent.name != "common"
    )
    assert independence["modules"] == services


@pytest.mark.parametrize(
    ("module", "source", "contract", "broken"),
    [
        pytest.param(
            "contracts/_wrong.py",
            "import services.common.settings\n",
            "contracts",
            "contracts._wrong -> services.common.settings",
            id="contracts-imports-services.common",
        ),
        pytest.param(
            "services/intake/_wrong.py",
            "from services.consent import settings\n",
            "services-independent",
            "services.intake._wrong -> services.consent",
            id="intake-imports-consent",
        ),
        pytest.param(
            "workflows/_wrong.py",
            "from services.common import settings\n",
            "workflows",
            "workflows._wrong -> services.common",
            id="workflow-imports-services.common",
        ),
        pytest.param(
            "workflows/_wrong.py",
            "from workflows import worker\n",
            "workflows-worker",
            "workflows._wrong -> workflows.worker",
            id="workflow-imports-the-worker",
        ),
    ],
)
def test_a_wrong_import_breaks_its_contract(
    tmp_path: Path, module: str, source: str, contract: str, broken: str
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    (tmp_path / module).write_text(source)

    result = lint_imports(tmp_path, contract)

    assert result.returncode != 0, result.stdout + result.stderr
    name = next(c["name"] for c in contracts_config() if c["id"] == contract)
    assert f"{name} BROKEN" in result.stdout
    assert broken in result.stdout
