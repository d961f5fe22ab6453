"""Re-evaluating an edition: every application in play asked about again (after a parameter or registry is corrected).

The request queues one outbox message per application in the transaction that records it (`202` and the
re-evaluation's URL); the outbox works through them a batch at a time with eligibility's and calculation's batch
operations, retrying what fails. Progress is counted from the messages themselves, so it survives any restart.
"""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import bindparam, func, insert, literal, text, update
from sqlmodel import Session, select

from common.auth import PrincipalDep, require_roles
from common.db import SessionDep, UtcDateTime, random_uuid
from common.pagination import Page, PageDep
from common.problems import NotFound, Unprocessable, problem_responses

from .models import RETRYING, Application, OutboxMessage, Reevaluation

router = APIRouter(tags=["re-evaluations"])
CITY = Depends(require_roles("city_officer", "admin"))
# what is still in play: returned applications are evaluated again when resubmitted, rejected ones are out
IN_PLAY = ("submitted", "district_passed")
Edition = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="年度 / programme edition")]


class ReevaluationIn(BaseModel):
    """Why the edition is evaluated again (kept with the request and in the audit trail)."""

    model_config = {"json_schema_extra": {"examples": [{"reason": "G2.2.3 的认证费用上限更正为 100,000 元"}]}}

    reason: str = Field(min_length=1, max_length=500, description="原因 / what was corrected")


class ReevaluationRead(BaseModel):
    """A re-evaluation and how far it has got."""

    id: str
    edition: str
    reason: str
    requested_by: str
    requested_at: datetime
    total: int = Field(description="Applications queued")
    done: int = Field(description="Evaluated and priced again")
    retrying: int = Field(description="Waiting for another attempt (a service away or refusing the dossier)")
    superseded: int = Field(description="Resubmitted meanwhile: their new submission's evaluation replaces this one")
    status: str = Field(description="`running` until no message of it is pending, then `finished`")


def _read(session: Session, row: Reevaluation) -> ReevaluationRead:
    # the counts kept on the row (O(1) however large the edition); the few messages tried and due again through
    # their partial index, whose predicate the query names
    retrying = session.exec(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.reevaluation_id == row.id, text(RETRYING))).one()
    pending = row.total - row.done - row.superseded
    return ReevaluationRead(id=row.id, edition=row.edition, reason=row.reason, requested_by=row.requested_by,
                            requested_at=row.requested_at, total=row.total, done=row.done, retrying=retrying,
                            superseded=row.superseded, status="running" if pending > 0 else "finished")


def count_progress(session: Session, column: str, counts: dict[str, int]) -> None:
    """Add to a count of re-evaluations' progress (`done`, `superseded`): {re-evaluation id: messages moved}, in the
    transaction that moves them."""
    # operational counts of messages (which the trail does not record either): a plain statement, not an audited
    # change of the re-evaluation
    table = Reevaluation.__table__
    if counts:
        session.execute(update(table).where(table.c.id == bindparam("r_id"))
                        .values({column: table.c[column] + bindparam("moved")}),
                        [{"r_id": reevaluation, "moved": moved} for reevaluation, moved in counts.items()])


def supersede_pending(session: Session, *where) -> None:
    """Mark the pending messages matching `where` superseded (their application resubmitted, or asked about again),
    counted on the re-evaluations that queued them."""
    # one statement marks them and names the re-evaluation of each (the ORM's copies are not touched: plain table)
    moved = session.execute(update(OutboxMessage.__table__).where(OutboxMessage.status == "pending", *where)
                            .values(status="superseded").returning(OutboxMessage.reevaluation_id)).scalars()
    count_progress(session, "superseded", Counter(reevaluation for reevaluation in moved if reevaluation is not None))


@router.post("/editions/{edition}/re-evaluations", response_model=ReevaluationRead, status_code=202,
             dependencies=[CITY], responses=problem_responses(401, 403, 422))
def reevaluate_edition(edition: Edition, data: ReevaluationIn, session: SessionDep, principal: PrincipalDep,
                       request: Request, response: Response) -> ReevaluationRead:
    """Evaluate and price again every application of the edition in play; 202 with the progress URL."""
    of_edition_in_play = (Application.edition == edition, Application.status.in_(IN_PLAY))
    in_play = select(Application.id).where(*of_edition_in_play)
    total = session.exec(select(func.count()).select_from(in_play.subquery())).one()
    if not total:
        raise Unprocessable(f"Edition {edition} has no application in play ({', '.join(IN_PLAY)}) to evaluate again.",
                            errors=[{"field": "path.edition", "message": "nothing to re-evaluate", "code": "empty"}])
    row = Reevaluation(id=str(uuid.uuid4()), edition=edition, reason=data.reason, total=total,
                       requested_by=principal.subject, requested_at=request.app.state.clock.now())
    session.add(row)
    session.flush()
    # what an earlier request still had queued is replaced: only the newest asking counts
    supersede_pending(session, OutboxMessage.application_id.in_(in_play))
    # one message per application, written by the database from the applications themselves, no id held here:
    # for 100,000 applications intake grew by 176 MiB with every id and message row in hand, and by 2 MiB now
    queued = datetime.now(timezone.utc)  # operational timing, like a submission's message
    queued_at = literal(queued, UtcDateTime())
    session.execute(insert(OutboxMessage).from_select(
        ["id", "application_id", "reevaluation_id", "status", "attempts", "next_attempt_at", "created_at"],
        select(random_uuid(), Application.id, literal(row.id), literal("pending"), literal(0), queued_at, queued_at)
        .where(*of_edition_in_play)))
    session.execute(update(Application).where(*of_edition_in_play)
                    .values(evaluation_status="pending", evaluation_attempts=0, evaluation_error=None)
                    .execution_options(synchronize_session=False))
    response.headers["Location"] = f"/api/v1/intake/re-evaluations/{row.id}"
    return _read(session, row)


@router.get("/re-evaluations", response_model=Page[ReevaluationRead], dependencies=[CITY],
            responses=problem_responses(401, 403))
def list_reevaluations(session: SessionDep, page: PageDep) -> Page[ReevaluationRead]:
    """Re-evaluations, newest first, with their progress."""
    total = session.exec(select(func.count()).select_from(Reevaluation)).one()
    rows = session.exec(select(Reevaluation).order_by(Reevaluation.requested_at.desc(), Reevaluation.id)
                        .offset(page.offset).limit(page.limit)).all()
    return Page(items=[_read(session, r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/re-evaluations/{reevaluation_id}", response_model=ReevaluationRead, dependencies=[CITY],
            responses=problem_responses(401, 403, 404))
def get_reevaluation(reevaluation_id: Annotated[str, Path(max_length=36)], session: SessionDep) -> ReevaluationRead:
    """One re-evaluation's progress: done, retrying, superseded, and whether it has finished."""
    row = session.get(Reevaluation, reevaluation_id)
    if row is None:
        raise NotFound(f"No re-evaluation {reevaluation_id}.")
    return _read(session, row)
