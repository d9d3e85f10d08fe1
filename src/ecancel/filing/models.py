"""The filing registry (网签备案): projects, buildings, units, filed contracts and their buyers."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.encrypted import EncryptedCharField, LookupDigestField
from ecancel.core.models import Entity
from ecancel.filing.transitions import ContractStatus, UnitStatus
from ecancel.identity.id_numbers import IdType


class Project(Entity):
    developer = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="projects", verbose_name=_("开发企业")
    )
    name = models.CharField(_("楼盘名称"), max_length=200)
    presale_permit_no = models.CharField(_("预售许可证号"), max_length=64, unique=True)
    district = models.CharField(_("所在区镇"), max_length=50)
    address = models.CharField(_("坐落"), max_length=300)

    class Meta:
        verbose_name = _("楼盘")
        verbose_name_plural = _("楼盘")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Building(Entity):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="buildings")
    name = models.CharField(_("幢号"), max_length=50)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="building_unique_in_project")]

    def __str__(self) -> str:
        return f"{self.project.name} {self.name}"


class Unit(Entity):
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="units")
    room_no = models.CharField(_("房号"), max_length=20)
    floor = models.SmallIntegerField(_("楼层"))
    floor_area = models.DecimalField(_("建筑面积（㎡）"), max_digits=8, decimal_places=2)
    usage = models.CharField(_("用途"), max_length=20, default="住宅")
    status = models.CharField(_("状态"), max_length=20, choices=UnitStatus.choices, default=UnitStatus.AVAILABLE)

    class Meta:
        verbose_name = _("房源")
        verbose_name_plural = _("房源")
        constraints = [models.UniqueConstraint(fields=["building", "room_no"], name="unit_unique_in_building")]
        ordering = ["building", "floor", "room_no"]

    def __str__(self) -> str:
        return f"{self.building} {self.room_no}"


class FiledContractQuerySet(models.QuerySet["FiledContract"]):
    def for_seller(self, organisation_id: object) -> FiledContractQuerySet:
        return self.filter(seller_id=organisation_id)


class FiledContract(Entity):
    contract_no = models.CharField(_("合同编号"), max_length=40, unique=True)
    filing_no = models.CharField(_("备案编号"), max_length=40, unique=True)
    seller = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="filed_contracts",
        verbose_name=_("出卖人"),
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("房源"))
    total_price = models.DecimalField(_("总价款（元）"), max_digits=14, decimal_places=2)
    payment_method = models.CharField(_("付款方式"), max_length=40, default="一次性付款")
    signed_on = models.DateField(_("签约日期"))
    filed_on = models.DateField(_("备案日期"))
    status = models.CharField(_("状态"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.FILED)
    cancelled_at = models.DateTimeField(_("注销时间"), null=True, blank=True)
    cancellation_ref = models.CharField(_("注销依据（公证书编号）"), max_length=80, blank=True)

    objects = FiledContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("已备案合同")
        verbose_name_plural = _("已备案合同")
        ordering = ["-filed_on", "contract_no"]
        constraints = [
            # A unit has at most one live (filed or being cancelled) contract.
            models.UniqueConstraint(
                fields=["unit"],
                condition=~models.Q(status="cancelled"),
                name="one_live_contract_per_unit",
            )
        ]

    def __str__(self) -> str:
        return self.contract_no


class BuyerParty(Entity):
    """A buyer (买受人) named on the filed contract; co-buyers share the unit."""

    contract = models.ForeignKey(FiledContract, on_delete=models.PROTECT, related_name="buyers")
    position = models.PositiveSmallIntegerField(_("顺序"), default=1)
    name = models.CharField(_("姓名"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=32, choices=IdType.choices)
    id_number = EncryptedCharField(_("证件号码"), max_length=32)
    id_number_digest = LookupDigestField(source="id_number", kind="id_number")
    id_issuing_country = models.CharField(
        _("证件签发国家/地区"), max_length=3, blank=True, help_text=_("护照的签发国家或地区代码，例如 USA")
    )
    phone = models.CharField(_("联系电话"), max_length=20)
    region = models.CharField(_("国籍/地区"), max_length=50, default="中国")
    share = models.CharField(_("份额"), max_length=40, blank=True)
    address = models.CharField(_("通讯地址"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("买受人")
        verbose_name_plural = _("买受人")
        ordering = ["contract", "position"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "id_type", "id_number_digest"], name="buyer_once_per_contract")
        ]

    def __str__(self) -> str:
        return self.name
