"""The arrears-clearance campaign (清欠, measure 10 of 洪府办发〔2022〕109号) under the Regulations on
Ensuring Payment to SMEs (《保障中小企业款项支付条例》, orders 728/2020 and 802/2025).

Modules: rules (the statutory figures from config/arrears.toml and config/lpr.toml), statute (due
dates and late interest), registry (debtors, handling departments, scope), intake (registering a
case), cases (the route runtime), actions (deciding a step), sweep (timers and overdue marks),
ledger_import (CSV/XLSX ledgers), ledger (queries for pages and reports), report (the monthly
report), campaign (reminders and the monthly run), demo.
"""
