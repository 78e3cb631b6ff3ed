"""Read models for the manager's dashboard and the case list: where every case is, what is late and by
how much, how long each stage takes, where the fund stands, and the mail outbox.

Every case query goes through `services.accounts.access.scope_applications`; filter values are checked before
they reach SQL (InvalidInput otherwise). The dashboard itself is for managers, admins and the bureau.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from services.accounts.access import require_role
from services.audit import chain as audit
from services.dashboard.cases import SORTS, CaseListRow, case_list
from services.dashboard.durations import StageDuration, duration_zh, percentile, stage_durations
from services.dashboard.figures import (
    FundFigures,
    OverdueItem,
    RouteOption,
    StageCount,
    UnitCount,
    fund_figures,
    node_counts,
    overdue_items,
    route_options,
    stage_counts,
    unit_counts,
)
from services.dashboard.filters import STATUSES, Filters, parse_filters
from services.dashboard.stuck import StuckItem, stuck_items
from services.dashboard.workers import WorkerHealth, worker_health
from services.db.models import User
from services.db.models_mail import OutboxMail
from services.mail import outbox

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = [
    "DASHBOARD_ROLES", "RETRY_ROLES", "SORTS", "STATUSES", "CaseListRow", "Dashboard", "Filters", "FundFigures",
    "OverdueItem", "RouteOption", "StageCount", "StageDuration", "StuckItem", "UnitCount", "WorkerHealth", "build",
    "case_list",
    "duration_zh",
    "fund_figures", "node_counts", "overdue_items", "parse_filters", "percentile", "require_dashboard",
    "retry_mail", "route_measures", "route_options", "stage_counts", "stage_durations", "unit_counts",
]

DASHBOARD_ROLES = ("manager", "admin", "bureau")
RETRY_ROLES = ("manager", "admin")


def require_dashboard(user: User) -> None:
    """Forbidden (403) unless the user may see the city-wide dashboard: manager, admin, bureau."""
    require_role(user, *DASHBOARD_ROLES)


@dataclass(frozen=True)
class Dashboard:
    """Every figure of the dashboard for one set of filters (the fund only follows the call filter)."""

    filters: Filters
    status_counts: dict[str, int]
    stages: list[StageCount]
    units: list[UnitCount]
    overdue: list[OverdueItem]
    durations: list[StageDuration]
    funds: list[FundFigures]
    outbox: dict[str, int]
    failed_mails: list[OutboxMail]
    stuck: list[StuckItem]
    workers: WorkerHealth

    @property
    def total(self) -> int:
        return sum(self.status_counts.values())


def build(session: Session, services: Services, *, user: User, filters: Filters, now: datetime) -> Dashboard:
    """The dashboard's figures as `user` may see them (Forbidden unless manager, admin or bureau)."""
    require_dashboard(user)
    stages = stage_counts(session, user=user, filters=filters)
    status = dict.fromkeys(STATUSES, 0)
    for row in stages:
        status[row.status] = status.get(row.status, 0) + row.count
    return Dashboard(
        filters=filters, status_counts=status, stages=stages,
        units=unit_counts(session, user=user, filters=filters, now=now),
        overdue=overdue_items(session, services, user=user, filters=filters, now=now),
        durations=stage_durations(session, user=user, filters=filters, order=list(services.settings.stage_limits)),
        funds=fund_figures(session, call_id=filters.call_id,
                           district_percent=services.settings.district_matching_percent),
        outbox=outbox.outbox_counts(session), failed_mails=outbox.failed_mails(session),
        stuck=stuck_items(session, user=user, filters=filters),
        workers=worker_health(session, heartbeat_seconds=services.settings.worker_heartbeat_seconds))


def route_measures(services: Services) -> dict[str, int]:
    """Each route's policy measure (the lowest, should a route serve several), from the catalogue."""
    measures: dict[str, int] = {}
    for edition in services.editions:
        for award in edition.award_types:
            measures[award.route] = min(award.measure, measures.get(award.route, award.measure))
    return measures


def retry_mail(session: Session, *, user: User, mail_id: int, now: datetime) -> OutboxMail:
    """Queue a failed mail again (managers and admins), with its audit event; caller commits."""
    require_role(user, *RETRY_ROLES)
    mail = outbox.retry_failed(session, mail_id, now)
    audit.append(session, kind="outbox.retry", actor=user.username, at=now, application_id=mail.application_id,
                 payload={"mail": mail.id, "template": mail.template})
    return mail
