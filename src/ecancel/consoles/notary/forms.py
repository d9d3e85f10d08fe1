from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ecancel.core.paging import PageSizeField
from ecancel.notary.models import CalendarDayKind
from ecancel.notary.review import QUEUE_VIEW_LABELS
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


class ReviewQueueForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("受理编号、合同编号或买受人姓名"), "type": "search"}),
    )
    show = forms.ChoiceField(label=_("范围"), required=False, choices=list(QUEUE_VIEW_LABELS.items()))
    per_page = PageSizeField()


class AssignForm(forms.Form):
    """Whom to give the case to; empty takes it back. The service decides whether that person may take it."""

    notary = forms.UUIDField(
        label=_("承办公证员"), required=False, error_messages={"invalid": _("请选择本公证处的公证员")}
    )


class CalendarDayForm(forms.Form):
    day = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    kind = forms.ChoiceField(label=_("类型"), choices=CalendarDayKind.choices)
    note = forms.CharField(label=_("说明"), required=False, max_length=100)
