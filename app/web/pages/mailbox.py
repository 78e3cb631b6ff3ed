"""Pages: the local mailbox of development (/mailbox), where the demo users read the mail the
service sent them. Only where the local mail sink is in use (services.mail.mailbox.sink_enabled);
elsewhere these pages answer 404. Each user reads the mail sent to their own e-mail address; an
admin reads every message."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.web.deps import Principal, current_principal, get_services
from app.web.templating import render
from services.bootstrap import Services
from services.errors import NotFound
from services.mail.mailbox import mailbox_dir, read_message, recent_messages, sink_enabled

router = APIRouter()


def _address(principal: Principal) -> str | None:
    """Whose mail the user reads: every message for an admin, else their own address ('' when none)."""
    user = principal.user
    return None if user.role == "admin" else (user.email or "")


def _check(services: Services) -> None:
    if not sink_enabled(services.settings):
        raise NotFound("the local mailbox is not in use here")


@router.get("/mailbox")
def mailbox(request: Request, principal: Principal = Depends(current_principal),
            services: Services = Depends(get_services)) -> Response:
    """The newest messages sent to the user (every message for an admin)."""
    _check(services)
    address = _address(principal)
    messages = recent_messages(mailbox_dir(services.settings), address=address) if address != "" else []
    return render(request, "mailbox/index.html", {"messages": messages, "address": address})


@router.get("/mailbox/{key}")
def message(request: Request, key: str = Path(max_length=80), principal: Principal = Depends(current_principal),
            services: Services = Depends(get_services)) -> Response:
    """One message with its text."""
    _check(services)
    address = _address(principal)
    if address == "":
        raise NotFound("no such message")
    msg = read_message(mailbox_dir(services.settings), key, address=address)
    return render(request, "mailbox/message.html", {"m": msg})
