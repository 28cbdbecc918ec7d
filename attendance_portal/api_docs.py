"""The OpenAPI schema and Swagger UI, for signed-in users only and without inline code.

Swagger UI's files come from drf-spectacular-sidecar's static files (no CDN), and its start-up script is
fetched as a separate file (the "split" view) so the page needs no inline script under the CSP.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


class SchemaView(SpectacularAPIView):
    """The schema; SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] asks for a signed-in user."""


class DocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # A person opening the docs in a browser is sent to sign in rather than shown a bare 401.
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)
