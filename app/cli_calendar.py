"""`smeflow calendar ...`: the holiday calendars (工作日) deadlines are counted with.

Every command answers bad input with one line naming the field and the rule and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import fail, guarded, services_from_env

calendar_app = typer.Typer(help="Holiday calendars (工作日) of the deadlines", no_args_is_help=True)


@calendar_app.command("load")
def load_cmd(
    file: Annotated[Path, typer.Argument(help="<year>.toml, in the format of config/calendar/README.md",
                                         dir_okay=False)],
    user: Annotated[str, typer.Option("--user", help="who loads it (recorded in the audit chain)")] = "system",
) -> None:
    """Validate a year's calendar, install it and recompute the open deadlines it changes, all or nothing."""
    from services.time.reload import load_calendar

    def body() -> None:
        if not file.is_file():
            fail(f"{file}: no such file")
        services = services_from_env()
        report = load_calendar(services, file, actor=user, now=services.clock.now())
        for m in report.moved:
            mark = "（暂定）provisional" if m.provisional_after else ""
            typer.echo(f"{m.table} {m.row_id} {m.task}: {m.before:%Y-%m-%d %H:%M} -> {m.after:%Y-%m-%d %H:%M} UTC"
                       f" {mark}".rstrip())
        verb = "replaced" if report.replaced else "installed"
        typer.echo(f"{report.year}: {verb} {report.installed} ({report.source})")
        typer.echo(f"recomputed {len(report.moved)} deadline(s) in {report.cases} case(s); "
                   f"{report.still_provisional} still provisional (another unknown year); "
                   f"{report.not_recomputed} provisional left as is (timer fired or set from case data)")

    guarded(body)


@calendar_app.command("show")
def show_cmd(year: Annotated[int, typer.Argument(help="the year, e.g. 2027")]) -> None:
    """Where the holidays of YEAR come from: the package, a data file, or provisional (statutory holidays only)."""
    from services.time.calendar import SOURCE_PROVISIONAL

    def body() -> None:
        services = services_from_env()
        source, detail = services.calendar.source_of(year)
        typer.echo(f"{year}: {source} — {detail}")
        if source == SOURCE_PROVISIONAL:
            from services.time.due import day_text
            from services.time.holidays import named_holidays

            days = named_holidays(year)
            if days:
                typer.echo("法定节假日（《全国年节及纪念日放假办法》第二条，按规则推算，暂定 provisional）：")
            for day, name in days:
                weekend = "；逢周末，补假日期待国务院通知" if day.weekday() >= 5 else ""
                typer.echo(f"  {day.isoformat()}  {day_text(day)}  {name}（暂定{weekend}）")
            typer.echo("补假（第六条）和调休（第七条）须待国务院办公厅当年的节假日安排通知，未推算，也未列出。")
            typer.echo(f"deadlines through {year} are provisional; load its calendar with "
                       f"`smeflow calendar load {year}.toml` (installs into {services.settings.calendar_install_dir})")

    guarded(body)
