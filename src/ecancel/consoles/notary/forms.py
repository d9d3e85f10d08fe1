from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ecancel.notary.transitions import CaseStatus

PAGE_SIZES = (10, 20, 50, 100)


class CaseSearchForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("受理编号或合同编号"), "type": "search"}),
    )
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *CaseStatus.choices])
    per_page = forms.TypedChoiceField(
        label=_("每页"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(n, _("%(n)s 条") % {"n": n}) for n in PAGE_SIZES],
    )
