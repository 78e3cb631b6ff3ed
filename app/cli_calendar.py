"""`smeflow calendar ...`: the holiday calendars (工作日) deadlines are counted with.

Every command answers bad input with one line naming the field and the rule and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import guarded, input_file, services_from_env

ROWS = {"work_item": "工作项", "arrears_task": "清欠事项"}
calendar_app = typer.Typer(help="计算办理期限所用的节假日安排（工作日）", no_args_is_help=True)


@calendar_app.command("load", help="校验某年的节假日安排并安装，重新计算受影响的未到期办理期限；要么全部完成，要么不"
                                   "做任何更改")
def load_cmd(
    file: Annotated[Path, typer.Argument(help="<年份>.toml，格式见 config/calendar/README.md",
                                         dir_okay=False)],
    user: Annotated[str, typer.Option("--user", help="载入人用户名（记入审计链）")] = "system",
) -> None:
    """Validate a year's calendar, install it and recompute the open deadlines it changes, all or nothing."""
    from services.time.due import due_text
    from services.time.reload import load_calendar

    def body() -> None:
        input_file(file)
        services = services_from_env()
        tz = services.settings.timezone
        report = load_calendar(services, file, actor=user, now=services.clock.now())
        for m in report.moved:
            mark = "（暂定）" if m.provisional_after else ""
            typer.echo(f"{ROWS.get(m.table, m.table)} {m.row_id}（{m.name or m.task}）：办理期限 "
                       f"{due_text(m.before, tz)} → {due_text(m.after, tz)}{mark}")
        verb = "替换" if report.replaced else "安装"
        typer.echo(f"{report.year} 年节假日安排已{verb}：{report.installed}（依据 {report.source}）")
        typer.echo(f"重新计算办理期限 {len(report.moved)} 个，涉及 {report.cases} 件案件；"
                   f"其中 {report.still_provisional} 个仍为暂定（还涉及另一个节假日安排未公布的年份）；"
                   f"另有 {report.not_recomputed} 个暂定期限保持不变（计时器已触发，或期限由案件数据设定）")

    guarded(body)


@calendar_app.command("show", help="某年的节假日安排从哪里来：随程序包提供、数据文件，或暂定（只有法定节假日）")
def show_cmd(year: Annotated[int, typer.Argument(help="年份，如 2027")]) -> None:
    """Where the holidays of YEAR come from: the package, a data file, or provisional (statutory holidays only)."""
    from services.time.calendar import SOURCE_FILE, SOURCE_PACKAGE, SOURCE_PROVISIONAL

    SOURCES = {SOURCE_PACKAGE: "随程序包提供", SOURCE_FILE: "数据文件", SOURCE_PROVISIONAL: "暂定"}

    def body() -> None:
        services = services_from_env()
        source, detail = services.calendar.source_of(year)
        typer.echo(f"{year} 年：{SOURCES.get(source, source)} — {detail}")
        if source == SOURCE_PROVISIONAL:
            from services.time.due import day_text
            from services.time.holidays import named_holidays

            days = named_holidays(year)
            if days:
                typer.echo("法定节假日（《全国年节及纪念日放假办法》第二条，按规则推算，暂定）：")
            for day, name in days:
                weekend = "；逢周末，补假日期待国务院通知" if day.weekday() >= 5 else ""
                typer.echo(f"  {day.isoformat()}  {day_text(day)}  {name}（暂定{weekend}）")
            typer.echo("补假（第六条）和调休（第七条）须待国务院办公厅当年的节假日安排通知，未推算，也未列出。")
            typer.echo(f"涉及 {year} 年的办理期限均为暂定；国务院通知公布后，用 `smeflow calendar load {year}.toml` "
                       f"载入该年节假日安排（安装到 {services.settings.calendar_install_dir}）")

    guarded(body)
