"""Server-side pages of a table: sorting by a named column, a page of rows and the total count,
with links that keep the page's filters. Every big table of the dashboard goes through it."""

from dataclasses import dataclass

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.http import QueryDict

PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100, 200)


@dataclass
class Table:
    page: Page
    sort: str
    query: QueryDict  # the request's parameters, without page (and sort, for the headers)

    @property
    def count(self) -> int:
        return self.page.paginator.count

    @property
    def rows(self):
        return self.page.object_list

    def url(self, **changes) -> str:
        """`?…` of the same table with some parameters changed (None removes one)."""
        query = self.query.copy()
        query["sort"] = self.sort
        for key, value in changes.items():
            query.pop(key, None)
            if value is not None:
                query[key] = value
        return "?" + query.urlencode()

    def sort_url(self, column: str) -> str:
        """The header link: sorts by `column`, descending when it is already the ascending sort."""
        target = f"-{column}" if self.sort == column else column
        return self.url(sort=target, page=None)

    def direction(self, column: str) -> str:
        return "asc" if self.sort == column else "desc" if self.sort == f"-{column}" else ""


def paginate(
    request, queryset: QuerySet, *, sorts: dict[str, str | tuple | None], default: str, per_page=PER_PAGE
) -> Table:
    """The requested page of `queryset`, ordered by `?sort=<column>` (or `-<column>`) among `sorts`
    (column -> field or fields, None: the queryset's own order; an unknown column falls back to
    `default`); `?page=` past the end gives the last page, and `?per_page=` one of PER_PAGE_CHOICES."""
    sort = request.GET.get("sort", default)
    column = sort.removeprefix("-")
    if column not in sorts:
        sort, column = default, default.removeprefix("-")
    if sorts[column] is None:
        sort, ordered = column, queryset
    else:
        fields = sorts[column] if isinstance(sorts[column], tuple) else (sorts[column],)
        descending = sort.startswith("-")
        ordered = queryset.order_by(*[(f"-{f}" if descending else f) for f in fields], "-pk" if descending else "pk")
    try:
        size = int(request.GET.get("per_page", per_page))
    except ValueError:
        size = per_page
    size = size if size in PER_PAGE_CHOICES else per_page
    paginator = Paginator(ordered, size)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    except PageNotAnInteger:
        page = paginator.page(1)
    query = request.GET.copy()
    query.pop("page", None)
    return Table(page=page, sort=sort, query=query)
