"""The report as a static site: index.html (the summary, with filters) and one page per
wheel under wheels/, from Jinja2 templates, with no external asset: it opens from the
file system, offline. Written into a new folder and renamed into place: a report that
fails half-way leaves the previous one whole."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from builder import __version__
from builder.provenance.statements import (
    CYCLONEDX_PREDICATE,
    REBUILD_PREDICATE,
    SLSA_PROVENANCE,
)
from builder.report.collect import Attestation, Report, WheelEntry
from builder.store import new_folder

STATUS_CLASS = {
    "reproducible": "ok",
    "differs": "bad",
    "not rebuilt": "",
    "attestations disagree": "bad",
    "wheel missing": "warn",
}
GRAPH_CLASS = {"built": "ok", "cached": "ok", "shared": "ok", "differs": "bad",
               "failed": "bad", "skipped": "warn", "exception": "warn"}  # fmt: skip
_templates = Environment(
    loader=PackageLoader("builder.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    keep_trailing_newline=True,
)
STATEMENT_NAMES = {SLSA_PROVENANCE: "SLSA provenance", REBUILD_PREDICATE: "rebuild result",
                   CYCLONEDX_PREDICATE: "CycloneDX SBOM"}  # fmt: skip
_templates.filters["statement_name"] = lambda t: STATEMENT_NAMES.get(t, t)


def write_report(report: Report, out: Path, sources: str, *, force: bool = False) -> Path:
    """The site in `out` (replaced whole when builder made it, or with `force`); its
    index.html."""
    with new_folder(out, made_by="builder report", force=force) as work:
        (work / "wheels").mkdir()
        common = {"status_class": STATUS_CLASS, "version": __version__,
                  "graph_class": GRAPH_CLASS}  # fmt: skip
        index = _templates.get_template("index.html.j2").render(
            report=report, sources=sources, attestation_in=_attestation_in, **common
        )
        (work / "index.html").write_text(index, encoding="utf-8")
        page = _templates.get_template("wheel.html.j2")
        for entry in report.wheels:
            html = page.render(w=entry, **common)
            (work / "wheels" / f"{entry.slug}.html").write_text(html, encoding="utf-8")
    return out / "index.html"


def _attestation_in(entry: WheelEntry, folder: str) -> Attestation | None:
    return next((a for a in entry.attestations if a.folder == folder), None)
