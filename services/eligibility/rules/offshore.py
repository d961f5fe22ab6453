"""Offshore execution thresholds (G2.1.2, G3.1.2, G4.1.2) and the brand titles that need one (G3.1.2)."""
from __future__ import annotations

from .base import Check, Cited, Context, check, rule, usd_en, usd_zh


def offshore_check(ctx: Context, rule_id: str, minimum: Cited) -> Check:
    """Approved offshore execution in the support period at least the minimum (以上/不低于 include it)."""
    offshore = ctx.content.offshore_execution
    if offshore is None:
        return check(rule_id, minimum.clause, "fail", "未填报支持期内经核准的离岸执行额",
                     "No approved offshore execution declared for the support period", minimum_usd=minimum.value)
    amount = offshore.approved_usd
    details = {"amount_usd": amount, "minimum_usd": minimum.value}
    if amount >= minimum.value:
        return check(rule_id, minimum.clause, "pass", f"离岸执行额 {usd_zh(amount)}，不低于 {usd_zh(minimum.value)}",
                     f"Offshore execution {usd_en(amount)}, at least {usd_en(minimum.value)}", **details)
    return check(rule_id, minimum.clause, "fail", f"离岸执行额 {usd_zh(amount)}，低于 {usd_zh(minimum.value)}",
                 f"Offshore execution {usd_en(amount)}, below {usd_en(minimum.value)}", **details)


@rule("offshore.minimum")
def offshore_minimum(ctx: Context) -> list[Check]:
    """The project type's offshore execution threshold (certification USD 1M, interest subsidy USD 5M)."""
    minimum = ctx.own("offshore_minimum_usd")
    return [offshore_check(ctx, "offshore.minimum", minimum)] if minimum is not None else []


@rule("award.title")
def award_title(ctx: Context) -> list[Check]:
    """G3.1.2: the award is one of the edition's titles, group A or group B."""
    group_a, group_b = ctx.own("group_a_titles"), ctx.own("group_b_titles")
    labels = ctx.own("titles").value
    award = ctx.content.award
    if award is None:
        return [check("award.title", group_a.clause, "fail", "未填报获评荣誉称号", "No award title declared")]
    label = labels.get(award.title, award.title)
    if award.title in group_a.value:
        return [check("award.title", group_a.clause, "pass", f"荣誉“{label}”属A组（需离岸执行额）",
                      f"Title {award.title} is in group A (an offshore threshold applies)", group="A",
                      title=award.title)]
    if award.title in group_b.value:
        return [check("award.title", group_b.clause, "pass", f"荣誉“{label}”属B组，无离岸执行额要求",
                      f"Title {award.title} is in group B: no offshore threshold", group="B", title=award.title)]
    return [check("award.title", group_a.clause, "fail", f"荣誉“{award.title}”不在支持范围内",
                  f"Title {award.title} is not one the programme supports", title=award.title)]


@rule("award.group_a_offshore")
def award_group_a_offshore(ctx: Context) -> list[Check]:
    """G3.1.2: a group A title needs approved offshore execution of at least USD 1M in the period."""
    award = ctx.content.award
    if award is None or award.title not in ctx.own("group_a_titles").value:
        return []
    return [offshore_check(ctx, "award.group_a_offshore", ctx.own("group_a_offshore_minimum_usd"))]
