from tests.routes import Route

ROUTES: list[Route] = []
