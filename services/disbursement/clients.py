"""Typed calls from disbursement to intake, calculation and eligibility (docs/internal-contracts.md).

Each answer is read with disbursement's own pydantic model of it (services never import each other). A callee
that is down, slow, answers an error or an unexpected shape is a 503/504 problem naming it, never a 500.
Only idempotent calls are retried: GETs, and calculation's stateless computations.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json

from common.http import SyncServiceClient
from common.money import Money
from common.problems import ServiceUnavailable, Unprocessable

M = TypeVar("M", bound=BaseModel)


class _Answer(BaseModel):
    """A callee's answer: unknown members are ignored, so the callee may add fields."""

    model_config = ConfigDict(extra="ignore")


class IntakeEvaluation(_Answer):
    """The eligibility outcome intake keeps with an application."""

    outcome: str


class IntakeComputation(_Answer):
    """The computed amount intake keeps with an application."""

    amount: Money


class IntakeApplication(_Answer):
    """An application as intake lists it."""

    id: str
    applicant_id: str
    edition: str
    project_type: str
    status: str
    evaluation: IntakeEvaluation | None = None
    computation: IntakeComputation | None = None


class IntakeApplicationPage(_Answer):
    """One page of intake's application listing."""

    items: list[IntakeApplication]
    total: int


class IntakeApplicant(_Answer):
    """A unit with its bank account (unmasked for a service caller)."""

    id: str
    uscc: str
    name: str
    district_code: str
    bank_account_name: str = ""
    bank_name: str = ""
    bank_account_number: str = ""


class IntakeApplicantPage(_Answer):
    """One page of intake's unit listing."""

    items: list[IntakeApplicant]


class DossierLine(_Answer):
    """A numbered line of a dossier's form (F3 expense, F5 certification)."""

    line_no: int


class DossierContent(_Answer):
    """The parts of a dossier's content the auditor's disallowed lines refer to."""

    f3_expenses: list[DossierLine] | None = None
    f5_certifications: list[DossierLine] | None = None


class Dossier(_Answer):
    """A dossier (docs/dossier.md): read for its line numbers, forwarded to calculation as received."""

    application_id: str | None = None
    project_type: str
    content: DossierContent
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)

    def line_numbers(self, form: str) -> set[int]:
        """The line numbers present in a form."""
        return {line.line_no for line in (getattr(self.content, form) or [])}


class Computation(_Answer):
    """Calculation's amount with its trace."""

    amount: Money
    trace: list[dict[str, Any]]


AmountText = Annotated[str, Field(pattern=r"^\d{1,16}\.\d{2}$")]


class Allocation(_Answer):
    """Calculation's answer to an allocation over columns: amounts after the unit caps and after the scaling."""

    factor: str
    total_allocated: Money
    capped_amounts: list[AmountText]
    allocated_amounts: list[AmountText]
    unit_caps_trace: list[dict[str, Any]]
    scaling_trace: list[dict[str, Any]]


class Debarment(_Answer):
    """A debarment recorded in eligibility's registry (N3.2)."""

    id: str
    uscc: str
    starts_on: date
    ends_on: date


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail") or body)[:300] if isinstance(body, dict) else str(body)[:300]


class _Client:
    """One callee: answers checked and read into models."""

    service = ""

    def __init__(self, base_url: str, timeout: float, auth, transport: httpx.BaseTransport | None = None) -> None:
        self.http = SyncServiceClient(self.service, base_url, timeout=timeout, auth=auth, transport=transport)

    def _call(self, model: type[M], method: str, path: str, *, idempotent: bool | None = None,
              refusals_are_input_errors: bool = False, **kwargs: Any) -> tuple[M, httpx.Response]:
        response = self.http.request(method, path, idempotent=idempotent, **kwargs)
        if response.status_code == 422 and refusals_are_input_errors:
            raise Unprocessable(f"The {self.service} service refused the request: {_detail(response)}",
                                service=self.service)
        if not response.is_success:
            raise ServiceUnavailable(f"The {self.service} service answered {response.status_code} to {method} "
                                     f"{path}: {_detail(response)}", service=self.service,
                                     upstream_status=response.status_code)
        try:
            # parsed and checked in one pass (pydantic's own JSON reader): a plan's answer holds 200,000 amounts
            return model.model_validate_json(response.content), response
        except (ValueError, ValidationError) as exc:
            raise ServiceUnavailable(f"The {self.service} service answered {method} {path} in an unexpected shape.",
                                     service=self.service) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


class IntakeClient(_Client):
    """Reads the applications the districts have passed, their dossiers and units."""

    service = "intake"
    PAGE = 200
    IDS_PER_CALL = 100  # ids in one query string (about 4 KB)

    def __init__(self, settings, auth, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(settings.intake_url, settings.call_timeout_s, auth, transport)

    def applications(self, edition: str, status: str | None) -> list[IntakeApplication]:
        """Every application of an edition (optionally in one status), page by page."""
        items: list[IntakeApplication] = []
        offset = 0
        while True:
            params: dict[str, Any] = {"edition": edition, "limit": self.PAGE, "offset": offset,
                                      "sort": "created_at"}
            if status:
                params["status"] = status
            page, _ = self._call(IntakeApplicationPage, "GET", "/applications", params=params)
            items += page.items
            offset += self.PAGE
            if offset >= page.total or not page.items:
                return items

    def dossier(self, application_id: str) -> Dossier:
        """The application's dossier, as eligibility and calculation receive it."""
        dossier, response = self._call(Dossier, "GET", f"/applications/{application_id}/dossier")
        dossier.raw = response.json()
        return dossier

    def applicants(self, applicant_ids: list[str]) -> dict[str, IntakeApplicant]:
        """Units by id, with their bank accounts (unmasked for a service), a page of ids per call."""
        found: dict[str, IntakeApplicant] = {}
        unique = list(dict.fromkeys(applicant_ids))
        for start in range(0, len(unique), self.IDS_PER_CALL):
            ids = unique[start:start + self.IDS_PER_CALL]
            page, _ = self._call(IntakeApplicantPage, "GET", "/applicants", params={"id": ids, "limit": len(ids)})
            found.update((applicant.id, applicant) for applicant in page.items)
        return found


class CalculationClient(_Client):
    """Amounts, and the unit caps with the budget scaling of a plan, computed by the calculation service."""

    service = "calculation"

    def __init__(self, settings, auth, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(settings.calculation_url, settings.call_timeout_s, auth, transport)

    def compute(self, dossier: Dossier, disallowed: list[dict]) -> Computation:
        """The amount and trace of a dossier without the disallowed lines (N4.2)."""
        # stateless computations: safe to retry
        return self._call(Computation, "POST", "/computations", json={**dossier.raw, "disallowed": disallowed},
                          idempotent=True, refusals_are_input_errors=True)[0]

    def allocate(self, edition: str, budget: str, type_budgets: dict[str, str] | None,
                 columns: dict[str, list[str]]) -> Allocation:
        """An edition's projects (columns: keys, usccs, project_types, amounts) after the unit caps and the scaling
        to the fund (G1.3.3, G5.2, N4.3), in one call; the answer holds as many amounts as were sent."""
        body: dict[str, Any] = {"edition": edition, "budget": budget, "type_budgets": type_budgets, **columns}
        # written by pydantic-core's serializer: 400,000 strings, about three times as fast as json.dumps
        allocation = self._call(Allocation, "POST", "/allocations", content=to_json(body), idempotent=True,
                                headers={"Content-Type": "application/json"}, refusals_are_input_errors=True)[0]
        sent = len(columns["keys"])
        if len(allocation.capped_amounts) != sent or len(allocation.allocated_amounts) != sent:
            raise ServiceUnavailable(f"The calculation service answered an allocation of another size than the {sent} "
                                     f"projects sent.", service="calculation")
        return allocation


class EligibilityClient(_Client):
    """Debarments sent to the eligibility service's registry (N3.2)."""

    service = "eligibility"

    def __init__(self, settings, auth, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(settings.eligibility_url, settings.call_timeout_s, auth, transport)

    def debar(self, uscc: str, reason: str, source: str, starts_on: date, ends_on: date) -> Debarment:
        """Record a debarment (not retried: each call records one)."""
        return self._call(Debarment, "POST", "/debarments", json={
            "uscc": uscc, "reason": reason, "source": source, "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat()})[0]
