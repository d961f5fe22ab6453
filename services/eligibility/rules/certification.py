"""International certification (G2.2): at most five items, obtained in the period, of a recognised scheme."""
from __future__ import annotations

import re

from .base import Check, Context, check, decided, lines, rule, within

_NOISE = re.compile(r"[\s\-_（）()]")


def scheme_key(name: str) -> str:
    """A scheme name compared without spaces, dashes, brackets or case: "PCI DSS" and "pci-dss" are one."""
    return _NOISE.sub("", name).upper()


@rule("certification.items")
def items(ctx: Context) -> list[Check]:
    """G2.2: at least one item on form 5 and no more than five per unit."""
    limit = ctx.own("max_items")
    listed = ctx.content.f5_certifications or []
    if not listed:
        return [check("certification.items", limit.clause, "fail", "未填报认证项目（附件5）",
                      "No certification items (form 5)")]
    if len(listed) > limit.value:
        return [check("certification.items", limit.clause, "fail",
                      f"认证项目 {len(listed)} 项，超过每家单位 {limit.value} 项的上限",
                      f"{len(listed)} certification items, more than the limit of {limit.value} per unit",
                      count=len(listed), limit=limit.value)]
    return [check("certification.items", limit.clause, "pass", f"认证项目 {len(listed)} 项，不超过 {limit.value} 项",
                  f"{len(listed)} certification items, within the limit of {limit.value}", count=len(listed),
                  limit=limit.value)]


@rule("certification.dates")
def dates(ctx: Context) -> list[Check]:
    """G2.2: certifications obtained (or maintained, upgraded) in the period; others are left out (Decision)."""
    period = ctx.own("certified_within")
    listed = ctx.content.f5_certifications or []
    if not listed:
        return []
    outside = [c.line_no for c in listed if not within(c.certified_on, period.value)]
    start, end = period.value["start"], period.value["end"]
    if len(outside) == len(listed):
        return [check("certification.dates", period.clause, "fail", f"认证时间均不在 {start} 至 {end} 之间",
                      f"No certification is dated {start}..{end}", outside_lines=outside)]
    if outside:
        return [check("certification.dates", period.clause, "pass",
                      f"第 {lines(outside)} 项认证时间不在 {start} 至 {end} 之间，不予计入",
                      f"Items {lines(outside)} are dated outside {start}..{end} and left out", outside_lines=outside)]
    return [check("certification.dates", period.clause, "pass", f"认证时间均在 {start} 至 {end} 之间",
                  f"Every certification is dated {start}..{end}", outside_lines=[])]


@rule("certification.schemes")
def schemes(ctx: Context) -> list[Check]:
    """G2.2: a scheme of the notice's list; the list ends with 等, so another one goes to review (Decision)."""
    recognised = ctx.own("recognised_schemes")
    aliases = ctx.own("scheme_aliases")
    known = {scheme_key(s) for s in recognised.value} | {scheme_key(a) for a in (aliases.value if aliases else {})}
    listed = ctx.content.f5_certifications or []
    if not listed:
        return []
    unlisted = [c for c in listed if scheme_key(c.scheme) not in known]
    if not unlisted:
        return [check("certification.schemes", recognised.clause, "pass", "认证均属通知列举范围",
                      "Every scheme is on the notice's list")]
    names = ", ".join(c.scheme for c in unlisted)
    return [check("certification.schemes", recognised.clause, decided(ctx.own("unlisted_scheme_outcome")),
                  f"认证 {names} 不在通知列举范围内（列举以“等”结尾），需人工认定",
                  f"Schemes {names} are not on the notice's list (which ends with 'etc.'): an officer decides",
                  schemes=[c.scheme for c in unlisted], lines=[c.line_no for c in unlisted])]
