"""Documents, quarantine, partners and mail (to be filled in this issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
