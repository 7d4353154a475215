"""Whom the partners service can tell, on which topic, and what: `partners.toml`.

One table per organisation outside the council, named by its code (a `TellUsOnceRecipient`,
which the consent gate also uses as the share's recipient): the Kafka topic it reads, and the
person fields of `contracts.partners.DeathNotice` it is told. A notice carries those fields
and no others, so adding an organisation, or a field to one, is a reviewed change to this
file (and to the data-sharing policy, without which the gate lets nothing through).

The file holds no personal data, so its errors may quote it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from contracts.events.death import TellUsOnceRecipient
from contracts.partners import REQUIRED_PERSON_FIELDS, PersonField

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "OrganisationConfig",
    "PartnersConfig",
    "PartnersConfigError",
    "load_partners",
]

DEFAULT_CONFIG_PATH = Path(__file__).with_name("partners.toml")

# Kafka's legal topic names.
Topic = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,249}$")]
Source = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")]


class PartnersConfigError(ValueError):
    """The configuration is missing, not TOML, or breaks a rule; the message says which."""


class OrganisationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: Topic
    fields: tuple[PersonField, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> OrganisationConfig:
        if len(set(self.fields)) != len(self.fields):
            raise ValueError("a field is listed twice")
        missing = [f for f in REQUIRED_PERSON_FIELDS if f not in self.fields]
        if missing:
            raise ValueError(f"every notice carries {', '.join(missing)}: list it")
        return self


class PartnersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    organisations: dict[TellUsOnceRecipient, OrganisationConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _topic_each(self) -> PartnersConfig:
        topics = [o.topic for o in self.organisations.values()]
        if len(set(topics)) != len(topics):
            # One organisation must never read another's notices.
            raise ValueError("two organisations share a topic")
        return self

    @property
    def topics(self) -> list[str]:
        return [o.topic for o in self.organisations.values()]


def load_partners(path: Path = DEFAULT_CONFIG_PATH) -> PartnersConfig:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PartnersConfigError(f"{path}: cannot be read ({type(error).__name__})") from None
    except tomllib.TOMLDecodeError as error:
        raise PartnersConfigError(f"{path}: not TOML: {error}") from None
    try:
        return PartnersConfig.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        raise PartnersConfigError(f"{path}: {problems}") from None
