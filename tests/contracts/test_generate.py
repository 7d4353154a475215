"""Committed artefacts match the code, and no published version has been broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import contracts.generate
from contracts.generate import (
    ASYNCAPI_FILE,
    CONTRACTS_DIR,
    PUBLISHED_DIR,
    SCHEMAS_DIR,
    compatibility_report,
    expected_files,
    main,
    stale_files,
)
from contracts.registry import EVENT_TYPES
from contracts.schema import schema_files
from contracts.shapes import RETIRED, SHAPES

FIX = "run `python -m contracts.generate` and commit the result"


@pytest.mark.parametrize(
    "path", sorted(expected_files()), ids=lambda p: str(p.relative_to(CONTRACTS_DIR))
)
def test_committed_file_matches_generated(path: object) -> None:
    expected = expected_files()[path]  # type: ignore[index]
    assert path.exists(), f"{path} is missing: {FIX}"  # type: ignore[attr-defined]
    assert path.read_text(encoding="utf-8") == expected, f"{path} is out of date: {FIX}"  # type: ignore[attr-defined]


def test_no_stale_generated_files() -> None:
    assert stale_files() == [], FIX


def test_check_mode_passes_on_a_clean_tree() -> None:
    assert main(["--check"]) == 0


def test_every_registered_type_is_published() -> None:
    published = {p.name for p in PUBLISHED_DIR.glob("*.json")}
    assert set(schema_files()) <= published, (
        "a registered type has no published snapshot: run `python -m contracts.generate "
        "--publish` once its schema is agreed"
    )
    assert len(EVENT_TYPES) * 2 + len(SHAPES) + len(RETIRED) == len(published)


def test_a_retired_shape_keeps_its_snapshot_and_its_successor_is_published() -> None:
    published = {p.name.removesuffix(".json") for p in PUBLISHED_DIR.glob("*.json")}
    for retired, successor in RETIRED.items():
        assert retired in published
        assert retired not in SHAPES
        assert successor in SHAPES
        assert successor in published


def test_no_published_version_is_broken() -> None:
    broken = {
        name: [str(i) for i in found] for name, found in compatibility_report().items() if found
    }
    assert broken == {}, (
        "these changes break producers or consumers of a published version; "
        f"add a new .v2 type instead: {json.dumps(broken, indent=2)}"
    )


def test_asyncapi_file_is_json() -> None:
    assert json.loads(ASYNCAPI_FILE.read_text("utf-8"))["asyncapi"] == "3.0.0"


def _published_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The published snapshots copied to a folder of the test's own, as the published ones."""
    folder = tmp_path / "published"
    folder.mkdir()
    for snapshot in PUBLISHED_DIR.glob("*.json"):
        (folder / snapshot.name).write_text(snapshot.read_text("utf-8"), encoding="utf-8")
    monkeypatch.setattr(contracts.generate, "PUBLISHED_DIR", folder)
    return folder


def test_publish_refuses_and_restate_accepts_a_newly_stated_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _published_copy(tmp_path, monkeypatch)
    snapshot = folder / "lifeevents.birth.registered.v1.json"
    # As the snapshot was before the schema stated the rule the model already enforced.
    older = json.loads(snapshot.read_text("utf-8"))
    del older["$defs"]["PersonName"]["allOf"]
    snapshot.write_text(json.dumps(older), encoding="utf-8")

    assert main(["--publish"]) == 1
    assert json.loads(snapshot.read_text("utf-8")) == older
    assert "rule 'name_required' stated" in capsys.readouterr().err

    assert main(["--publish", "--restate"]) == 0
    assert "restated: " in capsys.readouterr().err
    assert snapshot.read_text("utf-8") == expected_files()[SCHEMAS_DIR / snapshot.name]
    assert compatibility_report()[snapshot.name] == []


def test_restate_goes_only_with_publish() -> None:
    with pytest.raises(SystemExit):
        main(["--restate"])
