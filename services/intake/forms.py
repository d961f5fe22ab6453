"""The notice's forms (附件1–9) as typed, validated models: an application's structured content (docs/dossier.md)."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from stdnum.cn import ric, uscc

from common.money import Money

ProjectType = Literal["platform_construction", "platform_operation", "certification", "brand", "interest_subsidy",
                      "tcm_construction", "tcm_operation"]
PROJECT_TYPE_LABELS = {
    "platform_construction": "平台建设", "platform_operation": "平台运维", "certification": "国际资质认证",
    "brand": "品牌建设", "interest_subsidy": "服务外包业务贴息", "tcm_construction": "中医药基地建设",
    "tcm_operation": "中医药基地运维及品牌推广",
}


class Form(BaseModel):
    """A form: unknown fields are refused, so that a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class Pledges(Form):
    """附件1 承诺书: each pledge acknowledged."""

    lawful_registration: bool = Field(description="1 依法注册，具有独立法人资格，并合法经营")
    complete_materials: bool = Field(description="2 按通知要求提供了全部的凭证与资料")
    authentic_materials: bool = Field(description="3 申报材料准确、真实、完整和有效")
    copies_match_originals: bool = Field(description="4 所有申报材料复印件均与原件核对一致")
    credit_clean: bool = Field(description="5 近五年未被列入失信联合惩戒名单，未拖欠应缴还的财政性资金 (N3.1)")
    no_other_fiscal_support: bool = Field(description="6 本次所申报项目未获得其他财政专项资金支持 (F1.6)")
    accept_verification: bool = Field(description="7 接受有关主管部门的必要核查，并承担相关法律责任")


class Commitment(Form):
    """附件1 承诺书."""

    pledges: Pledges = Field(description="承诺事项")
    signatory: str = Field(min_length=1, max_length=50, description="法定代表人或被授权人")
    signed_on: date = Field(description="签署日期")


class PlatformForm(Form):
    """附件2 服务贸易、服务外包公共服务能力提升支持资金申请表 (also the TCM base platform)."""

    platform_name: str = Field(min_length=1, max_length=200, description="平台名称")
    completed_on: date = Field(description="平台建成时间")
    service_started_on: date | None = Field(default=None, description="投入运营并提供首次服务时间")
    main_services: str = Field(default="", max_length=2000, description="平台主要服务内容")
    expense_total: Money | None = Field(default=None, description="支持期内实际发生的软硬件购置和运维费用（元）")
    served_firm_count: int | None = Field(default=None, ge=0, description="支持期内服务的我市服务贸易、外包企业数量（家）")


class ExpenseLine(Form):
    """附件3 费用支出清单, one line."""

    line_no: int = Field(ge=1, description="序号")
    content: str = Field(min_length=1, max_length=200, description="费用支出具体内容")
    expense_kind: str = Field(min_length=1, max_length=60, description="费用类别 (POLICY.md vocabulary)")
    contract_amount: Money = Field(description="合同金额（元）")
    invoice_amount: Money = Field(description="发票金额（元）")
    paid_amount: Money = Field(description="实付金额（元）")
    invoice_number: str = Field(min_length=1, max_length=40, description="发票号码")
    invoice_date: date = Field(description="发票开具日期")
    exhibit_page: str = Field(default="", max_length=40, description="附件编号（页码）")


def _valid_uscc(value: str) -> str:
    try:
        return uscc.validate(value)
    except Exception as exc:  # stdnum raises several ValidationError kinds; the reason is in the message
        raise ValueError(f"not a valid unified social credit code: {exc}") from None


class ServedFirm(Form):
    """附件4 服务企业情况表, one line."""

    line_no: int = Field(ge=1, description="序号")
    name: str = Field(min_length=1, max_length=200, description="企业名称")
    uscc: str | None = Field(default=None, description="统一社会信用代码")
    service: str = Field(default="", max_length=500, description="服务内容")
    exhibit_page: str = Field(default="", max_length=40, description="附件编号")

    _check_uscc = field_validator("uscc")(lambda v: _valid_uscc(v) if v else v)


class Certification(Form):
    """附件5 国际资质认证申请表, one line."""

    line_no: int = Field(ge=1, description="序号")
    scheme: str = Field(min_length=1, max_length=60, description="认证名称 (CMMI, ISO27001 …)")
    kind: Literal["new", "renewal"] = Field(description="类别：新申请 new / 复审 renewal")
    certified_on: date = Field(description="认证时间")
    fee: Money = Field(description="认证费用（元）")
    requested: Money = Field(description="拟申请支持金额（元）")


class OffshoreExecution(Form):
    """离岸执行额: MOFCOM-approved offshore execution within the support period (G2.1.2, G3.1.2, G4.1.2)."""

    approved_usd: Money = Field(description="支持期内经商务部系统审核的离岸执行额（美元）")


class Award(Form):
    """品牌荣誉 (G3.1.2)."""

    title: str = Field(min_length=1, max_length=60, description="荣誉称号 (POLICY.md vocabulary, e.g. iaop_rising_star)")
    awarded_on: date | None = Field(default=None, description="获得时间")
    certificate_no: str = Field(default="", max_length=60, description="证书编号")


class ParkEnterprise(Form):
    """附件6 数字服务集聚园区重点企业明细表, one line."""

    line_no: int = Field(ge=1, description="序号")
    name: str = Field(min_length=1, max_length=200, description="企业名称")
    business_scope: str = Field(default="", max_length=500, description="业务范围")
    contact: str = Field(default="", max_length=50, description="联系人")
    phone: str = Field(default="", max_length=30, description="联系电话")


class TrainingInstitution(Form):
    """附件7 人才培训领军机构项目资金申报表."""

    institution_name: str = Field(min_length=1, max_length=200, description="机构名称")
    legal_representative: str = Field(default="", max_length=100, description="法定代表人")
    registered_place: str = Field(default="", max_length=100, description="注册地（省、市）")
    contact_name: str = Field(default="", max_length=50, description="企业联系人")
    email: str = Field(default="", max_length=100, description="电子邮件")
    phone: str = Field(default="", max_length=30, description="固定电话或移动电话")
    address: str = Field(default="", max_length=200, description="通讯地址")
    trainee_total: int = Field(ge=0, description="培训总人数")
    introduction: str = Field(default="", max_length=5000,
                              description="申报情况：培训机构基本信息，场地、设施、专业教材和师资力量，每期项目的培训方案及课程安排")


class Trainee(Form):
    """附件8 培训人员汇总表, one line."""

    line_no: int = Field(ge=1, description="序号")
    name: str = Field(min_length=1, max_length=50, description="培训人姓名")
    national_id: str = Field(description="身份证号 (check digit validated)")
    school: str = Field(default="", max_length=100, description="毕业院校")
    graduated_on: date | None = Field(default=None, description="毕业时间")
    degree: str = Field(default="", max_length=20, description="学历")
    course: str = Field(default="", max_length=200, description="培训内容")
    hours: str = Field(default="", max_length=40, description="培训课时")
    contact: str = Field(default="", max_length=40, description="联系方式")

    @field_validator("national_id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        try:
            return ric.validate(value)
        except Exception as exc:  # the stdnum reason (length, date, check digit) is the message
            raise ValueError(f"not a valid resident identity card number: {exc}") from None


class InterestContract(Form):
    """附件9 服务外包业务贴息支持申请表, one contract."""

    line_no: int = Field(ge=1, description="序号")
    contract_number: str = Field(min_length=1, max_length=60, description="合同号")
    contract_name: str = Field(default="", max_length=200, description="合同名称")
    contract_usd: Money = Field(description="合同金额（美元）")
    executed_on: date = Field(description="执行日期")
    executed_usd: Money = Field(description="执行金额（美元）")
    receipt_on: date = Field(description="收汇日期")
    receipt_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="收汇币种 (ISO 4217)")
    receipt_amount: Money = Field(description="收汇金额（收汇币种）")
    receipt_voucher_no: str = Field(default="", max_length=60, description="收汇凭证编号")
    declaration_no: str = Field(min_length=1, max_length=60, description="涉外收入申报单编号")
    pages: str = Field(default="", max_length=40, description="凭证、申报单页码")


class TcmBase(Form):
    """国家特色服务出口基地（中医药）(G5.1.1, G5.1.3)."""

    base_name: str = Field(min_length=1, max_length=200, description="基地名称")
    first_application: bool = Field(description="是否首次申报基地建设支持")


class ApplicationContent(Form):
    """An application's forms; a project type uses the sections its materials list names (docs/dossier.md)."""

    f1_commitment: Commitment | None = Field(default=None, description="附件1 承诺书")
    f2_platform: PlatformForm | None = Field(default=None, description="附件2 平台申请表（平台、中医药基地）")
    f3_expenses: list[ExpenseLine] | None = Field(default=None, max_length=2000, description="附件3 费用支出清单")
    f4_served_firms: list[ServedFirm] | None = Field(default=None, max_length=5000, description="附件4 服务企业情况表")
    f5_certifications: list[Certification] | None = Field(default=None, description="附件5 国际资质认证申请表")
    offshore_execution: OffshoreExecution | None = Field(default=None, description="离岸执行额")
    award: Award | None = Field(default=None, description="品牌荣誉")
    f6_park_enterprises: list[ParkEnterprise] | None = Field(default=None, max_length=5000,
                                                             description="附件6 园区重点企业明细表")
    f7_training_institution: TrainingInstitution | None = Field(default=None, description="附件7 培训机构申报表")
    f8_trainees: list[Trainee] | None = Field(default=None, max_length=20000, description="附件8 培训人员汇总表")
    f9_interest_contracts: list[InterestContract] | None = Field(default=None, max_length=2000,
                                                                 description="附件9 贴息支持申请表")
    tcm_base: TcmBase | None = Field(default=None, description="中医药服务出口基地")

    @model_validator(mode="after")
    def _line_numbers_are_unique(self):
        # an auditor disallows a line by its number (N4.2): within a form, one number names one line
        for name in type(self).model_fields:
            lines = getattr(self, name)
            if isinstance(lines, list):
                seen, repeated = set(), set()
                for line in lines:
                    (repeated if line.line_no in seen else seen).add(line.line_no)
                if repeated:
                    raise ValueError(f"{name}: line numbers (序号) repeat: {', '.join(map(str, sorted(repeated)))}")
        return self


class TraineeRead(Trainee):
    """附件8 培训人员汇总表, one line as read back (the national ID may be masked)."""

    @field_validator("national_id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        return value  # validated when written; a masked number is not a number to check


class ApplicationContentRead(ApplicationContent):
    """An application's forms as read back; trainees' national ID numbers masked for most roles."""

    f8_trainees: list[TraineeRead] | None = Field(default=None, description="附件8 培训人员汇总表 (身份证号 masked "
                                                                          "except for service, finance and admin)")
