"""The enterprise pool (梯度培育库) and awards offered without an application (免申即享).

Owns: recognition batches (official lists imported as one batch, each honour with its source), the
tiers derived from honours, names flagged for the district, the pool page's read model and export,
and offers (a case on the award route that starts at the enterprise's confirmation), their claim
codes, reminders and the per-call figures.

May import: services.awards (enterprises, calls, the case runtime, 就高不重复), services.audit,
services.mail, services.accounts and the kernel. Nothing below it imports it: a call opening in
services.awards does not call in here; the ways in (and the offer sweep) do.
"""
