"""Settings for the test suite: the real settings, with the queue run in-process."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghij")

from csat_project.settings import *  # noqa: E402,F403
from csat_project.settings import Q_CLUSTER  # noqa: E402

DEBUG = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SITE_URL = "http://testserver"
# Attachments and kept raw messages (M13, M14) go to a directory of this run only.
MEDIA_ROOT = tempfile.mkdtemp(prefix="csat-test-media-")

# django-q2 reads Q_CLUSTER once, at import: tasks run in the caller, at once.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# No collectstatic in tests: WhiteNoise serves /static/ from the finders, as under runserver.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# The address customers write to and replies come from (M4).
SUPPORT_ADDRESS = "support@example.com"
SUPPORT_NAME = "Support"
MESSENGER_IDENTITY_SECRET = "test-messenger-secret"
MESSENGER_ALLOWED_ORIGINS = ["http://host.example"]
# K3: the suite's key for encrypted fields (DEBUG is off here, so no development key).
FIELD_ENCRYPTION_KEY = ["dGVzdC1rZXktb2YtdGhlLXN1aXRlLW5vdC1zZWNyZXQ="]
