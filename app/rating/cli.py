"""`bwv-review ratings-stored-again`: count once the recordings counted twice before a file stored again took
its deleted clip's place at rating and at linking (a one-off, for data from before that rule)."""

from __future__ import annotations

from dataclasses import dataclass

import click
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit.service import SYSTEM, record
from app.footage.models import Footage, FootageStatus
from app.rating.models import Rating
from app.rating.service import CURRENT_RATING, current_rating, supersede_deleted_copies


@dataclass
class Superseded:
    footage_id: int
    rating_id: int
    superseded: list[int]


def copies_of_deleted_clips(session: Session) -> list[int]:
    """Clips with a current rating whose bytes are those of an earlier clip of the same establishment and
    wearer that retention deleted; oldest first. Deleted ones too: a copy rated in the first's place may have
    been deleted in turn, and its rating still counts."""
    deleted = sa.orm.aliased(Footage)
    rated = select(Rating.id).where(Rating.footage_id == Footage.id, *CURRENT_RATING)
    return [
        int(fid)  # type: ignore[arg-type]
        for fid in session.exec(
            select(Footage.id)
            .where(
                rated.exists(),
                select(deleted.id)
                .where(
                    deleted.establishment_id == Footage.establishment_id,
                    deleted.sha256 == Footage.sha256,
                    col(deleted.status) == FootageStatus.purged,
                    col(deleted.wearer_id).is_not_distinct_from(Footage.wearer_id),
                    col(deleted.id) < Footage.id,
                )
                .exists(),
            )
            .order_by(col(Footage.id))
        ).all()
    ]


def supersede_for(session: Session, footage_id: int, *, audit: bool = True) -> Superseded | None:
    """`footage_id`'s current rating supersedes the ratings of the deleted clips it takes the place of (the rule
    applied when a clip is rated or linked: `deleted_copies_rated`), with an audit entry as the system's."""
    footage = session.get(Footage, footage_id)
    assert footage is not None
    current = current_rating(session, footage_id)
    if current is None or current.id is None:
        return None
    ids = supersede_deleted_copies(session, footage, deleted_too=True)
    if not ids:
        return None
    if audit:
        record(
            session,
            SYSTEM,
            "rating_supersede",
            object_type="footage",
            object_id=footage_id,
            establishment_id=footage.establishment_id,
            reason="A file stored again after its clip was deleted: the recording counts once.",
            detail={"rating_id": current.id, "supersedes_deleted_copy_ratings": ids, "via": "cli"},
        )
    return Superseded(footage_id, current.id, ids)


def supersede_stored_again(*, dry_run: bool = False) -> list[Superseded]:
    """Every copy in turn, oldest first, so that along a chain (deleted, stored again, deleted again, stored
    again) each rating gives way to the next. One transaction a clip, as retention's purge: the clip's row, then
    the audit chain's end, never the other way round, and never held across clips. `dry_run`: worked out the
    same way in one transaction that is rolled back (no audit entry; the clips' rows are held while it runs)."""
    from app.core.db import unit_of_work

    with unit_of_work() as session:
        todo = copies_of_deleted_clips(session)
    if dry_run:
        with unit_of_work() as session:
            found = [supersede_for(session, fid, audit=False) for fid in todo]
            session.rollback()
        return [s for s in found if s is not None]
    done: list[Superseded] = []
    for fid in todo:
        with unit_of_work() as session:
            one = supersede_for(session, fid)
        if one is not None:
            done.append(one)
    return done


@click.command("ratings-stored-again")
@click.option("--dry-run", is_flag=True, help="List what would be superseded; change nothing.")
def ratings_stored_again(dry_run: bool) -> None:
    """Count once each recording stored again after retention deleted its clip (rated and linked in its place
    before this rule was applied at rating and linking): the deleted clip's rating is superseded."""
    done = supersede_stored_again(dry_run=dry_run)
    verb = "would supersede" if dry_run else "superseded"
    for s in done:
        click.echo(f"clip {s.footage_id}: its rating {s.rating_id} {verb} {', '.join(map(str, s.superseded))}")
    click.echo(f"{len(done)} clip(s); {sum(len(s.superseded) for s in done)} rating(s) {verb}.")


commands = [ratings_stored_again]
