"""Policy editions held in the database: validating an edition file against the stored ones,
storing it as an immutable revision with its SHA-256 and an audit event, listing the editions with
their state by date, and the process-wide cache every entry point reads editions through
(``Services.editions``), kept fresh by a cheap version check so a newly loaded edition is seen
without a restart.

May import the kernel, ``config`` and ``services.audit`` (it appends audit events); the award routes
use it through ``Services``.
"""
