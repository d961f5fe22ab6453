"""National TCM service export bases (G5.1): a recognised base, applying for construction support the first time."""
from __future__ import annotations

from .base import Check, Context, check, rule


@rule("tcm.recognised_base")
def recognised_base(ctx: Context) -> list[Check]:
    """G5.1.1: the applicant is a base recognised by MOFCOM et al. (the registry of recognised bases)."""
    required = ctx.own("recognised_base_required")
    if required is None or not required.value:
        return []
    base = ctx.registry.recognised_base()
    if base is None:
        return [check("tcm.recognised_base", required.clause, "fail", "申报单位不在国家中医药服务出口基地名录中",
                      "The applicant is not a recognised national TCM service export base")]
    return [check("tcm.recognised_base", required.clause, "pass", f"已认定的国家中医药服务出口基地：{base['base_name']}",
                  f"Recognised base: {base['base_name']}", base=base)]


@rule("tcm.first_application")
def first_application(ctx: Context) -> list[Check]:
    """G5.1.3: construction support only on the first application (declared, and no earlier edition's claim)."""
    required = ctx.own("first_application_required")
    if required is None or not required.value:
        return []
    declared = ctx.content.tcm_base.first_application if ctx.content.tcm_base else None
    if not declared:
        return [check("tcm.first_application", required.clause, "fail", "申报单位声明非首次申报基地建设支持",
                      "The applicant does not declare this its first application for construction support")]
    earlier = ctx.registry.earlier_construction()
    if earlier:
        editions = ", ".join(sorted({x["edition"] for x in earlier}))
        return [check("tcm.first_application", required.clause, "fail",
                      f"该基地已在 {editions} 年度申报过建设支持，非首次申报",
                      f"The base already applied for construction support in edition {editions}", earlier=earlier)]
    return [check("tcm.first_application", required.clause, "pass", "首次申报基地建设支持",
                  "First application for construction support")]
