"""The notary office's side of a cancellation: cases, their parties and the materials received."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import SELF_TEST_SELLER_ID
from ecancel.buyers.transitions import JourneyStatus
from ecancel.core.encrypted import EncryptedCharField, LookupDigestField
from ecancel.core.models import Entity
from ecancel.core.storage import dated_name, encrypted_files
from ecancel.identity.id_numbers import IdType
from ecancel.notary.transitions import OPEN_STATUSES, CaseStatus

# What a self-test case's numbers carry: 受理号 (2026)中证受字自检第0001号, 公证书 (2026)粤中中证字自检第0001号.
SELF_TEST_MARK = "自检"


class NumberSeries(models.TextChoices):
    """Whose numbers a case takes: the office's register, or the self-test's own series beside it."""

    REGISTER = "", _("受理登记")
    SELF_TEST = "self_test", _("系统自检")


class CaseNumberCounter(models.Model):
    """The last case number an office gave out in a year, per series; allocated under a row lock."""

    office = models.ForeignKey("accounts.NotaryOffice", on_delete=models.PROTECT, related_name="case_counters")
    year = models.PositiveSmallIntegerField()
    series = models.CharField(max_length=16, choices=NumberSeries.choices, default=NumberSeries.REGISTER, blank=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("受理编号计数器")
        verbose_name_plural = _("受理编号计数器")
        constraints = [
            models.UniqueConstraint(fields=["office", "year", "series"], name="one_case_counter_per_office_year_series")
        ]

    def __str__(self) -> str:
        return f"{self.office} {self.year}: {self.last}"


class CertificateNumberCounter(models.Model):
    """The last certificate number an office gave out in a year; taken under a row lock in the approval's own
    transaction, so a number is used exactly when an approval commits: no gaps, no duplicates."""

    office = models.ForeignKey("accounts.NotaryOffice", on_delete=models.PROTECT, related_name="certificate_counters")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("公证书编号计数器")
        verbose_name_plural = _("公证书编号计数器")
        constraints = [
            models.UniqueConstraint(fields=["office", "year"], name="one_certificate_counter_per_office_year")
        ]

    def __str__(self) -> str:
        return f"{self.office} {self.year}: {self.last}"


class CaseQuerySet(models.QuerySet["NotaryCase"]):
    def for_office_organisation(self, organisation_id: object) -> CaseQuerySet:
        return self.filter(office__organisation_id=organisation_id)

    def open(self) -> CaseQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class NotaryCase(Entity):
    """One received version of a seller's cancellation application (收案)."""

    office = models.ForeignKey(
        "accounts.NotaryOffice", on_delete=models.PROTECT, related_name="cases", verbose_name=_("公证处")
    )
    case_number = models.CharField(_("受理编号"), max_length=64, unique=True)
    year = models.PositiveSmallIntegerField(_("受理年度"))
    number_series = models.CharField(
        _("编号序列"), max_length=16, choices=NumberSeries.choices, default=NumberSeries.REGISTER, blank=True
    )
    sequence = models.PositiveIntegerField(_("年度序号"))
    status = models.CharField(_("状态"), max_length=32, choices=CaseStatus.choices, default=CaseStatus.AWAITING_BUYERS)
    # Which application (on the filing side) and which version of it this case received.
    application_ref = models.UUIDField(_("注销申请标识"), db_index=True)
    application_version = models.PositiveIntegerField(_("申请版本"))
    source_message_id = models.UUIDField(_("来源报文"), unique=True)
    previous_case = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_case",
        verbose_name=_("上一版本案件"),
    )
    application_no = models.CharField(_("注销申请编号"), max_length=40)
    agreement_no = models.CharField(_("终止协议编号"), max_length=64, blank=True)
    seller = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="notary_cases", verbose_name=_("出卖人")
    )
    seller_name = models.CharField(_("出卖人名称"), max_length=200)
    seller_credit_code = models.CharField(_("统一社会信用代码"), max_length=18)
    seller_legal_representative = models.CharField(_("法定代表人"), max_length=100)
    seller_address = models.CharField(_("出卖人地址"), max_length=300, blank=True)
    seller_phone = models.CharField(_("出卖人电话"), max_length=40, blank=True)
    contract_no = models.CharField(_("合同编号"), max_length=40, db_index=True)
    filing_no = models.CharField(_("备案编号"), max_length=40)
    project_name = models.CharField(_("楼盘名称"), max_length=200)
    building = models.CharField(_("幢号"), max_length=50)
    room_no = models.CharField(_("房号"), max_length=20)
    location = models.CharField(_("房屋坐落"), max_length=300)
    floor_area = models.DecimalField(_("建筑面积（㎡）"), max_digits=8, decimal_places=2)
    usage = models.CharField(_("用途"), max_length=20)
    total_price = models.DecimalField(_("总价款（元）"), max_digits=14, decimal_places=2)
    signed_on = models.DateField(_("签约日期"))
    filed_on = models.DateField(_("备案日期"))
    reason_code = models.CharField(_("退房原因代码"), max_length=40)
    reason_label = models.CharField(_("退房原因"), max_length=100)
    reason_text = models.TextField(_("退房原因说明"), blank=True)
    # For a corrected re-push: what the seller says changed since the previous version.
    changes = models.JSONField(_("更正内容"), default=list, blank=True)
    pushed_by = models.CharField(_("推送人"), max_length=100)
    pushed_at = models.DateTimeField(_("推送时间"))
    received_at = models.DateTimeField(_("收案时间"))
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    closed_reason = models.CharField(_("结案原因"), max_length=300, blank=True)
    # The notary (公证员) the office's admin gave the review to; changed only by notary.services.review.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("承办公证员"),
    )
    assigned_at = models.DateTimeField(_("指派时间"), null=True, blank=True)
    # Set by the approval (notary.services.approval), together and once.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_cases",
        verbose_name=_("核准公证员"),
    )
    approved_at = models.DateTimeField(_("核准时间"), null=True, blank=True)
    certificate_no = models.CharField(_("公证书编号"), max_length=64, blank=True)
    certificate_year = models.PositiveSmallIntegerField(_("公证书年度"), null=True, blank=True)
    certificate_sequence = models.PositiveIntegerField(_("公证书年度序号"), null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("公证案件")
        verbose_name_plural = _("公证案件")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["office", "year", "number_series", "sequence"],
                name="case_sequence_unique_per_office_year_series",
            ),
            models.UniqueConstraint(
                fields=["application_ref", "application_version"], name="one_case_per_application_version"
            ),
            models.UniqueConstraint(
                fields=["office", "certificate_year", "certificate_sequence"],
                condition=models.Q(certificate_sequence__isnull=False),
                name="certificate_sequence_unique_per_office_year",
            ),
        ]

    def __str__(self) -> str:
        return self.case_number

    @property
    def subject_ref(self) -> str:
        """How documents issued for this case refer to it."""
        return f"case:{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_self_test(self) -> bool:
        """Filed by ``ecancel selftest``'s seller: an exercise of the deployment, not a notarial matter."""
        return self.seller_id == SELF_TEST_SELLER_ID

    @property
    def reason_display(self) -> str:
        return f"{self.reason_label}：{self.reason_text}" if self.reason_text else self.reason_label


class CaseArchive(Entity):
    """The certified case kept whole: one encrypted ZIP of its documents, received materials, buyers' evidence
    and sealed manifests, with a manifest of every file's SHA-256 (also kept here, to be read without the ZIP)."""

    case = models.OneToOneField(NotaryCase, on_delete=models.PROTECT, related_name="archive")
    stored_name = models.CharField(_("归档文件"), max_length=200)
    sha256 = models.CharField(_("归档文件 SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    manifest = models.JSONField(_("归档清单"))
    manifest_sha256 = models.CharField(_("清单 SHA-256"), max_length=64)
    # Set when the ZIP was deleted at the end of the notarial file's retention period (the listing stays).
    purged_at = models.DateTimeField(_("删除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("案件归档")
        verbose_name_plural = _("案件归档")

    def __str__(self) -> str:
        return f"{self.case} {self.sha256[:12]}"


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("休息日")
    WORKING_DAY = "working_day", _("调休上班日")


class OfficeCalendarDay(Entity):
    """A day an office's calendar differs from Monday to Friday: a holiday, or a weekend day worked (调休)."""

    office = models.ForeignKey(
        "accounts.NotaryOffice", on_delete=models.CASCADE, related_name="calendar_days", verbose_name=_("公证处")
    )
    day = models.DateField(_("日期"))
    kind = models.CharField(_("类型"), max_length=16, choices=CalendarDayKind.choices)
    note = models.CharField(_("说明"), max_length=100, blank=True, help_text=_("例如 春节、国庆节调休"))

    class Meta:
        verbose_name = _("公证处工作日历")
        verbose_name_plural = _("公证处工作日历")
        ordering = ["office", "day"]
        constraints = [models.UniqueConstraint(fields=["office", "day"], name="one_calendar_entry_per_office_day")]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.get_kind_display()} {self.note}".strip()


class PartyRole(models.TextChoices):
    BUYER = "buyer", _("买受人")
    AGENT = "agent", _("代理人")


class Verification(models.TextChoices):
    FACE = "face", _("人脸核验")
    DOCUMENT_VIDEO = "document_video", _("证件与视频核验")


class CaseParty(Entity):
    """A buyer (or their agent) as the seller listed them; each buyer submits on their phone."""

    case = models.ForeignKey(NotaryCase, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(_("身份"), max_length=16, choices=PartyRole.choices)
    position = models.PositiveSmallIntegerField(_("顺序"))
    name = models.CharField(_("姓名"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=32, choices=IdType.choices)
    id_number = EncryptedCharField(_("证件号码"), max_length=32)
    id_number_digest = LookupDigestField(source="id_number", kind="id_number")
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    region = models.CharField(_("国籍/地区"), max_length=50, blank=True)
    is_mainland = models.BooleanField(_("中国大陆公民"), default=True)
    share = models.CharField(_("份额"), max_length=40, blank=True)
    address = models.CharField(_("通讯地址"), max_length=300, blank=True)
    # For an agent: the positions of the buyers they act for.
    acts_for = models.JSONField(_("代理对象"), default=list, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    verification = models.CharField(_("核验方式"), max_length=20, choices=Verification.choices, blank=True)

    class Meta:
        verbose_name = _("案件当事人")
        verbose_name_plural = _("案件当事人")
        ordering = ["case", "role", "position"]
        constraints = [
            models.UniqueConstraint(fields=["case", "role", "position"], name="party_position_unique_in_case"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.name}"

    @property
    def progress(self) -> str:
        """Where the buyer is on the phone: 未核验 / 进行中 / 已提交 (the journey's status, if one began).

        Load the journey with the party (``select_related("journey")``) where this is shown for many."""
        journey = getattr(self, "journey", None)  # a missing reverse one-to-one raises AttributeError
        if self.submitted_at is not None:
            return JourneyStatus.SUBMITTED
        return journey.status if journey is not None else JourneyStatus.NOT_STARTED

    @property
    def progress_label(self) -> str:
        return str(JourneyStatus(self.progress).label)


class MaterialKind(models.TextChoices):
    APPLICATION_FORM = "application_form", _("商品房买卖合同注销备案申请表")
    TERMINATION_AGREEMENT = "termination_agreement", _("商品房买卖合同终止协议")
    POWER_OF_ATTORNEY = "power_of_attorney", _("授权委托书")
    BUSINESS_LICENCE = "business_licence", _("出卖人营业执照")
    LEGAL_REPRESENTATIVE_ID_FRONT = "legal_representative_id_front", _("法定代表人身份证件（正面）")
    LEGAL_REPRESENTATIVE_ID_BACK = "legal_representative_id_back", _("法定代表人身份证件（背面）")


# The seller's papers the certificate appends (附件二、附件三).
SELLER_PAPER_KINDS = (
    MaterialKind.BUSINESS_LICENCE,
    MaterialKind.LEGAL_REPRESENTATIVE_ID_FRONT,
    MaterialKind.LEGAL_REPRESENTATIVE_ID_BACK,
)


# Received files, in folders by the UTC day they were written (``core.storage.dated_name``), which the sweep lists.
MATERIALS_FOLDER = "notary/received"


def material_upload_to(instance: ReceivedMaterial, filename: str) -> str:
    """Server-chosen names: nothing the sender sent ends up in a path."""
    suffix = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(instance.content_type, "")
    return dated_name(MATERIALS_FOLDER, suffix, at=timezone.now())


class ReceivedMaterial(Entity):
    """A file the seller pushed, kept byte for byte with its SHA-256 and what its signature check found."""

    case = models.ForeignKey(NotaryCase, on_delete=models.CASCADE, related_name="materials")
    kind = models.CharField(_("材料类型"), max_length=32, choices=MaterialKind.choices)
    attachment_name = models.CharField(_("附件名"), max_length=100)
    content_type = models.CharField(_("文件类型"), max_length=50)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("大小（字节）"))
    content = models.FileField(_("文件"), upload_to=material_upload_to, storage=encrypted_files)
    signer = models.CharField(_("签章机构"), max_length=200, blank=True)
    signature_checked = models.BooleanField(_("已验签"), default=False)
    received_at = models.DateTimeField(_("接收时间"))

    class Meta:
        verbose_name = _("收到的材料")
        verbose_name_plural = _("收到的材料")
        ordering = ["case", "received_at", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["case", "attachment_name"], name="material_once_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.sha256[:12]}…)"


class IntakeRefusal(Entity):
    """A push the office did not open a case for, and why: the operator got the same reason."""

    office = models.ForeignKey("accounts.NotaryOffice", on_delete=models.PROTECT, related_name="intake_refusals")
    seller = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    application_ref = models.UUIDField(db_index=True)
    application_version = models.PositiveIntegerField()
    source_message_id = models.UUIDField(unique=True)
    contract_no = models.CharField(_("合同编号"), max_length=40, blank=True)
    code = models.CharField(max_length=40)
    reason = models.TextField(_("原因"))

    class Meta:
        verbose_name = _("拒绝收案记录")
        verbose_name_plural = _("拒绝收案记录")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.contract_no} v{self.application_version}: {self.code}"


class DeletionRecord(Entity):
    """One run of the retention purge: what was deleted (class, object, SHA-256 of each file, the cut-offs and
    counts) as canonical JSON, signed with the deployment's audit checkpoint key once every file is gone.

    The rows are marked purged and this record written in one transaction; the files are removed after it
    commits. A record whose ``completed_at`` is empty was interrupted: the next run removes the rest of its files
    and completes it before planning anything new.
    """

    started_at = models.DateTimeField(_("开始时间"))
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True, db_index=True)
    cutoffs = models.JSONField(_("截止时间"))
    items = models.JSONField(_("删除清单"))
    counts = models.JSONField(_("数量"))
    content = models.BinaryField(_("签名内容"), default=b"", blank=True)
    sha256 = models.CharField(_("内容 SHA-256"), max_length=64, blank=True)
    public_key = models.CharField(_("签名公钥"), max_length=100, blank=True)
    signature = models.CharField(_("签名"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("按保存期限删除记录")
        verbose_name_plural = _("按保存期限删除记录")
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.sha256[:12]}"
