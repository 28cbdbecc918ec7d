"""Requests the app cannot read are a 400 with a plain message, never a 500.

A NUL character cannot be stored or searched for in PostgreSQL text, and no form or address of the
product ever contains one: a query string or form field with it is refused before any view runs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "The request contains a character that is not allowed (NUL). Please check what you typed."


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info or any("\x00" in k or any("\x00" in v for v in vs)
                                          for k, vs in request.GET.lists()):
        return True
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        return any("\x00" in k or any("\x00" in v for v in vs) for k, vs in request.POST.lists())
    return False


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            return bad_request(request, NUL_MESSAGE)
        return self.get_response(request)
