"""The offer route (免申即享) is the enterprise-honour route with the confirmation step in front: kept in
step with its base by bpmn/offer_route.py."""

from __future__ import annotations

from bpmn.offer_route import BASE, TARGET, derive


def test_offer_route_is_derived_from_the_current_base_route() -> None:
    assert TARGET.read_text(encoding="utf-8") == derive(BASE.read_text(encoding="utf-8")), (
        "bpmn/award_enterprise_honour.bpmn changed: run `python -m bpmn.offer_route`")
