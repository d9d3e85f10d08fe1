from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ecancel.core.paging import PageSizeField
from ecancel.notary.transitions import CaseStatus


class CaseSearchForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("受理编号或合同编号"), "type": "search"}),
    )
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *CaseStatus.choices])
    per_page = PageSizeField()
