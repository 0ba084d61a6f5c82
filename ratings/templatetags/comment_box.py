"""`{% comment_limit %}`: the longest comment accepted, for the comment box (its `maxlength`,
the counter's `data-max`, the hint "Up to 5,000 characters."). The one source is
`ratings.answers.MAX_COMMENT_LENGTH`, which the forms and the services check."""

from django import template
from django.utils.formats import number_format

from ratings import answers

register = template.Library()


@register.simple_tag
def comment_limit(grouped: bool = False):
    """The limit as a number, or `grouped` as people read it ("5,000")."""
    limit = answers.MAX_COMMENT_LENGTH
    # L2: grouped as the active language groups numbers ("5,000", "5 000", "5.000").
    return number_format(limit, force_grouping=True) if grouped else limit
