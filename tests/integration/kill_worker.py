"""A worker process for tests/integration/test_kill_before_commit.py: completes one work item and is
killed (SIGKILL, as by the OOM killer or a power cut of the process) at the last moment before the
COMMIT leaves it: on SQLite after every statement of the step; on PostgreSQL, where the audit-chain
append and the COMMIT are sent together, after every other statement, just before that flight.

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

    def die(last: str) -> None:
        writes = sum(s.split()[0] in {"INSERT", "UPDATE", "DELETE", "WITH"} for s in sent)
        print(f"WRITES {writes} LAST {last}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    def statement(conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        # PostgreSQL sends the chain append together with the COMMIT (one flight): its last moment
        # before the commit is just before that statement leaves
        if conn.dialect.name == "postgresql" and text.startswith("WITH") and "audit_head" in text:
            die("chain+commit")
        sent.append(text.split(None, 1)[0].upper() + (" audit_head" if "audit_head" in text else ""))

    def commit(_conn: Any) -> None:
        die("commit")

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
