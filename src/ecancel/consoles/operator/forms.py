from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ecancel.core.paging import PageSizeField
from ecancel.filing.transitions import ContractStatus


class ContractSearchForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("合同编号、买受人姓名、房号或楼盘"), "type": "search"}),
    )
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *ContractStatus.choices])
    per_page = PageSizeField()
