"""API paging with limits that are checked: a bad or huge `limit`/`offset` is a 400, not a 500."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000


def _whole_number(request: Any, name: str, default: int, smallest: int, largest: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 12 or not smallest <= int(raw) <= largest:
        raise ValidationError({name: [f"Give {name} as a whole number from {smallest} to {largest}."]})
    return int(raw)


class CheckedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request: Any) -> int:
        return _whole_number(request, self.limit_query_param, self.default_limit or MAX_LIMIT, 1, MAX_LIMIT)

    def get_offset(self, request: Any) -> int:
        return _whole_number(request, self.offset_query_param, 0, 0, MAX_OFFSET)
