from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from accesslog.api import AccessLogList

from . import views
from .admin import platform_admin
from .api_docs import DocsView, SchemaView
from .auth import LoginView

school_patterns: list[URLPattern | URLResolver] = [
    path("", views.school_home, name="school_home"),
    path("registers/", include("registers.urls")),
    path("absence/", include("absence.urls")),
    path("reporting/", include("reporting.urls")),
    path("access-log/", include("accesslog.urls")),
    path("accounts/", include("accounts.school_urls")),
    path("casework/", include("interventions.urls")),
    path("letters/", include("letters.urls")),
    path("governors/", include("reporting.governor_urls")),
    path("penalties/", include("penalties.urls")),
]

api_school_patterns: list[URLPattern | URLResolver] = [
    path("", include("registers.api.urls")),
    path("", include("absence.api.urls")),
    path("access-log/", AccessLogList.as_view(), name="access-log"),
    path("", include("interventions.api_urls")),
    path("", include("letters.api")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("switch/", views.switch, name="switch"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("platform-admin/", platform_admin.urls),
    path("s/<slug:school_slug>/", include(school_patterns)),
    path("t/<slug:trust_slug>/", views.trust_home, name="trust_home"),
    path("la/<slug:la_code>/", include("penalties.la_urls")),
    path("t/<slug:trust_slug>/dashboard/", include("reporting.trust_urls")),
    path("parent/", include("absence.parent_urls")),
    path("", include("staff.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/v1/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/v1/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("parent/", include("interventions.parent_urls")),
    path("parent/letters/", include("letters.parent_urls")),
    path("api/v1/s/<slug:school_slug>/", include((api_school_patterns, "api"), namespace="api")),
    path("api/v1/la/<slug:la_code>/", include("penalties.api_urls")),
]

handler500 = "attendance_portal.unavailable.server_error_or_unavailable"
