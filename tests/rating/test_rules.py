"""The suggested rating: table-driven, one row per rule, with the plain words the coordinator reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.rating.models import Rag
from app.rating.rules import Span, clip_facts, suggest

FS = datetime(2026, 11, 3, 14, 2, 0, tzinfo=UTC)  # force started
FE = FS + timedelta(seconds=30)  # force ended


def facts(
    lead: float = 10,
    press: float | None = None,
    length: float = 60,
    prerecord: float = 0,
    segs=(),
    kinds=(),
    analysed=True,
):  # type: ignore[no-untyped-def]  # noqa: E501
    """A clip whose first frame is `lead` s before force began; record pressed `press` s after the first frame."""
    start = FS - timedelta(seconds=lead)
    return clip_facts(
        analysed=analysed,
        recording_started_at=start,
        duration_s=length,
        activated_at=None if press is None else start + timedelta(seconds=press),
        prerecord_s=prerecord,
        force_started_at=FS,
        force_ended_at=FE,
        segments=[Span(k, a, b) for k, a, b in segs],
        findings=list(kinds),
    )


CASES = [
    # id, facts, expected rag, a phrase that must appear in the reasons (or None)
    ("on before, whole window, clear", facts(), Rag.green, None),
    ("pressed 48 s late", facts(lead=0, press=48, length=120), Rag.red, "Camera switched on 48 s after force began"),
    ("late but pre-record caught start", facts(lead=5, press=12, prerecord=7), Rag.amber, "pre-record buffer caught"),
    ("late, start missing", facts(lead=-8, press=0, length=60), Rag.amber, "Camera switched on 8 s after force began"),
    ("after force ended", facts(lead=-40, press=0), Rag.red, "after force had ended"),
    ("stopped early, under half", facts(lead=10, length=20), Rag.red, "Only 33% of the force window"),
    ("stopped early, most captured", facts(lead=10, length=35), Rag.amber, "Recording stopped before force ended"),
    (
        "lens covered 19 s in restraint",
        facts(segs=[("dark", 15, 34)]),
        Rag.red,
        "Lens covered or picture dark for 19 s during",
    ),
    ("lens covered 5 s in restraint", facts(segs=[("dark", 15, 20)]), Rag.amber, "for 5 s during the use of force"),
    ("frozen 3 s during force", facts(segs=[("frozen", 12, 15)]), Rag.amber, "Picture frozen for 3 s during"),
    ("dark long before force", facts(lead=30, length=80, segs=[("dark", 1, 9)]), Rag.amber, "outside the force window"),
    ("dark briefly outside force", facts(lead=30, length=80, segs=[("dark", 1, 3)]), Rag.green, None),
    ("truncated file", facts(kinds=["truncated"]), Rag.amber, "damaged or cut short"),
    ("unknown finding kind", facts(kinds=["odd_thing"]), Rag.amber, "Odd thing"),
]


@pytest.mark.parametrize(("facts_", "rag", "phrase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_suggestion(facts_, rag, phrase):  # type: ignore[no-untyped-def]
    s = suggest(facts_)
    assert s.rag == rag, s.reasons
    if phrase:
        assert any(phrase in r for r in s.reasons), s.reasons
    else:
        assert s.reasons == []


def test_green_lists_what_was_right() -> None:
    s = suggest(facts(lead=12))
    assert "Camera switched on 12 s before force began" in s.good
    assert "The whole force window is on this clip" in s.good


def test_not_analysed_gets_no_suggestion() -> None:
    s = suggest(facts(analysed=False))
    assert s.rag is None and not s.flagged


def test_flagged_means_anything_to_look_at() -> None:
    assert not facts().flagged
    assert facts(lead=0, press=3).flagged
    assert facts(segs=[("dark", 1, 2)]).flagged
    assert facts(kinds=["truncated"]).flagged
    assert facts(length=20).flagged


def test_unlinked_clip_is_judged_on_picture_only() -> None:
    f = clip_facts(
        analysed=True, recording_started_at=FS, duration_s=30, activated_at=None, prerecord_s=0,
        force_started_at=None, force_ended_at=None, segments=[Span("dark", 2, 4)],
    )  # fmt: skip
    s = suggest(f)
    assert f.status is None and s.rag == Rag.amber
    assert any("dark" in r for r in s.reasons)


def test_a_clips_facts_place_the_press_as_the_incidents_check_does() -> None:
    """A 30 s buffer said of a 15 s clip: the check puts the press at the clip's end (late, 5 s); the review
    screen's suggestion put it 15 s after the clip ended (after force, 20 s) and disagreed (found by review)."""
    from datetime import UTC, datetime, timedelta

    from app.rating.rules import clip_facts
    from workers.video.activation import Clip, ForceWindow, check_activation

    t0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    force = (t0 + timedelta(seconds=10), t0 + timedelta(seconds=20))
    facts = clip_facts(analysed=True, recording_started_at=t0, duration_s=15.0, activated_at=None, prerecord_s=30.0,
                       force_started_at=force[0], force_ended_at=force[1])  # fmt: skip
    check = check_activation([Clip(start=t0, measured_duration_s=15.0, prerecord_s=30.0)], ForceWindow(*force))
    assert (facts.status, facts.lag_s) == (check.status, check.lag_s) == ("late", 5.0)
