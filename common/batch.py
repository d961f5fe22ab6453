"""Batch operations: many items in one request, each answered on its own (a result or a problem), in order.

Used where one caller has thousands of items for the same operation (re-evaluating an edition after a parameter is
corrected): one request and one transaction for hundreds of items instead of a round trip and a commit each.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, ValidationError

from .problems import Problem, ProblemDetails, field_errors, problem_body

MAX_BATCH = 500
In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


class BatchItem(BaseModel, Generic[Out]):
    """One item's answer: its position in the request, and its result or the problem that refused it."""

    index: int = Field(description="Position of the item in the request, from 0")
    result: Out | None = Field(default=None, description="The answer, when the item was accepted")
    problem: ProblemDetails | None = Field(default=None, description="Why the item was refused (as a single "
                                                                     "request would have been answered)")


def batch_items_field(schema: str) -> Any:
    """The request's `items` field: raw objects checked one by one, documented as the single operation's schema."""
    return Field(min_length=1, max_length=MAX_BATCH,
                 json_schema_extra={"items": {"$ref": f"#/components/schemas/{schema}"}}, description=f"Up to {MAX_BATCH} items, each as the single operation takes it; a malformed one is "
                             "refused alone")


def run_batch(items: list[dict[str, Any]], model: type[In], act: Callable[[In], Out], instance: str
              ) -> list[BatchItem[Out]]:
    """Validate and act on each item in order; a refused item gets its problem, the others go on."""
    return answer_each(validated(items, model), act, instance)


def validated(items: list[dict[str, Any]], model: type[In]) -> list[In | ValidationError]:
    """Each item as the model, or why it is not one (for an operation that reads what all items need at once)."""
    checked: list[In | ValidationError] = []
    for raw in items:
        try:
            checked.append(model.model_validate(raw))
        except ValidationError as exc:
            checked.append(exc)
    return checked


def answer_each(checked: list[In | ValidationError], act: Callable[[In], Out], instance: str
                ) -> list[BatchItem[Out]]:
    """Act on each validated item in order; an invalid or refused item gets its problem, the others go on."""
    answers: list[BatchItem[Out]] = []
    for index, item in enumerate(checked):
        if isinstance(item, ValidationError):
            errors = field_errors(item.errors())
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
            answers.append(BatchItem(index=index, problem=problem_body(
                422, "validation-error", "Invalid input", f"Item {index} is not valid: {detail}", instance=instance,
                errors=errors)))
            continue
        try:
            answers.append(BatchItem(index=index, result=act(item)))
        except Problem as exc:
            if exc.status >= 500 or exc.status == 409:
                raise  # the whole batch cannot be answered now (a dependency away, a concurrent writer)
            answers.append(BatchItem(index=index, problem=exc.body(instance)))
    return answers
