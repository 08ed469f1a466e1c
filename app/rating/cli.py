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


def copies_of_deleted_clips(session: Session) -> list[Footage]:
    """Clips with a current rating whose bytes are those of an earlier clip of the same establishment and
    wearer that retention deleted; oldest first. Deleted ones too: a copy rated in the first's place may have
    been deleted in turn, and its rating still counts."""
    deleted = sa.orm.aliased(Footage)
    rated = select(Rating.id).where(Rating.footage_id == Footage.id, *CURRENT_RATING)
    return list(
        session.exec(
            select(Footage)
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
    )


def supersede_stored_again(session: Session, *, dry_run: bool = False) -> list[Superseded]:
    """Each copy's current rating supersedes the ratings of the deleted clips it takes the place of (the rule
    applied when it is rated or linked: `deleted_copies_rated`), oldest copy first, so that along a chain
    (deleted, stored again, deleted again, stored again) each rating gives way to the next; one audit entry a
    clip. `dry_run`: what would be superseded, with nothing changed (the caller rolls back)."""
    out: list[Superseded] = []
    for footage in copies_of_deleted_clips(session):
        assert footage.id is not None
        current = current_rating(session, footage.id)
        assert current is not None and current.id is not None
        ids = supersede_deleted_copies(session, footage, deleted_too=True)
        if not ids:
            continue
        out.append(Superseded(footage.id, current.id, ids))
        if not dry_run:
            record(
                session,
                SYSTEM,
                "rating_supersede",
                object_type="footage",
                object_id=footage.id,
                establishment_id=footage.establishment_id,
                reason="A file stored again after its clip was deleted: the recording counts once.",
                detail={"rating_id": current.id, "supersedes_deleted_copy_ratings": ids, "via": "cli"},
            )
    return out


@click.command("ratings-stored-again")
@click.option("--dry-run", is_flag=True, help="List what would be superseded; change nothing.")
def ratings_stored_again(dry_run: bool) -> None:
    """Count once each recording stored again after retention deleted its clip (rated and linked in its place
    before this rule was applied at rating and linking): the deleted clip's rating is superseded."""
    from app.core.db import unit_of_work

    with unit_of_work() as session:
        done = supersede_stored_again(session, dry_run=dry_run)
        if dry_run:
            session.rollback()
    verb = "would supersede" if dry_run else "superseded"
    for s in done:
        click.echo(f"clip {s.footage_id}: its rating {s.rating_id} {verb} {', '.join(map(str, s.superseded))}")
    click.echo(f"{len(done)} clip(s); {sum(len(s.superseded) for s in done)} rating(s) {verb}.")


commands = [ratings_stored_again]
