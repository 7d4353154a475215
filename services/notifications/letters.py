"""Printed letters: one A4 PDF per letter (fpdf2) in the print queue folder, for the print
room to print, fold and post in a DL window envelope.

Where things go on the page (millimetres from the top left of A4, 210 x 297):

- fold marks at 99 and 198: A4 folded in three fills a DL envelope (110 x 220);
- the address block at left 20, top 50, at most 85 wide and 40 high (to 90). The usual DL
  window is 90 x 45, 20 from the envelope's left edge and 15 above its bottom edge, so 50
  to 95 from its top. The folded letter stands on its top edge inside the envelope and can
  only slip down: the block has 5 to spare below it and 5 to its right. (DIN 5008 form B
  starts its address field at 45 with 5 for a return line: the same block, without it.)
  The block stays at 12 pt (smaller, down to 8 pt, if a line would not fit the window): it
  is read by the post, and must fit the window whatever the resident's print;
- the council's name at the top (above the window), the date and our reference to the
  right of the window (from left 125), the subject as a heading below the first fold
  (105), then the body, where to read it online, and the page number at the foot.

Large print (the resident's choice) sets the body at 16 pt and the headings at 20 pt
(RNIB: large print is 16 pt or more); the usual letter is 12 pt.

The font is fpdf2's core Helvetica, which every PDF reader has and which needs no font file
on the machine; it covers Latin-1 only, so other characters are folded to the nearest
Latin-1 ones (`fold`: a Polish L with stroke becomes `L`, a curly quote `'`, `č` `c`) and
anything left is `?`.

A letter is written to a hidden temporary file, flushed to disk and renamed to
`<reference>.pdf`: the print room never sees half a letter, and a letter written again
(a retry) replaces the first rather than printing twice. The files hold personal data
(the address): they are readable by their owner only.
"""

from __future__ import annotations

import asyncio
import os
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

from fpdf import FPDF

from contracts.addresses import UkAddress
from services.notifications.channels import Accepted, Unavailable
from services.notifications.content import LetterContent

__all__ = ["PrintQueue", "fold", "letter_pdf"]

PT = 25.4 / 72  # millimetres in a point

LEFT = 20.0
RIGHT_COLUMN = 125.0
ADDRESS_TOP = 50.0
ADDRESS_WIDTH = 85.0
ADDRESS_HEIGHT = 40.0
HEADING_TOP = 105.0
FOLDS = (99.0, 198.0)

ADDRESS_PT = 12.0
SMALLEST_ADDRESS_PT = 8.0
BODY_PT = {False: 12.0, True: 16.0}
HEADING_PT = {False: 14.0, True: 20.0}

# Characters with no Latin-1 form that NFKD does not take apart either.
_FOLDED = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2022": "-",
    "\u2026": "...",
    "\u20ac": "EUR",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0131": "i",
}


def fold(text: str) -> str:
    """`text` in Latin-1, the nearest characters standing in for those it lacks."""
    out: list[str] = []
    for char in text:
        if char in _FOLDED:
            out.append(_FOLDED[char])
        elif ord(char) < 256:
            out.append(char)
        else:
            bare = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            out.append(bare if bare and all(ord(c) < 256 for c in bare) else "?")
    return "".join(out)


def _line_mm(points: float) -> float:
    return points * PT * 1.4


class _Letter(FPDF):
    def __init__(self, reference: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.reference = reference

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 5, f"{self.reference}    Page {self.page_no()} of {{nb}}", align="R")


def letter_pdf(address: UkAddress, content: LetterContent, *, large_print: bool, on: date) -> bytes:
    """The letter as PDF bytes."""
    body_pt = BODY_PT[large_print]
    heading_pt = HEADING_PT[large_print]
    pdf = _Letter(content.reference)
    pdf.set_title(fold(content.subject))
    pdf.set_author(fold(content.council_name))
    pdf.set_creator("Life Events")
    pdf.set_margins(LEFT, 15, LEFT)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()

    for y in FOLDS:  # short marks at the left edge, where the print room folds
        pdf.set_line_width(0.2)
        pdf.line(3, y, 8, y)

    pdf.set_xy(LEFT, 15)
    pdf.set_font("Helvetica", "B", heading_pt)
    pdf.cell(0, _line_mm(heading_pt), fold(content.council_name))

    _address_block(pdf, address)

    pdf.set_font("Helvetica", size=min(body_pt, 12.0))
    pdf.set_xy(RIGHT_COLUMN, ADDRESS_TOP)
    pdf.cell(0, 6, f"{on.day} {on.strftime('%B %Y')}", new_x="LEFT", new_y="NEXT")
    pdf.cell(0, 6, f"Our reference: {content.reference}", new_x="LEFT", new_y="NEXT")

    pdf.set_xy(LEFT, HEADING_TOP)
    pdf.set_font("Helvetica", "B", heading_pt)
    pdf.multi_cell(0, _line_mm(heading_pt), fold(content.subject), align="L")
    pdf.ln(_line_mm(body_pt) / 2)

    pdf.set_font("Helvetica", size=body_pt)
    for paragraph in (*content.paragraphs, content.online):
        pdf.multi_cell(0, _line_mm(body_pt), fold(paragraph), align="L")
        pdf.ln(_line_mm(body_pt) / 2)
    pdf.ln(_line_mm(body_pt) / 2)
    pdf.multi_cell(0, _line_mm(body_pt), fold(content.council_name), align="L")
    return bytes(pdf.output())


def _address_block(pdf: FPDF, address: UkAddress) -> None:
    # Royal Mail's order: the lines, the post town in capitals, the postcode on its own.
    lines = [fold(line) for line in (*address.lines, address.town.upper(), address.postcode)]
    size = ADDRESS_PT
    while size > SMALLEST_ADDRESS_PT and not _fits(pdf, lines, size):
        size -= 0.5
    pdf.set_font("Helvetica", size=size)
    height = min(_line_mm(size), ADDRESS_HEIGHT / len(lines))
    pdf.set_xy(LEFT, ADDRESS_TOP)
    for line in lines:
        # Beyond the smallest size a line is cut at the window's edge rather than wrapped.
        while line and pdf.get_string_width(line) > ADDRESS_WIDTH:
            line = line[:-1]
        pdf.cell(ADDRESS_WIDTH, height, line, new_x="LMARGIN", new_y="NEXT")


def _fits(pdf: FPDF, lines: list[str], size: float) -> bool:
    pdf.set_font("Helvetica", size=size)
    return (
        all(pdf.get_string_width(line) <= ADDRESS_WIDTH for line in lines)
        and len(lines) * _line_mm(size) <= ADDRESS_HEIGHT
    )


class PrintQueue:
    """`channels.LetterPrinter` onto a folder the print room takes letters from."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, reference: str) -> Path:
        return self.folder / f"{reference}.pdf"

    async def print(
        self, reference: str, address: UkAddress, content: LetterContent, *, large_print: bool
    ) -> Accepted:
        try:
            await asyncio.to_thread(self._write, reference, address, content, large_print)
        except OSError:
            # A full disk, a folder we may not write: the print room's problem, for a while.
            raise Unavailable("print_queue_unwritable") from None
        return Accepted("sent", self.path(reference).name)

    def _write(
        self, reference: str, address: UkAddress, content: LetterContent, large_print: bool
    ) -> None:
        pdf = letter_pdf(address, content, large_print=large_print, on=date.today())
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.path(reference)
        temporary = self.folder / f".{reference}.pdf.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pdf)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, final)
        _sync_folder(self.folder)


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk too (a directory's entries are flushed with the directory)."""
    descriptor: Any = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
