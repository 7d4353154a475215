"""The shared part of the council services (services/common/council.py): where the public
key comes from, the settings, and logs free of personal data across all five services."""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.exceptions import ApplicationError

from contracts.notifications import Notification
from services.benefits.activities import BenefitActivities
from services.benefits.seed import DEMO_CLAIMS, seed_claims
from services.benefits.store import BenefitStore
from services.common.council import CouncilSettings, ShareKeySource
from services.common.sharetokens import public_key_pem
from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.store import CouncilTaxStore
from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore
from services.notifications.activities import NotificationActivities
from services.notifications.store import NotificationStore
from services.schools.activities import SchoolActivities
from services.schools.store import SchoolStore
from tests.support.council import (
    GATE_KEY,
    OTHER_KEY,
    action,
    keys,
    move,
    sqlite_store,
    token,
)


class _KeyServer:
    """The consent API's `GET /share-token-key`, serving whichever key `key` is now."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.requests = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.requests += 1
                body = json.dumps(
                    {"alg": "EdDSA", "public_key_pem": public_key_pem(served.key.public_key())}
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/share-token-key"


@pytest.fixture
def key_server() -> Iterator[_KeyServer]:
    served = _KeyServer(OTHER_KEY)
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


def _move_data() -> dict[str, object]:
    return {
        "identity": [{"name": {"given_names": "Ysolde", "family_name": "Carrowmore"}}],
        "address": move("within"),
        "household": {"members": [{"age": 40}]},
    }


async def test_the_key_is_fetched_once_and_again_after_the_consent_key_changed(
    key_server: _KeyServer, tmp_path: Path
) -> None:
    async with sqlite_store(CouncilTaxStore, tmp_path) as store:
        service = CouncilTaxActivities(store, ShareKeySource(url=key_server.url))
        # The consent service's key was OTHER_KEY when first fetched; it now signs with
        # GATE_KEY (a rotation): one refetch, and the token verifies.
        await service.keys.get()
        key_server.key = GATE_KEY
        outcome = await service.record_move(action(service, _move_data(), ("res_" + "a" * 16,)))
        assert outcome.outcome == "done"
        assert key_server.requests == 2
        # A forged token still fails after the refetch, and is refused.
        resident = "res_" + "b" * 16
        forged = token(
            _move_data(),
            recipient=service.recipient,
            purpose=service.purpose,
            resident=resident,
            key=OTHER_KEY,
        )
        with pytest.raises(ApplicationError, match="bad_signature"):
            await service.record_move(
                action(service, _move_data(), (resident,), share_token=forged)
            )
        assert key_server.requests == 3


async def test_no_consent_service_to_ask_is_a_retryable_failure(tmp_path: Path) -> None:
    async with sqlite_store(CouncilTaxStore, tmp_path) as store:
        service = CouncilTaxActivities(store, ShareKeySource(url="http://127.0.0.1:9/none"))
        with pytest.raises(ApplicationError) as failed:
            await service.record_move(action(service, _move_data(), ("res_" + "a" * 16,)))
        assert failed.value.type == "ShareKeyUnavailable"
        assert not failed.value.non_retryable


def test_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "SHARE_TOKEN_PUBLIC_KEY",
        "COUNCILTAX_DATABASE_URL",
        "COUNCIL_TAX_DATABASE_URL",
        "SCHOOLS_DATABASE_URL",
    ):
        monkeypatch.delenv(f"LIFEEVENTS_{name}", raising=False)
    monkeypatch.setenv("LIFEEVENTS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("LIFEEVENTS_SCHOOLS_DATABASE_URL", "postgresql+asyncpg://db/schools")
    settings = CouncilSettings()
    assert settings.database_url("counciltax") == (
        f"sqlite+aiosqlite:///{tmp_path / 'counciltax' / 'counciltax.db'}"
    )
    assert settings.database_url("schools") == "postgresql+asyncpg://db/schools"
    assert settings.share_keys().refreshable  # fetched from the consent API
    monkeypatch.setenv("LIFEEVENTS_SHARE_TOKEN_PUBLIC_KEY", public_key_pem(GATE_KEY.public_key()))
    assert not CouncilSettings().share_keys().refreshable  # given: only that key is used


SECRETS = (
    "Ysolde",
    "Carrowmore",
    "Sample Close",
    "Fictitious Avenue",
    "AB1 3DE",
    "AB2 4FG",
    "2015-06-15",
    "ysolde@example.org",
    "+447700900123",
)


async def test_no_service_logs_personal_data(output: io.StringIO, tmp_path: Path) -> None:
    residents = ("res_" + uuid.uuid4().hex, DEMO_CLAIMS[0].resident)
    person = {"name": {"given_names": "Ysolde", "family_name": "Carrowmore"}}
    data = {
        "identity": [person, person],
        "address": move("within"),
        "household": {"members": [{"age": 40}, {"age": 10}]},
    }
    schools = {
        "identity": [person, person],
        "birth": [{"date_of_birth": "1985-01-01"}, {"date_of_birth": "2015-06-15"}],
        "address": move("within"),
    }
    outcomes = []
    async with sqlite_store(CouncilTaxStore, tmp_path / "ct") as ct:
        tax = CouncilTaxActivities(ct, keys())
        outcomes.append(await tax.record_move(action(tax, data, residents)))
    async with sqlite_store(ElectoralStore, tmp_path / "el") as el:
        electoral = ElectoralActivities(el, keys())
        moved = {k: data[k] for k in ("identity", "address")}
        outcomes.append(await electoral.record_move(action(electoral, moved, residents)))
    async with sqlite_store(SchoolStore, tmp_path / "sc") as sc:
        school = SchoolActivities(sc, keys())
        outcomes.append(await school.offer_in_year_admission(action(school, schools, residents)))
        altered = action(school, schools, residents)
        first = altered.shares[0]
        spoilt = first.model_copy(update={"data": {**first.data, "birth": first.data["identity"]}})
        altered = altered.model_copy(update={"shares": (spoilt, *altered.shares[1:])})
        with pytest.raises(ApplicationError):
            await school.offer_in_year_admission(altered)
    async with sqlite_store(BenefitStore, tmp_path / "be") as be:
        await seed_claims(be)
        benefits = BenefitActivities(be, keys())
        outcomes.append(
            await benefits.record_change_of_circumstances(action(benefits, data, residents))
        )
    async with sqlite_store(NotificationStore, tmp_path / "no") as no:
        notifications = NotificationActivities(no)
        for outcome, template in zip(
            outcomes,
            (
                "move.council-tax",
                "move.electoral-register",
                "move.school-admissions",
                "move.benefits",
            ),
            strict=True,
        ):
            assert outcome.outcome == "done"
            await notifications.send(
                Notification(
                    resident=residents[0],
                    template=template,
                    references=outcome.references,
                    workflow_id="move-1",
                    step=template,
                    channels=("email", "sms", "letter"),
                    email="ysolde@example.org",
                    phone="+447700900123",
                )
            )
    logged = output.getvalue()
    assert "council.action" in logged
    assert "notification.sent" in logged
    for secret in SECRETS:
        assert secret not in logged
