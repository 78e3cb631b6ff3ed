"""The award routes' domain (measures 2, 8 and 9): calls and funds, enterprises and honours,
applications and claims, their files, the officers' tasks and inbox, payouts, deadlines and
reminders, the public notice, the applicant's view of progress, the catalogue and the zh-CN labels.

`cases.CaseRuntime` runs a case on the engine in one unit of work (engine state, work items, timers,
audit event and mail together). May import: `services.engine`, `services.audit`, `services.mail`,
`services.accounts` and the kernel. Never imported by those packages.
"""
