"""The arrears-clearance campaign (清欠, measure 10 of 洪府办发〔2022〕109号) under the Regulations on
Ensuring Payment to SMEs (《保障中小企业款项支付条例》, orders 728/2020 and 802/2025).

Modules: rules (the statutory figures from config/arrears.toml and config/lpr.toml), statute (due
dates and late interest), registry (debtors, handling departments, scope), intake (registering a
case), transfer (how a complaint reaches the city: the provincial 受理投诉部门's transfer, the local
arrangement, or the ledger; the handling clock), cases (the route runtime), actions (deciding a step),
confirmation (确权 requests and their reminder), oversight (the bureau's 第二十三条 measures),
disclosure (the yearly publication of overdue payments), sweep (timers and overdue marks),
ledger_import (CSV/XLSX ledgers), ledger (queries for pages and reports), report (the monthly
report), campaign (reminders and the monthly run), demo.
"""
