"""Typed calls from intake to eligibility and calculation."""
from __future__ import annotations

from pydantic_core import from_json

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
    async def _post_batch(client: ServiceClient, path: str, body: bytes, count: int) -> list[dict]:
        response = await client.request("POST", path, content=body, idempotent=True,
                                        headers={"Content-Type": "application/json"})
        if not response.is_success:
            raise CallFailed(f"{client.policy.service} answered {response.status_code} to POST {path}")
        items = from_json(response.content)["items"]  # pydantic-core's parser: a batch's answer is a megabyte
        if [item["index"] for item in items] != list(range(count)):
            raise CallFailed(f"{client.policy.service} answered POST {path} for other items than it was sent")
        return items

    async def evaluate_many(self, body: bytes, count: int) -> list[dict]:
        """Eligibility's answer for each of the `count` dossiers of a batch body `{"items": [...]}`, in order
        (`result`, or the `problem` refusing it); safe to retry."""
        return await self._post_batch(self.eligibility, "/evaluations/batch", body, count)

    async def compute_many(self, body: bytes, count: int) -> list[dict]:
        """Calculation's amount and trace for each of the `count` dossiers of a batch body, in order (`result` or
        `problem`); safe to retry."""
        return await self._post_batch(self.calculation, "/computations/batch", body, count)

    async def aclose(self) -> None:
        """Close both connection pools."""
        await self.eligibility.aclose()
        await self.calculation.aclose()
