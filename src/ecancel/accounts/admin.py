"""Organisations, staff and API tokens in Django admin, for system admins only.

Lockouts, authenticators and tokens change only through ``accounts.services`` (admin actions call them).
"""

from __future__ import annotations

from typing import Any

import filetype
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.credit_code import validate_credit_code
from ecancel.accounts.models import ROLES_BY_KIND, ApiToken, DeveloperCompany, NotaryOffice, Organisation, Role, User
from ecancel.accounts.services import api_token_revoke, user_totp_reset, user_unlock
from ecancel.audit.admin import SystemAdminOnly, is_system_admin
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.core.models import RateLimitCounter
from ecancel.identity.id_numbers import validate_id_number

PICTURE_TYPES = frozenset({"image/jpeg", "image/png"})


class StoredFileInput(forms.ClearableFileInput):
    """The stored file's name without a link: stored files have no address (``core.storage.NoFileUrl``)."""

    template_name = "accounts/widgets/stored_file.html"

    def is_initial(self, value: Any) -> bool:
        return bool(value)


class DeveloperCompanyForm(forms.ModelForm):
    class Meta:
        model = DeveloperCompany
        fields = (
            "credit_code",
            "legal_representative",
            "legal_representative_id_type",
            "legal_representative_id_number",
            "legal_representative_id_front",
            "legal_representative_id_back",
            "business_licence",
        )
        widgets = {
            "legal_representative_id_front": StoredFileInput,
            "legal_representative_id_back": StoredFileInput,
            "business_licence": StoredFileInput,
        }

    def clean_credit_code(self) -> str:
        try:
            return validate_credit_code(self.cleaned_data["credit_code"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc

    def _picture(self, name: str) -> Any:
        """The notary office places these in the certificate as pictures: JPEG or PNG only."""
        upload = self.cleaned_data.get(name)
        if upload and hasattr(upload, "read") and not isinstance(upload, FieldFile):
            head = upload.read(2048)
            upload.seek(0)
            if filetype.guess_mime(head) not in PICTURE_TYPES:
                raise forms.ValidationError(_("请上传 JPEG 或 PNG 图片（公证书将其作为附件图片排版）"))
        return upload

    def clean_legal_representative_id_front(self) -> Any:
        return self._picture("legal_representative_id_front")

    def clean_legal_representative_id_back(self) -> Any:
        return self._picture("legal_representative_id_back")

    def clean_business_licence(self) -> Any:
        return self._picture("business_licence")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        id_type, number = data.get("legal_representative_id_type"), data.get("legal_representative_id_number")
        if id_type and number:
            try:
                data["legal_representative_id_number"] = validate_id_number(id_type, number)
            except DomainError as exc:
                self.add_error("legal_representative_id_number", exc.message)
        return data


class SystemAdminInline(admin.StackedInline):
    """Inlines check model permissions of their own; system admins have the role, not the permissions."""

    extra = 0
    max_num = 1
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_system_admin(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_system_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_system_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeveloperCompanyInline(SystemAdminInline):
    model = DeveloperCompany
    form = DeveloperCompanyForm


class NotaryOfficeInline(SystemAdminInline):
    model = NotaryOffice


@admin.register(Organisation)
class OrganisationAdmin(SystemAdminOnly):
    list_display = ("name", "kind", "short_name", "phone")
    list_filter = ("kind",)
    search_fields = ("name", "short_name")
    inlines = (DeveloperCompanyInline, NotaryOfficeInline)


def _check_role(organisation: Organisation | None, role: str) -> None:
    if role and role != Role.SYSTEM_ADMIN and organisation is None:
        raise forms.ValidationError({"organisation": _("该角色须属于一个机构 / This role needs an organisation")})
    if organisation is not None and role and role not in ROLES_BY_KIND.get(organisation.kind, frozenset()):
        raise forms.ValidationError(
            {"role": _("该角色不属于此类机构 / This role does not exist in this kind of organisation")}
        )


class StaffCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "display_name", "organisation", "role")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_role(data.get("organisation"), data.get("role", ""))
        return data


class StaffChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_role(data.get("organisation"), data.get("role", ""))
        return data


@admin.register(User)
class StaffAdmin(UserAdmin):
    form = StaffChangeForm
    add_form = StaffCreationForm
    list_display = ("username", "display_name", "organisation", "role", "is_active", "last_login")
    list_filter = ("role", "organisation__kind", "is_active")
    search_fields = ("username", "display_name", "organisation__name")
    list_select_related = ("organisation",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("人员"), {"fields": ("display_name", "email", "organisation", "role")}),
        (_("状态"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("时间"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "display_name", "organisation", "role", "password1", "password2"),
            },
        ),
    )
    actions = ("unlock", "reset_authenticator")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_system_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_system_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_system_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_system_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("解除登录锁定"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ctx = RequestContext.of(request, via="admin")
        for user in queryset:
            user_unlock(user=user, actor=_admin_actor(request), ctx=ctx)
        messages.success(request, _("已解除所选人员的锁定。"))

    @admin.action(description=_("重置身份验证器（下次登录重新绑定）"))
    def reset_authenticator(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ctx = RequestContext.of(request, via="admin")
        for user in queryset:
            user_totp_reset(user=user, actor=_admin_actor(request), ctx=ctx)
        messages.success(request, _("已重置所选人员的身份验证器。"))


@admin.register(ApiToken)
class ApiTokenAdmin(SystemAdminOnly):
    """Tokens are issued with ``ecancel api_token create`` (the raw value is shown once); here they are read."""

    list_display = ("prefix", "organisation", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("organisation__kind",)
    search_fields = ("prefix", "name", "organisation__name")
    list_select_related = ("organisation",)
    readonly_fields = (
        "organisation",
        "name",
        "prefix",
        "token_hash",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        ctx = RequestContext.of(request, via="admin")
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, actor=_admin_actor(request), ctx=ctx)
        messages.success(request, _("已吊销所选令牌。"))


def _admin_actor(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


@admin.register(RateLimitCounter)
class RateLimitCounterAdmin(SystemAdminOnly):
    """The rate limiter's database store; deleting a row lifts that wait early (say, a shared NAT address)."""

    list_display = ["key", "count", "window_start", "expires_at"]
    search_fields = ["key"]
    fields = readonly_fields = ("key", "count", "window_start", "expires_at")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj)
