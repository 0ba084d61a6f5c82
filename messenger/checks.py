"""System checks of the Messenger's configuration (`manage.py check`)."""

from django.conf import settings
from django.core.checks import Warning, register

from messenger.origins import origin_problem


@register()
def messenger_configuration(app_configs, **kwargs):
    problems = []
    if settings.MESSENGER_ALLOWED_ORIGINS and not settings.MESSENGER_IDENTITY_SECRET:
        problems.append(
            Warning(
                "The Messenger is embedded (MESSENGER_ALLOWED_ORIGINS) but "
                "MESSENGER_IDENTITY_SECRET is not set: no signed-in user can be verified, so "
                "each is refused (W1); only leads can write.",
                hint="Set it to a long random string and compute user_hash with it on your "
                "app's server (README, Messenger).",
                id="messenger.W001",
            )
        )
    for origin in settings.MESSENGER_ALLOWED_ORIGINS:
        problem = origin_problem(origin)
        if problem:
            problems.append(
                Warning(
                    f"MESSENGER_ALLOWED_ORIGINS: {origin!r} {problem}.",
                    hint="Give origins as scheme://host[:port], e.g. https://app.example.com.",
                    id="messenger.W002",
                )
            )
    return problems
