from tests.routes import Route

ROUTES = [
    Route("home", kind="public", reason="chooser built from the user's own memberships"),
    Route("switch", kind="public", reason="redirects to a place; the target route checks membership"),
    Route("healthz", kind="public", reason="liveness probe, no data"),
    Route("favicon", kind="public", reason="the site icon, no data"),
    Route("login", kind="public", reason="authentication"),
    Route("logout", kind="public", reason="authentication"),
    Route("api-schema", kind="public", reason="OpenAPI document for signed-in users, no tenant data"),
    Route("api-docs", kind="public", reason="API browser for signed-in users, no tenant data"),
    Route("parent:home", kind="public", reason="lists only the signed-in parent's own children"),
    Route("school_home"),
    Route("trust_home", kind="trust"),
]
