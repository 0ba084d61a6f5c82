"""`{% comment_limit %}`: the longest comment accepted, for the comment box (its `maxlength`,
the counter's `data-max`, the hint "Up to 5,000 characters."). The one source is
`ratings.answers.MAX_COMMENT_LENGTH`, which the forms and the services check."""

from django import template

from ratings import answers

register = template.Library()


@register.simple_tag
def comment_limit(grouped: bool = False):
    """The limit as a number, or `grouped` as people read it ("5,000")."""
    limit = answers.MAX_COMMENT_LENGTH
    return f"{limit:,}" if grouped else limit
