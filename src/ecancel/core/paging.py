"""Page sizes shared by every list page and API list, the form field that chooses one, and the API's paginator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django import forms
from django.db.models import QuerySet
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja.pagination import PageNumberPagination

Row = TypeVar("Row")

PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = max(PAGE_SIZES)


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


class PageNumbers(PageNumberPagination):
    """``?page=&page_size=`` for API lists; a page past the end is an empty page with the true count.

    The database is not asked for rows past the end: an offset beyond what SQLite or PostgreSQL can
    hold (``?page=10**30``) would otherwise fail inside the driver.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("page_size", DEFAULT_PAGE_SIZE)
        kwargs.setdefault("max_page_size", MAX_PAGE_SIZE)
        super().__init__(**kwargs)

    def paginate_queryset(
        self, queryset: QuerySet[Any], pagination: PageNumberPagination.Input, request: Any, **params: Any
    ) -> dict[str, Any]:
        page_size = self._get_page_size(pagination.page_size)
        count = self._items_count(queryset)
        offset = (pagination.page - 1) * page_size
        items = queryset[offset : offset + page_size] if offset < count else []
        return {self.items_attribute: items, "count": count}


class RowsOf(Generic[Row]):
    """A queryset an API list pages through, each page turned into plain rows by ``build``.

    The paginator counts the queryset and slices it as usual; only the page's slice is built, so a list can read its
    rows with ``values()`` and a query per page instead of making model instances.
    """

    def __init__(self, queryset: QuerySet[Any], build: Callable[[QuerySet[Any]], list[Row]]) -> None:
        self.queryset, self.build = queryset, build

    def all(self) -> RowsOf[Row]:
        return self

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, page: slice) -> list[Row]:
        return self.build(self.queryset[page])
