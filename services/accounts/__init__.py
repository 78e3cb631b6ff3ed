"""Who may do what: users and their password hashes (`users`), API tokens (`tokens`), and the scoping
every query goes through (`access`: a district officer sees their unit, an applicant their enterprise).

May import: the kernel only.
"""
