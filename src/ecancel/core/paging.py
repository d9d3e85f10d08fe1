"""Page sizes shared by every list page, and the form field that chooses one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20


def _rows_label(n: int) -> str:
    return gettext("%(n)s 条") % {"n": n}


# Lazy: a label formatted at import time would stay in whatever language was active then.
rows_label = lazy(_rows_label, str)


class PageSizeField(forms.TypedChoiceField):
    """Rows per page; an unbound form shows the size the list really uses."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("每页"))
        super().__init__(
            required=False,
            coerce=int,
            empty_value=None,
            initial=DEFAULT_PAGE_SIZE,
            choices=[(n, rows_label(n)) for n in PAGE_SIZES],
            **kwargs,
        )
