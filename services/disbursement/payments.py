"""Payments in two legs from a final plan (N4.5), bank statements, linked retries, reconciliation to the fen.

Nothing is paid twice, by construction in the database: one instruction per plan, payee and attempt; at most one
live (pending or paid) instruction per payee of a plan; one retry per failed instruction; a project in one final
plan only. Idempotency keys (idempotency.py) make a repeated request answer the same instead of failing.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from common.auth import Principal
from common.clock import Clock
from common.jobs import Line, read_csv_lines
from common.money import parse_money
from common.problems import Conflict, NotFound, Unprocessable
from common.webhooks import publish as announce

from .models import WEBHOOKS, BankStatement, PaymentInstruction, Plan
from .plans import get_plan, items_with_projects
from .schemas import (InstructionRead, ReconciliationAmounts, ReconciliationRead, StatementLineError, StatementResult,
                      TreasuryLeg, UnitReconciliation)

BUREAU = "commerce-bureau"
ZERO = Decimal("0.00")
RESULTS = ("paid", "failed", "returned")


def new_end_to_end_id() -> str:
    """A unique end-to-end id the treasury and bank quote back (35 characters at most, as ISO 20022 allows)."""
    return f"FF{uuid.uuid4().hex.upper()}"


def instruction_read(instruction: PaymentInstruction) -> InstructionRead:
    """The API view of an instruction."""
    return InstructionRead.model_validate(instruction, from_attributes=True)


def instructions_of(session: Session, plan_id: str) -> list[PaymentInstruction]:
    """Every instruction of a plan: treasury leg first, then by payee and attempt."""
    return list(session.exec(select(PaymentInstruction).where(PaymentInstruction.plan_id == plan_id)
                             .order_by(PaymentInstruction.leg.desc(), PaymentInstruction.payee_key,
                                       PaymentInstruction.attempt)).all())


def _announce(session: Session, event_type: str, instruction: PaymentInstruction, clock: Clock) -> None:
    announce(session, WEBHOOKS, event_type, "payment", instruction.payee_key, {
        "instruction_id": instruction.id, "end_to_end_id": instruction.end_to_end_id, "plan_id": instruction.plan_id,
        "leg": instruction.leg, "project_id": instruction.project_id, "amount": f"{instruction.amount:.2f}",
        "attempt": instruction.attempt, "status": instruction.status,
        "failure_reason": instruction.failure_reason}, clock.now())


def create_instructions(session: Session, plan_id: str, settings, principal: Principal,
                        clock: Clock) -> list[PaymentInstruction]:
    """The two legs of a final plan: its total to the commerce bureau, then each unit its amount (N4.5)."""
    # a second call (or a concurrent one) answers the set that exists; the database keeps exactly one
    plan = get_plan(session, plan_id, lock=True)
    if plan.status != "final":
        raise Conflict(f"Payments are made from a final plan; this version is {plan.status}.", clause="N4.5")
    existing = instructions_of(session, plan_id)
    if existing:
        return existing
    rows = [(item, project) for item, project in items_with_projects(session, plan_id) if item.allocated_amount > 0]
    no_account = [f"{p.unit_name} ({p.uscc})" for _, p in rows if not p.bank_account_number.strip()]
    if no_account:
        raise Conflict("These units have no registered bank account to pay to: " + ", ".join(no_account) + ".",
                       clause="N4.5")
    if plan.total <= 0:
        raise Conflict("The plan allocates nothing: there is nothing to pay.", clause="N4.5")
    now = clock.now()
    session.add(PaymentInstruction(
        id=str(uuid.uuid4()), end_to_end_id=new_end_to_end_id(), plan_id=plan.id, leg="treasury", payee_key=BUREAU,
        payee_name=settings.bureau_account_name, payee_bank=settings.bureau_bank,
        payee_account=settings.bureau_account_number, amount=plan.total, status="pending",
        created_by=principal.subject, created_at=now))
    for item, project in rows:
        session.add(PaymentInstruction(
            id=str(uuid.uuid4()), end_to_end_id=new_end_to_end_id(), plan_id=plan.id, leg="unit",
            payee_key=project.id, project_id=project.id, payee_name=project.bank_account_name,
            payee_bank=project.bank_name, payee_account=project.bank_account_number, amount=item.allocated_amount,
            status="pending", created_by=principal.subject, created_at=now))
    try:
        session.flush()
    except IntegrityError:
        # another request created the set a moment ago: the database kept one, and that one is the answer
        session.rollback()
        return instructions_of(session, plan_id)
    created = instructions_of(session, plan_id)
    for instruction in created:
        _announce(session, "payment.sent", instruction, clock)
    session.flush()
    return created


def retry(session: Session, instruction_id: str, principal: Principal, clock: Clock) -> PaymentInstruction:
    """A new instruction for a failed or returned payment, linked to it; each failure is retried once only."""
    failed = session.exec(select(PaymentInstruction).where(PaymentInstruction.id == instruction_id)
                          .with_for_update()).first()
    if failed is None:
        raise NotFound(f"No payment instruction {instruction_id}.")
    if failed.status not in ("failed", "returned"):
        raise Conflict(f"Only a failed or returned payment is retried; this one is {failed.status}.", clause="N4.5")
    again = PaymentInstruction(
        id=str(uuid.uuid4()), end_to_end_id=new_end_to_end_id(), plan_id=failed.plan_id, leg=failed.leg,
        payee_key=failed.payee_key, project_id=failed.project_id, payee_name=failed.payee_name,
        payee_bank=failed.payee_bank, payee_account=failed.payee_account, amount=failed.amount,
        attempt=failed.attempt + 1, retry_of=failed.id, status="pending", created_by=principal.subject,
        created_at=clock.now())
    session.add(again)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("This payment was already retried (or its payee has a live payment): see the plan's "
                       "instructions.", clause="N4.5") from None
    _announce(session, "payment.sent", again, clock)
    session.flush()
    return again


def _transition(instruction: PaymentInstruction, status: str, reason: str) -> str | None:
    """None when the result may be recorded, else why not. paid may later come back returned (退票)."""
    if status not in RESULTS:
        return f"status must be one of {', '.join(RESULTS)}"
    if status in ("failed", "returned") and not reason:
        return f"a {status} payment needs a reason"
    if instruction.status == "pending" or (instruction.status == "paid" and status == "returned"):
        return None
    return f"the payment is already {instruction.status}; a {status} result does not apply"


def statement_lines(content: bytes) -> list[Line]:
    """The lines of a bank statement (CSV with a header: end_to_end_id,status[,reason][,amount])."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("The statement is not UTF-8 text.") from None
    return read_csv_lines(text, required={"end_to_end_id", "status"})


def open_statement(session: Session, sha256: str, principal: Principal, clock: Clock) -> BankStatement:
    """The record of a statement being applied, its counts growing as its lines are."""
    statement = BankStatement(id=str(uuid.uuid4()), sha256=sha256, lines=0, applied=0, unchanged=0, errors=[],
                              received_by=principal.subject, received_at=clock.now())
    session.add(statement)
    session.flush()
    return statement


def apply_statement_line(session: Session, statement_id: str, row: dict, clock: Clock) -> tuple[str, str | None]:
    """One line's payment result: ("applied" | "unchanged", None), or ("error", why) when it changes nothing."""
    # a line repeating a result already recorded changes nothing, so uploading a statement twice is harmless
    row = {k: (v or "") for k, v in row.items()}
    e2e = row.get("end_to_end_id") or None
    status, reason = row.get("status", "").lower(), row.get("reason", "")
    instruction = session.exec(select(PaymentInstruction).where(PaymentInstruction.end_to_end_id == e2e)
                               .with_for_update()).first() if e2e else None
    if instruction is None:
        return "error", "unknown end_to_end_id"
    if row.get("amount"):
        try:
            stated = parse_money(row["amount"])
        except (ValueError, InvalidOperation):
            stated = None
        if stated != instruction.amount:
            return "error", f"amount {row['amount']} differs from the instruction's {instruction.amount:.2f}"
    if status == instruction.status:
        return "unchanged", None
    why_not = _transition(instruction, status, reason)
    if why_not:
        return "error", why_not
    instruction.status, instruction.failure_reason = status, (reason or None) if status != "paid" else None
    instruction.settled_at, instruction.statement_id = clock.now(), statement_id
    session.add(instruction)
    _announce(session, "payment.paid" if status == "paid" else "payment.failed", instruction, clock)
    return "applied", None


def count_statement_lines(session: Session, statement_id: str, results: list[tuple[int, str, str, str | None]],
                          keep_errors: int) -> None:
    """Add lines' results (line, end_to_end_id, outcome, error) to the statement's counts, once per batch of lines."""
    # once per batch, not per line: every change of the record is an audit event holding its errors before and after
    statement = session.get(BankStatement, statement_id)
    statement.lines += len(results)
    statement.applied += sum(outcome == "applied" for _, _, outcome, _ in results)
    statement.unchanged += sum(outcome == "unchanged" for _, _, outcome, _ in results)
    room = keep_errors - len(statement.errors)
    errors = [StatementLineError(line=line, end_to_end_id=e2e or None, error=error).model_dump()
              for line, e2e, outcome, error in results if outcome == "error"]
    if errors and room > 0:
        statement.errors = [*statement.errors, *errors[:room]]
    session.add(statement)


def statement_result(statement: BankStatement) -> StatementResult:
    """The API view of a statement and what it changed."""
    return StatementResult.model_validate(statement, from_attributes=True)


def reconciliation(session: Session, plan: Plan) -> ReconciliationRead:
    """Plan total = paid + pending + failed (+ not yet instructed), per unit and in total, to the fen."""
    # planned amounts come from the plan's items, the states from each payee's latest attempt: a failure that was
    # retried counts as its retry does, so a payment is never counted twice
    latest: dict[str, PaymentInstruction] = {}
    for instruction in instructions_of(session, plan.id):
        latest[instruction.payee_key] = instruction  # ordered by attempt: the last one stays
    units: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    names: dict[str, str] = {}
    for item, project in items_with_projects(session, plan.id):
        if item.allocated_amount <= 0:
            continue
        sums = units[project.uscc]
        names[project.uscc] = project.unit_name
        sums["planned"] += item.allocated_amount
        instruction = latest.get(project.id)
        if instruction is None:
            sums["not_instructed"] += item.allocated_amount
        else:
            bucket = {"paid": "paid", "pending": "pending"}.get(instruction.status, "failed")
            sums[bucket] += instruction.amount
    total = defaultdict(lambda: ZERO)
    lines = []
    for uscc in sorted(units):
        sums = units[uscc]
        for bucket, amount in sums.items():
            total[bucket] += amount
        balanced = sums["planned"] == sums["paid"] + sums["pending"] + sums["failed"] + sums["not_instructed"]
        lines.append(UnitReconciliation(uscc=uscc, unit_name=names[uscc], balanced=balanced,
                                        **{k: sums[k] for k in ReconciliationAmounts.model_fields}))
    totals = ReconciliationAmounts(**{k: total[k] for k in ReconciliationAmounts.model_fields})
    treasury = latest.get(BUREAU)
    balanced = (plan.total == totals.planned == totals.paid + totals.pending + totals.failed + totals.not_instructed
                and all(u.balanced for u in lines))
    return ReconciliationRead(
        plan_id=plan.id, edition=plan.edition, version=plan.version, plan_total=plan.total, total=totals,
        balanced=balanced, units=lines,
        treasury=TreasuryLeg(amount=treasury.amount, status=treasury.status, end_to_end_id=treasury.end_to_end_id)
        if treasury else None)
