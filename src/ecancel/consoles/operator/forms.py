from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ecancel.filing.transitions import ContractStatus

PAGE_SIZES = (10, 20, 50, 100)


def _rows_label(n: int) -> str:
    return gettext("%(n)s 条") % {"n": n}


# Lazy: a label formatted at import time would stay in whatever language was active then.
rows_label = lazy(_rows_label, str)


class ContractSearchForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("合同编号、买受人姓名、房号或楼盘"), "type": "search"}),
    )
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *ContractStatus.choices])
    per_page = forms.TypedChoiceField(
        label=_("每页"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(n, rows_label(n)) for n in PAGE_SIZES],
    )
