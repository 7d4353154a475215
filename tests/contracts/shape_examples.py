"""One valid example of every shape (synthetic people, JSON as it crosses the wire).

Imported as a plain module (see conftest). ``example(name)`` is a fresh copy each call.
"""

from __future__ import annotations

import copy
from typing import Any

RESIDENT = "res_Synthetic000000000001"
OTHER = "res_Synthetic000000000002"
WORKFLOW = "lifeevent-0123456789abcdef0123456789abcdef"
EVENT_ID = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c01"
MOVE = "lifeevents.address.changed.v1"
HASH = "sha256:" + "0" * 64
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJkZWNfMDEifQ.c2lnbmF0dXJl"
DECISION_ID = "dec_0123456789abcdef0123456789abcdef"
CONSENT_ID = "con_0123456789abcdef0123456789abcdef"

OLD_ADDRESS: dict[str, Any] = {
    "lines": ["12 Hypothetical Road"],
    "town": "Exampletown",
    "postcode": "AB4 6LN",
    "uprn": "999000000012",
}
NEW_ADDRESS: dict[str, Any] = {
    "lines": ["7 Example Way"],
    "town": "Sampleford",
    "postcode": "YO9 8WY",
}
NAME: dict[str, Any] = {"given_names": "Imaginary Albert", "family_name": "Testworth"}
CONTACT: dict[str, Any] = {"email": "fictiona.testworth@example.com", "phone": "+442079460007"}
PERSON: dict[str, Any] = {
    "name": NAME,
    "date_of_birth": "1938-02-14",
    "nhs_number": "9990000034",
    "national_insurance_number": "CE000000A",
    "contact": CONTACT,
    "address": OLD_ADDRESS,
}
GRANT: dict[str, Any] = {
    "resident": RESIDENT,
    "controller": "council",
    "recipient": "blue-badge",
    "purpose": "blue-badge-renewal",
    "data_categories": ["identity", "disability"],
    "special_category": True,
    "lawful_basis": "consent",
    "method": "portal",
    "given_at": "2025-01-10T10:00:00Z",
    "notice_version": "privacy-notice-2025-01",
    "expires_at": "2026-01-10T10:00:00Z",
}
USE: dict[str, Any] = {
    "seq": 7,
    "at": "2025-08-12T11:06:00Z",
    "kind": "share",
    "recipient": "council-tax",
    "purpose": "council-tax-liability",
    "data_categories": ["address", "identity"],
    "lawful_basis": "public_task",
    "outcome": "completed",
    "reason": "policy_allows",
    "ref": DECISION_ID,
}

EXAMPLES: dict[str, dict[str, Any] | str] = {
    # consent gate
    "lifeevents.consent.share-request.v2": {
        "resident": RESIDENT,
        "purpose": "council-tax-liability",
        "recipient": "council-tax",
        "data_categories": ["identity", "address"],
        "data_hash": HASH,
    },
    "lifeevents.consent.share-decision.v1": {
        "decision_id": DECISION_ID,
        "decision": "allow",
        "resident": RESIDENT,
        "purpose": "council-tax-liability",
        "recipient": "council-tax",
        "data_categories": ["address", "identity"],
        "lawful_basis": "public_task",
        "reason": "policy_allows",
        "share_token": TOKEN,
        "token_expires_at": "2025-08-12T11:20:00Z",
        "ledger_seq": 6,
    },
    "lifeevents.consent.share-completion.v1": {"share_token": TOKEN},
    "lifeevents.consent.share-recorded.v1": {"decision_id": DECISION_ID, "ledger_seq": 7},
    "lifeevents.consent.grant.v1": GRANT,
    "lifeevents.consent.record.v1": {
        **GRANT,
        "consent_id": CONSENT_ID,
        "status": "given",
        "events": [{"status": "given", "at": "2025-01-10T10:00:00Z"}],
    },
    "lifeevents.consent.objection-request.v1": {"resident": RESIDENT, "purpose": "benefits"},
    "lifeevents.consent.objection.v1": {
        "resident": RESIDENT,
        "purpose": "benefits",
        "objection_id": "obj_0123456789abcdef0123456789abcdef",
        "recorded_at": "2025-08-01T09:00:00Z",
        "withdrawn_at": None,
    },
    "lifeevents.consent.change.v1": {
        "change": "withdrawn",
        "consent_id": CONSENT_ID,
        "resident": RESIDENT,
        "purpose": "blue-badge-renewal",
        "recipient": "blue-badge",
        "data_categories": ["disability", "identity"],
        "at": "2025-09-01T12:00:00Z",
        "stop_use": [DECISION_ID],
    },
    "lifeevents.consent.data-use-report.v3": {
        "resident": RESIDENT,
        "received": [USE],
        "entries": [
            USE,
            {**USE, "seq": 6, "kind": "decision", "outcome": "allow"},
            {
                **USE,
                "seq": 9,
                "kind": "caseworker",
                "recipient": "cwk_0123456789abcdef0123456789abcdef",
                "purpose": "caseworker-task",
                "data_categories": [],
                "outcome": "linked",
                "reason": "identity_match",
                "ref": "cwa_0123456789abcdef0123456789abcdef",
            },
        ],
    },
    "lifeevents.consent.informant-agreement.v1": {
        "resident": RESIDENT,
        "purpose": "tell-us-once",
        "recipients": ["dwp", "hmrc"],
        "data_categories": ["death", "identity"],
        "given_at": "2025-08-11T10:00:00Z",
        "notice_version": "tell-us-once-2025",
        "workflow_id": WORKFLOW,
        "step": "informant-agreement",
    },
    "lifeevents.consent.death-recorded.v1": {"resident": RESIDENT, "ledger_seq": 8},
    "lifeevents.consent.caseworker-action.v1": {
        "action_id": "cwa_0123456789abcdef0123456789abcdef",
        "caseworker": "cwk_0123456789abcdef0123456789abcdef",
        "action": "linked",
        "workflow_id": WORKFLOW,
        "task": "match:0",
        "residents": [RESIDENT, OTHER],
    },
    "lifeevents.consent.caseworker-action-recorded.v1": {
        "action_id": "cwa_0123456789abcdef0123456789abcdef",
        "ledger_seqs": [9, 10],
    },
    # council services
    "lifeevents.action.service-action.v1": {
        "workflow_id": WORKFLOW,
        "step": "council-tax",
        "event_id": EVENT_ID,
        "event_type": MOVE,
        "shares": [
            {
                "resident": RESIDENT,
                "share_token": TOKEN,
                "data": {"identity": {"name": NAME, "date_of_birth": "1938-02-14"}},
            },
            {
                "resident": OTHER,
                "share_token": TOKEN + "2",
                "data": {"identity": {"name": {"family_name": "Testworth"}}},
            },
        ],
    },
    "lifeevents.action.undo-request.v1": {
        "workflow_id": WORKFLOW,
        "undone_by": "lifeevent-fedcba9876543210fedcba9876543210",
    },
    "lifeevents.action.outcome.v1": {
        "outcome": "done",
        "code": "account_closed_and_opened",
        "references": {"account": "CT-000123", "final_bill_date": "2025-08-31"},
    },
    # data categories
    "lifeevents.share.data-category.v1": "household",
    "lifeevents.share.identity.v1": {"name": NAME, "date_of_birth": None},
    "lifeevents.share.birth.v1": {"date_of_birth": "2019-05-01"},
    "lifeevents.share.address.v1": {
        "direction": "within",
        "move_date": "2025-08-01",
        "old_address": OLD_ADDRESS,
        "new_address": NEW_ADDRESS,
    },
    "lifeevents.share.home-address.v1": {"address": NEW_ADDRESS},
    "lifeevents.share.household.v1": {"age": 44, "adult": None, "other_adults": 1},
    "lifeevents.share.death.v1": {
        "date_of_death": "2025-08-07",
        "last_address": NEW_ADDRESS,
        "national_insurance_number": None,
    },
    "lifeevents.share.contact.v1": {
        "role": "executor",
        "relationship": "solicitor",
        "address": NEW_ADDRESS,
        "contact": {"email": "executor@example.com", "phone": None},
    },
    # resident index
    "lifeevents.residents.person-details.v1": PERSON,
    "lifeevents.residents.match-result.v1": {
        "outcome": "matched",
        "resident": RESIDENT,
        "candidates": 1,
        "rule": "nhs_number",
        "candidate_keys": [],
    },
    "lifeevents.residents.caseworker-decision.v1": {
        "person": PERSON,
        "decision": "link",
        "resident": RESIDENT,
        "workflow_id": WORKFLOW,
        "step": "match-0",
    },
    "lifeevents.residents.move-record.v1": {
        "residents": [RESIDENT, OTHER],
        "new_address": NEW_ADDRESS,
        "move_date": "2025-08-01",
        "direction": "within",
        "workflow_id": WORKFLOW,
        "step": "record-move",
    },
    "lifeevents.residents.household.v1": {
        "address": NEW_ADDRESS,
        "residents": [RESIDENT, OTHER],
        "other_adults": 0,
    },
    "lifeevents.residents.death-record.v1": {
        "resident": RESIDENT,
        "date_of_death": "2025-08-07",
        "workflow_id": WORKFLOW,
        "step": "mark-deceased",
    },
    "lifeevents.residents.birth-record.v1": {
        "child": RESIDENT,
        "parents": [OTHER],
        "date_of_birth": "2025-09-01",
        "workflow_id": WORKFLOW,
        "step": "resident-index",
    },
    "lifeevents.residents.birth-household.v1": {
        "address": NEW_ADDRESS,
        "residents": [OTHER, RESIDENT],
        "recorded_by": WORKFLOW,
    },
    "lifeevents.residents.life-event-report.v1": {
        "kind": "move",
        "event": {"source": "/council-tax/revenues", "id": EVENT_ID},
        "residents": [RESIDENT, OTHER],
        "on": "2026-03-02",
        "new_address": NEW_ADDRESS,
        "workflow_id": WORKFLOW,
    },
    "lifeevents.residents.same-event.v1": {
        "verdict": "contradicts",
        "first": {"source": "/housing/lettings", "id": "H-2026-000417"},
        "first_workflow": "lifeevent-fedcba9876543210fedcba9876543210",
        "differences": ["new_address"],
        "added": [],
    },
    "lifeevents.residents.death-household.v1": {
        "address": NEW_ADDRESS,
        "survivors": [
            {
                "resident": OTHER,
                "name": {"given_names": "Madeup Mary", "family_name": "Testworth"},
                "date_of_birth": "1941-11-03",
                "age": 83,
                "may_need_support": False,
            }
        ],
        "workflows": [WORKFLOW],
    },
    "lifeevents.residents.support-flag.v1": {
        "resident": RESIDENT,
        "reason": "bereaved",
        "workflow_id": WORKFLOW,
        "step": "flag-support",
    },
    "lifeevents.residents.preference-update.v1": {
        "resident": RESIDENT,
        "channels": ["email", "letter"],
        "portal_account": True,
    },
    "lifeevents.residents.resident.v1": {
        "key": RESIDENT,
        "contact": CONTACT,
        "portal_account": True,
        "channels": ["portal", "email", "sms", "letter"],
        "channels_chosen": False,
        "flags": [],
        "address": NEW_ADDRESS,
        "household": [OTHER],
    },
    "lifeevents.residents.contact-plan.v1": {
        "resident": RESIDENT,
        "deceased": False,
        "channels": ["email", "letter"],
        "email": CONTACT["email"],
        "phone": None,
        "address": NEW_ADDRESS,
    },
    # notifications
    "lifeevents.notifications.notification.v1": {
        "resident": RESIDENT,
        "template": "move.council-tax",
        "references": {"account": "CT-000123"},
        "workflow_id": WORKFLOW,
        "step": "council-tax",
        "deceased": False,
        "channels": ["email", "letter"],
        "email": CONTACT["email"],
        "phone": None,
        "address": NEW_ADDRESS,
    },
    # life-event workflows
    "lifeevents.workflow.plan-request.v1": {
        "event_type": MOVE,
        "event_id": EVENT_ID,
        "facts": {"direction": "within", "school_age_child": False},
    },
    "lifeevents.workflow.plan.v2": {
        "event_type": MOVE,
        "event_id": EVENT_ID,
        "catalogue_version": "2025-08",
        "steps": [
            {
                "name": "council-tax",
                "service": "council-tax",
                "activity": "council_tax.record_move",
                "purpose": "council-tax-liability",
                "categories": ["identity", "address", "household"],
                "confirm": False,
                "notification": "move.council-tax",
                "description": "Close the old council tax account and open the new one.",
                "applies": True,
                "reason": "",
            },
            {
                "name": "school-admissions",
                "service": "school-admissions",
                "activity": "schools.offer_in_year_admission",
                "purpose": "school-admission",
                "categories": ["identity", "birth", "address"],
                "confirm": True,
                "notification": "move.school-admissions",
                "description": "Offer a school place near the new address.",
                "applies": False,
                "reason": "no_school_age_child",
            },
            {
                "name": "reception-window-opens",
                "service": "school-admissions",
                "activity": "schools.find_catchment",
                "purpose": "school-admission-planning",
                "categories": ["birth", "address"],
                "confirm": False,
                "notification": "birth.reception-window-opens",
                "description": "Remind the family when reception applications open.",
                "check": None,
                "at": "reception_window_opens",
                "applies": True,
                "reason": "",
            },
        ],
    },
    "lifeevents.workflow.timeline.v2": {
        "event_id": EVENT_ID,
        "stage": "waiting_for_resident",
        "needs_person": False,
        "entries": [
            {
                "step": "council-tax",
                "service": "council-tax",
                "status": "done",
                "reason": "",
                "outcome": "account_closed_and_opened",
                "people": [
                    {"resident": RESIDENT, "status": "done", "reason": ""},
                    {"resident": OTHER, "status": "skipped", "reason": "objection_recorded"},
                ],
            },
            {"step": "school-admissions", "service": "school-admissions", "status": "waiting"},
        ],
        "caseworker_tasks": [],
        "also_reported": [
            {
                "event": {"source": "/housing/lettings", "id": "H-2026-000417"},
                "workflow_id": "lifeevent-fedcba9876543210fedcba9876543210",
                "added": [OTHER],
            }
        ],
    },
    "lifeevents.workflow.confirmation.v1": {"step": "school-admissions", "accept": True},
    "lifeevents.workflow.match-decision.v1": {"mover": 0, "decision": "link", "resident": RESIDENT},
    "lifeevents.workflow.receipt.v1": {"message": "Thank you, we have your answer."},
    "lifeevents.workflow.outcome.v2": {
        "type": MOVE,
        "id": EVENT_ID,
        "stage": "merged",
        "merged_into": {"source": "/council-tax/revenues", "id": "CT-2026-000123"},
    },
    "lifeevents.workflow.amended.v1": {
        "kind": "withdrawn",
        "by": {"source": "/register-office/exampleshire", "id": "W-2026-000001"},
        "workflow_id": "lifeevent-fedcba9876543210fedcba9876543210",
    },
    "lifeevents.workflow.event-record.v1": {
        "event_id": EVENT_ID,
        "event_type": MOVE,
        "stage": "withdrawn",
        "about": [RESIDENT, OTHER],
        "done": [
            {
                "step": "council-tax",
                "workflow_id": WORKFLOW,
                "service": "council-tax",
                "purpose": "council-tax-liability",
                "recipient": "council-tax",
                "categories": ["identity", "address", "household"],
                "shared": {RESIDENT: HASH, OTHER: HASH},
            }
        ],
        "told": [{"step": "council-tax", "resident": RESIDENT, "channel": "letter"}],
        "answers": {"school-admissions": True},
        "decisions": {HASH: {"mover": 2, "decision": "link", "resident": OTHER}},
        "also_reported": [],
        "workflows": [WORKFLOW],
        "amended": {
            "kind": "withdrawn",
            "by": {"source": "/council-tax/revenues", "id": "W-2026-000001"},
            "workflow_id": "lifeevent-fedcba9876543210fedcba9876543210",
        },
    },
    "lifeevents.workflow.also-reported.v1": {
        "event": {"source": "/housing/lettings", "id": "H-2026-000417"},
        "workflow_id": WORKFLOW,
        "added": [OTHER],
    },
    "lifeevents.workflow.callback-request.v1": {
        "resident": RESIDENT,
        "regarding": WORKFLOW,
        "step": "school-admissions",
    },
    "lifeevents.workflow.move-notice.v1": {
        "resident": RESIDENT,
        "direction": "within",
        "move_date": "2026-03-02",
        "new_address": NEW_ADDRESS,
    },
    # organisations outside the council (Tell Us Once)
    "lifeevents.partner.death-notice.v1": {
        "reference": "TUO-0123456789abcdef0123",
        "organisation": "dwp",
        "basis": "informant_agreement",
        "name": NAME,
        "date_of_birth": "1938-02-14",
        "date_of_death": "2025-08-07",
        "last_address": OLD_ADDRESS,
        "national_insurance_number": "CE000000A",
    },
}


def example(name: str) -> Any:
    """A fresh copy of the example of shape ``name``."""
    return copy.deepcopy(EXAMPLES[name])
