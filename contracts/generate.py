"""Write (or check) the generated artefacts committed next to the contracts code.

    python -m contracts.generate            # write schemas/*.json and asyncapi.json
    python -m contracts.generate --check    # exit 1 if a committed file is out of date
    python -m contracts.generate --publish  # snapshot new types into schemas/published/
    python -m contracts.generate --publish --restate  # ... and restated ones (see below)

Published snapshots are the promise made to other teams: ``--publish`` adds a snapshot for
a type (an event type, or a shape of ``contracts.shapes``) that has none, and refuses to
touch one whose type has changed incompatibly.

The promise is what the models accept, which the schema describes. When a schema comes to
state what the models already enforced (a rule written into the schema, a value they
already took), the events that are valid stay the same, but the compatibility check, which
compares schemas, reports the change. ``--restate`` takes such snapshots again, printing
every reported change it accepts: it is for that case only, with tests showing the models
already did what the schema now says (tests/contracts/test_schema_rules.py and
test_shape_rules.py), never for a change of the models, which needs a new type.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contracts.asyncapi import asyncapi_document
from contracts.compat import Incompatibility, check_compatibility
from contracts.schema import schema_files
from contracts.shapes import RETIRED

__all__ = [
    "ASYNCAPI_FILE",
    "CONTRACTS_DIR",
    "PUBLISHED_DIR",
    "SCHEMAS_DIR",
    "compatibility_report",
    "dumps",
    "expected_files",
    "main",
]

CONTRACTS_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
PUBLISHED_DIR = SCHEMAS_DIR / "published"
ASYNCAPI_FILE = CONTRACTS_DIR / "asyncapi.json"


def dumps(document: Any) -> str:
    """The one JSON layout for committed files, so diffs stay readable and stable."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    """Every generated file and the text it must have."""
    files = {SCHEMAS_DIR / name: dumps(schema) for name, schema in schema_files().items()}
    files[ASYNCAPI_FILE] = dumps(asyncapi_document())
    return files


def stale_files() -> list[Path]:
    """Files under schemas/ (not published/) that no registered type generates any more."""
    wanted = set(expected_files())
    return sorted(p for p in SCHEMAS_DIR.glob("*.json") if p not in wanted)


def compatibility_report() -> dict[str, list[Incompatibility]]:
    """Published snapshot name → what the current schema breaks (empty lists are fine)."""
    current = schema_files()
    report: dict[str, list[Incompatibility]] = {}
    for snapshot in sorted(PUBLISHED_DIR.glob("*.json")):
        published = json.loads(snapshot.read_text(encoding="utf-8"))
        if snapshot.name.removesuffix(".json") in RETIRED:
            continue  # replaced, and its successor is held to its own snapshot
        if snapshot.name not in current:
            report[snapshot.name] = [
                Incompatibility("$", "published type no longer generated", "both")
            ]
            continue
        report[snapshot.name] = check_compatibility(published, current[snapshot.name])
    return report


def _write(check: bool) -> int:
    differing = [
        path
        for path, text in expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    if check:
        for path in differing + stale_files():
            print(f"out of date: {path.relative_to(CONTRACTS_DIR.parent)}", file=sys.stderr)
        return 1 if differing or stale_files() else 0
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for path in stale_files():
        path.unlink()
    return 0


def _publish(*, restate: bool = False) -> int:
    PUBLISHED_DIR.mkdir(parents=True, exist_ok=True)
    broken = {name: found for name, found in compatibility_report().items() if found}
    for name, found in broken.items():
        for item in found:
            print(f"{name}: {'restated: ' if restate else ''}{item}", file=sys.stderr)
    for name, schema in schema_files().items():
        target = PUBLISHED_DIR / name
        if name in broken and not restate:
            continue
        # A compatible change (descriptions only) refreshes the snapshot's wording.
        target.write_text(dumps(schema), encoding="utf-8")
    return 1 if broken and not restate else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if committed files differ")
    mode.add_argument("--publish", action="store_true", help="snapshot published schemas")
    parser.add_argument(
        "--restate",
        action="store_true",
        help="with --publish: also snapshot again the schemas that now state what the "
        "models already enforced (prints every change it accepts)",
    )
    args = parser.parse_args(argv)
    if args.restate and not args.publish:
        parser.error("--restate goes with --publish")
    if args.publish:
        return _publish(restate=args.restate)
    status = _write(check=args.check)
    breaking = {name: found for name, found in compatibility_report().items() if found}
    for name, found in breaking.items():
        for item in found:
            print(f"incompatible with published {name}: {item}", file=sys.stderr)
    return status or (1 if breaking else 0)


if __name__ == "__main__":
    sys.exit(main())
