from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def sort_header(table, column, label):
    """A `<th>` whose link sorts the table by `column` (again: the other way), with aria-sort."""
    direction = table.direction(column)
    aria = {"asc": "ascending", "desc": "descending"}.get(direction, "none")
    if direction:
        return format_html(
            '<th scope="col" aria-sort="{}"><a class="sort" data-dir="{}" href="{}">{}</a></th>',
            aria,
            direction,
            table.sort_url(column),
            label,
        )
    return format_html('<th scope="col"><a class="sort" href="{}">{}</a></th>', table.sort_url(column), label)
