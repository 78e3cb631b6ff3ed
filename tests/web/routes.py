"""Every route of the app, pages included (FastAPI 0.150 keeps included routers nested)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import _IncludedRouter


@dataclass(frozen=True)
class RouteInfo:
    methods: frozenset[str]
    path: str
    endpoint: Callable[..., Any]
    in_schema: bool


def all_routes(app: FastAPI) -> Iterator[RouteInfo]:
    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            if isinstance(route, _IncludedRouter):
                yield from walk(route.effective_candidates())
            else:
                yield route

    for route in walk(app.router.routes):
        original = getattr(route, "original_route", route)
        endpoint = getattr(route, "endpoint", None)
        if endpoint is None or not getattr(original, "methods", None):
            continue
        in_schema = bool(getattr(route, "include_in_schema", True))
        yield RouteInfo(frozenset(original.methods), route.path, endpoint, in_schema)
