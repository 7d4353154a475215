"""The ACLs made from the one table of topic readers and writers: exactly the readers and
writers the design names, and nothing granted that the table does not say."""

from __future__ import annotations

from collections import defaultdict

import pytest

from deploy.kafka_acls import Acl, Deployment, kafka_acls_lines, principals, required_acls
from services.common.topics import PARTNER_TOPIC, TOPIC_ACCESS

DEPLOYMENT = Deployment(
    prefix="lifeevents-",
    topics={
        "lifeevents.v1": "lifeevents.v1",
        "lifeevents.v1.dlq": "lifeevents.v1.dlq",
        "consent.v1": "consent.v1",
    },
    groups={
        "orchestrator_group_id": "lifeevents-orchestrator",
        "intake_dlq_group_id": "lifeevents-intake-dlq-index",
    },
    partner_topics={"dwp": "lifeevents.partner.dwp.v1", "hmrc": "lifeevents.partner.hmrc.v1"},
    sources=("register-office", "housing"),
)


def who(acls: list[Acl], operation: str, resource: str = "topic") -> dict[str, set[str]]:
    """name → the principals allowed `operation` on it."""
    found: defaultdict[str, set[str]] = defaultdict(set)
    for acl in acls:
        if acl.operation == operation and acl.resource == resource:
            found[acl.name].add(acl.principal)
    return dict(found)


def test_only_the_intake_and_sources_write_life_events_and_only_the_orchestrator_reads() -> None:
    acls = required_acls(DEPLOYMENT)
    assert who(acls, "write")["lifeevents.v1"] == {
        "lifeevents-intake",
        "register-office",
        "housing",
    }
    assert who(acls, "read")["lifeevents.v1"] == {"lifeevents-orchestrator"}
    assert who(acls, "read", "group")["lifeevents-orchestrator"] == {"lifeevents-orchestrator"}


def test_every_topic_has_exactly_the_readers_and_writers_the_design_names() -> None:
    acls = required_acls(DEPLOYMENT)
    writers, readers = who(acls, "write"), who(acls, "read")
    assert writers == {
        "lifeevents.v1": {"lifeevents-intake", "register-office", "housing"},
        "lifeevents.v1.dlq": {"lifeevents-orchestrator"},
        "consent.v1": {"lifeevents-consent"},
        "lifeevents.partner.dwp.v1": {"lifeevents-partners"},
        "lifeevents.partner.hmrc.v1": {"lifeevents-partners"},
    }
    assert readers == {
        "lifeevents.v1": {"lifeevents-orchestrator"},
        "lifeevents.v1.dlq": {"lifeevents-intake"},
        # Each organisation reads its own topic and no other's.
        "lifeevents.partner.dwp.v1": {"lifeevents-partner-dwp"},
        "lifeevents.partner.hmrc.v1": {"lifeevents-partner-hmrc"},
    }


def test_nothing_beyond_read_write_and_describe_of_its_own_topics_and_groups() -> None:
    acls = required_acls(DEPLOYMENT)
    assert {a.operation for a in acls} == {"read", "write", "describe"}
    assert {a.resource for a in acls} == {"topic", "group"}
    for acl in acls:
        if acl.operation == "describe":  # only on a topic the principal reads or writes
            assert any(
                other.name == acl.name
                and other.principal == acl.principal
                and other.operation in {"read", "write"}
                for other in acls
            )
    # Prefixed groups are the organisations' own names, so no one's group matches another's.
    prefixed = [a for a in acls if a.pattern == "prefixed"]
    assert {(a.principal, a.name) for a in prefixed} == {
        ("lifeevents-partner-dwp", "lifeevents-partner-dwp"),
        ("lifeevents-partner-hmrc", "lifeevents-partner-hmrc"),
    }
    assert len(acls) == len(set(acls))


def test_the_table_names_every_platform_topic_once() -> None:
    topics = [access.topic for access in TOPIC_ACCESS]
    assert sorted(topics) == sorted(
        {"lifeevents.v1", "lifeevents.v1.dlq", "consent.v1", PARTNER_TOPIC}
    )


def test_a_renamed_topic_and_another_prefix_are_what_the_acls_name() -> None:
    renamed = Deployment(
        prefix="staging-",
        topics={**DEPLOYMENT.topics, "lifeevents.v1": "staging.lifeevents.v1"},
        groups=DEPLOYMENT.groups,
        partner_topics={},
        sources=(),
    )
    acls = required_acls(renamed)
    assert who(acls, "write")["staging.lifeevents.v1"] == {"staging-intake"}
    assert "lifeevents.v1" not in who(acls, "write")
    assert principals(renamed) == [
        "staging-consent",
        "staging-intake",
        "staging-orchestrator",
    ]


@pytest.mark.parametrize(
    ("acl", "line"),
    [
        (
            Acl("lifeevents-orchestrator", "topic", "lifeevents.v1", "read"),
            "--allow-principal User:lifeevents-orchestrator --operation Read --topic lifeevents.v1",
        ),
        (
            Acl("lifeevents-partner-dwp", "group", "lifeevents-partner-dwp", "read", "prefixed"),
            "--allow-principal User:lifeevents-partner-dwp --operation Read --group "
            "lifeevents-partner-dwp --resource-pattern-type prefixed",
        ),
    ],
)
def test_printed_as_kafka_acls_commands(acl: Acl, line: str) -> None:
    [printed] = kafka_acls_lines([acl], "kafka:9093")
    command = "kafka-acls.sh --bootstrap-server kafka:9093 --command-config admin.properties"
    assert printed == f"{command} --add {line}"
