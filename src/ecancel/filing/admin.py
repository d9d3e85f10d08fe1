"""The filing registry in Django admin, for system admins.

Statuses are never editable here: they move only through ``filing.services``. Every save is
audited like a service call, and nothing in the registry is deleted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import ForeignKey, Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import Organisation, OrganisationKind, User
from ecancel.audit.admin import SystemAdminOnly
from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.filing.models import Building, BuyerParty, FiledContract, Project, Unit
from ecancel.filing.services import buyer_update_contact, validate_phone
from ecancel.filing.transitions import ContractStatus, UnitStatus
from ecancel.identity.id_numbers import mask_id_number


def _actor(request: HttpRequest) -> User | None:
    return request.user if request.user.is_authenticated else None


def _audit_admin_save(request: HttpRequest, obj: Model, *, created: bool, changed: list[str]) -> None:
    label = obj._meta.model_name
    record_event(
        f"filing.{label}.{'created' if created else 'changed'}",
        actor=_actor(request),
        obj=obj,
        data={"changed": changed, "via": "admin"},
        ctx=RequestContext.of(request, via="admin"),
    )


class RegistryAdmin(SystemAdminOnly):
    """Saves are audited; projects may only belong to developer companies."""

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm[Any], change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_admin_save(request, obj, created=not change, changed=list(form.changed_data))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        formset.save()
        for instance in formset.new_objects:
            _audit_admin_save(request, instance, created=True, changed=[])
        for instance, changed in formset.changed_objects:
            _audit_admin_save(request, instance, created=False, changed=list(changed))

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        if db_field.name == "developer":
            kwargs["queryset"] = Organisation.objects.filter(kind=OrganisationKind.DEVELOPER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class BuildingInline(admin.TabularInline):
    model = Building
    fields = ["name"]
    extra = 0
    show_change_link = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(RegistryAdmin):
    list_display = ["name", "presale_permit_no", "developer", "district"]
    list_filter = ["developer", "district"]
    search_fields = ["name", "presale_permit_no", "address"]
    list_select_related = ["developer"]
    inlines = [BuildingInline]


@admin.register(Unit)
class UnitAdmin(RegistryAdmin):
    list_display = ["__str__", "floor", "floor_area", "usage", "status"]
    list_filter = ["status", "building__project"]
    search_fields = ["room_no", "building__name", "building__project__name"]
    list_select_related = ["building__project"]
    readonly_fields = ["status"]

    def has_change_permission(self, request: HttpRequest, obj: Unit | None = None) -> bool:
        """A unit under a contract keeps the details the contract was signed on."""
        if obj is not None and obj.status != UnitStatus.AVAILABLE:
            return False
        return super().has_change_permission(request, obj)


class BuyerContactForm(forms.ModelForm):
    class Meta:
        model = BuyerParty
        fields = ["phone", "address"]

    def clean_phone(self) -> str:
        try:
            return validate_phone(self.cleaned_data.get("phone") or "")
        except DomainError as problem:
            raise forms.ValidationError(problem.message) from problem


class BuyerInline(admin.TabularInline):
    """Only a buyer's contact details may be corrected, and only while the contract is not locked."""

    model = BuyerParty
    form = BuyerContactForm
    fields = ["position", "name", "id_type", "masked_id_number", "region", "share", "phone", "address"]
    readonly_fields = ["position", "name", "id_type", "masked_id_number", "region", "share"]
    extra = 0
    can_delete = False

    @admin.display(description=_("证件号码"))
    def masked_id_number(self, buyer: BuyerParty) -> str:
        return mask_id_number(buyer.id_number)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FiledContract | None = None) -> bool:
        if obj is not None and obj.status != ContractStatus.FILED:
            return False
        return super().has_change_permission(request, obj)


CONTRACT_FIELDS = (
    "contract_no",
    "filing_no",
    "seller",
    "unit",
    "total_price",
    "payment_method",
    "signed_on",
    "filed_on",
    "status",
    "cancelled_at",
    "cancellation_ref",
)


@admin.register(FiledContract)
class FiledContractAdmin(SystemAdminOnly):
    """Contracts enter through ``contract_file`` and change status through the cancellation services."""

    list_display = ["contract_no", "filing_no", "seller", "unit", "total_price", "filed_on", "status"]
    list_filter = ["status", "seller"]
    search_fields = ["contract_no", "filing_no", "buyers__name", "unit__room_no", "unit__building__project__name"]
    list_select_related = ["seller", "unit__building__project"]
    date_hierarchy = "filed_on"
    fields = CONTRACT_FIELDS
    readonly_fields = CONTRACT_FIELDS
    inlines = [BuyerInline]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FiledContract | None = None) -> bool:
        """A contract being cancelled, or cancelled, is locked: the page becomes view-only."""
        if obj is not None and obj.status != ContractStatus.FILED:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing on the contract itself is editable here; its buyers' contacts are saved by the service."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        ctx = RequestContext.of(request, via="admin")
        changed = [buyer_form for buyer_form in formset.forms if buyer_form.has_changed()]
        for buyer_form in changed:
            buyer_update_contact(
                buyer_id=buyer_form.instance.pk,
                phone=buyer_form.cleaned_data["phone"],
                address=buyer_form.cleaned_data.get("address", ""),
                actor=_actor(request),
                ctx=ctx,
            )
        # What formset.save() would have left behind, for the admin's change message.
        formset.new_objects, formset.deleted_objects = [], []
        formset.changed_objects = [(buyer_form.instance, buyer_form.changed_data) for buyer_form in changed]
