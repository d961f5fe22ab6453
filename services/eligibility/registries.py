"""The registries the rules consult: credit list (N3.1), debarments (N3.2), recognised TCM bases (G5.1.1) and the
invoices and projects submitted applications claim (N3.3, G5.1.3). Imports, listings, and what they hold
against one unit on a reference date (read for one dossier, or for a whole batch of them at once)."""
from __future__ import annotations

import functools
import json
import uuid
from datetime import date
from types import SimpleNamespace

from pydantic import BaseModel
from sqlalchemy import (Date, Integer, String, and_, bindparam, cast, delete, func, insert,
                        literal_column, null, or_, union_all)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from common.db import one_of
from common.jobs import Line, read_csv_lines
from common.pagination import Page, PageParams
from common.parameters import Edition
from common.problems import Unprocessable, UnsupportedMediaType

from .dossier import Dossier
from .models import ClaimedInvoice, ClaimedProject, CreditEntry, Debarment, RecognisedBase
from .schemas import (ClaimedInvoiceRead, CreditEntryIn, CreditEntryRead, DebarmentIn, DebarmentRead, ImportResult,
                      RecognisedBaseIn, RecognisedBaseRead, UnitRegistryRead)

MAX_IMPORT_ROWS = 50_000


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: date, years: int) -> date:
    """The same calendar day `years` later (1 March for 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, month=3, day=1)


def invoice_key(number: str) -> str:
    """What two claims of one invoice have in common: the number without spaces, in upper case."""
    return "".join(number.split()).upper()[:40]  # str.split's whitespace is the regular expressions' \s


def invoice_keys_of(dossier: Dossier) -> list[str]:
    """The invoice keys a dossier's expense lines claim, each once, in the order of the lines."""
    return list(dict.fromkeys(invoice_key(line.invoice_number) for line in dossier.content.f3_expenses or []))


def project_key(dossier: Dossier) -> str:
    """What names a project across applications: its platform's name, spaces and case aside."""
    platform = dossier.content.f2_platform
    return "".join(platform.platform_name.split()).lower()[:200] if platform and platform.platform_name else ""


# --- imports -----------------------------------------------------------------------------------------------

def read_import(body: bytes, content_type: str, model: type[BaseModel]) -> list[Line]:
    """The lines of a bulk import, JSON (a list of objects) or CSV (a header row of field names), unchecked."""
    media = content_type.split(";")[0].strip().lower()
    if media not in ("application/json", "text/csv", "application/csv"):
        raise UnsupportedMediaType("Send the import as application/json (a list) or text/csv.")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("The import is not UTF-8 text.") from None
    if media == "application/json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Unprocessable(f"The import is not JSON: {exc}.") from None
        if not isinstance(raw, list):
            raise Unprocessable("A JSON import is a list of entries.")
        lines = [Line(index, row) for index, row in enumerate(raw, 1)]
    else:
        lines = read_csv_lines(text, known=set(model.model_fields))
    if len(lines) > MAX_IMPORT_ROWS:
        raise Unprocessable(f"At most {MAX_IMPORT_ROWS} entries per import; this one has {len(lines)}.")
    return lines


def check_entry(data, model: type[BaseModel]) -> BaseModel:
    """One line of an import as an entry (a CSV's empty cells are absent fields)."""
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if v is not None}
    return model.model_validate(data)


def _existing(session: Session, table, usccs: set[str]) -> list:
    """The rows of a registry for these units, fetched in chunks (an import names thousands of units)."""
    ordered, rows = sorted(usccs), []
    for start in range(0, len(ordered), 500):
        rows += session.exec(select(table).where(table.uscc.in_(ordered[start:start + 500]))).all()
    return rows


def upsert_credit_entries(session: Session, entries: list[CreditEntryIn]) -> list[tuple[str, str]]:
    """Add or update credit-list entries, named by (uscc, kind, source, listed_on): (outcome, id) of each, in order."""
    known = {(r.uscc, r.kind, r.source, r.listed_on): r
             for r in _existing(session, CreditEntry, {e.uscc for e in entries})}
    out = []
    for entry in entries:
        key = (entry.uscc, entry.kind, entry.source, entry.listed_on)
        row = known.get(key)
        if row is None:
            row = known[key] = CreditEntry(id=str(uuid.uuid4()), **entry.model_dump())
            session.add(row)
            out.append(("created", row.id))
        elif row.delisted_on != entry.delisted_on:
            row.delisted_on = entry.delisted_on
            session.add(row)
            out.append(("updated", row.id))
        else:
            out.append(("unchanged", row.id))
    session.flush()
    return out


def upsert_debarments(session: Session, entries: list[DebarmentIn], years: int) -> list[tuple[str, str]]:
    """Add or update debarments, named by (uscc, source, starts_on); no end date: `years` later (N3.2)."""
    known = {(r.uscc, r.source, r.starts_on): r for r in _existing(session, Debarment, {e.uscc for e in entries})}
    out = []
    for entry in entries:
        ends_on = entry.ends_on or years_after(entry.starts_on, years)
        key = (entry.uscc, entry.source, entry.starts_on)
        row = known.get(key)
        if row is None:
            row = known[key] = Debarment(id=str(uuid.uuid4()), uscc=entry.uscc, reason=entry.reason,
                                         source=entry.source, starts_on=entry.starts_on, ends_on=ends_on)
            session.add(row)
            out.append(("created", row.id))
        elif (row.reason, row.ends_on) != (entry.reason, ends_on):
            row.reason, row.ends_on = entry.reason, ends_on
            session.add(row)
            out.append(("updated", row.id))
        else:
            out.append(("unchanged", row.id))
    session.flush()
    return out


def upsert_recognised_bases(session: Session, entries: list[RecognisedBaseIn]) -> list[tuple[str, str]]:
    """Add or update recognised bases, one per unit."""
    known = {r.uscc: r for r in _existing(session, RecognisedBase, {e.uscc for e in entries})}
    out = []
    for entry in entries:
        row = known.get(entry.uscc)
        if row is None:
            row = known[entry.uscc] = RecognisedBase(id=str(uuid.uuid4()), **entry.model_dump())
            session.add(row)
            out.append(("created", row.id))
            continue
        changed = False
        for name, value in entry.model_dump().items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if changed:
            session.add(row)
        out.append(("updated" if changed else "unchanged", row.id))
    session.flush()
    return out


def import_result(outcomes: list[tuple[str, str]]) -> ImportResult:
    """The counts of an import: entries read, added, and existing ones changed."""
    created = {ref for outcome, ref in outcomes if outcome == "created"}
    updated = {ref for outcome, ref in outcomes if outcome == "updated"} - created
    return ImportResult(imported=len(outcomes), created=len(created), updated=len(updated))


def import_credit_entries(session: Session, entries: list[CreditEntryIn]) -> ImportResult:
    """Add or update credit-list entries in one go."""
    return import_result(upsert_credit_entries(session, entries))


def import_recognised_bases(session: Session, entries: list[RecognisedBaseIn]) -> ImportResult:
    """Add or update recognised bases in one go."""
    return import_result(upsert_recognised_bases(session, entries))


def record_debarment(session: Session, entry: DebarmentIn, years: int) -> DebarmentRead:
    """One debarment (disbursement sends one with a clawback for forged materials); sent again, it is the same."""
    (_, ref), = upsert_debarments(session, [entry], years)
    return DebarmentRead.model_validate(session.get(Debarment, ref), from_attributes=True)


# --- listings ----------------------------------------------------------------------------------------------

def _page(session: Session, query, count_query, page: PageParams, read: type[BaseModel]) -> Page:
    total = session.exec(count_query).one()
    rows = session.exec(query.offset(page.offset).limit(page.limit)).all()
    return Page(items=[read.model_validate(r, from_attributes=True) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


def list_credit_entries(session: Session, page: PageParams, uscc: str | None) -> Page[CreditEntryRead]:
    """Credit-list entries, newest listing first."""
    where = [CreditEntry.uscc == uscc] if uscc else []
    return _page(session, select(CreditEntry).where(*where).order_by(CreditEntry.listed_on.desc(), CreditEntry.id),
                 select(func.count()).select_from(CreditEntry).where(*where), page, CreditEntryRead)


def list_debarments(session: Session, page: PageParams, uscc: str | None) -> Page[DebarmentRead]:
    """Debarments, latest end first."""
    where = [Debarment.uscc == uscc] if uscc else []
    return _page(session, select(Debarment).where(*where).order_by(Debarment.ends_on.desc(), Debarment.id),
                 select(func.count()).select_from(Debarment).where(*where), page, DebarmentRead)


def list_recognised_bases(session: Session, page: PageParams, uscc: str | None) -> Page[RecognisedBaseRead]:
    """Recognised bases by name."""
    where = [RecognisedBase.uscc == uscc] if uscc else []
    return _page(session, select(RecognisedBase).where(*where).order_by(RecognisedBase.base_name, RecognisedBase.id),
                 select(func.count()).select_from(RecognisedBase).where(*where), page, RecognisedBaseRead)


def list_claimed_invoices(session: Session, page: PageParams, *, edition: str | None, uscc: str | None,
                          invoice_number: str | None, application_id: str | None,
                          duplicates_only: bool) -> Page[ClaimedInvoiceRead]:
    """Invoice numbers claimed by submitted applications; `duplicates_only`: those claimed more than once."""
    where = []
    if edition:
        where.append(ClaimedInvoice.edition == edition)
    if uscc:
        where.append(ClaimedInvoice.uscc == uscc)
    if invoice_number:
        where.append(ClaimedInvoice.invoice_key == invoice_key(invoice_number))
    if application_id:
        where.append(ClaimedInvoice.application_id == application_id)
    query = select(ClaimedInvoice)
    if duplicates_only:
        twice = (select(ClaimedInvoice.edition, ClaimedInvoice.invoice_key)
                 .group_by(ClaimedInvoice.edition, ClaimedInvoice.invoice_key).having(func.count() > 1).subquery())
        query = query.join(twice, (ClaimedInvoice.edition == twice.c.edition)
                           & (ClaimedInvoice.invoice_key == twice.c.invoice_key))
    query = query.where(*where)
    count = select(func.count()).select_from(query.subquery())
    return _page(session, query.order_by(ClaimedInvoice.edition, ClaimedInvoice.invoice_key,
                                         ClaimedInvoice.application_id, ClaimedInvoice.line_no),
                 count, page, ClaimedInvoiceRead)


def unit_view(session: Session, uscc: str, on: date, edition: Edition) -> UnitRegistryRead:
    """Everything the registries hold on one unit, and what counts against it on a date (N3.1, N3.2)."""
    since = years_before(on, edition.value("registries.credit_lookback_years"))
    credit = session.exec(select(CreditEntry).where(CreditEntry.uscc == uscc).order_by(CreditEntry.listed_on)).all()
    debarments = session.exec(select(Debarment).where(Debarment.uscc == uscc).order_by(Debarment.starts_on)).all()
    base = session.exec(select(RecognisedBase).where(RecognisedBase.uscc == uscc)).first()
    claims = session.exec(select(func.count()).select_from(ClaimedInvoice).where(ClaimedInvoice.uscc == uscc)).one()
    projects = session.exec(select(ClaimedProject).where(ClaimedProject.uscc == uscc)
                            .order_by(ClaimedProject.edition, ClaimedProject.application_id)).all()
    return UnitRegistryRead(
        uscc=uscc, on=on, since=since,
        credit_entries=[{**CreditEntryRead.model_validate(e, from_attributes=True).model_dump(),
                         "counts": credit_counts(e, since, on)} for e in credit],
        debarments=[{**DebarmentRead.model_validate(d, from_attributes=True).model_dump(),
                     "active": debarment_active(d, on)} for d in debarments],
        recognised_base=RecognisedBaseRead.model_validate(base, from_attributes=True) if base else None,
        claimed_invoice_count=claims,
        applications=[{"edition": p.edition, "application_id": p.application_id, "project_type": p.project_type}
                      for p in projects],
        on_credit_list=any(credit_counts(e, since, on) for e in credit),
        debarred=any(debarment_active(d, on) for d in debarments))


def credit_counts(entry: CreditEntry, since: date, on: date) -> bool:
    """N3.1: the entry's listed period overlaps the five years before the reference date (both ends included)."""
    return entry.listed_on <= on and (entry.delisted_on is None or entry.delisted_on >= since)


def debarment_active(debarment: Debarment, on: date) -> bool:
    """N3.2: the reference date falls inside the debarment, before its end."""
    return debarment.starts_on <= on < debarment.ends_on


# --- what the rules ask, for one dossier ---------------------------------------------------------------------

def _typed_null(kind):
    return cast(null(), kind)


# Everything the rules may ask about one dossier, in one round trip (six queries took ~70 % of a pre-check's time):
# the unit's credit entries, debarments and recognised base, the edition's other claims of the dossier's invoice
# numbers, and the claimed projects of the same unit and type (any edition) or of the same platform (this edition).
# Columns: what (the registry), five texts, two dates, a number.
_T, _D, _N = (lambda: _typed_null(String)), (lambda: _typed_null(Date)), (lambda: _typed_null(Integer))


def _unit_rows(invoice_keys_match):
    """The statement, with the given match of the dossier's invoice keys."""
    return union_all(
        select(literal_column("'credit'").label("what"), CreditEntry.kind, CreditEntry.source, _T(), _T(), _T(),
               CreditEntry.listed_on, CreditEntry.delisted_on, _N()).where(CreditEntry.uscc == bindparam("uscc")),
        select(literal_column("'debarment'"), Debarment.reason, Debarment.source, _T(), _T(), _T(),
               Debarment.starts_on, Debarment.ends_on, _N()).where(Debarment.uscc == bindparam("uscc")),
        select(literal_column("'base'"), RecognisedBase.base_name, RecognisedBase.construction_supported_in, _T(),
               _T(), _T(), RecognisedBase.recognised_on, _D(), _N()).where(RecognisedBase.uscc == bindparam("uscc")),
        select(literal_column("'invoice'"), ClaimedInvoice.invoice_key, ClaimedInvoice.application_id, _T(), _T(),
               _T(), _D(), _D(), ClaimedInvoice.line_no).where(
            ClaimedInvoice.edition == bindparam("edition"),
            invoice_keys_match,
            ClaimedInvoice.application_id != bindparam("application_id")),
        select(literal_column("'project'"), ClaimedProject.application_id, ClaimedProject.uscc,
               ClaimedProject.project_type, ClaimedProject.edition, ClaimedProject.project_key, _D(), _D(), _N()).where(
            ClaimedProject.application_id != bindparam("application_id"),
            or_(and_(ClaimedProject.uscc == bindparam("uscc"),
                     ClaimedProject.project_type == bindparam("project_type")),
                and_(ClaimedProject.edition == bindparam("edition"),
                     ClaimedProject.project_key == bindparam("project_key")))),
    )


# the dossier's invoice keys as one JSON array on SQLite: the statement's text never changes, so it is compiled once
# (an expanding IN list was rendered again on every pre-check). PostgreSQL reads pre-checks with the batch statement
# (BATCH_ROWS_PG, registry_readers.AsyncRegistryReader)
UNIT_ROWS_SQLITE = _unit_rows(ClaimedInvoice.invoice_key.in_(
    select(literal_column("value")).select_from(func.json_each(bindparam("invoice_keys")))))


@functools.cache
def _sqlite_unit_rows() -> tuple[str, tuple[str, ...]]:
    """UNIT_ROWS_SQLITE's text for the driver and the names of its positional parameters, compiled once."""
    compiled = UNIT_ROWS_SQLITE.compile(dialect=sqlite.dialect())
    return str(compiled), tuple(compiled.positiontup)


def sqlite_unit_rows(dbapi_connection, parameters: dict) -> list[tuple]:
    """UNIT_ROWS_SQLITE's rows, run on the driver's own connection (in the caller's transaction, if any).

    Through SQLAlchemy the statement cost a pre-check ~100 µs (its expanding IN list rendered again, its execution
    context, a processor per column), on the driver ~18 µs (in-process, measured alternately). The two date columns
    come back as SQLite keeps them, ISO text, and are read here as SQLAlchemy's Date would."""
    sql, names = _sqlite_unit_rows()
    values = {**parameters, "invoice_keys": json.dumps(parameters["invoice_keys"])}
    rows = dbapi_connection.execute(sql, [values[name] for name in names]).fetchall()
    return [(*row[:6], _day(row[6]), _day(row[7]), row[8]) for row in rows]


def _day(text_or_none: str | None) -> date | None:
    return None if text_or_none is None else date.fromisoformat(text_or_none)


def unit_parameters(dossier: Dossier) -> dict:
    """The parameters of the unit-rows statement (UNIT_ROWS_SQLITE) for a dossier."""
    return {"uscc": dossier.applicant.uscc, "edition": dossier.edition, "project_type": dossier.project_type,
            "invoice_keys": invoice_keys_of(dossier),
            "application_id": dossier.application_id or "",
            # no platform name: no platform to compare (NULL equals nothing)
            "project_key": project_key(dossier) or None}


def by_registry(rows) -> dict[str, list]:
    """UNIT_ROWS' rows by the registry they come from."""
    found: dict[str, list] = {"credit": [], "debarment": [], "base": [], "invoice": [], "project": []}
    for row in rows:
        found[row[0]].append(row)
    return found


class DossierRegistry:
    """The registries as the rules see them for one dossier on its reference date: from the rows of its one statement,
    read already (a pre-check, registry_readers.py), or from its batch's BatchRegistry."""

    def __init__(self, dossier: Dossier, edition: Edition, on: date, *, batch: BatchRegistry | None = None,
                 found: dict[str, list] | None = None) -> None:
        if (batch is None) == (found is None):
            raise TypeError("a dossier's registry reads its batch's rows or the rows found for it, one of the two")
        self.dossier, self.edition, self.on = dossier, edition, on
        self.batch = batch
        self.uscc = dossier.applicant.uscc
        self._cache: dict[str, object] = {} if found is None else {"rows": found}

    def _once(self, name: str, compute):
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    def _own_invoices(self) -> dict[str, list]:
        """The dossier's expense lines by invoice key."""
        def compute():
            own: dict[str, list] = {}
            for line in self.dossier.content.f3_expenses or []:
                own.setdefault(invoice_key(line.invoice_number), []).append(line)
            return own
        return self._once("own", compute)

    def _rows(self, what: str) -> list:
        """The rows of one registry read for this dossier (all of them are read at the first question)."""
        def compute():  # found rows are in the cache from the start
            return self.batch.rows_for(self.dossier, invoice_keys_of(self.dossier))
        return self._once("rows", compute)[what]

    def credit_hits(self) -> list[dict]:
        """N3.1: entries whose listed period overlaps the look-back years."""
        def compute():
            since = years_before(self.on, self.edition.value("registries.credit_lookback_years", self.on))
            labels = self.edition.value("registries.credit_kinds", self.on)
            rows = sorted((SimpleNamespace(kind=r[1], source=r[2], listed_on=r[6], delisted_on=r[7])
                           for r in self._rows("credit")), key=lambda e: e.listed_on)
            return [{"kind": e.kind, "kind_label": labels.get(e.kind, e.kind), "source": e.source,
                     "listed_on": e.listed_on.isoformat(),
                     "delisted_on": e.delisted_on.isoformat() if e.delisted_on else None}
                    for e in rows if credit_counts(e, since, self.on)]
        return self._once("credit", compute)

    def debarments(self) -> list[dict]:
        """N3.2: debarments in force on the reference date."""
        def compute():
            rows = sorted((SimpleNamespace(reason=r[1], source=r[2], starts_on=r[6], ends_on=r[7])
                           for r in self._rows("debarment")), key=lambda d: d.starts_on)
            return [{"reason": d.reason, "source": d.source, "starts_on": d.starts_on.isoformat(),
                     "ends_on": d.ends_on.isoformat()} for d in rows if debarment_active(d, self.on)]
        return self._once("debarments", compute)

    def recognised_base(self) -> dict | None:
        """G5.1.1: the unit's entry in the registry of recognised bases."""
        def compute():
            rows = self._rows("base")
            return None if not rows else {"base_name": rows[0][1], "recognised_on":
                                          rows[0][6].isoformat() if rows[0][6] else None,
                                          "construction_supported_in": rows[0][2]}
        return self._once("base", compute)

    def duplicate_invoices(self) -> list[dict]:
        """N3.3: invoice numbers this dossier claims twice, or that another application of the edition claims."""
        def compute():
            own = self._own_invoices()
            found = [{"invoice_number": group[0].invoice_number, "application_id": self.dossier.application_id,
                      "within": True, "lines": [x.line_no for x in group]} for group in own.values() if len(group) > 1]
            others: dict[tuple[str, str], list[int]] = {}
            for key, application_id, line_no in sorted(((r[1], r[2], r[8]) for r in self._rows("invoice")),
                                                       key=lambda claim: (claim[1], claim[2])):
                others.setdefault((key, application_id), []).append(line_no)
            for (key, application_id), their_lines in others.items():
                found.append({"invoice_number": own[key][0].invoice_number, "application_id": application_id,
                              "within": False, "lines": their_lines, "own_lines": [x.line_no for x in own[key]]})
            return found
        return self._once("invoices", compute)

    def duplicate_projects(self, per_unit: int) -> list[dict]:
        """N3.3: other applications of the edition with the same platform, or more of the unit's type than allowed."""
        def compute():
            key = project_key(self.dossier)
            rows = sorted((r for r in self._rows("project") if r[4] == self.dossier.edition), key=lambda r: r[1])
            same_type = [r for r in rows if r[2] == self.uscc and r[3] == self.dossier.project_type]
            found = []
            for application_id, uscc, project_type, claim_key in ((r[1], r[2], r[3], r[5]) for r in rows):
                if key and claim_key == key:
                    found.append({"application_id": application_id, "uscc": uscc, "project_type": project_type,
                                  "why": "the same platform / 同一平台"})
                elif per_unit and len(same_type) >= per_unit and (uscc, project_type) == (
                        self.uscc, self.dossier.project_type):
                    found.append({"application_id": application_id, "uscc": uscc, "project_type": project_type,
                                  "why": f"more than {per_unit} of this type by the unit / 超过每单位 {per_unit} 项"})
            return found
        return self._once(f"projects-{per_unit}", compute)

    def earlier_construction(self) -> list[dict]:
        """G5.1.3: the unit's construction claims in earlier editions (the registry's and this system's)."""
        def compute():
            found = [{"edition": r[4], "application_id": r[1]} for r in sorted(
                self._rows("project"), key=lambda r: (r[4], r[1]))
                if r[2] == self.uscc and r[3] == self.dossier.project_type and r[4] < self.dossier.edition]
            base = self.recognised_base()
            if base and base["construction_supported_in"] and base["construction_supported_in"] < self.dossier.edition:
                found.append({"edition": base["construction_supported_in"], "application_id": None})
            return found
        return self._once("earlier", compute)


# --- what the rules ask, for a batch of dossiers ---------------------------------------------------------------

def _batch_rows(match):
    """The batch's statement: the per-dossier statement's columns, then the key a row is dealt out by (a unit's USCC,
    an invoice claim's edition). Claims are read by looser keys than a dossier's (every claim of the batch's units, of
    its editions' invoice keys and platforms); BatchRegistry keeps only what each dossier's statement would read."""
    return union_all(
        select(literal_column("'credit'").label("what"), CreditEntry.kind, CreditEntry.source, _T(), _T(), _T(),
               CreditEntry.listed_on, CreditEntry.delisted_on, _N(), CreditEntry.uscc).where(
            match(CreditEntry.uscc, "usccs")),
        select(literal_column("'debarment'"), Debarment.reason, Debarment.source, _T(), _T(), _T(),
               Debarment.starts_on, Debarment.ends_on, _N(), Debarment.uscc).where(match(Debarment.uscc, "usccs")),
        select(literal_column("'base'"), RecognisedBase.base_name, RecognisedBase.construction_supported_in, _T(),
               _T(), _T(), RecognisedBase.recognised_on, _D(), _N(), RecognisedBase.uscc).where(
            match(RecognisedBase.uscc, "usccs")),
        select(literal_column("'invoice'"), ClaimedInvoice.invoice_key, ClaimedInvoice.application_id, _T(), _T(),
               _T(), _D(), _D(), ClaimedInvoice.line_no, ClaimedInvoice.edition).where(
            match(ClaimedInvoice.edition, "editions"), match(ClaimedInvoice.invoice_key, "invoice_keys")),
        select(literal_column("'project'"), ClaimedProject.application_id, ClaimedProject.uscc,
               ClaimedProject.project_type, ClaimedProject.edition, ClaimedProject.project_key, _D(), _D(), _N(),
               _T()).where(or_(match(ClaimedProject.uscc, "usccs"),
                               and_(match(ClaimedProject.edition, "editions"),
                                    match(ClaimedProject.project_key, "project_keys")))),
    )


# as for one dossier: arrays on PostgreSQL (one statement text, prepared once), expanding IN lists on SQLite
BATCH_ROWS = _batch_rows(functools.partial(one_of, postgresql=False))
BATCH_ROWS_PG = _batch_rows(functools.partial(one_of, postgresql=True))
# values per list in one SQLite statement: the USCCs appear four times, so a chunk stays far below SQLite's limit of
# 32,766 variables; PostgreSQL takes each list as one parameter
SQLITE_CHUNK = 1000


def _chunks(values: list[str], count: int) -> list[list[str]]:
    """The values in `count` slices of (nearly) equal size, some possibly empty."""
    size = -(-len(values) // count)
    return [values[i * size:(i + 1) * size] for i in range(count)]


def batch_parameters(dossiers: list[Dossier]) -> dict[str, list[str]]:
    """The batch statement's parameters for these dossiers: their units, editions, invoice keys and platforms."""
    return {"usccs": sorted({d.applicant.uscc for d in dossiers}), "editions": sorted({d.edition for d in dossiers}),
            "invoice_keys": sorted({key for d in dossiers for key in invoice_keys_of(d)}),
            "project_keys": sorted({key for key in map(project_key, dossiers) if key})}


def read_batch(connection: Connection, dossiers: list[Dossier]) -> list:
    """The rows the batch's statement reads for these dossiers (on SQLite in as many statements as its chunks)."""
    if not dossiers:
        return []
    parameters = batch_parameters(dossiers)
    if connection.dialect.name == "postgresql":
        return connection.execute(BATCH_ROWS_PG, parameters).all()
    usccs, editions, invoice_keys, project_keys = (parameters[name] for name in (
        "usccs", "editions", "invoice_keys", "project_keys"))
    count = max(1, -(-max(len(usccs), len(invoice_keys), len(project_keys)) // SQLITE_CHUNK))
    rows = []
    # the i-th slice of each list together: a unit's rows and an invoice key's claims are read once; a project
    # claim may come twice (its unit in one slice, its platform in another), BatchRegistry keeps it once
    for some_usccs, some_invoice_keys, some_project_keys in zip(
            _chunks(usccs, count), _chunks(invoice_keys, count), _chunks(project_keys, count)):
        rows += connection.execute(BATCH_ROWS, {"usccs": some_usccs, "editions": editions,
                                                "invoice_keys": some_invoice_keys,
                                                "project_keys": some_project_keys}).all()
    return rows


def claims_of(dossier: Dossier) -> tuple[dict, list[dict]]:
    """A submitted application's project and invoice numbers, as the claim tables keep them (N3.3)."""
    uscc = dossier.applicant.uscc
    project = {"edition": dossier.edition, "application_id": dossier.application_id, "uscc": uscc,
               "project_type": dossier.project_type, "project_key": project_key(dossier)}
    invoices, seen = [], set()
    for line in dossier.content.f3_expenses or []:
        if (line.invoice_number, line.line_no) in seen:  # the same line given twice is one claim
            continue
        seen.add((line.invoice_number, line.line_no))
        invoices.append({"edition": dossier.edition, "application_id": dossier.application_id,
                         "invoice_number": line.invoice_number, "invoice_key": invoice_key(line.invoice_number),
                         "line_no": line.line_no, "uscc": uscc, "project_type": dossier.project_type})
    return project, invoices


class BatchRegistry:
    """The registries as each dossier of a batch sees them, read once for the whole batch.

    The batch is evaluated as if each dossier's claims were written before the next one is evaluated: a dossier sees
    the claims the dossiers before it recorded (they replace their application's claims read from the database) and
    the database's claims of the applications after it. So the later of two new applications claiming one invoice is
    the one flagged (N3.3), exactly as when they are evaluated one by one."""

    def __init__(self, rows: list) -> None:
        """From the rows the batch's statement read for the dossiers (read_batch)."""
        self.units: dict[str, dict[str, list]] = {}  # USCC -> its credit entries, debarments and base (N3.1, N3.2)
        self.invoices: dict[tuple[str, str], list] = {}  # (edition, invoice key) -> its claims, in the order read
        self.invoiced: dict[str, set[tuple[str, str]]] = {}  # application -> the (edition, invoice key) it claims
        self.projects: dict[str, tuple] = {}  # application -> its project claim
        self.by_unit_type: dict[tuple[str, str], set[str]] = {}  # (USCC, project type) -> applications
        self.by_platform: dict[tuple[str, str], set[str]] = {}  # (edition, project key) -> applications
        self.recorded: dict[str, tuple[dict, list[dict]]] = {}  # application -> claims to write, latest last
        for row in rows:
            if row[0] == "invoice":
                self._add_invoice(tuple(row))
            elif row[0] == "project":
                if row[1] not in self.projects:  # read twice on SQLite when its keys fell in two chunks
                    self._add_project(tuple(row))
            else:
                self.units.setdefault(row[9], {}).setdefault(row[0], []).append(row)

    def _add_invoice(self, row: tuple) -> None:
        bucket = (row[9], row[1])
        self.invoices.setdefault(bucket, []).append(row)
        self.invoiced.setdefault(row[2], set()).add(bucket)

    def _add_project(self, row: tuple) -> None:
        self.projects[row[1]] = row
        self.by_unit_type.setdefault((row[2], row[3]), set()).add(row[1])
        self.by_platform.setdefault((row[4], row[5]), set()).add(row[1])

    def rows_for(self, dossier: Dossier, invoice_keys: list[str]) -> dict[str, list]:
        """What the unit-rows statement would read for the dossier now: the same registries and claims, by the same
        filters."""
        own = dossier.application_id or ""
        unit = self.units.get(dossier.applicant.uscc, {})
        found = {what: unit.get(what, []) for what in ("credit", "debarment", "base")}
        # N3.3: the edition's claims of the dossier's invoice keys by other applications
        found["invoice"] = [row for key in invoice_keys for row in self.invoices.get((dossier.edition, key), ())
                            if row[2] != own]
        # N3.3, G5.1.3: other applications of the unit and type (any edition), or of the platform (this edition);
        # no platform name, no platform to compare
        applications = set(self.by_unit_type.get((dossier.applicant.uscc, dossier.project_type), ()))
        key = project_key(dossier)
        if key:
            applications |= self.by_platform.get((dossier.edition, key), set())
        applications.discard(own)
        found["project"] = [self.projects[application_id] for application_id in sorted(applications)]
        return found

    def record(self, dossier: Dossier) -> None:
        """Replace the application's claims, for the dossiers after it and the write at the end."""
        application_id = dossier.application_id
        for bucket in self.invoiced.pop(application_id, ()):
            self.invoices[bucket] = [row for row in self.invoices[bucket] if row[2] != application_id]
        old = self.projects.pop(application_id, None)
        if old is not None:
            self.by_unit_type[(old[2], old[3])].discard(application_id)
            self.by_platform[(old[4], old[5])].discard(application_id)
        project, invoices = claims_of(dossier)
        self._add_project(("project", application_id, project["uscc"], project["project_type"], project["edition"],
                           project["project_key"], None, None, None, None))
        for claim in invoices:
            self._add_invoice(("invoice", claim["invoice_key"], application_id, None, None, None, None, None,
                               claim["line_no"], claim["edition"]))
        self.recorded.pop(application_id, None)  # evaluated twice in the batch: the later claims stand
        self.recorded[application_id] = (project, invoices)

    def write(self, connection: Connection) -> None:
        """Replace the recorded applications' claims: one delete and one insert per table."""
        if not self.recorded:
            return
        applications = list(self.recorded)
        match = functools.partial(one_of, postgresql=connection.dialect.name == "postgresql")
        for table in (ClaimedInvoice, ClaimedProject):
            # at most 500 applications (a batch): within SQLite's variable limit
            connection.execute(delete(table.__table__).where(match(table.__table__.c.application_id, "ids")),
                               {"ids": applications})
        connection.execute(insert(ClaimedProject.__table__), [project for project, _ in self.recorded.values()])
        invoices = [claim for _, claims in self.recorded.values() for claim in claims]
        if invoices:
            connection.execute(insert(ClaimedInvoice.__table__), invoices)
