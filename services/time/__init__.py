"""Time as the policy counts it: the working-day calendar (State Council holidays, year files under
config/calendar), the clock (system or manual, injected everywhere), and `reload`, which recomputes
open deadlines when a calendar year file is loaded.

`calendar` and `clock` are kernel: they import nothing of ours. `reload` rewrites stored due times
and appends an audit event, so it sits with the wiring above the capability packages.
"""
