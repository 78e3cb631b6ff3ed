"""A worker process for tests/integration/test_kill_before_commit.py: completes one work item and is
killed (SIGKILL, as by the OOM killer or a power cut of the process) after every statement of the
step has been sent and before COMMIT.

    python -m tests.integration.kill_worker URL ITEM_ID USERNAME DECISION REFERENCE NOW_ISO
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from typing import Any

from sqlalchemy import event

from config.settings import Settings
from services.awards import tasks
from services.bootstrap import build
from services.time.clock import ManualClock


def main(url: str, item_id: int, username: str, decision: str, reference: str, now: datetime) -> None:
    services = build(Settings(database_url=url, environment="test"), clock=ManualClock(now))
    sent: list[str] = []

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        sent.append(text.split(None, 1)[0].upper() + (" audit_head" if "audit_head" in text else ""))

    def commit(_conn: Any) -> None:
        writes = sum(s.split()[0] in {"INSERT", "UPDATE", "DELETE", "WITH"} for s in sent)
        chain = any("audit_head" in s for s in sent)
        print(f"WRITES {writes} CHAIN {chain}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    event.listen(services.db, "before_cursor_execute", statement)
    event.listen(services.db, "commit", commit)
    with services.uow() as uow:
        tasks.complete(uow, services, item_id=item_id, username=username, now=now,
                       decision=tasks.Decision(decision, payment_reference=reference or None))
        uow.commit()
    print("COMMITTED", flush=True)  # never reached


if __name__ == "__main__":
    url, item, user, decided, ref, at = sys.argv[1:7]
    main(url, int(item), user, decided, ref, datetime.fromisoformat(at))
