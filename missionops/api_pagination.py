"""API pagination that refuses what it cannot honour: a `limit`, `offset` or `page_size` that is not
a whole number in its documented range is a 400 naming the parameter (DRF's own classes read
`offset=-5` as 0 and `limit=abc` as the default), and the schema states each range."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination

from .ids import decimal_id

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
# Past a million rows an OFFSET scan is too slow to be a page: narrow the list with its filters.
MAX_OFFSET = 1_000_000


def bounded_query_int(request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """Query parameter `name` as an integer in [minimum, maximum]; `default` when absent; else 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = decimal_id(raw)
    if value is None or not minimum <= value <= maximum:
        raise ValidationError({name: [f"a whole number from {minimum} to {maximum}"]})
    return value


def integer_parameter(name: str, *, minimum: int, maximum: int, description: str) -> dict:
    return {
        "name": name,
        "required": False,
        "in": "query",
        "description": description,
        "schema": {"type": "integer", "minimum": minimum, "maximum": maximum},
    }


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` (1-1000, default 100) rows from `?offset=` (0-1,000,000), with `count`."""

    default_limit = DEFAULT_PAGE_SIZE
    max_limit = MAX_PAGE_SIZE

    def get_limit(self, request):
        return bounded_query_int(
            request, self.limit_query_param, default=self.default_limit, minimum=1, maximum=self.max_limit
        )

    def get_offset(self, request):
        return bounded_query_int(request, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        return [
            integer_parameter(
                self.limit_query_param,
                minimum=1,
                maximum=self.max_limit,
                description=f"Rows per page, default {self.default_limit}.",
            ),
            integer_parameter(
                self.offset_query_param, minimum=0, maximum=MAX_OFFSET, description="Rows to skip before the page."
            ),
        ]


class NewestFirstCursorPagination(CursorPagination):
    """Newest first, `?page_size=` (1-1000, default 100) rows per page, `next`/`previous` cursors, no count."""

    ordering = ("-created_at", "-id")
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        return bounded_query_int(
            request, self.page_size_query_param, default=self.page_size, minimum=1, maximum=self.max_page_size
        )

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot read with 404; it is bad input, named like any other.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: "not a cursor this API gave out"}) from None

    def get_schema_operation_parameters(self, view):
        cursor = super().get_schema_operation_parameters(view)[0]
        cursor["description"] = "A `next` or `previous` cursor from an earlier page."
        return [
            cursor,
            integer_parameter(
                self.page_size_query_param,
                minimum=1,
                maximum=self.max_page_size,
                description=f"Rows per page, default {self.page_size}.",
            ),
        ]
