"""Helpers for the Messenger's browser tests: host pages served from other loopback origins than
csat's live server (a small threaded HTTP server per origin), the pages themselves, and a
watcher of what the browser met (server errors, page errors, the session requests)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FRAME_SELECTOR = "#csat-messenger-frame"
LAUNCHER_SELECTOR = 'button[aria-controls="csat-messenger-frame"]'


class Site:
    """A tiny web site on 127.0.0.1:<free port>: the HTML pages it was given, nothing else."""

    def __init__(self):
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server name
                html = pages.get(self.path.split("?", 1)[0])
                if html is None:
                    self.send_error(404)
                    return
                body = html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):  # noqa: A002 - quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, path: str, html: str) -> str:
        """Serve `html` at `path`; returns its address."""
        self.pages[path] = html
        return self.url + path

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def host_page(csat_url: str, identity: dict | None = None, extra: str = "") -> str:
    """A company's page: a link to tab past, `window.csatMessenger`, the one script tag."""
    config = json.dumps(identity or {}).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Acme shop</title>
<style>body {{ font: 16px system-ui, sans-serif; margin: 24px; background: #f6f4ee; }}</style>
</head><body>
<h1>Acme shop</h1>
<p><a href="#top">Home</a> · Everything for your garden.</p>
<script>window.csatMessenger = {config};</script>
<script src="{csat_url}/messenger/widget.js" async></script>
{extra}
</body></html>"""


def foreign_page(identify_config: dict) -> str:
    """W7: a page of another origin, framed by the host page, that keeps posting to every frame
    of its parent (the csat iframe among them) an identity it does not own, and to the parent
    an unread count and a close. `data-sent` on its body counts the rounds."""
    evil = json.dumps({"type": "csat:identify", "config": identify_config})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Ad</title></head><body data-sent="0">
<p>An advert.</p>
<script>
  var evil = {evil};
  var sent = 0;
  function round() {{
    for (var i = 0; i < parent.frames.length; i++) {{
      try {{ parent.frames[i].postMessage(evil, "*"); }} catch (e) {{}}
      try {{ parent.frames[i].postMessage({{ type: "csat:open" }}, "*"); }} catch (e) {{}}
    }}
    parent.postMessage({{ type: "csat:unread", count: 42 }}, "*");
    parent.postMessage({{ type: "csat:close" }}, "*");
    sent += 1;
    document.body.setAttribute("data-sent", String(sent));
    document.body.setAttribute("data-frames", String(parent.frames.length));
  }}
  round();
  setInterval(round, 150);
</script>
</body></html>"""


@dataclass
class Watch:
    """What a page met: responses of 500 or more, uncaught page errors, console errors, other
    refusals (4xx), and every POST to the Messenger's session endpoint (status, body)."""

    problems: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    sessions: list[tuple[int, dict]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "status url" of each 4xx

    def attach(self, page) -> Watch:
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda m: m.type == "error" and self.console_errors.append(m.text),
        )
        page.on("response", self._response)
        return self

    def _response(self, response):
        if response.status >= 500:
            self.problems.append(f"{response.status} {response.url}")
        elif response.status >= 400:
            self.refused.append(f"{response.status} {response.url}")
        request = response.request
        if request.method == "POST" and request.url.endswith("/messenger/w/session/"):
            try:
                body = json.loads(request.post_data or "{}")
            except ValueError:
                body = {"raw": request.post_data}
            self.sessions.append((response.status, body))
