"""Payments in two legs from a final plan (N4.5), bank statements, retries, reconciliation; clawbacks (N3.2, N3.3).

Nothing is paid twice: every instruction is unique per plan, payee and attempt in the database, every
money-moving request carries an Idempotency-Key whose first answer is replayed, and a retry is a new
instruction linked to the failed one.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections import defaultdict
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.clock import Clock
from common.problems import BadRequest, Conflict, NotFound, Unprocessable
from common.webhooks import publish as announce

from .models import WEBHOOKS, Clawback, IdempotencyRecord, PaymentInstruction, Plan, PlanItem, Project

BUREAU = "commerce-bureau"


def request_hash(body: object) -> str:
    """A fingerprint of a request body, to tell a repeat from a different request under the same key."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def replay(session: Session, key: str | None, body_hash: str) -> IdempotencyRecord | None:
    """The stored answer of an earlier request with this key; 409 if that request was a different one."""
    if not key:
        raise BadRequest("Money-moving requests need an Idempotency-Key header.")
    record = session.get(IdempotencyRecord, key)
    if record is not None and record.request_hash != body_hash:
        raise Conflict("This Idempotency-Key was used for a different request.")
    return record


def remember(session: Session, key: str, body_hash: str, status_code: int, response: dict, clock: Clock) -> None:
    """Keep the answer under its key (in the same transaction as the effect)."""
    session.add(IdempotencyRecord(key=key, request_hash=body_hash, status_code=status_code, response=response,
                                  created_at=clock.now()))


def _instruction(plan: Plan, leg: str, payee_key: str, project: Project | None, name: str, bank: str,
                 account: str, amount: Decimal, clock: Clock, attempt: int = 1,
                 retry_of: str | None = None) -> PaymentInstruction:
    return PaymentInstruction(id=str(uuid.uuid4()), end_to_end_id=f"FF{uuid.uuid4().hex[:30].upper()}",
                              plan_id=plan.id, leg=leg, payee_key=payee_key,
                              project_id=project.id if project else None, payee_name=name, payee_bank=bank,
                              payee_account=account, amount=amount, attempt=attempt, retry_of=retry_of,
                              status="pending", created_at=clock.now())


def instructions_of(session: Session, plan_id: str) -> list[PaymentInstruction]:
    """Every instruction of a plan, treasury leg first."""
    return list(session.exec(select(PaymentInstruction).where(PaymentInstruction.plan_id == plan_id)
                             .order_by(PaymentInstruction.leg.desc(), PaymentInstruction.payee_key,
                                       PaymentInstruction.attempt)).all())


def create_instructions(session: Session, plan_id: str, settings, clock: Clock) -> list[PaymentInstruction]:
    """The two legs of a final plan: the plan total to the commerce bureau, then each unit its amount."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"No plan {plan_id}.")
    if plan.status != "final":
        raise Conflict(f"Payments are made from a final plan; this one is {plan.status}.", clause="N4.5")
    existing = instructions_of(session, plan_id)
    if existing:
        return existing
    rows = session.exec(select(PlanItem, Project).join(Project, Project.id == PlanItem.project_id)
                        .where(PlanItem.plan_id == plan_id)).all()
    session.add(_instruction(plan, "treasury", BUREAU, None, settings.bureau_account_name, settings.bureau_bank,
                             settings.bureau_account_number, plan.total, clock))
    for item, project in rows:
        if item.allocated_amount > 0:
            session.add(_instruction(plan, "unit", project.id, project, project.bank_account_name, project.bank_name,
                                     project.bank_account_number, item.allocated_amount, clock))
    try:
        session.flush()
    except IntegrityError:
        # another request created the same set a moment ago: the database kept one, and that one is the answer
        session.rollback()
        return instructions_of(session, plan_id)
    created = instructions_of(session, plan_id)
    for instruction in created:
        _announce_payment(session, "payment.sent", instruction, clock)
    return created


def _announce_payment(session: Session, event_type: str, instruction: PaymentInstruction, clock: Clock) -> None:
    announce(session, WEBHOOKS, event_type, "payment", instruction.payee_key, {
        "instruction_id": instruction.id, "end_to_end_id": instruction.end_to_end_id, "plan_id": instruction.plan_id,
        "leg": instruction.leg, "project_id": instruction.project_id, "amount": f"{instruction.amount:.2f}",
        "attempt": instruction.attempt, "status": instruction.status,
        "failure_reason": instruction.failure_reason}, clock.now())


STATUSES = {"paid", "failed", "returned"}


def apply_statement(session: Session, text: str, clock: Clock) -> dict:
    """Record results from a bank statement (CSV: end_to_end_id,status,reason); bad lines are reported, not applied."""
    applied, errors = 0, []
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"end_to_end_id", "status"} <= set(reader.fieldnames):
        raise Unprocessable("The statement needs a header line with end_to_end_id,status[,reason].")
    for line_no, row in enumerate(reader, start=2):
        instruction = session.exec(select(PaymentInstruction).where(
            PaymentInstruction.end_to_end_id == (row.get("end_to_end_id") or "").strip())).first()
        status = (row.get("status") or "").strip()
        if instruction is None:
            errors.append({"line": line_no, "error": "unknown end_to_end_id"})
        elif status not in STATUSES:
            errors.append({"line": line_no, "error": f"status must be one of {', '.join(sorted(STATUSES))}"})
        elif instruction.status == status:
            applied += 1  # the same result twice: nothing changes
        elif instruction.status != "pending":
            errors.append({"line": line_no, "error": f"already {instruction.status}"})
        else:
            instruction.status = status
            instruction.failure_reason = (row.get("reason") or "").strip() or None
            instruction.settled_at = clock.now()
            session.add(instruction)
            _announce_payment(session, "payment.paid" if status == "paid" else "payment.failed", instruction, clock)
            applied += 1
    session.flush()
    return {"applied": applied, "errors": errors}


def retry(session: Session, instruction_id: str, clock: Clock) -> PaymentInstruction:
    """A new instruction for a failed or returned one, linked to it; a second retry of the same is refused."""
    failed = session.get(PaymentInstruction, instruction_id)
    if failed is None:
        raise NotFound(f"No payment instruction {instruction_id}.")
    if failed.status not in ("failed", "returned"):
        raise Conflict(f"Only a failed or returned payment is retried; this one is {failed.status}.")
    plan = session.get(Plan, failed.plan_id)
    project = session.get(Project, failed.project_id) if failed.project_id else None
    again = _instruction(plan, failed.leg, failed.payee_key, project, failed.payee_name, failed.payee_bank,
                         failed.payee_account, failed.amount, clock, attempt=failed.attempt + 1, retry_of=failed.id)
    session.add(again)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("This payment was already retried.") from None
    _announce_payment(session, "payment.sent", again, clock)
    return again


def reconciliation(session: Session, plan_id: str) -> dict:
    """Plan total = paid + pending + failed, per unit and in total, from each payee's latest attempt."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"No plan {plan_id}.")
    latest: dict[str, PaymentInstruction] = {}
    for instruction in instructions_of(session, plan_id):
        if instruction.leg == "unit":
            latest[instruction.payee_key] = instruction  # ordered by attempt: the last one stays
    per_unit: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: Decimal("0.00")))
    for instruction in latest.values():
        bucket = "failed" if instruction.status in ("failed", "returned") else instruction.status
        project = session.get(Project, instruction.project_id)
        per_unit[project.uscc][bucket] += instruction.amount
        per_unit[project.uscc]["planned"] += instruction.amount
    totals = defaultdict(lambda: Decimal("0.00"))
    for sums in per_unit.values():
        for bucket, amount in sums.items():
            totals[bucket] += amount
    money = lambda d: {k: f"{d.get(k, Decimal('0.00')):.2f}" for k in ("planned", "paid", "pending", "failed")}
    return {"plan_id": plan_id, "plan_total": f"{plan.total:.2f}", "total": money(totals),
            "balanced": plan.total == totals["paid"] + totals["pending"] + totals["failed"],
            "units": {uscc: money(sums) for uscc, sums in sorted(per_unit.items())}}


def create_clawback(session: Session, project_id: str, amount: Decimal, reason: str, evidence: str, forged: bool,
                    clock: Clock) -> Clawback:
    """A recovery demanded from a unit (N3.2/N3.3)."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project {project_id}.")
    clawback = Clawback(id=str(uuid.uuid4()), project_id=project_id, uscc=project.uscc, amount=amount,
                        recovered=Decimal("0.00"), reason=reason, evidence=evidence, forged_materials=forged,
                        status="demanded", created_at=clock.now())
    session.add(clawback)
    announce(session, WEBHOOKS, "clawback.demanded", "project", project_id,
             {"clawback_id": clawback.id, "uscc": project.uscc, "amount": f"{amount:.2f}", "reason": reason},
             clawback.created_at)
    session.flush()
    return clawback


def record_recovery(session: Session, clawback_id: str, recovered: Decimal | None, referred: bool) -> Clawback:
    """Money recovered (partly or wholly), or the case referred to the judicial authorities."""
    clawback = session.get(Clawback, clawback_id)
    if clawback is None:
        raise NotFound(f"No clawback {clawback_id}.")
    if clawback.status in ("recovered", "referred"):
        raise Conflict(f"The clawback is already {clawback.status}.")
    if referred:
        clawback.status = "referred"
    elif recovered is not None:
        if recovered <= 0 or clawback.recovered + recovered > clawback.amount:
            raise Unprocessable(f"A recovery must be positive and at most the {clawback.amount - clawback.recovered}"
                                " still owed.")
        clawback.recovered += recovered
        clawback.status = "recovered" if clawback.recovered == clawback.amount else "partly_recovered"
    session.add(clawback)
    session.flush()
    return clawback
