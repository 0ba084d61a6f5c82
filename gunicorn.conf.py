# gunicorn reads this file from the directory it starts in (its `--config` default), so the
# README's `.venv/bin/gunicorn csat_project.wsgi …` uses it. K18: every access and error line
# goes through `redact_paths` (`/rate/<token>/` → `/rate/[redacted]/`); add
# `--access-logfile -` (or `accesslog = "-"` here) to write access lines.
logger_class = "csat_project.gunicorn_logs.Logger"
