from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ecancel.core.paging import PageSizeField
from ecancel.exchange.messages import RefusalReason
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


class RefuseForm(forms.Form):
    """不予办理: a reason from the list both sides share, and the notary's own words (required for 其他原因)."""

    reason_code = forms.ChoiceField(label=_("不予办理的理由"), choices=RefusalReason.choices)
    reason_text = forms.CharField(
        label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
    # The decision closes the case and kills its QR: it is asked for twice, here and by the button.
    confirmed = forms.BooleanField(
        label=_("我已核对全部材料，决定不予办理"), error_messages={"required": _("请勾选确认后再提交")}
    )


class ApproveForm(forms.Form):
    """核准出证: the certificate is numbered and signed at once and cancels a filing; asked for twice."""

    confirmed = forms.BooleanField(
        label=_("我已核对全部材料，决定核准并出具公证书"), error_messages={"required": _("请勾选确认后再提交")}
    )


class CalendarDayForm(forms.Form):
    day = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    kind = forms.ChoiceField(label=_("类型"), choices=CalendarDayKind.choices)
    note = forms.CharField(label=_("说明"), required=False, max_length=100)
