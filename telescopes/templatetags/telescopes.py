from django import template

from telescopes.status_text import status_words

register = template.Library()


@register.filter
def device_status(status):
    """A device's status dict in words."""
    return status_words(status if isinstance(status, dict) else {})
