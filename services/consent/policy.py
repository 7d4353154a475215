"""The data-sharing policy, declared as data in a TOML file a council can read and edit.

For each purpose and recipient the file names the lawful basis and the data categories that
may flow. The gate denies anything the policy does not list; consent is required exactly
where the policy's basis is `consent`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

from contracts.consent import LawfulBasis
from contracts.keys import Code
from contracts.shares import CategoryList, DataCategory

__all__ = ["DEFAULT_POLICY_PATH", "Policy", "PolicyError", "ShareRule", "load_policy"]

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.toml")

_Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class PolicyError(ValueError):
    """The policy file is missing, not TOML, or breaks a rule; the message names the rule."""


class ShareRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Code
    recipient: Code
    basis: LawfulBasis
    categories: CategoryList
    legislation: _Text | None = None
    special_condition: _Text | None = None
    objection_overridden: _Text | None = None

    @model_validator(mode="after")
    def _complete(self) -> ShareRule:
        if self.basis is not LawfulBasis.CONSENT and self.legislation is None:
            raise ValueError(f"basis {self.basis} needs `legislation`")
        special = any(c.special for c in self.categories)
        if special and self.basis is not LawfulBasis.CONSENT and self.special_condition is None:
            raise ValueError(
                "special categories on a basis other than consent need `special_condition`"
            )
        if self.objection_overridden is not None and self.basis is not LawfulBasis.PUBLIC_TASK:
            raise ValueError("`objection_overridden` applies to public_task only")
        return self

    @property
    def objection_honoured(self) -> bool:
        return self.basis.allows_objection and self.objection_overridden is None

    def disallowed(self, categories: list[DataCategory]) -> list[DataCategory]:
        return sorted(set(categories) - set(self.categories))


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: _Text
    controller: Code
    shares: list[ShareRule] = Field(alias="share", default_factory=list)
    _rules: dict[tuple[str, str], ShareRule] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> Policy:
        seen: set[tuple[str, str]] = set()
        for rule in self.shares:
            key = (rule.purpose, rule.recipient)
            if key in seen:
                raise ValueError(f"share {rule.purpose} -> {rule.recipient} is declared twice")
            seen.add(key)
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._rules = {(r.purpose, r.recipient): r for r in self.shares}

    def rule(self, purpose: str, recipient: str) -> ShareRule | None:
        return self._rules.get((purpose, recipient))


def load_policy(path: Path = DEFAULT_POLICY_PATH) -> Policy:
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except OSError as error:
        raise PolicyError(f"cannot read the policy file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"the policy file {path} is not valid TOML: {error}") from None
    try:
        return Policy.model_validate(raw)
    except ValueError as error:
        raise PolicyError(f"the policy file {path} breaks a rule: {error}") from None
