"""What every page must pass in a real browser: axe-core, 320 px, and screenshots on request.

- `axe(page)`: axe-core's WCAG 2.0, 2.1 and 2.2 A and AA rules; a serious or critical
  violation fails, listing each (rule, impact, help, the first elements it found).
- `fits_320(page)`: at 320 CSS pixels wide (WCAG 1.4.10 Reflow) nothing scrolls sideways,
  nothing visible sticks out past the right edge, and the page may be zoomed (1.4.4).
- `screenshot(page, name)`: a PNG under docs/screenshots/, only when LIFEEVENTS_SCREENSHOTS=1,
  so an ordinary test run never rewrites the committed pictures.

axe-core comes from the npm package the portal's asset build installs (a devDependency in
services/portal/assets/package.json, installed by `lifeevents stack prepare`), never from a
CDN: CI reaches only package registries, and the version is the lock file's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

__all__ = [
    "AXE_JS",
    "PHONE_WIDTH",
    "SCREENSHOTS",
    "WCAG_TAGS",
    "Violation",
    "axe",
    "axe_violations",
    "fits_320",
    "screenshot",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE_JS = REPO_ROOT / "services" / "portal" / "assets" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
PHONE_WIDTH = 320

# Every A and AA rule of WCAG 2.0, 2.1 and 2.2 (axe tags each rule with the levels it tests);
# AAA and axe's "best-practice" rules are left out, as the council's standard is WCAG 2.2 AA.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")
FAILING_IMPACTS = frozenset({"serious", "critical"})
TARGETS_SHOWN = 3


@dataclass(frozen=True)
class Violation:
    """One axe rule a page breaks, and where."""

    rule: str
    impact: str | None
    help: str
    help_url: str
    targets: tuple[str, ...]  # CSS selectors of the elements, as axe names them

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:TARGETS_SHOWN])
        more = len(self.targets) - TARGETS_SHOWN
        if more > 0:
            shown += f" and {more} more"
        return f"{self.rule} ({self.impact}): {self.help} [{shown}] {self.help_url}"


@cache
def _axe_source() -> str:
    if not AXE_JS.is_file():
        raise AssertionError(
            f"axe-core is not installed at {AXE_JS.relative_to(REPO_ROOT)}: the portal's asset "
            "build installs it (a devDependency in services/portal/assets/package.json). Run "
            "`make setup` (or `.venv/bin/lifeevents stack prepare`), or `npm ci` in "
            "services/portal/assets."
        )
    return AXE_JS.read_text(encoding="utf-8")


_RUN_AXE = """
async (tags) => {
    const results = await axe.run(document, {
        runOnly: { type: "tag", values: tags },
        resultTypes: ["violations"],
    });
    return results.violations.map((v) => ({
        rule: v.id,
        impact: v.impact,
        help: v.help,
        help_url: v.helpUrl,
        // A target is a list of selectors when the element is inside an iframe or a
        // shadow root: joined, it still says where.
        targets: v.nodes.map((n) => [].concat(n.target).flat().join(" ")),
    }));
}
"""


async def axe_violations(page: Page) -> list[Violation]:
    """Every WCAG A/AA violation axe-core finds on the page as it is now, any impact."""
    # Evaluated through the DevTools protocol, not added as a <script>: the portal's
    # Content-Security-Policy rightly refuses inline scripts, and the protocol is not
    # subject to it, so the page is checked exactly as it is served.
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(_axe_source())
    found: list[dict[str, Any]] = await page.evaluate(_RUN_AXE, list(WCAG_TAGS))
    return [
        Violation(
            rule=v["rule"],
            impact=v["impact"],
            help=v["help"],
            help_url=v["help_url"],
            targets=tuple(v["targets"]),
        )
        for v in found
    ]


async def axe(page: Page) -> list[Violation]:
    """Fail when axe-core finds a serious or critical WCAG A/AA violation on the page; the
    minor and moderate ones are returned, for a test that wants to look at them."""
    violations = await axe_violations(page)
    failing = [v for v in violations if v.impact in FAILING_IMPACTS]
    if failing:
        listed = "\n".join(f"  - {v}" for v in failing)
        raise AssertionError(
            f"axe-core: {len(failing)} serious or critical violation(s) on {page.url}:\n{listed}"
        )
    return violations


# Everything that shows past the right edge: an element's box, or text overflowing its box
# (a long word or reference that cannot wrap leaves the box as it was and widens the page),
# unless an ancestor that clips or scrolls (overflow other than visible) holds it within
# the viewport, as a wide table in a scrolling container is (WCAG 1.4.10 allows
# two-dimensional content to scroll by itself).
_STICKING_OUT = """
(width) => {
    const describe = (el) => {
        let name = el.tagName.toLowerCase();
        if (el.id) name += "#" + el.id;
        const classes = (el.getAttribute("class") || "").trim().split(/\\s+/).filter(Boolean);
        if (classes.length) name += "." + classes.slice(0, 2).join(".");
        return name;
    };
    const heldWithin = (from) => {
        for (let a = from; a && a !== document.documentElement; a = a.parentElement) {
            const style = getComputedStyle(a);
            if (style.overflowX !== "visible" && a.getBoundingClientRect().right <= width + 1) {
                return true;
            }
            if (style.position === "fixed") break;
        }
        return false;
    };
    const unseen = (el) => {
        const style = getComputedStyle(el);
        return style.visibility === "hidden" || style.opacity === "0";
    };
    const past = (rect) => rect.width > 0 && rect.right > width + 1 && rect.left < width;
    const span = (rect) => `${Math.round(rect.left)}..${Math.round(rect.right)} px`;
    const out = [];
    if (!document.body) return out;
    for (const el of document.body.querySelectorAll("*")) {
        const rect = el.getBoundingClientRect();
        if (!past(rect) || rect.height === 0 || unseen(el) || heldWithin(el.parentElement)) {
            continue;
        }
        out.push(`${describe(el)} (${span(rect)})`);
        if (out.length >= 5) return out;
    }
    const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
        const text = node.textContent.trim();
        const el = node.parentElement;
        if (!text || !el) continue;
        range.selectNodeContents(node);
        const rect = range.getBoundingClientRect();
        if (!past(rect) || unseen(el) || heldWithin(el)) continue;
        out.push(`text "${text.slice(0, 40)}" in ${describe(el)} (${span(rect)})`);
        if (out.length >= 5) break;
    }
    return out;
}
"""

_MEASURE = """
() => ({
    innerWidth: window.innerWidth,
    clientWidth: document.documentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
    viewport: (document.querySelector('meta[name="viewport"]') || {}).content || null,
})
"""

_NO_ZOOM = re.compile(r"user-scalable\s*=\s*(no|0)\b", re.IGNORECASE)
_MAXIMUM_SCALE = re.compile(r"maximum-scale\s*=\s*([0-9.]+)", re.IGNORECASE)


async def fits_320(page: Page) -> None:
    """Fail unless the page, in a 320 px wide mobile viewport (the `phone` fixture), reflows
    to fit: no sideways scrolling, nothing visible past the right edge, zoom allowed."""
    size = page.viewport_size
    width = size["width"] if size else None
    assert width == PHONE_WIDTH, (
        f"fits_320 needs a page {PHONE_WIDTH} px wide (the `phone` fixture), not {size}"
    )
    measured: dict[str, Any] = await page.evaluate(_MEASURE)
    problems: list[str] = []
    meta = measured["viewport"]
    if meta is None or "device-width" not in meta:
        problems.append(
            "no <meta name=viewport content='width=device-width, initial-scale=1'>: a phone "
            f"lays the page out {measured['clientWidth']} px wide and shrinks it"
        )
    else:
        if _NO_ZOOM.search(meta):
            problems.append(f"the viewport forbids zooming ({meta!r})")
        maximum = _MAXIMUM_SCALE.search(meta)
        if maximum and float(maximum.group(1)) < 2:
            problems.append(f"the viewport stops zoom short of 200% ({meta!r})")
    # A mobile browser widens its layout viewport to the widest content (innerWidth grows
    # past 320), so compare with the device's width, not with innerWidth alone.
    widest = max(measured["scrollWidth"], measured["innerWidth"])
    if widest > PHONE_WIDTH:
        problems.append(f"the page scrolls sideways: {widest} px of content in {PHONE_WIDTH} px")
    sticking_out: list[str] = await page.evaluate(_STICKING_OUT, PHONE_WIDTH)
    if sticking_out:
        problems.append("wider than the screen: " + "; ".join(sticking_out))
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise AssertionError(f"{page.url} does not fit {PHONE_WIDTH} px:\n{listed}")


_SAFE_NAME = re.compile(r"[^a-z0-9-]+")


async def screenshot(page: Page, name: str) -> Path | None:
    """Save the whole page as docs/screenshots/<name>.png when LIFEEVENTS_SCREENSHOTS=1 (to
    refresh the pictures the docs show); otherwise do nothing and return None."""
    if os.environ.get("LIFEEVENTS_SCREENSHOTS") != "1":
        return None
    slug = _SAFE_NAME.sub("-", name.lower()).strip("-")
    if not slug:
        raise ValueError(f"no file name in {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{slug}.png"
    await page.screenshot(path=path, full_page=True, animations="disabled")
    return path
