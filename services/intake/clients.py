"""Typed calls from intake to eligibility and calculation."""
from __future__ import annotations

from common.http import ServiceClient


class CallFailed(Exception):
    """Another service answered, but not with a 2xx: the outbox tries again later."""


class PolicyClients:
    """The two services a submitted application is evaluated by."""

    def __init__(self, settings, auth) -> None:
        # one call per attempt, bounded by the timeout: the outbox owns the retrying, with backoff, visibly
        self.eligibility = ServiceClient("eligibility", settings.eligibility_url, timeout=settings.call_timeout_s,
                                         retries=0, auth=auth)
        self.calculation = ServiceClient("calculation", settings.calculation_url, timeout=settings.call_timeout_s,
                                         retries=0, auth=auth)

    @staticmethod
    async def _post(client: ServiceClient, path: str, body: dict) -> dict:
        response = await client.request("POST", path, json=body, idempotent=True)
        if not response.is_success:
            raise CallFailed(f"{client.policy.service} answered {response.status_code} to POST {path}")
        return response.json()

    async def evaluate(self, dossier: dict) -> dict:
        """The eligibility answer for a dossier (a stateless evaluation: safe to retry)."""
        return await self._post(self.eligibility, "/evaluations", dossier)

    async def compute(self, dossier: dict) -> dict:
        """The amount and its trace for a dossier (safe to retry)."""
        return await self._post(self.calculation, "/computations", dossier)

    async def aclose(self) -> None:
        """Close both connection pools."""
        await self.eligibility.aclose()
        await self.calculation.aclose()
