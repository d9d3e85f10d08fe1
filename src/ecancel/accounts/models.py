"""Organisations, staff users and their roles, and per-organisation API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from ecancel.core.encrypted import EncryptedCharField, LookupDigestField
from ecancel.core.models import Entity
from ecancel.core.storage import encrypted_files


class OrganisationKind(models.TextChoices):
    DEVELOPER = "developer", _("开发企业")
    NOTARY_OFFICE = "notary_office", _("公证处")
    FILING_AUTHORITY = "filing_authority", _("住房和城乡建设局")


class Role(models.TextChoices):
    OPERATOR = "operator", _("经办人")
    OPERATOR_ADMIN = "operator_admin", _("企业管理员")
    NOTARY_CLERK = "notary_clerk", _("公证处受理员")
    NOTARY = "notary", _("公证员")
    NOTARY_ADMIN = "notary_admin", _("公证处管理员")
    FILING_OFFICER = "filing_officer", _("备案管理员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")


ROLES_BY_KIND: dict[str, frozenset[str]] = {
    OrganisationKind.DEVELOPER: frozenset({Role.OPERATOR, Role.OPERATOR_ADMIN}),
    OrganisationKind.NOTARY_OFFICE: frozenset({Role.NOTARY_CLERK, Role.NOTARY, Role.NOTARY_ADMIN}),
    OrganisationKind.FILING_AUTHORITY: frozenset({Role.FILING_OFFICER, Role.SYSTEM_ADMIN}),
}


# The seller ``ecancel selftest`` files its cases as, with this id in every deployment. Its cases are exercises: the
# notary side numbers their certificates apart from the office's register and marks them as having no legal effect.
SELF_TEST_SELLER_ID = uuid.UUID("3fd53f24-834f-5a45-8ec7-56e373112a62")


class Organisation(Entity):
    kind = models.CharField(_("类型"), max_length=32, choices=OrganisationKind.choices)
    name = models.CharField(_("名称"), max_length=200, unique=True)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class DeveloperCompany(Entity):
    """The seller: what the application form, the agreement and the certificate need of it."""

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="developer")
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=100)
    legal_representative_id_type = models.CharField(_("法定代表人证件类型"), max_length=32)
    legal_representative_id_number = EncryptedCharField(_("法定代表人证件号码"), max_length=32)
    legal_representative_id_number_digest = LookupDigestField(source="legal_representative_id_number", kind="id_number")
    legal_representative_id_front = models.FileField(
        _("法定代表人身份证人像面"), upload_to="org/", blank=True, storage=encrypted_files
    )
    legal_representative_id_back = models.FileField(
        _("法定代表人身份证国徽面"), upload_to="org/", blank=True, storage=encrypted_files
    )
    business_licence = models.FileField(_("营业执照"), upload_to="org/", blank=True, storage=encrypted_files)

    class Meta:
        verbose_name = _("开发企业")
        verbose_name_plural = _("开发企业")

    def __str__(self) -> str:
        return self.organisation.name


class NotaryOffice(Entity):
    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="notary_office")
    code = models.CharField(_("公证处代码"), max_length=32, unique=True)
    certificate_prefix = models.CharField(_("公证书字号"), max_length=32, help_text=_("例如 粤中中证字"))
    case_prefix = models.CharField(_("受理字号"), max_length=32, help_text=_("例如 中证受字"))
    handoff_days = models.PositiveSmallIntegerField(_("二维码有效天数"), default=7)

    class Meta:
        verbose_name = _("公证处")
        verbose_name_plural = _("公证处")

    def __str__(self) -> str:
        return self.organisation.name


class StaffManager(UserManager["User"]):
    pass


class User(AbstractUser):
    """A staff user of exactly one organisation. Buyers are not users: they hold a case session."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="staff", null=True, blank=True
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, blank=True)
    display_name = models.CharField(_("姓名"), max_length=100, blank=True)

    objects: ClassVar[StaffManager] = StaffManager()

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return self.display_name or self.username

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles


# What every API token begins with: a value without it is no token, and is refused before any look-up.
TOKEN_PREFIX = "ect_"  # noqa: S105 (a prefix, not a secret)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(Entity):
    """A system integration's credential; only its hash is stored."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.organisation} · {self.name} ({self.prefix}…)"

    @staticmethod
    def new_raw() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)
