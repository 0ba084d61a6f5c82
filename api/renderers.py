"""The browsable API's renderer (the admin's session in a browser), under the site's
Content-Security-Policy."""

from rest_framework.renderers import BrowsableAPIRenderer as DrfBrowsableAPIRenderer

# K10: DRF's own templates lay out a few buttons with style attributes (and Pygments' colours
# in a <style>): those pages allow inline styles, never inline scripts (DRF's are files).
BROWSABLE_STYLES = {
    "style-src-attr": ["'unsafe-inline'"],
    "style-src-elem": ["'self'", "'unsafe-inline'"],
}


class BrowsableAPIRenderer(DrfBrowsableAPIRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = BROWSABLE_STYLES  # read by csp.middleware
        return super().render(data, accepted_media_type, renderer_context)
