"""Recovering funds after payment (追缴): forged materials or false invoices (N3.2, with a three-year debarment
sent to eligibility's registry), duplicate applications or fraud (N3.3, referred to the judicial authorities
when serious)."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from common.auth import Principal
from common.clock import Clock
from common.problems import Conflict, NotFound, Unprocessable
from common.webhooks import publish as announce

from .clients import EligibilityClient
from .models import WEBHOOKS, Clawback, ClawbackRecovery, PaymentInstruction, Project
from .projects import parameter
from .schemas import ClawbackCreate, ClawbackRead, RecoveryIn, RecoveryRead

DEBARRING_GROUNDS = frozenset({"forged_materials", "false_invoices"})  # N3.2
ZERO = Decimal("0.00")


def years_after(start: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 1 March when the year has none)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return (start + timedelta(days=1)).replace(year=start.year + years)


def paid_for(session: Session, project_id: str) -> Decimal:
    """What the unit received for the project: its paid unit-leg instructions."""
    # summed as decimals here, not in SQL, where SQLite would add floats
    return sum(session.exec(select(PaymentInstruction.amount).where(
        PaymentInstruction.project_id == project_id, PaymentInstruction.leg == "unit",
        PaymentInstruction.status == "paid")).all(), ZERO)


def create_clawback(session: Session, eligibility: EligibilityClient, data: ClawbackCreate, principal: Principal,
                    clock: Clock) -> Clawback:
    """Demand funds back from a unit, at most what it was paid for the project less what is already demanded."""
    project = session.exec(select(Project).where(Project.id == data.project_id).with_for_update()).first()
    if project is None:
        raise NotFound(f"No project {data.project_id}.")
    paid = paid_for(session, project.id)
    if paid <= 0:
        raise Conflict("Nothing has been paid for this project: before payment, take it out of the plan through "
                       "an objection or the audit instead of a clawback.", clause="N3.3")
    demanded = sum(session.exec(select(Clawback.amount).where(Clawback.project_id == project.id)).all(), ZERO)
    if data.amount > paid - demanded:
        raise Conflict(f"At most {paid - demanded:.2f} can still be demanded: {paid:.2f} was paid for the project and "
                       f"{demanded:.2f} is already demanded.", clause="N3.3", paid=f"{paid:.2f}",
                       already_demanded=f"{demanded:.2f}")
    clawback = Clawback(id=str(uuid.uuid4()), project_id=project.id, uscc=project.uscc, amount=data.amount,
                        recovered=ZERO, ground=data.ground, reason=data.reason, evidence=data.evidence,
                        status="demanded", demanded_by=principal.subject, created_at=clock.now())
    if data.ground in DEBARRING_GROUNDS:
        # N3.2: debarred for the edition's number of years, in eligibility's registry, before anything is recorded
        # here: when eligibility fails the request answers 503 with nothing recorded and can be repeated with the
        # same Idempotency-Key. Should this service's own commit fail after the call, the debarment stands, as it
        # should, and a repeat records a second identical entry.
        years, _ = parameter(project.edition, "registries.debarment_years", clock.today_in_china())
        starts = clock.today_in_china()
        debarment = eligibility.debar(project.uscc, f"{data.reason}（{data.ground}，N3.2）",
                                      f"disbursement clawback {clawback.id}", starts, years_after(starts, int(years)))
        clawback.debarment_id, clawback.debarred_until = debarment.id, debarment.ends_on
    session.add(clawback)
    announce(session, WEBHOOKS, "clawback.demanded", "project", project.id,
             {"clawback_id": clawback.id, "uscc": project.uscc, "amount": f"{data.amount:.2f}",
              "ground": data.ground, "reason": data.reason, "debarred_until": clawback.debarred_until},
             clawback.created_at)
    session.flush()
    return clawback


def _get(session: Session, clawback_id: str) -> Clawback:
    clawback = session.exec(select(Clawback).where(Clawback.id == clawback_id).with_for_update()).first()
    if clawback is None:
        raise NotFound(f"No clawback {clawback_id}.")
    return clawback


def record_recovery(session: Session, clawback_id: str, data: RecoveryIn, principal: Principal,
                    clock: Clock) -> Clawback:
    """Money received back: partly recovered, then recovered when the whole amount is in."""
    clawback = _get(session, clawback_id)
    if clawback.status in ("recovered", "referred"):
        raise Conflict(f"The clawback is already {clawback.status}.", clause="N3.3")
    outstanding = clawback.amount - clawback.recovered
    if data.amount > outstanding:
        raise Unprocessable(f"Only {outstanding:.2f} is still owed.",
                            errors=[{"field": "body.amount", "message": f"at most {outstanding:.2f}",
                                     "code": "too_big"}])
    session.add(ClawbackRecovery(id=str(uuid.uuid4()), clawback_id=clawback.id, amount=data.amount,
                                 received_on=data.received_on or clock.today_in_china(), reference=data.reference,
                                 recorded_by=principal.subject, recorded_at=clock.now()))
    clawback.recovered += data.amount
    clawback.status = "recovered" if clawback.recovered == clawback.amount else "partly_recovered"
    session.add(clawback)
    session.flush()
    return clawback


def refer(session: Session, clawback_id: str, note: str, clock: Clock) -> Clawback:
    """Refer an unrecovered clawback to the judicial authorities (移交司法机关, N3.3)."""
    clawback = _get(session, clawback_id)
    if clawback.status in ("recovered", "referred"):
        raise Conflict(f"The clawback is already {clawback.status}.", clause="N3.3")
    clawback.status, clawback.referral_note, clawback.referred_at = "referred", note, clock.now()
    session.add(clawback)
    session.flush()
    return clawback


def clawback_read(session: Session, clawback: Clawback) -> ClawbackRead:
    """A clawback with its recoveries."""
    recoveries = session.exec(select(ClawbackRecovery).where(ClawbackRecovery.clawback_id == clawback.id)
                              .order_by(ClawbackRecovery.recorded_at, ClawbackRecovery.id)).all()
    return ClawbackRead.model_validate({
        **clawback.model_dump(), "outstanding": clawback.amount - clawback.recovered,
        "recoveries": [RecoveryRead.model_validate(r, from_attributes=True) for r in recoveries]})
