"""Report pages, and the CSV and PDF downloads: they open, hold the figures, need a reason, are audited."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlmodel import select

from app.audit.models import AuditEvent
from tests.report.fixture import build
from tests.support import browser_sign_in, form_on_page, make_client

OCT = {"from": "2026-10-01", "to": "2026-10-31"}


@pytest.fixture
def rw(session, world):  # type: ignore[no-untyped-def]
    return build(session, world)


def signed_in(app, username):  # type: ignore[no-untyped-def]
    c = make_client(app)
    token = browser_sign_in(c, username)
    return c, token


def test_compliance_page_shows_the_figures(app, rw):  # type: ignore[no-untyped-def]
    c, _ = signed_in(app, "governor.a")
    r = c.get("/reports/compliance", params=OCT)
    assert r.status_code == 200, r.text
    t = r.text
    for text in (
        "Compliance summary",
        "HMP Alpha",
        "1 October 2026",
        "31 October 2026",
        "80%",
        "25%",
        "-5.0 s",
        "22.8 s",
        "How these figures are worked out",
        "Black British",
        "Officer a2",
        "data-bwv-chart",
        "/static/charts.js",
    ):
        assert text in t, text
    assert "Officer a1" not in t  # names only for flagged officers
    assert "&lt;a" not in t and 'href="/officers/A002"' in t  # links are links, not escaped text
    # The form's date pickers show and send D/M/YYYY; the same figures either way.
    assert 'value="1/10/2026"' in t and 'value="31/10/2026"' in t and 'data-module="moj-date-picker"' in t
    picked = c.get("/reports/compliance", params={"from": "1/10/2026", "to": "31/10/2026"})
    assert picked.status_code == 200 and "80%" in picked.text and "22.8 s" in picked.text
    bad = c.get("/reports/compliance", params={"from": "2026-10-31", "to": "2026-10-01"})
    assert bad.status_code == 200 and "The start date must be on or before the end date" in bad.text
    assert "<title>Error: Compliance summary" in bad.text  # as the GOV.UK pattern has it, for screen readers
    assert "<title>Compliance summary" in t
    # A period that runs on after today says its figures will change; one not begun, that there is nothing.
    today = datetime.now(ZoneInfo("Europe/London")).date()
    ahead = {"from": today.replace(day=1).isoformat(), "to": (today + timedelta(days=40)).isoformat()}
    future = c.get("/reports/compliance", params=ahead).text
    assert "This period runs on after today: the figures are up to today" in future
    later = {"from": (today + timedelta(days=40)).isoformat(), "to": (today + timedelta(days=70)).isoformat()}
    unbegun = c.get("/reports/compliance", params=later).text
    assert "This period has not begun yet" in unbegun and "runs on after today" not in unbegun
    assert "runs on after today" not in t and "not begun" not in t
    american = c.get("/reports/compliance", params={"from": "10/31/2026"})
    assert "The start date must be a real date" in american.text and 'value="10/31/2026"' in american.text
    assert "(got " not in american.text  # the box shows what was typed; the message does not repeat it
    assert "&#39;from&#39;" not in american.text  # the page's words, not the parameter's name
    assert "these figures are for last month" in american.text, "the figures shown say which period they are"
    both = c.get("/reports/compliance", params={"from": "31/2/2026", "to": "1/1/0203"}).text
    assert 'href="#from"' in both and 'href="#to"' in both, "each bad date is marked at its own field"
    assert "The end date must be between" in both, "a year typed wrong is out of range, not 'not real'"
    api = c.get("/api/v1/reports/compliance", params={"from": "2026-10-31", "to": "2026-10-01"})
    assert api.status_code == 422 and "'from' must be on or before 'to'" in api.json()["detail"]
    assert c.get("/reports/compliance", params={"establishment": "BBB"}).status_code == 404


def test_csv_download_needs_a_reason_and_holds_the_figures(app, rw, session):  # type: ignore[no-untyped-def]
    c, _ = signed_in(app, "governor.a")
    page = c.get("/reports/compliance", params=OCT).text
    form = {**form_on_page(page, "/reports/compliance/export"), "format": "csv"}  # as the page's Download sends
    assert form["from"] == "2026-10-01" and form["to"] == "2026-10-31"
    refused = c.post("/reports/compliance/export", data={**form, "reason": ""})
    assert refused.status_code == 422 and "Enter why you are downloading" in refused.text
    r = c.post("/reports/compliance/export", data={**form, "reason": "October use-of-force meeting"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    # Excel needs the byte-order mark to read UTF-8; a program reads past it with utf-8-sig.
    assert r.content.startswith(b"\xef\xbb\xbfsection,figure,group,value")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    fig = {(x["section"], x["figure"], x["group"]): x["value"] for x in rows}
    assert fig[("summary", "incidents", "")] == "5"
    assert float(fig[("summary", "share_with_footage", "")]) == 0.8
    assert float(fig[("summary", "share_all_on_before_force", "")]) == 0.25
    assert float(fig[("summary", "median_lag_s", "")]) == -5.0
    assert float(fig[("summary", "p90_lag_s", "")]) == pytest.approx(22.8)
    assert float(fig[("summary", "mean_coverage", "")]) == pytest.approx(0.775)
    assert float(fig[("summary", "median_hours_to_rating", "")]) == 26.0
    assert (fig[("rag", "green", "")], fig[("rag", "amber", "")], fig[("rag", "red", "")]) == ("1", "3", "1")
    assert fig[("summary", "backlog", "")] == "1" and fig[("summary", "unacknowledged", "")] == "2"
    assert fig[("breakdown:ethnicity", "incidents", "Black British")] == "2"
    assert fig[("breakdown:planned", "incidents", "Spontaneous")] == "4"
    assert fig[("trend", "incidents", "2026-09")] == "1"
    assert fig[("officers_flagged", "non_green_after_guidance", "Officer a2 (A002)")] == "2"
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "report_export")).one()
    assert ev.reason == "October use-of-force meeting" and ev.detail["format"] == "csv"
    anon = c.post("/reports/compliance/export", data={**form, "reason": "IMB", "anonymise": "1"})
    assert "Officer a2" not in anon.text and "A002" not in anon.text and "Officer 1" in anon.text


def structure(node: Any) -> list[tuple[str, str]]:
    """A tagged PDF's structure elements, depth first: (tag, text alternative)."""
    node = node.get_object()
    if isinstance(node, list):
        return [t for kid in node for t in structure(kid)]
    if not hasattr(node, "get"):
        return []  # a marked-content id
    here = [(str(node.get("/S")), str(node.get("/Alt", "")))] if "/S" in node else []
    return here + (structure(node["/K"]) if "/K" in node else [])


def marked_content(node: Any, page: Any, on: Any = None) -> set[int]:
    """The marked-content ids the structure tree reaches on `page`."""
    node = node.get_object()
    if isinstance(node, int):
        return {node} if on == page else set()
    if isinstance(node, list):
        return {m for kid in node for m in marked_content(kid, page, on)}
    if not hasattr(node, "get"):
        return set()
    on = node.get("/Pg", on)
    if "/MCID" in node:
        return {int(node["/MCID"])} if on == page else set()
    return marked_content(node["/K"], page, on) if "/K" in node else set()


def test_pdf_pack_opens_and_holds_the_figures(app, rw):  # type: ignore[no-untyped-def]
    c, _ = signed_in(app, "governor.a")
    page = c.get("/reports/compliance", params=OCT).text
    form = {**form_on_page(page, "/reports/compliance/export"), "format": "pdf", "reason": "Monthly meeting"}
    r = c.post("/reports/compliance/export", data=form)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(r.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    for figure in (
        "HMP Alpha",
        "Incidents with force",
        "80% (4)",
        "25% (1 of 4)",
        "-5.0 s",
        "22.8 s",
        "78%",
        "1 / 3 / 1",
        "26.0 h",
        "2 (2 over 7 days)",
        "Black British",
        "Officer a2 (A002)",
        "How these figures are worked out",
        "Every officer's camera on before force, by month of incident",  # the page's second chart, in the pack too
        "Amber",  # the ratings chart's legend
        "Oct 2026",  # the trend table's months as people read them, and the chart's axis "Oct 26", not "26-10"
        "Oct 26",
    ):
        assert figure in text, figure
    assert "26-10" not in text
    assert "+22.8" not in text, "lags are written as on the page"
    # Tagged (PDF/UA-1), so a screen reader reads it as it reads the page: structure, language, title, and a
    # text alternative for each chart.
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and root["/Lang"] == "en-GB"
    assert reader.metadata is not None
    assert reader.metadata.title == "Use of force: body-worn video compliance - HMP Alpha"
    tags = structure(root["/StructTreeRoot"])
    assert {"/H1", "/H2", "/Table", "/TH", "/TD", "/P"} <= {t for t, _ in tags}
    alts = [alt for t, alt in tags if t == "/Figure"]
    assert len(alts) == 2 and all("The figures are in the table 'Last 12 months'" in a for a in alts), alts
    # Every piece of marked content on every page is in the structure (PDF/UA: content is tagged or an artifact;
    # a page footer in the margin was neither).
    for number, pdf_page in enumerate(reader.pages):
        drawn = {int(m) for m in re.findall(rb"/MCID\s+(\d+)", pdf_page.get_contents().get_data())}
        assert drawn and drawn == marked_content(root["/StructTreeRoot"], pdf_page.indirect_reference), number
    anon = c.post("/reports/compliance/export", data={**form, "anonymise": "1"})
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(anon.content)).pages)
    assert "Officer a2" not in text and "A002" not in text and "Officer 1" in text


def test_officer_pages_and_who_may_see_them(app, rw):  # type: ignore[no-untyped-def]
    c, _ = signed_in(app, "coordinator.a")
    listing = c.get("/officers")
    assert listing.status_code == 200
    assert "Officer a1" in listing.text and "Follow up" in listing.text and "moj-sortable-table" in listing.text
    assert "&lt;a" not in listing.text and 'href="/officers/A002"' in listing.text
    one = c.get("/officers/A002")
    assert one.status_code == 200 and "Before and after the first guidance" in one.text and "6 Oct 2026" in one.text
    # A trend line only for officers with ratings in two months or more: a dot or a bare baseline read as a
    # trend. A003 has no footage at all.
    rows = c.get("/api/v1/reports/officers").json()
    lines = sum(1 for r in rows if sum(v is not None for v in r["sparkline"]) >= 2)
    assert listing.text.count("data-bwv-sparkline=") == lines
    a3 = listing.text.split('href="/officers/A003"', 1)[1].split("</tr>", 1)[0]
    assert "No ratings in 12 months" in a3 and "data-bwv-sparkline" not in a3
    # Sorted by flags, "without footage" counts as a flag: above an officer with none (it sorted as none).
    assert "1 without footage" in a3 and re.findall(r'data-sort-value="([^"]*)"', a3)[-1] == "1"
    assert c.get("/officers/B001").status_code == 404

    staff, _ = signed_in(app, "officer.a1")
    mine = staff.get("/my/progress")
    assert mine.status_code == 200 and "My progress" in mine.text
    assert staff.get("/officers/A001").status_code == 200
    other = staff.get("/officers/A002")
    assert other.status_code == 404 and "Officer a2" not in other.text
    assert staff.get("/officers").status_code == 403
    assert staff.get("/reports/compliance").status_code == 403

    gov_b, _ = signed_in(app, "governor.b")
    assert gov_b.get("/officers/A002").status_code == 404
    assert gov_b.get("/reports/compliance", params={"establishment": "AAA"}).status_code == 404


def test_admin_compares_establishments(app, rw):  # type: ignore[no-untyped-def]
    c, _ = signed_in(app, "admin")
    r = c.get("/reports/compare", params=OCT)
    assert r.status_code == 200 and "HMP Alpha" in r.text and "HMP Bravo" in r.text
    for bad in ({"from": "31/02/2026", "to": "1/3/2026"}, {"from": "2/3/2026", "to": "1/3/2026"}):
        r = c.get("/reports/compare", params=bad)
        assert r.status_code == 422 and "There is a problem" in r.text and 'href="#from"' in r.text, bad
        assert f'value="{bad["from"]}"' in r.text and "Key figures" not in r.text, "what was typed, no figures"
    assert c.get("/reports/compliance", params={"establishment": "BBB", **OCT}).status_code == 200
    gov, _ = signed_in(app, "governor.a")
    assert gov.get("/reports/compare").status_code == 403


def test_governor_home_is_the_last_30_days_summary(app, rw, session, world):  # type: ignore[no-untyped-def]
    """The governor's home page shows the compliance summary's own figures for the last 30 days, and links only
    to pages a governor may open (the review queue is the coordinator's)."""
    from datetime import timedelta

    from app.core.types import utcnow
    from app.report.service import Period, compliance_summary
    from app.report.sql import tz

    c, _ = signed_in(app, "governor.a")
    r = c.get("/")
    assert r.status_code == 200, r.text
    today = utcnow().astimezone(tz()).date()
    s = compliance_summary(session, world.est_a, Period(today - timedelta(days=29), today))
    assert "Compliance at a glance" in r.text and "Every officer&#39;s camera on before force" in r.text
    assert f"{s.rag.green} / {s.rag.amber} / {s.rag.red}" in r.text
    # Guidance waiting is all of it, whenever given (the fixture's is weeks old, outside the 30 days): the
    # figure the feedback page it links to lists, not "0".
    waiting = c.get("/feedback").text
    assert "3 pieces of guidance not acknowledged" in waiting
    tile = r.text.split("Guidance waiting now (given at any time)")[0].rsplit('<li class="bwv-figures__item">', 1)[1]
    assert re.search(r">\s*3\s*<", tile) and "3 waiting more than 7 days" in r.text
    assert 'href="/review"' not in r.text
    page = c.get("/reports/compliance", params=OCT)
    assert 'href="/review"' not in page.text  # the backlog figure is not a link for governors
    nav = r.text.split("moj-primary-navigation__list", 1)[-1].split("</ul>", 1)[0]
    assert 'href="/footage"' in nav


def test_percentages_round_halves_up_as_people_do() -> None:
    """Python's formatting rounds halves to even: 1 of 8 showed 12% beside 3 of 8 at 38%."""
    from app.core.templates import percent

    assert [percent(n / 8) for n in (1, 3, 5, 7)] == ["13%", "38%", "63%", "88%"]
    assert (percent(1 / 3), percent(2 / 3), percent(0.0), percent(1.0), percent(None)) == (
        "33%",
        "67%",
        "0%",
        "100%",
        "–",
    )
    assert percent(0.1235, 1) == "12.4%"


def test_the_incidents_figure_opens_the_same_incidents(app, rw) -> None:  # type: ignore[no-untyped-def]
    """'Incidents with force' linked to every incident ever recorded; it now opens that period's, UK days."""
    c, _ = signed_in(app, "governor.a")
    page = c.get("/reports/compliance", params=OCT).text
    href = re.search(r'href="(/incidents\?from=[^"]+)">Incidents with force', page)
    assert href, "the figure links to its incidents"
    listed = c.get(href.group(1).replace("&amp;", "&"))
    n = c.get("/api/v1/reports/compliance", params=OCT).json()["incidents"]
    assert listed.status_code == 200 and f"{n} incident{'' if n == 1 else 's'}</caption>" in listed.text
    everything = c.get("/incidents").text
    assert f"{n} incidents</caption>" not in everything, "the fixture has incidents outside October too"
    caption = re.search(r"(\d+ incidents?)</caption>", everything).group(1)  # type: ignore[union-attr]
    open_start = c.get("/incidents", params={"to": "31/12/2099"}).text
    assert f"{caption}</caption>" in open_start, "an empty From is an open start, not the first of the month"
    assert c.get("/incidents", params={"from": "1/1/1990", "to": "31/12/2099"}).status_code == 200, "no 10-year cap"
    bad = c.get("/incidents", params={"from": "31/2/2026", "q": "UOF"})
    assert bad.status_code == 422 and 'href="#from"' in bad.text and 'value="UOF"' in bad.text


def test_the_unacknowledged_figure_opens_the_same_guidance(app, rw) -> None:  # type: ignore[no-untyped-def]
    """'Guidance not acknowledged' opened all guidance waiting, from any month; it now opens the period's:
    clips of incidents where force began in it, however long the guidance has waited."""
    c, _ = signed_in(app, "governor.a")
    page = c.get("/reports/compliance", params=OCT).text
    href = re.search(r'href="(/feedback\?[^"]+)">Guidance not acknowledged', page)
    assert href, "the figure links to its guidance"
    listed = c.get(href.group(1).replace("&amp;", "&"))
    n = c.get("/api/v1/reports/compliance", params=OCT).json()["unacknowledged"]
    assert n == 2  # F1 v2 and F8 (fixture)
    t = listed.text
    assert listed.status_code == 200 and f"{n} pieces of guidance not acknowledged</caption>" in t
    assert "force began from 1 October 2026 to 31 October 2026" in t
    assert 'value="1/10/2026"' in t and 'value="31/10/2026"' in t  # as the date picker writes days
    everything = c.get("/feedback", params={"days": "0"}).text
    assert "3 pieces of guidance not acknowledged</caption>" in everything  # F5 (a November incident) too
    assert "3 pieces" in c.get("/feedback", params={"days": "0", "from": "1/10/2026"}).text  # an open end
    bad = c.get("/feedback", params={"days": "0", "from": "31/2/2026", "to": "1/10/2026"})
    assert bad.status_code == 200 and 'href="#from"' in bad.text and 'value="31/2/2026"' in bad.text
    assert "3 pieces" in bad.text  # the dates could not be used: every incident, said beside the box


@pytest.mark.allow_error_logs
def test_without_pango_the_page_says_to_download_the_csv(app, rw, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """WeasyPrint needs the system's Pango library: without it the form comes back with the reason (503), and
    no export is recorded, as none was made."""
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # importing it fails, as without Pango
    c, _ = signed_in(app, "governor.a")
    page = c.get("/reports/compliance", params=OCT).text
    form = {**form_on_page(page, "/reports/compliance/export"), "format": "pdf", "reason": "Monthly meeting"}
    r = c.post("/reports/compliance/export", data=form)
    assert r.status_code == 503 and "text/html" in r.headers["content-type"]
    assert "The PDF pack cannot be made on this server at the moment: download the CSV instead" in r.text
    assert 'href="#format' in r.text  # the error summary links to the choice
    assert not session.exec(select(AuditEvent).where(AuditEvent.action == "report_export")).all()


def test_the_pack_of_an_establishment_with_no_incidents_downloads(app, rw) -> None:  # type: ignore[no-untyped-def]
    """The camera-on trend drew a line of no points and the whole pack was a 500 (found by review)."""
    c, _ = signed_in(app, "governor.b")
    page = c.get("/reports/compliance", params=OCT).text
    form = {**form_on_page(page, "/reports/compliance/export"), "format": "pdf", "reason": "Monthly meeting"}
    r = c.post("/reports/compliance/export", data=form)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "Too few months with officers recorded to draw a trend" in text
