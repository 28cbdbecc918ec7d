from django import template

from penalties.models import NationalFramework

register = template.Library()


@register.filter
def pounds(pence: int | None) -> str:
    """Pence as the framework writes money (£80, £62.50)."""
    return NationalFramework.pounds(pence)
