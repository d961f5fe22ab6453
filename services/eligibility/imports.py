"""Registry imports as jobs (common/jobs.py): each good line kept, each bad one reported with its number."""
from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel
from sqlmodel import Session

from common.jobs import JobContext, Jobs, Line, LineJob, Outcome

from . import registries
from .models import AuditHead, Job, JobPart
from .schemas import CreditEntryIn, DebarmentIn, RecognisedBaseIn


class RegistryImport(LineJob):
    """Lines of CSV or a JSON list, each an entry of one registry, added or updated by its natural key."""

    def __init__(self, kind: str, model: type[BaseModel],
                 upsert: Callable[[Session, list, dict], list[tuple[str, str]]]) -> None:
        self.kind, self.model, self.upsert = kind, model, upsert

    def read(self, data: bytes, media_type: str, params: dict) -> list[Line]:
        """The import's lines; a whole-file problem (media type, encoding, header, size) refuses it at once."""
        return registries.read_import(data, media_type, self.model)

    def check(self, line: Line, ctx: JobContext) -> BaseModel:
        """The line as an entry, validated (USCC check digit, dates, kinds)."""
        return registries.check_entry(line.data, self.model)

    def apply(self, session: Session, ctx: JobContext, items: list[tuple[Line, BaseModel]]) -> list[Outcome]:
        """Add or update the entries; a later line naming the same entry updates it again."""
        results = self.upsert(session, [entry for _, entry in items], ctx.params)
        return [Outcome(line.number, outcome, ref) for (line, _), (outcome, ref) in zip(items, results)]


KINDS = {
    "credit-entries-import": RegistryImport(
        "credit-entries-import", CreditEntryIn, lambda s, entries, _: registries.upsert_credit_entries(s, entries)),
    "debarments-import": RegistryImport(
        "debarments-import", DebarmentIn,
        lambda s, entries, params: registries.upsert_debarments(s, entries, params["years"])),
    "recognised-bases-import": RegistryImport(
        "recognised-bases-import", RecognisedBaseIn,
        lambda s, entries, _: registries.upsert_recognised_bases(s, entries)),
}

JOBS = Jobs(job=Job, part=JobPart, kinds=KINDS, base_url="/api/v1/eligibility", readers=("city_officer", "admin"),
            audit_head=AuditHead)
