"""Compatibility check between a published schema and the one the code generates now.

Consumers validate strictly (unknown fields are rejected), so a published version is
frozen in both directions:

- *narrowing* (a removed field, a newly required field, a tighter type or constraint,
  fewer enum values) breaks existing **producers**, whose events stop validating;
- *widening* (a new field, a field no longer required, a looser constraint, more enum
  values) breaks existing **consumers**, which reject or mishandle what they never knew.

Only annotations (titles, descriptions, examples) may change. Anything else needs a new
``.v2`` type next to the ``.v1`` one.

Model rules stated in a schema (``contracts.rules``: the titled entries of an object's
``allOf``) are matched by their rule code: a newly stated rule narrows, a rule no longer
stated widens, a changed one may do either. Stating a rule that the models already enforced
changes no event's validity, though the check cannot know that: such a snapshot is taken
again with ``python -m contracts.generate --publish --restate`` (see contracts/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Incompatibility", "check_compatibility"]

Breaks = Literal["producers", "consumers", "both"]

_ANNOTATIONS = frozenset({"title", "description", "examples", "$comment", "$id", "$schema"})
_UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")
_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
_HANDLED = frozenset(
    {
        "$ref",
        "$defs",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "oneOf",
        "allOf",
        "enum",
        "const",
        "type",
        "pattern",
        *_UPPER_BOUNDS,
        *_LOWER_BOUNDS,
    }
)
# The JSON type of a const or enum value, for variants that say no "type" of their own.
_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


@dataclass(frozen=True, slots=True)
class Incompatibility:
    path: str
    change: str
    breaks: Breaks

    def __str__(self) -> str:
        return f"{self.path}: {self.change} (breaks existing {self.breaks})"


def check_compatibility(
    published: Mapping[str, Any], current: Mapping[str, Any]
) -> list[Incompatibility]:
    """Every change from ``published`` to ``current`` that would break a producer or consumer."""
    found: list[Incompatibility] = []
    _compare(published, current, published, current, "$", found, frozenset())
    return found


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            break
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **extra}
    return node


def _type_set(node: Mapping[str, Any]) -> frozenset[str] | None:
    kind = node.get("type")
    if kind is None:
        return None
    return frozenset([kind] if isinstance(kind, str) else kind)


def _variants(node: Mapping[str, Any]) -> list[Any] | None:
    variants = node.get("anyOf", node.get("oneOf"))
    return list(variants) if variants is not None else None


def _compare(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
    path: str,
    found: list[Incompatibility],
    seen: frozenset[tuple[int, int]],
) -> None:
    old = _resolve(old, old_root)
    new = _resolve(new, new_root)
    marker = (id(old), id(new))
    if marker in seen:
        return
    seen = seen | {marker}

    def report(change: str, breaks: Breaks) -> None:
        found.append(Incompatibility(path, change, breaks))

    old_variants, new_variants = _variants(old), _variants(new)
    if old_variants is not None or new_variants is not None:
        _compare_variants(
            old_variants or [old], new_variants or [new], old_root, new_root, path, found, seen
        )
        return

    old_types, new_types = _type_set(old), _type_set(new)
    if old_types != new_types:
        if old_types and new_types and new_types < old_types:
            report(f"type narrowed from {sorted(old_types)} to {sorted(new_types)}", "producers")
        elif old_types and new_types and new_types > old_types:
            report(f"type widened from {sorted(old_types)} to {sorted(new_types)}", "consumers")
        else:
            report(f"type changed from {_show(old_types)} to {_show(new_types)}", "both")
        return

    _compare_values(old, new, report)
    _compare_bounds(old, new, report)
    _compare_pattern(old, new, report)
    _compare_rules(old, new, report)

    if "properties" in old or "properties" in new:
        _compare_objects(old, new, old_root, new_root, path, found, seen)
    if "additionalProperties" in old or "additionalProperties" in new:
        _compare_additional(old, new, old_root, new_root, path, found, seen)
    if "items" in old or "items" in new:
        if "items" in old and "items" in new:
            _compare(old["items"], new["items"], old_root, new_root, f"{path}[]", found, seen)
        else:
            report("array items schema added or removed", "both")

    for keyword in sorted((set(old) | set(new)) - _HANDLED - _ANNOTATIONS):
        if old.get(keyword) != new.get(keyword):
            report(f"{keyword} changed from {old.get(keyword)!r} to {new.get(keyword)!r}", "both")


def _show(types: frozenset[str] | None) -> str:
    return "any" if types is None else str(sorted(types))


def _compare_values(old: Mapping[str, Any], new: Mapping[str, Any], report: Any) -> None:
    old_values = _allowed_values(old)
    new_values = _allowed_values(new)
    if old_values == new_values:
        return
    if old_values is None:
        report("values restricted to a fixed set", "producers")
    elif new_values is None:
        report("fixed set of values lifted", "consumers")
    else:
        removed, added = old_values - new_values, new_values - old_values
        if removed:
            report(f"values removed: {sorted(map(str, removed))}", "producers")
        if added:
            report(f"values added: {sorted(map(str, added))}", "consumers")


def _allowed_values(node: Mapping[str, Any]) -> frozenset[Any] | None:
    if "const" in node:
        return frozenset([node["const"]])
    if "enum" in node:
        return frozenset(node["enum"])
    return None


def _compare_bounds(old: Mapping[str, Any], new: Mapping[str, Any], report: Any) -> None:
    for keyword in _UPPER_BOUNDS:
        before, after = old.get(keyword), new.get(keyword)
        if before == after:
            continue
        if after is not None and (before is None or after < before):
            report(f"{keyword} tightened from {before} to {after}", "producers")
        else:
            report(f"{keyword} loosened from {before} to {after}", "consumers")
    for keyword in _LOWER_BOUNDS:
        before, after = old.get(keyword), new.get(keyword)
        if before == after:
            continue
        if after is not None and (before is None or after > before):
            report(f"{keyword} tightened from {before} to {after}", "producers")
        else:
            report(f"{keyword} loosened from {before} to {after}", "consumers")


def _compare_pattern(old: Mapping[str, Any], new: Mapping[str, Any], report: Any) -> None:
    before, after = old.get("pattern"), new.get("pattern")
    if before == after:
        return
    if before is None:
        report(f"pattern {after!r} added", "producers")
    elif after is None:
        report(f"pattern {before!r} removed", "consumers")
    else:
        report(f"pattern changed from {before!r} to {after!r}", "both")


def _compare_rules(old: Mapping[str, Any], new: Mapping[str, Any], report: Any) -> None:
    # Annotations inside a rule are not part of it; a rule without a title (not one of
    # contracts.rules) is known by its whole text.
    def rules(node: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for entry in node.get("allOf", ()):
            body = _without_annotations(entry)
            title = entry.get("title") if isinstance(entry, Mapping) else None
            found[str(title) if title is not None else repr(body)] = body
        return found

    old_rules, new_rules = rules(old), rules(new)
    for code in sorted(new_rules.keys() - old_rules.keys()):
        report(f"rule {code!r} stated", "producers")
    for code in sorted(old_rules.keys() - new_rules.keys()):
        report(f"rule {code!r} no longer stated", "consumers")
    for code in sorted(old_rules.keys() & new_rules.keys()):
        if old_rules[code] != new_rules[code]:
            report(f"rule {code!r} changed", "both")


def _without_annotations(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _without_annotations(v) for k, v in node.items() if k not in _ANNOTATIONS}
    if isinstance(node, list):
        return [_without_annotations(v) for v in node]
    return node


def _compare_objects(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
    path: str,
    found: list[Incompatibility],
    seen: frozenset[tuple[int, int]],
) -> None:
    old_props: Mapping[str, Any] = old.get("properties", {})
    new_props: Mapping[str, Any] = new.get("properties", {})
    old_required = set(old.get("required", ()))
    new_required = set(new.get("required", ()))
    for name in sorted(old_props.keys() - new_props.keys()):
        found.append(Incompatibility(f"{path}.{name}", "field removed", "both"))
    for name in sorted(new_props.keys() - old_props.keys()):
        if name in new_required:
            found.append(Incompatibility(f"{path}.{name}", "required field added", "both"))
        else:
            found.append(Incompatibility(f"{path}.{name}", "optional field added", "consumers"))
    for name in sorted(old_props.keys() & new_props.keys()):
        if name in new_required and name not in old_required:
            found.append(Incompatibility(f"{path}.{name}", "field became required", "producers"))
        elif name in old_required and name not in new_required:
            found.append(Incompatibility(f"{path}.{name}", "field became optional", "consumers"))
        _compare(
            old_props[name], new_props[name], old_root, new_root, f"{path}.{name}", found, seen
        )


def _compare_additional(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
    path: str,
    found: list[Incompatibility],
    seen: frozenset[tuple[int, int]],
) -> None:
    # Closed objects say false; a map (a dict of codes, the data by category) says what its
    # values are, and is compared as values are.
    before = old.get("additionalProperties", True)
    after = new.get("additionalProperties", True)
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        _compare(before, after, old_root, new_root, f"{path}.*", found, seen)
    elif before != after:
        found.append(Incompatibility(path, "additionalProperties changed", "both"))


def _compare_variants(
    old_variants: list[Any],
    new_variants: list[Any],
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
    path: str,
    found: list[Incompatibility],
    seen: frozenset[tuple[int, int]],
) -> None:
    # Variants are matched by their type (null, string, object, ...); our schemas use
    # unions almost only for "X or null", which this covers precisely.
    def key(variant: Any, root: Mapping[str, Any]) -> str:
        resolved = _resolve(variant, root)
        types = _type_set(resolved) or _value_types(resolved)
        return ",".join(sorted(types)) if types else str(sorted(set(resolved) - _ANNOTATIONS))

    old_by_key = {key(v, old_root): v for v in old_variants}
    new_by_key = {key(v, new_root): v for v in new_variants}
    for removed in sorted(old_by_key.keys() - new_by_key.keys()):
        found.append(Incompatibility(path, f"alternative {removed!r} removed", "producers"))
    for added in sorted(new_by_key.keys() - old_by_key.keys()):
        found.append(Incompatibility(path, f"alternative {added!r} added", "consumers"))
    for common in sorted(old_by_key.keys() & new_by_key.keys()):
        _compare(old_by_key[common], new_by_key[common], old_root, new_root, path, found, seen)


def _value_types(node: Mapping[str, Any]) -> frozenset[str] | None:
    """The JSON types of a const's or enum's values, for a variant without a "type"."""
    values = _allowed_values(node)
    if values is None:
        return None
    types: set[str] = set()
    for value in values:
        if value is None:
            types.add("null")
            continue
        types.add(next(name for kind, name in _JSON_TYPES if isinstance(value, kind)))
    return frozenset(types)
