"""The operator's cancellation application (商品房买卖合同注销-电子公证) and its parts.

An application belongs to one filed contract of the seller's company. Its applicants are exactly
the contract's buyers; an optional agent acts for some of them. Every push to a notary office is
kept as its own row with the data sent, what changed since the previous push and the case the
notary office opened for it, so an old QR link can be told apart from the current one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecancel.cancellation.transitions import CLOSED, ApplicationStatus, RevokeStatus
from ecancel.core.encrypted import EncryptedCharField, LookupDigestField
from ecancel.core.models import Entity
from ecancel.core.storage import dated_name, encrypted_files
from ecancel.identity.id_numbers import IdType

if TYPE_CHECKING:
    from ecancel.accounts.models import Organisation


class ReturnReason(models.TextChoices):
    """Common reasons a home is returned (退房原因); 其他 needs the operator's own words."""

    BUYER_PERSONAL = "buyer_personal", _("买受人个人原因")
    LOAN_REFUSED = "loan_refused", _("贷款审批未通过")
    MUTUAL_AGREEMENT = "mutual_agreement", _("双方协商一致解除")
    QUALITY = "quality", _("房屋质量问题")
    DEVELOPER = "developer", _("开发企业原因")
    OTHER = "other", _("其他")


DEFAULT_REFUND_METHOD = "银行转账退还至买受人原付款账户"


class ApplicationQuerySet(models.QuerySet["Application"]):
    def for_seller(self, organisation: Organisation) -> ApplicationQuerySet:
        return self.filter(seller=organisation)

    def open(self) -> ApplicationQuerySet:
        return self.exclude(status__in=CLOSED)


class ApplicationNumberCounter(models.Model):
    """The last application number given out in a year; allocated under a row lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("申请编号计数器")
        verbose_name_plural = _("申请编号计数器")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Application(Entity):
    number = models.CharField(_("申请编号"), max_length=40, unique=True)
    contract = models.ForeignKey(
        "filing.FiledContract",
        on_delete=models.PROTECT,
        related_name="cancellation_applications",
        verbose_name=_("合同"),
    )
    # The contract's seller, kept on the row so every read can be scoped to the operator's company cheaply.
    seller = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="cancellation_applications",
        verbose_name=_("开发企业"),
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    reason = models.CharField(_("退房原因"), max_length=32, choices=ReturnReason.choices, blank=True)
    reason_detail = models.CharField(_("退房原因说明"), max_length=500, blank=True)
    # Terms of the termination agreement (终止协议): what the seller pays back, how and within how many days.
    refund_amount = models.DecimalField(_("退还款项（元）"), max_digits=14, decimal_places=2)
    refund_method = models.CharField(_("退款方式"), max_length=200, default=DEFAULT_REFUND_METHOD)
    refund_days = models.PositiveSmallIntegerField(_("退款期限（天）"), default=30)
    notary_office = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="received_cancellation_applications",
        null=True,
        blank=True,
        verbose_name=_("公证处"),
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("创建人")
    )
    # The notary office's last word that the operator must read: why it refused (不予办理) or could not accept.
    notary_message_code = models.CharField(_("公证处意见代码"), max_length=40, blank=True)
    notary_message = models.TextField(_("公证处意见"), blank=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("注销申请")
        verbose_name_plural = _("注销申请")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=~models.Q(status__in=sorted(s.value for s in CLOSED)),
                name="one_open_application_per_contract",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract} · {self.get_status_display()}"

    @property
    def is_editable(self) -> bool:
        from ecancel.cancellation.transitions import EDITABLE

        return self.status in EDITABLE

    @property
    def revoke_pending(self) -> RevokeRequest | None:
        """The revoke request waiting for the notary office, if any (read from the prefetched rows in lists)."""
        return next((r for r in self.revoke_requests.all() if r.status == RevokeStatus.PENDING), None)

    @property
    def refusal_reason_label(self) -> str:
        """The notary's reason from the shared list (不予办理 after review), if the refusal named one."""
        from ecancel.exchange.messages import RefusalReason

        code = self.notary_message_code
        return str(RefusalReason(code).label) if code in RefusalReason.values else ""

    @property
    def reason_label(self) -> str:
        if self.reason == ReturnReason.OTHER:
            return self.reason_detail
        label = str(ReturnReason(self.reason).label) if self.reason else ""
        return f"{label}（{self.reason_detail}）" if label and self.reason_detail else label


class Applicant(Entity):
    """A buyer of the contract applying to cancel it; identity copied from the contract, contacts editable."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="applicants")
    buyer = models.ForeignKey("filing.BuyerParty", on_delete=models.PROTECT, related_name="+", verbose_name=_("买受人"))
    position = models.PositiveSmallIntegerField(_("顺序"), default=1)
    name = models.CharField(_("姓名"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=32, choices=IdType.choices)
    id_number = EncryptedCharField(_("证件号码"), max_length=32)
    id_number_digest = LookupDigestField(source="id_number", kind="id_number")
    region = models.CharField(_("国籍/地区"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    address = models.CharField(_("通讯地址"), max_length=300, blank=True)
    # Set from the notary side's buyer.started: the buyer began on the phone (进行中).
    started_at = models.DateTimeField(_("买受人开始认证时间"), null=True, blank=True)
    # Set from the notary side's buyer.submitted: once any applicant has submitted, a revoke is refused at once.
    submitted_at = models.DateTimeField(_("买受人提交时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("申请人")
        verbose_name_plural = _("申请人")
        ordering = ["application", "position"]
        constraints = [
            models.UniqueConstraint(fields=["application", "buyer"], name="applicant_once_per_buyer"),
        ]

    def __str__(self) -> str:
        return self.name


def power_of_attorney_path(instance: Agent, filename: str) -> str:
    """Server-chosen name: the uploader's file name never reaches the disk."""
    return f"cancellation/poa/{instance.pk}/{filename}"


class Agent(Entity):
    """An agent (代理人) acting for one or more applicants under a power of attorney."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="agent")
    name = models.CharField(_("姓名"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=32, choices=IdType.choices)
    id_number = EncryptedCharField(_("证件号码"), max_length=32)
    id_number_digest = LookupDigestField(source="id_number", kind="id_number")
    phone = models.CharField(_("联系电话"), max_length=20)
    acts_for = models.ManyToManyField(Applicant, related_name="agents", verbose_name=_("被代理人"))
    power_of_attorney = models.FileField(
        _("授权委托书"), upload_to=power_of_attorney_path, blank=True, storage=encrypted_files
    )
    power_of_attorney_type = models.CharField(_("委托书文件类型"), max_length=40, blank=True)
    power_of_attorney_sha256 = models.CharField(_("委托书SHA-256"), max_length=64, blank=True)
    power_of_attorney_size = models.PositiveIntegerField(_("委托书大小"), default=0)

    class Meta:
        verbose_name = _("代理人")
        verbose_name_plural = _("代理人")

    def __str__(self) -> str:
        return self.name


class PushOutcome(models.TextChoices):
    PENDING = "pending", _("待公证处受理")
    ACCEPTED = "accepted", _("已受理")
    REVOKED = "revoked", _("已撤销")
    REFUSED = "refused", _("不予办理")


class ApplicationPush(Entity):
    """One version of the application as pushed to a notary office, and what the office answered."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="pushes")
    version = models.PositiveIntegerField(_("版本"))
    notary_office = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("公证处")
    )
    pushed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    message_type = models.CharField(_("消息类型"), max_length=40)
    snapshot = models.JSONField(_("推送内容"), default=dict)
    changes = models.JSONField(_("与上一版本相比的变更"), default=list)
    form_document = models.ForeignKey(
        "documents.StoredDocument", on_delete=models.PROTECT, related_name="+", verbose_name=_("注销备案申请表")
    )
    agreement_document = models.ForeignKey(
        "documents.StoredDocument", on_delete=models.PROTECT, related_name="+", verbose_name=_("终止协议")
    )
    outcome = models.CharField(_("结果"), max_length=20, choices=PushOutcome.choices, default=PushOutcome.PENDING)
    case_id = models.CharField(_("公证案件标识"), max_length=64, blank=True)
    case_number = models.CharField(_("受理号"), max_length=64, blank=True)
    handoff_url = models.URLField(_("二维码链接"), max_length=500, blank=True)
    handoff_expires_at = models.DateTimeField(_("二维码有效期至"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("推送记录")
        verbose_name_plural = _("推送记录")
        ordering = ["application", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["application", "version"], name="one_push_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} v{self.version}"


class RevokeRequest(Entity):
    """One 撤销申请 of a pushed version: asked by the operator, answered by the notary office by message.

    It is a process of its own beside the application, like a push: the application keeps its status while the
    request waits, and at most one request of an application waits at a time.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="revoke_requests")
    push = models.ForeignKey(
        ApplicationPush, on_delete=models.PROTECT, related_name="revoke_requests", verbose_name=_("推送记录")
    )
    status = models.CharField(_("状态"), max_length=20, choices=RevokeStatus.choices, default=RevokeStatus.PENDING)
    reason = models.CharField(_("撤销原因"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True, verbose_name=_("申请人")
    )
    requested_at = models.DateTimeField(_("申请时间"))
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    # The notary office's words when it keeps the case (e.g. a buyer had already submitted).
    refusal_reason = models.TextField(_("未同意撤销的原因"), blank=True)

    class Meta:
        verbose_name = _("撤销申请")
        verbose_name_plural = _("撤销申请")
        ordering = ["application", "-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(status=RevokeStatus.PENDING),
                name="one_pending_revoke_per_application",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id} v{self.push.version} · {self.get_status_display()}"


# Received certificates, in folders by the UTC day they were written, which the sweep of rolled-back receipts lists;
# older ones stay under certificates/<application>/.
CERTIFICATES_FOLDER = "certificates"


def certificate_path(instance: ReceivedCertificate, filename: str) -> str:
    return dated_name(CERTIFICATES_FOLDER, ".pdf", at=timezone.now())


class ReceivedCertificate(Entity):
    """The notarial certificate (公证书) the notary office sent back, kept as received: its signature was checked
    against the office before the filing was cancelled on its strength. One signed PDF: page 1 is the cover
    (首页封面), the text (公证书内容) and the annexes follow; it cannot be split without breaking the signature."""

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="certificate")
    push = models.OneToOneField(ApplicationPush, on_delete=models.PROTECT, related_name="certificate")
    certificate_no = models.CharField(_("公证书编号"), max_length=60)
    notary_name = models.CharField(_("公证员"), max_length=100)
    issued_at = models.DateTimeField(_("出证时间"))
    verification_code = models.CharField(_("验证码"), max_length=64)
    verification_url = models.URLField(_("验证网址"), max_length=500, blank=True)
    signed_by = models.CharField(_("签章机构"), max_length=200)
    content = models.FileField(_("文件"), upload_to=certificate_path, max_length=200, storage=encrypted_files)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    message_id = models.UUIDField(_("消息编号"))

    class Meta:
        verbose_name = _("公证书")
        verbose_name_plural = _("公证书")

    def __str__(self) -> str:
        return self.certificate_no
