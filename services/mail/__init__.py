"""The mail outbox: mail is queued in the same transaction as the state change that causes it and
sent later, with leases, retries and backoff. The sender (aiosmtplib) and the templates live in
`notifications/`; the sender is handed to the outbox (`Mailer`), never imported back.

The officers' daily digests are award work and live in `services.awards.reminders`.
May import: the kernel and `notifications` only.
"""
