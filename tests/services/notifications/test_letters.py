"""Printed letters: a resident who prefers paper gets an A4 PDF in the print queue, with the
address where a DL window shows it, the council's name, the date, the subject, the body and
the portal's address; large print when they chose it; characters Helvetica lacks folded."""

from __future__ import annotations

import re
import stat
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from contracts.addresses import UkAddress
from services.notifications.activities import NotificationActivities
from services.notifications.content import LetterContent
from services.notifications.letters import PrintQueue, fold, letter_pdf
from services.notifications.store import NotificationStore
from tests.services.notifications.conftest import COUNCIL, PORTAL
from tests.services.notifications.test_delivery import pdfs
from tests.services.notifications.test_send import notification
from tests.support.council import address

PAPER = UkAddress.model_validate(address("Flat 2, 7 Imaginary Road", "AB3 5DE"))
REFERENCES = {"claims": "HB-0000000001", "effective_from": "2025-10-18"}
MM = 72 / 25.4  # points in a millimetre


def texts(pdf: Path) -> list[tuple[str, float, float, float]]:
    """Every piece of text on every page: (text, size in pt, left and top in mm)."""
    found: list[tuple[str, float, float, float]] = []
    for page in PdfReader(pdf).pages:
        height = float(page.mediabox.height)

        def visit(
            text: str,
            _cm: object,
            tm: list[float],
            _font: object,
            size: float,
            height: float = height,
        ) -> None:
            if text.strip():
                found.append((text.strip(), size, tm[4] / MM, (height - tm[5]) / MM))

        page.extract_text(visitor_text=visit)
    return found


def sizes_of(found: list[tuple[str, float, float, float]], starting: str) -> set[float]:
    return {size for text, size, _, _ in found if text.startswith(starting)}


async def letter_for(
    service: NotificationActivities, print_queue: Path, **overrides: object
) -> tuple[str, Path]:
    sent = notification(
        template="move.benefits",
        references=REFERENCES,
        step="benefits",
        channels=("letter",),
        email=None,
        phone=None,
        address=PAPER,
        **overrides,
    )
    outcome = await service.send(sent)
    assert outcome.code == "notified_by_letter"
    assert outcome.references["status"] == "sent"
    reference = outcome.references["notification"]
    return reference, print_queue / f"{reference}.pdf"


async def test_a_resident_who_prefers_paper_gets_an_a4_letter_in_the_print_queue(
    service: NotificationActivities, print_queue: Path
) -> None:
    reference, pdf = await letter_for(service, print_queue)

    reader = PdfReader(pdf)
    [page] = reader.pages
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = page.extract_text()
    lines = [line.strip() for line in text.splitlines()]
    # The address, as Royal Mail asks for it: lines, post town in capitals, postcode.
    start = lines.index("Flat 2, 7 Imaginary Road")
    assert lines[start : start + 3] == ["Flat 2, 7 Imaginary Road", "EXAMPLETOWN", "AB3 5DE"]
    assert lines[0] == COUNCIL
    assert "Your housing benefit or council tax reduction after your move" in lines
    # The body as one text: a sentence may wrap onto the next line.
    assert (
        "We have recorded your change of address on claim HB-0000000001 from 18 October 2025."
        in " ".join(lines)
    )
    assert f"Our reference: {reference}" in lines
    assert any(re.fullmatch(r"\d{1,2} [A-Z][a-z]+ 20\d\d", line) for line in lines)
    assert PORTAL in text
    # Only the letter is there: written whole, then renamed.
    assert pdfs(print_queue) == [f"{reference}.pdf"]
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600


async def test_the_address_sits_in_the_dl_window(
    service: NotificationActivities, print_queue: Path
) -> None:
    _, pdf = await letter_for(service, print_queue)

    found = texts(pdf)
    block = [(x, top) for text, _, x, top in found if text in {"EXAMPLETOWN", "AB3 5DE"}]
    block += [(x, top) for text, _, x, top in found if text.startswith("Flat 2")]
    assert len(block) == 3
    # Baselines inside the window (20 to 110 across, 50 to 95 down): text starts at 20 mm
    # (plus the cell's 1 mm padding), below 50 mm and well above 90.
    for x, top in block:
        assert 20 <= x <= 22
        assert 50 < top < 90


async def test_large_print_when_the_resident_chose_it(
    service: NotificationActivities, store: NotificationStore, print_queue: Path
) -> None:
    _, usual = await letter_for(service, print_queue)
    resident = notification().resident
    await store.set_large_print(resident, True)
    _, large = await letter_for(service, print_queue, resident=resident)

    body = "We have recorded your change"
    assert sizes_of(texts(usual), body) == {12.0}
    assert sizes_of(texts(large), body) == {16.0}
    assert sizes_of(texts(large), "Your housing benefit") == {20.0}
    # The address stays the size the window takes.
    assert sizes_of(texts(large), "AB3 5DE") == {12.0}

    await store.set_large_print(resident, False)
    assert not await store.large_print(resident)


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("Łódź Road", "Lódz Road"),  # ó is Latin-1; Ł and ź are not
        (
            "Dvo\u0159\u00e1k\u2019s \u201cClose\u201d \u2013 No. 3\u2026",
            'Dvor\u00e1k\'s "Close" - No. 3...',
        ),
        ("Crème Brûlée Street", "Crème Brûlée Street"),
        ("Ōtautahi 漢字", "Otautahi ??"),
    ],
)
def test_characters_helvetica_lacks_are_folded(given: str, printed: str) -> None:
    assert fold(given) == printed
    printed.encode("latin-1")


def test_an_address_from_anywhere_prints(tmp_path: Path) -> None:
    long = UkAddress(
        lines=["Ffordd Ŵyn, Flat 14 Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"],
        town="Llanfair Pwllgwyngyll",
        postcode="AB1 2DE",
    )
    content = LetterContent(
        COUNCIL, "NTF-0000000001", "Subject \u2018quoted\u2019", ("Body\u2026",), PORTAL
    )
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(letter_pdf(long, content, large_print=False, on=date(2025, 10, 18)))

    found = texts(pdf)
    assert ("18 October 2025", 12.0) in {(t, s) for t, s, _, _ in found}
    # The long line is set smaller, and cut rather than run out of the window.
    [(line, size, _, _)] = [f for f in found if f[0].startswith("Ffordd")]
    assert size < 12.0
    assert line.startswith("Ffordd Wyn, Flat 14 Llanfairpwll")


async def test_the_print_queue_replaces_a_letter_written_again(tmp_path: Path) -> None:
    queue = PrintQueue(tmp_path / "queue")
    content = LetterContent(COUNCIL, "NTF-0000000002", "Subject", ("Body",), PORTAL)

    first = await queue.print("NTF-0000000002", PAPER, content, large_print=False)
    again = await queue.print("NTF-0000000002", PAPER, content, large_print=True)

    assert first.receipt == again.receipt == "NTF-0000000002.pdf"
    assert (first.status, again.status) == ("sent", "sent")
    assert [p.name for p in (tmp_path / "queue").iterdir()] == ["NTF-0000000002.pdf"]
