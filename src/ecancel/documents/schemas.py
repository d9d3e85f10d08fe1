"""What each document template needs, checked before anything is typeset.

One pydantic model per template. A field whose name ends in ``_image`` names an entry of the
``images`` passed to ``render_document``; the template places that picture. Errors come back as
``ValidationFailed`` naming the field in Chinese (its ``title``) and by its path, never as a half
rendered document.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Union
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    computed_field,
    model_validator,
)

from ecancel.core.errors import FieldMessage, Joined, ValidationFailed
from ecancel.identity.id_numbers import IdType

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
OptionalLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Paragraph = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ImageKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")
_CN_DIGITS = "〇一二三四五六七八九"


def rmb_upper(amount: Decimal) -> str:
    """人民币大写, as written on contracts and receipts: 1580000.50 → 壹佰伍拾捌万元伍角."""
    cents = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents < 0:
        raise ValueError("amount must not be negative")
    if cents == 0:
        return "零元整"
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = ""
    if yuan:
        digits = str(yuan)
        pending_zero = False
        group_has_digit = False
        for index, char in enumerate(digits):
            position = len(digits) - 1 - index
            digit = int(char)
            if digit == 0:
                pending_zero = True
            else:
                if pending_zero and text:
                    text += "零"
                pending_zero = False
                group_has_digit = True
                text += _DIGITS[digit] + _SMALL_UNITS[position % 4]
            if position % 4 == 0 and position > 0:
                if group_has_digit:
                    text += _BIG_UNITS[position // 4]
                group_has_digit = False
        text += "元"
    if jiao == 0 and fen == 0:
        return text + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text


def _small_number_cn(value: int) -> str:
    tens, ones = divmod(value, 10)
    if tens == 0:
        return _CN_DIGITS[ones]
    prefix = "" if tens == 1 else _CN_DIGITS[tens]
    return prefix + "十" + ("" if ones == 0 else _CN_DIGITS[ones])


def date_cn_numerals(day: dt.date) -> str:
    """The date as notarial certificates write it: 2026-04-10 → 二〇二六年四月十日."""
    year = "".join(_CN_DIGITS[int(c)] for c in f"{day.year:04d}")
    return f"{year}年{_small_number_cn(day.month)}月{_small_number_cn(day.day)}日"


def money_text(amount: Decimal) -> str:
    return f"{amount:,.2f}"


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(Part):
    name: Name = Field(title="姓名")
    id_type: IdType = Field(title="证件类型")
    id_number: Short = Field(title="证件号码")
    phone: OptionalLine = Field("", title="联系电话")
    address: OptionalLine = Field("", title="住址")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id_type_label(self) -> str:
        with translation.override("zh-hans"):
            return str(IdType(self.id_type).label)


class Buyer(Person):
    region: OptionalLine = Field("中国", title="国籍/地区")
    share: OptionalLine = Field("", title="份额")
    signature_image: ImageKey | None = Field(None, title="手写签名图片")
    id_front_image: ImageKey | None = Field(None, title="证件正面照片")
    id_back_image: ImageKey | None = Field(None, title="证件背面照片")


class Agent(Person):
    principal: Line = Field(title="被代理人")
    authority: OptionalLine = Field("", title="代理权限")


class Seller(Part):
    name: Line = Field(title="名称")
    credit_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")] = Field(
        title="统一社会信用代码"
    )
    legal_representative: Name = Field(title="法定代表人")
    address: Line = Field(title="住所")
    phone: OptionalLine = Field("", title="联系电话")


class Office(Part):
    name: Line = Field(title="公证处名称")
    address: Line = Field(title="地址")
    phone: OptionalLine = Field("", title="电话")


class UnitInfo(Part):
    project_name: Line = Field(title="项目名称")
    district: OptionalLine = Field("", title="所在区镇")
    address: Line = Field(title="房屋坐落")
    building: Short = Field(title="幢号")
    room_no: Short = Field(title="房号")
    floor: int | None = Field(None, title="所在楼层")
    floor_area: Decimal = Field(gt=0, max_digits=8, decimal_places=2, title="建筑面积")
    usage: Short = Field("住宅", title="用途")
    presale_permit_no: OptionalLine = Field("", title="预售许可证号")


class ContractRef(Part):
    contract_no: Short = Field(title="合同编号")
    filing_no: Short = Field(title="备案编号")
    signed_on: dt.date = Field(title="签约日期")
    filed_on: dt.date = Field(title="备案日期")
    total_price: Money = Field(title="合同总价款")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_price_text(self) -> str:
        return money_text(self.total_price)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_price_upper(self) -> str:
        return rmb_upper(self.total_price)


class Material(Part):
    name: Line = Field(title="材料名称")
    filename: OptionalLine = Field("", title="文件名")
    size: int = Field(ge=0, title="文件大小")
    sha256: Sha256 = Field(title="SHA-256")
    pages: int | None = Field(None, ge=1, title="页数")


class DocumentData(Part):
    """Base of every template's input."""

    def image_refs(self) -> Iterator[tuple[str, str]]:
        """(field path, image key) for every picture the document places."""
        yield from _image_refs(self, "")

    def qr_codes(self) -> dict[str, str]:
        """Picture keys the renderer fills with a QR code of the given text."""
        return {}


def _image_refs(model: BaseModel, prefix: str) -> Iterator[tuple[str, str]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if name.endswith("_image"):
            if value:
                yield path, value
        elif isinstance(value, BaseModel):
            yield from _image_refs(value, path + ".")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _image_refs(item, f"{path}.{index}.")


class CancellationFormData(DocumentData):
    """商品房买卖合同注销备案申请表."""

    application_no: Short = Field(title="申请编号")
    contract: ContractRef = Field(title="合同")
    unit: UnitInfo = Field(title="房源")
    seller: Seller = Field(title="出卖人")
    buyers: list[Buyer] = Field(min_length=1, max_length=20, title="买受人")
    agent: Agent | None = Field(None, title="代理人")
    reason: Paragraph = Field(title="注销原因")
    notary_office: Line = Field(title="办理公证处")
    operator: Name = Field(title="经办人")
    applied_on: dt.date = Field(title="申请日期")


class TerminationAgreementData(DocumentData):
    """商品房买卖合同终止协议."""

    agreement_no: Short = Field(title="协议编号")
    contract: ContractRef = Field(title="合同")
    unit: UnitInfo = Field(title="房源")
    seller: Seller = Field(title="出卖人")
    buyers: list[Buyer] = Field(min_length=1, max_length=20, title="买受人")
    agent: Agent | None = Field(None, title="代理人")
    reason: Paragraph = Field(title="终止原因")
    refund_amount: Money = Field(title="退还款项")
    refund_method: Line = Field(title="退款方式")
    refund_deadline: dt.date = Field(title="退款期限")
    release_terms: list[Paragraph] = Field(min_length=1, max_length=12, title="权利义务解除条款")
    agreed_on: dt.date = Field(title="协议日期")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def refund_amount_text(self) -> str:
        return money_text(self.refund_amount)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def refund_amount_upper(self) -> str:
        return rmb_upper(self.refund_amount)


class NotarizationApplicationData(DocumentData):
    """终止协议公证申请表."""

    case_no: Short = Field(title="受理编号")
    office: Office = Field(title="公证处")
    seller: Seller = Field(title="出卖人")
    buyers: list[Buyer] = Field(min_length=1, max_length=20, title="买受人")
    agent: Agent | None = Field(None, title="代理人")
    contract: ContractRef = Field(title="合同")
    unit: UnitInfo = Field(title="房源")
    agreement_no: Short = Field(title="终止协议编号")
    matter: Line = Field("商品房买卖合同终止协议公证", title="申请公证事项")
    purpose: Line = Field("办理商品房买卖合同网签备案注销", title="公证书用途")
    use_place: Line = Field("中国广东省中山市", title="使用地")
    copies: int = Field(1, ge=1, le=20, title="公证书份数")
    applied_on: dt.date = Field(title="申请日期")


class NotarizationNoticeData(DocumentData):
    """终止协议合同公证告知."""

    case_no: Short = Field(title="受理编号")
    office: Office = Field(title="公证处")
    seller: Seller = Field(title="出卖人")
    buyers: list[Buyer] = Field(min_length=1, max_length=20, title="买受人")
    agent: Agent | None = Field(None, title="代理人")
    matter: Line = Field("商品房买卖合同终止协议公证", title="公证事项")
    notified_on: dt.date = Field(title="告知日期")


class IntakeRecordData(DocumentData):
    """收案记录."""

    case_no: Short = Field(title="受理编号")
    office: Office = Field(title="公证处")
    application_no: Short = Field(title="注销申请编号")
    source: Line = Field("网签备案系统电子推送", title="收案方式")
    received_at: AwareDatetime = Field(title="收案时间")
    received_by: Name = Field(title="受理人")
    seller: Seller = Field(title="出卖人")
    buyers: list[Buyer] = Field(min_length=1, max_length=20, title="买受人")
    contract: ContractRef = Field(title="合同")
    matter: Line = Field("商品房买卖合同终止协议公证", title="公证事项")
    materials: list[Material] = Field(min_length=1, max_length=50, title="收到材料")
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = Field("", title="备注")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def received_at_text(self) -> str:
        local = self.received_at.astimezone(DISPLAY_ZONE)
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}"


class ContractData(DocumentData):
    """商品房买卖合同 (the filed electronic contract)."""

    contract: ContractRef = Field(title="合同")
    unit: UnitInfo = Field(title="房源")
    seller: Seller = Field(title="出卖人")
    buyers: list[Buyer] = Field(min_length=1, max_length=20, title="买受人")
    payment_method: Line = Field("一次性付款", title="付款方式")
    delivery_date: dt.date | None = Field(None, title="交付日期")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unit_price_text(self) -> str:
        price = (self.contract.total_price / self.unit.floor_area).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return money_text(price)


class CertificateData(DocumentData):
    """公证书: cover, certificate text, then the contract and the identity papers appended."""

    certificate_no: Short = Field(title="公证书编号")
    office: Office = Field(title="公证处")
    notary_name: Name = Field(title="公证员")
    issued_on: dt.date = Field(title="出证日期")
    agreement_no: Short = Field(title="终止协议编号")
    agreed_on: dt.date = Field(title="终止协议签署日期")
    buyers: list[Buyer] = Field(min_length=1, max_length=20, title="买受人")
    agent: Agent | None = Field(None, title="代理人")
    contract: ContractData = Field(title="所附商品房买卖合同")
    verification_code: Annotated[str, StringConstraints(pattern=r"^[A-Z2-7]{8,32}$")] = Field(title="验证码")
    verification_url: Annotated[str, StringConstraints(pattern=r"^https?://\S{1,500}$")] = Field(title="验证网址")
    self_test: bool = Field(False, title="系统自检（不具有法律效力）")
    business_licence_image: ImageKey = Field(title="出卖人营业执照")
    legal_representative_id_front_image: ImageKey = Field(title="法定代表人证件正面照片")
    legal_representative_id_back_image: ImageKey = Field(title="法定代表人证件背面照片")

    @model_validator(mode="after")
    def _parties_and_papers(self) -> CertificateData:
        ours = sorted((b.id_type, b.id_number) for b in self.buyers)
        theirs = sorted((b.id_type, b.id_number) for b in self.contract.buyers)
        if ours != theirs:
            raise ValueError("公证书的买受人须与所附合同的买受人一致 / the buyers must be those of the contract")
        for buyer in self.buyers:
            if not buyer.id_front_image:
                raise ValueError(f"缺少买受人{buyer.name}的证件正面照片 / ID front photo missing for a buyer")
            if buyer.id_type == IdType.MAINLAND_ID and not buyer.id_back_image:
                raise ValueError(f"缺少买受人{buyer.name}的身份证背面照片 / ID back photo missing for a buyer")
        return self

    def qr_codes(self) -> dict[str, str]:
        return {"verification_qr": self.verification_url}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def issued_on_cn(self) -> str:
        return date_cn_numerals(self.issued_on)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def agreed_on_cn(self) -> str:
        return date_cn_numerals(self.agreed_on)


SCHEMAS: dict[str, type[DocumentData]] = {
    "cancellation_form": CancellationFormData,
    "termination_agreement": TerminationAgreementData,
    "notarization_application": NotarizationApplicationData,
    "notarization_notice": NotarizationNoticeData,
    "intake_record": IntakeRecordData,
    "contract": ContractData,
    "certificate": CertificateData,
}


def schema_for(template: str) -> type[DocumentData]:
    try:
        return SCHEMAS[template]
    except KeyError:
        raise ValidationFailed(
            _("未知的文书模板「%(template)s」（可用：%(known)s）"),
            params={"template": template, "known": Joined(SCHEMAS)},
            fields={"template": FieldMessage(_("未知的文书模板"))},
        ) from None


def validate_data(template: str, data: Mapping[str, Any] | DocumentData) -> DocumentData:
    """The template's input as its schema, or a refusal that names every missing or wrong field."""
    schema = schema_for(template)
    if isinstance(data, schema):
        return data
    if isinstance(data, BaseModel):
        raise ValidationFailed(
            _("文书模板「%(template)s」需要 %(expected)s 类型的数据，收到的是 %(received)s"),
            params={"template": template, "expected": schema.__name__, "received": type(data).__name__},
        )
    try:
        return schema.model_validate(dict(data))
    except ValidationError as exc:
        raise _refusal(schema, exc) from None


_PROBLEMS: dict[str, tuple[str, str]] = {
    "missing": ("缺少必填项", "is required"),
    "extra_forbidden": ("不是该文书的字段", "is not a field of this document"),
    "string_too_short": ("不能为空", "must not be empty"),
    "too_short": ("至少需要一项", "needs at least one entry"),
    "timezone_aware": ("必须带时区", "must carry a time zone"),
}


def _refusal(schema: type[BaseModel], exc: ValidationError) -> ValidationFailed:
    fields: dict[str, FieldMessage] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path = ".".join(str(p) for p in loc) or "data"
        label = field_label(schema, loc) or "文书数据"
        zh_problem, en_problem = _PROBLEMS.get(error["type"], ("格式不正确", f"is invalid ({error['msg']})"))
        if error["type"] == "value_error":
            zh_problem = en_problem = str(error["ctx"].get("error", error["msg"])) if "ctx" in error else error["msg"]
        fields[path] = FieldMessage(f"{label}：{zh_problem}", f"{path} {en_problem}")
    summary_zh = "；".join(m.zh for m in fields.values())
    summary_en = "; ".join(m.en for m in fields.values())
    return ValidationFailed(
        f"文书数据不完整或有误：{summary_zh}", f"Document data incomplete or wrong: {summary_en}", fields=fields
    )


def field_label(schema: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The Chinese name of a field path, e.g. ("buyers", 0, "name") → 买受人第1位·姓名."""
    labels: list[str] = []
    current: Any = schema
    for part in loc:
        if isinstance(part, int):
            if labels:
                labels[-1] += f"第{part + 1}项"
            continue
        model = _model_in(current)
        if model is None or part not in model.model_fields:
            labels.append(str(part))
            current = None
            continue
        info = model.model_fields[part]
        labels.append(info.title or part)
        current = info.annotation
    return "·".join(labels)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``list[Buyer]`` or ``Agent | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, Union, types.UnionType) or origin is typing.Annotated:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
