"""Analysis survives killed workers (real Celery worker, our own Redis, real PostgreSQL).

The figures of the issue, each a test:
- the pool process SIGKILLed in the middle of an analysis, 20 times -> every clip analysed, no duplicate
  results;
- the whole worker SIGKILLed 3 times (short visibility timeout) -> every job recovered after a restart;
- a clip that kills its worker every time does not block the queue forever: it is marked failed.

Each analysis is slowed by the test-only BWV_ANALYSIS_TEST_DELAY_S (a pause at each progress report; ignored
in production) so that a kill lands mid-analysis; each kill is checked to have happened mid-analysis.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import clip, duplicate_results, register, statuses, wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.parametrize("engine", ["postgresql"], indirect=True),
]


def _new_attempt(session: Any, seen: set[tuple[int, int]]) -> tuple[int, int] | None:
    """(footage id, attempt) of an analysis started since we last looked (killed ones stay 'analysing' until
    their job comes round again, with the next attempt number)."""
    for fid, (status, attempts, _progress) in statuses(session).items():
        if status == "analysing" and (fid, attempts) not in seen:
            return fid, attempts
    return None


def _kill_children_mid_analysis(worker: Any, session: Any, kills: int, max_per_clip: int) -> list[tuple[int, int]]:
    """Kill the pool process whenever a new analysis attempt is under way, `kills` times. Returns the
    (footage, attempt) killed; each is checked to be left unfinished (the kill really was mid-analysis)."""
    killed: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    deadline = time.monotonic() + 240
    while len(killed) < kills and time.monotonic() < deadline:
        cur = _new_attempt(session, seen)
        if cur is None:
            time.sleep(0.05)
            continue
        seen.add(cur)
        if cur[1] > max_per_clip:
            continue  # let this one finish; spread the kills over the clips
        time.sleep(0.2)  # well inside the analysis (about 1.2 s with the test delay)
        pid = worker.kill_child()
        assert pid is not None, worker.output()
        status, attempts, progress = statuses(session)[cur[0]]
        assert status == "analysing" and attempts == cur[1] and progress < 1.0, (cur, status, attempts, progress)
        killed.append(cur)
    assert len(killed) == kills, f"only {len(killed)} kills landed mid-analysis\n{worker.output()}"
    return killed


def test_pool_process_killed_20_times_mid_analysis(
    engine: Any, world: Any, session: Any, tmp_path: Path, start_worker: Any
) -> None:
    """10 clips; the pool process is SIGKILLed mid-analysis 20 times -> 10/10 analysed, 0 duplicates.

    With the protection off (`-A tests.reliability.celery_acks_early`: task_acks_late=False and no
    reject on worker loss; run once with BWV_TEST_ACKS_EARLY=1) the test failed: "only 10 kills landed
    mid-analysis" - each clip's job vanished at its first kill (acknowledged on receipt), so after 10 kills
    there was nothing left to run and all 10 clips stayed 'analysing' for good.
    """
    from app.core.jobs import publish_pending

    n = 10  # each clip killed twice (killed jobs go to the back of the queue), then analysed
    ids = [register(world, clip(i), tmp_path) for i in range(n)]
    assert publish_pending() == n
    import os

    module = "tests.reliability.celery_acks_early" if os.environ.get("BWV_TEST_ACKS_EARLY") == "1" else None
    worker = start_worker(**({"app_module": module} if module else {}), BWV_ANALYSIS_TEST_DELAY_S="0.3")
    killed = _kill_children_mid_analysis(worker, session, kills=20, max_per_clip=2)

    def done() -> bool:
        return all(s in ("analysed", "failed") for s, _, _ in statuses(session).values())

    try:
        wait_for(done, 60, "all clips analysed", worker.output)
    except pytest.fail.Exception:
        left = {fid: s for fid, (s, _, _) in statuses(session).items() if s != "analysed"}
        pytest.fail(f"{len(left)} clips not analysed: {left}")
    final = statuses(session)
    assert [fid for fid in ids if final[fid][0] != "analysed"] == []
    assert duplicate_results(session) == {"keyframes": 0, "segments": 0, "findings": 0}
    # Each killed clip really ran again (attempts counted), and nothing else ran twice.
    rerun = {fid for fid, _ in killed}
    assert all(final[fid][1] >= 2 for fid in rerun)
    assert sum(final[fid][1] for fid in ids) == n + len(killed)


def test_whole_worker_killed_3_times_jobs_recovered_after_restart(
    engine: Any, world: Any, session: Any, tmp_path: Path, start_worker: Any
) -> None:
    """The whole worker (main process and pool) SIGKILLed mid-analysis 3 times, each time restarted once the
    visibility timeout (4 s here, hours in production) has passed -> every job recovered, 0 duplicates.

    Redis keeps an unacknowledged job aside and gives it out again after the visibility timeout; the
    restarted worker restores it on start. With the protection off (BWV_TEST_ACKS_EARLY=1, as above) the
    test failed: the 3 killed clips were never analysed ("3 clips not analysed: {1: 'analysing',
    2: 'analysing', 3: 'analysing'}").
    """
    import os

    from app.core.jobs import publish_pending

    module = "tests.reliability.celery_acks_early" if os.environ.get("BWV_TEST_ACKS_EARLY") == "1" else None
    opts = {"BWV_ANALYSIS_TEST_DELAY_S": "0.3", "BWV_CELERY_VISIBILITY_TIMEOUT_S": "4"}
    if module:
        opts["app_module"] = module
    ids = [register(world, clip(100 + i), tmp_path) for i in range(4)]
    assert publish_pending() == len(ids)
    seen: set[tuple[int, int]] = set()
    killed = []
    for _ in range(3):
        worker = start_worker(**opts)
        wait_for(lambda: _new_attempt(session, seen) is not None, 60, "an analysis under way", worker.output)
        cur = _new_attempt(session, seen)
        assert cur is not None
        seen.add(cur)
        time.sleep(0.2)
        worker.kill()
        killed_at = time.monotonic()
        status, attempts, progress = statuses(session)[cur[0]]
        assert status == "analysing" and progress < 1.0, (cur, status, progress)
        killed.append(cur)
        time.sleep(max(0.0, 4.5 - (time.monotonic() - killed_at)))  # past the visibility timeout
    last = start_worker(**opts)

    def done() -> bool:
        return all(s == "analysed" for s, _, _ in statuses(session).values())

    try:
        wait_for(done, 60, "all clips analysed", last.output)
    except pytest.fail.Exception:
        left = {fid: s for fid, (s, _, _) in statuses(session).items() if s != "analysed"}
        pytest.fail(f"{len(left)} clips not analysed: {left}")
    assert duplicate_results(session) == {"keyframes": 0, "segments": 0, "findings": 0}
    final = statuses(session)
    assert all(final[fid][1] >= 2 for fid, _ in killed)


def test_a_clip_that_kills_its_worker_every_time_is_failed_not_retried_forever(
    engine: Any, world: Any, session: Any, tmp_path: Path, start_worker: Any
) -> None:
    """A 'poison' clip (its analysis kills the pool process every time, as a decoder crash or the OOM killer
    would) must not be re-run for ever: after a few attempts that never finished it is marked failed with a
    reason a person can act on, and the other clips are analysed.

    Before the fix in `app.footage.analysis.start` (MAX_UNFINISHED_ATTEMPTS) this test failed: the clip was
    redelivered after every kill (reject on worker loss), 9 kills later it was still 'analysing' with
    attempt 10, and it would have gone on for ever.
    """
    from app.core.jobs import publish_pending
    from app.footage import analysis

    MAX_UNFINISHED_ATTEMPTS = analysis.MAX_UNFINISHED_ATTEMPTS  # noqa: N806

    poison = register(world, clip(200), tmp_path)
    others = [register(world, clip(201 + i), tmp_path) for i in range(2)]
    assert publish_pending() == 3
    worker = start_worker(BWV_ANALYSIS_TEST_DELAY_S="0.3")
    seen: set[tuple[int, int]] = set()
    kills = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and kills < MAX_UNFINISHED_ATTEMPTS + 4:
        st = statuses(session)
        if st[poison][0] == "failed" and all(st[o][0] == "analysed" for o in others):
            break
        cur = _new_attempt(session, seen)
        if cur is None or cur[0] != poison:
            if cur is not None:
                seen.add(cur)
            time.sleep(0.05)
            continue
        seen.add(cur)
        time.sleep(0.2)
        worker.kill_child()
        kills += 1
    wait_for(lambda: all(statuses(session)[o][0] == "analysed" for o in others), 60, "others analysed", worker.output)
    status, attempts, _ = statuses(session)[poison]
    assert status == "failed", f"poison clip still {status} after {kills} kills (attempt {attempts})"
    assert kills == MAX_UNFINISHED_ATTEMPTS
    import sqlalchemy as sa

    detail = session.execute(sa.text("SELECT status_detail FROM footage WHERE id = :i"), {"i": poison}).scalar()
    assert "did not finish" in detail
