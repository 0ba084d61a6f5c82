"""`{% face value %}`: a reaction drawn as an inline SVG face, the same on every machine (an
emoji is drawn by each system's own font, or not at all). Decorative: the button beside it
carries the reaction's name. `{% reaction_buttons selected autosubmit %}`: the five reactions'
buttons.

H6: both are the same for every page in a language, so each is built once per process (per
face and size; per language, pressed reaction and script mark), not once per page."""

from functools import lru_cache

from django import template
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from ratings.scale import BY_VALUE, REACTIONS

register = template.Library()

# value: (fill, outline, mouth). The mouth is a quadratic curve from (10, 22) to (22, 22)
# through the control point's height: above the ends frowns, below smiles.
_FACES = {
    1: ("#f2555a", "#b4232a", "M10 23 Q16 15 22 23"),
    2: ("#f98c4b", "#b9501a", "M10.5 22.5 Q16 18.5 21.5 22.5"),
    3: ("#f7c948", "#a27c0c", "M10.5 21 L21.5 21"),
    4: ("#8fd16b", "#4a8a2a", "M10 19.5 Q16 25.5 22 19.5"),
    5: ("#3fbf7f", "#1f7a4c", "M9 18.5 Q16 29 23 18.5 Z"),
}
_BROWS = (
    '<path d="M8 9.5 L13 11.5 M24 9.5 L19 11.5" stroke="#1f2328" stroke-width="1.6" '
    'stroke-linecap="round"/>'
)


@register.simple_tag
def face(value, size=32):
    return _face(int(value), int(size))


@lru_cache(maxsize=64)
def _face(value: int, size: int):
    fill, outline, mouth = _FACES.get(int(value), _FACES[3])
    mouth_fill = "#1f2328" if mouth.endswith("Z") else "none"
    return format_html(
        '<svg class="face" width="{size}" height="{size}" viewBox="0 0 32 32" '
        'aria-hidden="true" focusable="false">'
        '<circle cx="16" cy="16" r="14.5" fill="{fill}" stroke="{outline}" stroke-width="1.5"/>'
        '<circle cx="11.5" cy="13.5" r="1.9" fill="#1f2328"/>'
        '<circle cx="20.5" cy="13.5" r="1.9" fill="#1f2328"/>'
        '{brows}<path d="{mouth}" fill="{mouth_fill}" stroke="#1f2328" stroke-width="2" '
        'stroke-linecap="round" stroke-linejoin="round"/></svg>',
        size=size,
        fill=fill,
        outline=outline,
        brows=mark_safe(_BROWS) if value == 1 else "",  # noqa: S308 - a constant
        mouth=mouth,
        mouth_fill=mouth_fill,
    )


@register.simple_tag
def reaction_buttons(selected=None, autosubmit=False):
    """The five reactions as real buttons, each posting its value (A1, A2): `selected` shown
    as pressed, and marked for the page's script (`data-autosubmit`, A10) when
    `autosubmit`."""
    selected = selected if selected in BY_VALUE else None
    return _reaction_buttons(translation.get_language(), selected, bool(autosubmit))


@lru_cache(maxsize=256)
def _reaction_buttons(language: str, selected: int | None, autosubmit: bool):
    return format_html_join(
        "\n",
        '<button type="submit" name="value" value="{}" class="reaction" aria-pressed="{}"{}>'
        '{}<span class="name">{}</span></button>',
        (
            (
                reaction.value,
                "true" if reaction.value == selected else "false",
                mark_safe(" data-autosubmit") if autosubmit and reaction.value == selected else "",
                _face(reaction.value, 32),
                reaction.label,
            )
            for reaction in REACTIONS
        ),
    )
