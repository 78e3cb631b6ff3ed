"""`smeflow arrears ...`: the arrears-clearance campaign (measure 10)."""

from __future__ import annotations

import typer

arrears_app = typer.Typer(help="Arrears-clearance campaign (measure 10)", no_args_is_help=True)
