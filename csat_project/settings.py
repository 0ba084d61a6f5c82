"""Settings for csat, read from the environment (or a `.env` file) with django-environ.

Every value has a small default that works on a laptop: SQLite, django-q2's ORM broker and
mail printed on the console. Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL, REDIS_URL, EMAIL_URL and SITE_URL (see README.md).
"""

from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import environ
from csp.constants import NONCE as CSP_NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-true"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Absolute base of links that leave the site (emails): no request is at hand there.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # Django's admin with the sign-in's site (K8: csat_project.signin.AdminSite).
    "csat_project.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",  # K10: django-csp's system checks
    "anymail",
    # K7: failed sign-ins counted in the database (axes); K8: TOTP two-factor (django-otp),
    # its devices conversations.TOTPDevice (the key encrypted at rest), not otp_totp's.
    "axes",
    "django_otp",
    "conversations",
    "mail",
    "ratings",
    "reports",
    "api",
    "messenger",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # K10: the Content-Security-Policy (django-csp) and Permissions-Policy of every response.
    "csp.middleware.CSPMiddleware",
    "csat_project.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "csat_project.middleware.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # K8: request.user.is_verified() (the session's second factor).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # K7: last, as axes asks: turns a refused sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csat_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reports.context_processors.report_access",
            ],
        },
    },
]

WSGI_APPLICATION = "csat_project.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to one file: wait for the lock instead of failing,
    # take it at the start of each transaction, and let readers go on while one writes (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if not env.bool("POSTGRES_JIT", default=False):
        # PostgreSQL's JIT compiles a plan's expressions when it guesses a query is costly:
        # 100–200 ms on the inbox search and report pages, more than the queries themselves
        # take (bench/inbox.py); off for the app's short queries unless POSTGRES_JIT=true.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c jit=off").strip()
    if env.bool("POSTGRES_PREPARED", default=True):
        # H5: parameters bound by the server, and the hot reads (conversations.compiled)
        # prepared there on their first run on a connection: PostgreSQL then reuses their
        # plan instead of planning them again (2.3 ms for the rating page's one join, six
        # times its execution). No other statement is prepared (prepare_threshold None): a
        # generic plan of a report's period query ignores its partial index (R3's year-long
        # "to follow up" count: 34 ms planned for its values, 256 ms generic). Off
        # (POSTGRES_PREPARED=false) behind a pooler that cannot keep prepared statements.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": None}
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# K7: axes' backend first (it refuses a locked-out sign-in before any password is checked),
# then Django's ModelBackend, with a user's permissions read in one query (csat_project.auth).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "csat_project.auth.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages (L1): the customers' pages, the survey email and the Messenger speak the contact's
# language; a contact without one (and every staff page) speaks DEFAULT_LANGUAGE. The
# catalogues are in locale/, committed compiled (django.mo), so a fresh clone needs no gettext.
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("pt", "Português"),
]
LANGUAGE_CODE = env.str("DEFAULT_LANGUAGE", default="en").strip().lower()
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(
        f"DEFAULT_LANGUAGE={LANGUAGE_CODE!r} is not one of {', '.join(dict(LANGUAGES))}."
    )
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The project's own stylesheets (css/staff.css, css/customer.css, css/admin.css).
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Staff sign in at /accounts/login/ and land on the reports (R1–R5).
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/reports/"

# Mail: printed on the console unless EMAIL_URL names a server (smtp://user:pass@host:587).
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
if DEBUG and _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    # In development the mail printed on the console is also kept in the admin's *Sent mail*
    # (mail.devbox: the last 500 messages, each shown with its links).
    EMAIL_BACKEND = "mail.devbox.DevboxBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Support <support@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Email as a channel (the `mail` app, M1–M17). The support address receives the customers'
# mail; replies go out from it, named after the teammate ("Ann Lee via Support"), and ask to
# be answered at a signed plus-address of it that names the conversation.
_from_name, _from_address = parseaddr(DEFAULT_FROM_EMAIL)
SUPPORT_ADDRESS = env.str("SUPPORT_ADDRESS", default=_from_address or "support@localhost")
SUPPORT_NAME = env.str("SUPPORT_NAME", default=_from_name or "Support")
# Customers' mail comes in from a mailbox (IMAP, polled every minute) …
INBOUND_IMAP_URL = env.str("INBOUND_IMAP_URL", default="")
# … or from an email provider's inbound webhook (any django-anymail supports: mailgun,
# postmark, sendgrid, …), at /inbound/<provider>/…, authenticated as anymail requires.
INBOUND_ESP = env.str("INBOUND_ESP", default="").strip().lower()
ANYMAIL = {
    # HTTP basic auth on the webhook ("user:password"), which every provider can send.
    "WEBHOOK_SECRET": env.str("INBOUND_WEBHOOK_SECRET", default="") or None,
}
if INBOUND_ESP and env.str("INBOUND_SIGNING_KEY", default=""):
    # The provider's own signature where it has one (Mailgun, Mailjet, Postal, …).
    ANYMAIL[f"{INBOUND_ESP.upper()}_WEBHOOK_SIGNING_KEY"] = env.str("INBOUND_SIGNING_KEY")
# The Messenger widget (W1–W7, README "Messenger"). The host sites that may embed it (their
# origins, e.g. https://app.example.com): the iframe's frame-ancestors and the postMessage
# checks use this list. Users are verified by an HMAC of their id under the identity secret.
MESSENGER_ALLOWED_ORIGINS = [
    origin.rstrip("/") for origin in env.list("MESSENGER_ALLOWED_ORIGINS", default=[])
]
MESSENGER_IDENTITY_SECRET = env.str(
    "MESSENGER_IDENTITY_SECRET", default="demo-messenger-secret" if DEBUG else ""
)
MESSENGER_SESSION_HOURS = env.int("MESSENGER_SESSION_HOURS", default=12)
MESSENGER_POLL_SECONDS = env.int("MESSENGER_POLL_SECONDS", default=3)
# The demo company's page that embeds the widget (/demo/host/, demo data only).
MESSENGER_DEMO_HOST = env.bool("MESSENGER_DEMO_HOST", default=DEBUG)
# A larger message is not made a part: it is kept, raw, in the admin's Inbound failures.
INBOUND_MAX_BYTES = env.int("INBOUND_MAX_BYTES", default=5 * 1024 * 1024)
# A larger attachment is listed on its part but not stored.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=3 * 1024 * 1024)
# A webhook carries the whole message in its form: let Django read that much.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, 2 * INBOUND_MAX_BYTES)
# Attachments and kept raw messages: Django's storage (files under MEDIA_ROOT by default).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# Task queue (django-q2). REDIS_URL set: the Redis broker; unset: the ORM broker (the database).
# A task is stopped after `timeout` seconds and handed out again only after `retry` seconds, so
# retry > timeout keeps a slow task from running twice; max_attempts bounds a failing task.
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": "csat",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=30),
    "retry": env.int("Q_RETRY", default=60),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=5),
    "catch_up": False,
    # Successful results kept for the admin (failures are always kept). django-q2's monitor
    # reads and locks every kept success on each result it saves, so the more are kept, the
    # more every task costs: at 1000 a one-INSERT task costs several times what it does at 100.
    "save_limit": env.int("Q_SAVE_LIMIT", default=100),
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    # One Redis client per process, not a new connection per task queued (csat_project.queue).
    Q_CLUSTER["broker_class"] = "csat_project.queue.SharedRedis"
else:
    Q_CLUSTER["orm"] = "default"
# D5: a close still undecided (or a survey undelivered) this many seconds after it happened was
# lost on the way (a worker killed, a Redis restart); the sweep, every minute, queues it again.
# Longer than a task normally waits in the queue, so the sweep does not race the first try.
RATING_SWEEP_GRACE_SECONDS = env.int("RATING_SWEEP_GRACE_SECONDS", default=120)
# A survey the mail server refused is tried again after 2, 4, 8 … of these units (at most an
# hour). A minute in production; a few seconds let a test installation see the retry at once.
RATING_DELIVERY_RETRY_SECONDS = env.int("RATING_DELIVERY_RETRY_SECONDS", default=60)
# D6: one decision task decides up to this many conversations' closes in one transaction.
RATING_DECISION_BATCH = env.int("RATING_DECISION_BATCH", default=100)
# D6: its task hands over this many of the surveys it made itself (over one SMTP session) and
# queues the rest in tasks of this many, which other workers deliver in parallel.
RATING_DELIVERY_CHUNK = env.int("RATING_DELIVERY_CHUNK", default=10)
# D8: `manage.py worker` (qcluster and the fast sweeps) runs each of these this often, so a
# lost task or a refused survey waits seconds, not django-q2's 30-second scheduler and the
# minute schedule (which stays, the backstop).
FAST_SWEEPS = ["ratings.decisions.rating_decisions_recent_sweep"]
FAST_SWEEP_SECONDS = env.float("FAST_SWEEP_SECONDS", default=5.0)

# REST API (/api/, the `api` app): a token per user (`manage.py api_token <username>`), or the
# admin's session for the browsable API; every 4xx in one error shape (api.errors).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TeammateTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.permissions.HasRequiredPerms",
    ],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.CheckedJSONParser"],  # K13, K14
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "api.renderers.BrowsableAPIRenderer",  # K10: DRF's, with its inline styles allowed
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    # The customer API (rating cards): per signed token, and per address against guessing.
    "DEFAULT_THROTTLE_RATES": {
        "rating_token": env.str("THROTTLE_RATING_TOKEN", default="30/minute"),
        "customer_address": env.str("THROTTLE_CUSTOMER_ADDRESS", default="600/minute"),
    },
    # The client's address for the throttle: the proxy's X-Forwarded-For behind one, else the
    # peer (a client-sent X-Forwarded-For would let it pick its own bucket).
    "NUM_PROXIES": 1 if env.bool("BEHIND_TLS_PROXY", default=False) else 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "csat API",
    "DESCRIPTION": "Conversations, ratings, report figures and webhooks of csat; the rating "
    "card for the Messenger. Authenticate with `Authorization: Token <key>` "
    "(`manage.py api_token <username>`). Every 4xx answers {code, message, fields}.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema_hooks.forbid_unknown_request_fields",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OriginEnum": "conversations.models.Origin",
        "ApiOriginEnum": "api.serializers.conversations.API_ORIGINS",
        # B: whose help a request asks about, and the reports' filter of it.
        "RequestKindEnum": "ratings.models.Kind",
        "ReportKindEnum": "reports.selectors.KIND_FILTER_NAMES",
        "RatingEventKindEnum": "ratings.models.RatingEvent.Kind",
    },
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999_999},
    },
}
# Webhook deliveries (api.webhooks): seconds to connect (WEBHOOK_CONNECT_TIMEOUT's default, K5).
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=5.0)

# HTTPS hardening: on by default in production, off under DEBUG.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The task worker's routine (each task enqueued, processing, processed: 20 lines a minute at
# idle) is logged at DEBUG (csat_project.logs); Q_LOG_LEVEL=DEBUG shows it. The cluster's
# start and stop lines are INFO, a failed task an ERROR.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "routine_tasks": {"()": "csat_project.logs.RoutineTaskLines"},
        # K18: no customer token in a log line (`/rate/<token>/` → `/rate/[redacted]/`).
        "redact_tokens": {"()": "csat_project.logs.RedactTokens"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]},
        # Django's own (runserver's request lines), declared again to carry K18's filter.
        "django.server": {
            "level": "INFO",
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # K18: on the logger itself too, so that every handler (the console's, a test's)
        # gets the redacted record: "Not Found: /rate/[redacted]/".
        "django.request": {"filters": ["redact_tokens"]},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_tokens"],
        },
        "django-q": {
            "level": env.str("Q_LOG_LEVEL", default="INFO"),
            "filters": ["routine_tasks"],
        },
    },
}
# `make run` (scripts/run) prints its banner once each process of the worker says it is up.
if env.str("CSAT_WORKER_STARTED_FILE", default=""):
    LOGGING["handlers"]["worker_started"] = {
        "class": "csat_project.logs.StartedFile",
        "path": env.str("CSAT_WORKER_STARTED_FILE"),
    }
    LOGGING["loggers"]["django-q"]["handlers"] = ["worker_started"]

# K5, K6 (outbound requests guarded, api.outbound): webhook hosts that resolve to loopback,
# private, link-local, multicast, reserved, shared or unspecified addresses are refused, when
# saved and when connected, unless WEBHOOK_ALLOW_PRIVATE=true (a receiver on your own network).
# Seconds to connect (all addresses tried; WEBHOOK_TIMEOUT's value by default, 5) and to send
# the request and read the whole answer (10).
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=WEBHOOK_TIMEOUT)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)

# K3/K4: secrets kept in the database (webhook secrets) are encrypted with these Fernet keys,
# comma-separated: the first encrypts, every one decrypts; rotate by putting a new key first,
# running `manage.py rotate_encryption_key`, then dropping the old one. Required outside
# DEBUG (a system check fails without it); under DEBUG a fixed, public development key is used.
FIELD_ENCRYPTION_KEY = env.list("FIELD_ENCRYPTION_KEY", default=[])
if not FIELD_ENCRYPTION_KEY and DEBUG:
    FIELD_ENCRYPTION_KEY = ["ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGk="]

# Sign-in (K7, K8). K7: failed sign-ins at /accounts/login/ and /admin/login/ are counted in the
# database (shared by every process; an admin lifts a lock in Admin → Access attempts or with
# `manage.py axes_reset`): SIGNIN_FAILURE_LIMIT failures for one user name, or from one address,
# lock it for SIGNIN_COOLOFF_MINUTES after the last one. The address is the throttles' (the
# proxy's X-Forwarded-For behind BEHIND_TLS_PROXY, else the peer).
SIGNIN_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=5)
SIGNIN_COOLOFF_MINUTES = env.int("SIGNIN_COOLOFF_MINUTES", default=15)
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = SIGNIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=SIGNIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_CLIENT_IP_CALLABLE = "csat_project.signin.client_address"
AXES_LOCKOUT_CALLABLE = "csat_project.signin.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# A refused attempt during a lock-out does not push its end further: the page's time holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The code is never kept with a failed attempt's form data (the password never is).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]
AXES_VERBOSE = False
# K8: staff may turn on a TOTP second factor (/accounts/two-factor/); with this on, a superuser
# without one is sent there and kept out of the admin until it is set up.
OTP_REQUIRED_FOR_SUPERUSERS = env.bool("OTP_REQUIRED_FOR_SUPERUSERS", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="csat")

# K19: a Messenger link (`/messenger/<token>/`) is refused this many days after it was made
# (and at once after the contact's "Revoke Messenger links").
MESSENGER_LINK_MAX_AGE_DAYS = env.int("MESSENGER_LINK_MAX_AGE_DAYS", default=30)
# K19: a timestamped Messenger `user_hash` ("<unix seconds>.<HMAC of user_id NUL unix seconds>")
# is refused this many hours after its time; with REQUIRE_TIMESTAMP the plain hash (which never
# expires) is refused too. Off by default: host apps that sign the plain id keep working.
MESSENGER_IDENTITY_MAX_AGE_HOURS = env.int("MESSENGER_IDENTITY_MAX_AGE_HOURS", default=24)
MESSENGER_IDENTITY_REQUIRE_TIMESTAMP = env.bool(
    "MESSENGER_IDENTITY_REQUIRE_TIMESTAMP", default=False
)

# K9 (issue 16): the throttles of the customer API (api.throttles) count in a cache that every
# web process and machine shares: Redis when REDIS_URL is set (the queue's server; its own
# database number with THROTTLE_REDIS_URL), else the database's `csat_shared_cache` table,
# made by a migration (api 0005), so `migrate` alone sets up a fresh machine. The default
# cache stays each process's memory (nothing shared is kept there).
THROTTLE_REDIS_URL = env.str("THROTTLE_REDIS_URL", default=REDIS_URL)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "shared": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": THROTTLE_REDIS_URL,
        "KEY_PREFIX": "csat",
    }
    if THROTTLE_REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "csat_shared_cache",
        # Each throttle key is one row (a token's, an address's) for a minute; expired rows
        # are culled as new ones come.
        "OPTIONS": {"MAX_ENTRIES": env.int("SHARED_CACHE_MAX_ENTRIES", default=10_000)},
    },
}
# H4: the Messenger poll's version kept in the shared cache (conversations.poll_versions), so a
# poll that finds nothing new reads no database. Only with Redis: in the database cache it
# would cost more queries than the one it saves. MESSENGER_VERSION_CACHE=false turns it off.
MESSENGER_VERSION_CACHE = (
    "shared" if THROTTLE_REDIS_URL and env.bool("MESSENGER_VERSION_CACHE", default=True) else ""
)

# K10 (headers): a Content-Security-Policy on every response (django-csp, csp.middleware):
# scripts and styles only from this site's static files (no 'unsafe-inline', no 'unsafe-eval';
# a nonce, {{ request.csp_nonce }}, for the rare inline block), no plug-ins, forms post here
# only, and no site may frame a page (K10c) except the Messenger's iframe, whose
# frame-ancestors are MESSENGER_ALLOWED_ORIGINS (messenger.views, K10b).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", CSP_NONCE],
        "style-src": ["'self'", CSP_NONCE],
        # data: for the icons Django's admin and Swagger UI draw from their stylesheets.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# K10d: no page of csat uses these browser features; neither may anything injected into one.
PERMISSIONS_POLICY = env.str(
    "PERMISSIONS_POLICY",
    default=(
        "accelerometer=(), camera=(), display-capture=(), geolocation=(), "
        "gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), payment=(), "
        "serial=(), usb=(), xr-spatial-tracking=()"
    ),
)
# K10e: the browser never guesses a response's type, and no address of csat (the customer
# pages carry their signed token in the path) is sent to another site in a Referer: the
# same-origin policy sends none at all across sites (strict-origin-when-cross-origin would
# still send the origin; same-origin is what the customer pages always sent).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Every page but the Messenger's iframe (xframe_options_exempt) also says DENY to browsers
# that predate frame-ancestors; the two never disagree.
X_FRAME_OPTIONS = "DENY"
