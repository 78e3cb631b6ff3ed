"""The audit record: the hash chain every state change appends to (`chain`), its signed daily
statements (`anchors`, `signing`), a case's history and the auditor's index (`history*`), replay on
the recorded diagram (`replay*`), evidence bundles and archiving (`bundle*`, `retention`).

May import: `services.engine` (replay), `services.accounts` (who may read) and the kernel. It reads
the award tables through `services.db` only, never through `services.awards`.
"""
