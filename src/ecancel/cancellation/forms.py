"""Forms of the operator's application pages: they parse input; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ecancel.cancellation.models import Application, ReturnReason
from ecancel.cancellation.selectors import REVOKING_FILTER, application_agent, notary_office_list
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.paging import PageSizeField
from ecancel.identity.id_numbers import IdType, mask_id_number


class ApplicationSearchForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("申请编号、合同编号、申请人或房号"), "type": "search"}),
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部状态")), *ApplicationStatus.choices, (REVOKING_FILTER, _("撤销中"))],
    )
    per_page = PageSizeField()


class ReasonForm(forms.Form):
    reason = forms.ChoiceField(label=_("退房原因"), choices=ReturnReason.choices, widget=forms.RadioSelect)
    detail = forms.CharField(
        label=_("具体原因"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("选择「其他」时必填"),
    )


class RefundForm(forms.Form):
    refund_amount = forms.DecimalField(label=_("退还款项（元）"), max_digits=14, decimal_places=2, min_value=0)
    refund_method = forms.CharField(label=_("退款方式"), max_length=200)
    refund_days = forms.IntegerField(label=_("退款期限（协议签订后天数）"), min_value=1, max_value=365)


class ApplicantForm(forms.Form):
    """One applicant row. A blank ID number keeps the one on the contract; a typed one must match it."""

    name = forms.CharField(label=_("姓名"), max_length=100)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices)
    id_number = forms.CharField(label=_("证件号码"), max_length=32, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=20)
    address = forms.CharField(label=_("通讯地址"), max_length=300, required=False)

    saved_id_number = ""

    def clean_id_number(self) -> str:
        typed = str(self.cleaned_data["id_number"]).strip()
        return typed or self.saved_id_number


ApplicantFormSet = forms.formset_factory(ApplicantForm, extra=0, max_num=20, validate_max=True)


def applicant_formset(application: Application, data: Any = None) -> Any:
    applicants = list(application.applicants.all())
    initial = [
        {"name": a.name, "id_type": a.id_type, "id_number": "", "phone": a.phone, "address": a.address}
        for a in applicants
    ]
    formset = ApplicantFormSet(data=data, initial=initial, prefix="applicants")
    for form, applicant in zip(formset.forms, applicants, strict=False):
        form.saved_id_number = applicant.id_number
        form.fields["id_number"].widget.attrs["placeholder"] = mask_id_number(applicant.id_number)
        form.fields["id_number"].help_text = _("留空则沿用合同登记的号码；填写则须与合同一致")
    return formset


class AgentForm(forms.Form):
    """The agent. The saved ID number is never sent back to the page: blank keeps it, a typed one replaces it."""

    name = forms.CharField(label=_("代理人姓名"), max_length=100)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices)
    id_number = forms.CharField(label=_("证件号码"), max_length=32)
    phone = forms.CharField(label=_("联系电话"), max_length=20)
    acts_for = forms.MultipleChoiceField(label=_("被代理人"), widget=forms.CheckboxSelectMultiple)
    power_of_attorney = forms.FileField(
        label=_("授权委托书"),
        required=False,
        help_text=_("PDF、JPEG或PNG，不超过10MB；已上传过的可不再上传"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )

    def __init__(self, *args: Any, application: Application, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        acts_for = self.fields["acts_for"]
        assert isinstance(acts_for, forms.MultipleChoiceField)
        acts_for.choices = [(str(a.pk), a.name) for a in application.applicants.all()]
        agent = application_agent(application)
        self.saved_id_number = agent.id_number if agent is not None else ""
        if self.saved_id_number:
            self.fields["id_number"].required = False
            self.fields["id_number"].widget.attrs["placeholder"] = mask_id_number(self.saved_id_number)

    def clean_id_number(self) -> str:
        typed = str(self.cleaned_data["id_number"]).strip()
        return typed or self.saved_id_number

    def is_given(self) -> bool:
        """An agent is on file or is being typed in: a draft without one leaves the section blank."""
        if self.saved_id_number:
            return True
        return any(
            str(self.data.get(self.add_prefix(name), "")).strip() for name in ("name", "id_number", "phone")
        ) or (self.add_prefix("power_of_attorney") in self.files)


class NotaryOfficeForm(forms.Form):
    notary_office = forms.ModelChoiceField(
        label=_("公证处"), queryset=notary_office_list(), empty_label=_("请选择公证处")
    )


class VersionForm(forms.Form):
    """What every move sends: the version the operator was looking at."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class PushForm(VersionForm):
    notary_office = forms.ModelChoiceField(
        label=_("公证处"), queryset=notary_office_list(), empty_label=_("请选择公证处")
    )


class RevokeForm(VersionForm):
    reason = forms.CharField(
        label=_("撤销原因"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("例如：申请人联系电话有误")}),
    )


class CitySearchForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("申请编号、合同编号、开发企业或申请人"), "type": "search"}),
    )
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *ApplicationStatus.choices]
    )
    per_page = PageSizeField()
