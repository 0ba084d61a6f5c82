"""K18: gunicorn's logs without customer tokens. gunicorn builds an access line from atoms
(`%(r)s` the request line, `%(U)s` the path, `%(f)s` the referer, any `%({header}i)s`), and
its `access_log_format` has no way to rewrite one; this `logger_class` (set in the project's
`gunicorn.conf.py`) runs `redact_paths` over every access and error line it writes."""

from __future__ import annotations

from gunicorn import glogging

from csat_project.logs import RedactTokens


class Logger(glogging.Logger):
    """gunicorn's logger, with `RedactTokens` on its access and error logs."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactTokens) for f in log.filters):  # a reload runs it again
                log.addFilter(RedactTokens())
