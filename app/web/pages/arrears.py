"""Pages: the arrears campaign (filled in by the arrears issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
