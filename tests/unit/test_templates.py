"""Rendering of the notification mail (no I/O beyond reading the templates)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from jinja2 import UndefinedError

from notifications.render import local_date, local_dt, render, template_names, yuan

T = datetime(2024, 6, 3, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
ITEM = {"application_id": 7, "enterprise_name": "洪城科技", "task_name": "区县初审", "due_at": T}
BASE = {"enterprise_name": "洪城科技有限公司", "application_id": 12, "award_name": "专精特新中小企业奖励"}
SAMPLES: dict[str, dict[str, Any]] = {
    "application_returned": {**BASE, "stage_name": "区县初审", "resubmit_by": T,
                             "reasons": ["营业执照复印件不清晰", "缺少认定文件"]},
    "application_approved": {**BASE, "stage_name": "区县初审", "approved_at": T, "next_stage_name": "市中小企业局复审"},
    "application_rejected": {**BASE, "stage_name": "市中小企业局复审", "reason": "认定文件不在有效期内"},
    "public_notice": {**BASE, "amount_fen": 30000000, "notice_until": T},
    "application_paid": {**BASE, "amount_fen": 30000000, "reference": "NCZF-2024-0001", "paid_at": T},
    "officer_digest": {"officer_name": "张三", "generated_at": T, "pending": [],
                       "overdue": [{**ITEM, "overdue_working_days": 3}], "due_soon": [ITEM, {**ITEM, "due_at": None}]},
    "arrears_digest": {"officer_name": "李四", "generated_at": T,
                       "overdue": [{"case_id": 3, "task_name": "处理", "creditor_name": "洪城科技",
                                    "debtor_name": "某区住建局", "due_at": T, "overdue_working_days": 2}],
                       "due_soon": []},
    "arrears_escalated": {"case_id": 3, "task_name": "处理", "creditor_name": "洪城科技", "debtor_name": "某区住建局",
                          "department_name": "市住建局", "due_at": T, "overdue_working_days": 4},
    "arrears_confirmation": {"request_id": 4, "creditor_name": "洪城科技", "debtor_name": "某区住建局",
                             "department_name": "东湖区", "contract_no": "HT-1", "amount_fen": 12_345_600,
                             "requested_on": date(2026, 11, 2), "due_on": date(2026, 12, 2), "provisional": False,
                             "article": "条例第十六条第二款", "days_left": 3},
    "arrears_disclosure": {"year": 2026, "publish_by": date(2027, 3, 31), "article": "条例第十八条",
                           "department": "东湖区",
                           "rows": [{"debtor_name": "某区住建局", "kind": "机关", "contracts": 2,
                                     "outstanding_fen": 12_345_600}]},
    "arrears_monthly": {"month": "2024-06", "as_of": date(2024, 6, 30),
                        "totals": {"cases": 2, "owed_fen": 150000, "repaid_fen": 50000, "outstanding_fen": 100000,
                                   "disputed_fen": 0, "interest_fen": 1234},
                        "active": 1, "new_cases": 1, "repaid_in_month_fen": 50000,
                        "by_status": [["还款中", 1], ["已销号", 1]],
                        "oldest": [{"case_id": 3, "creditor_name": "洪城科技", "debtor_name": "某区住建局",
                                    "overdue_days": 40, "outstanding_fen": 100000}],
                        "file_name": "arrears-2024-06.xlsx"},
    "offer_made": {"enterprise_name": "洪城科技有限公司", "award_name": "专精特新中小企业奖励", "cap_fen": 6000000,
                   "call_title": "2024年度第一批", "confirm_by": T, "commitments": ["信息真实"], "has_account": False},
    "offer_reminder": {"enterprise_name": "洪城科技有限公司", "award_name": "专精特新中小企业奖励", "confirm_by": T},
    "task_escalated": {"application_id": 12, "enterprise_name": "洪城科技", "task_name": "区县初审",
                       "unit_name": "东湖区", "assignee": None, "due_at": T, "overdue_working_days": 5},
    "task_blocked": {"application_id": 12, "enterprise_name": "洪城科技", "task_name": "现场核查",
                     "unit_name": "西湖区", "head_name": "西湖区负责人",
                     "reason": "西湖区其他经办人已办理本案前一环节（职责分离），已转单位负责人 西湖区负责人 办理"},
}


def test_every_template_has_a_sample_and_renders_three_parts() -> None:
    assert sorted(SAMPLES) == template_names()
    for name, context in SAMPLES.items():
        mail = render(name, context)
        assert mail.subject.startswith("【中小企业奖补】") and "\n" not in mail.subject
        assert mail.text.strip() and "本邮件由系统自动发送" in mail.text
        assert mail.html.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in mail.html


@pytest.mark.parametrize(("name", "expected"), [
    ("application_returned", ["1. 营业执照复印件不清晰", "2. 缺少认定文件", "请于 2024年6月3日（周一）09:30 前登录"]),
    ("application_approved", ["通过“区县初审”", "转入“市中小企业局复审”"]),
    ("application_rejected", ["认定文件不在有效期内"]),
    ("public_notice", ["300,000.00 元", "公示截止时间：2024年6月3日（周一）09:30 前"]),
    ("application_paid", ["拨付金额：300,000.00 元", "支付凭证号：NCZF-2024-0001"]),
    ("officer_digest", ["已超期（1 件）", "已超期 3 个工作日", "无期限", "其他待办（0 件）\n（无）"]),
    ("task_escalated", ["已超期：5 个工作日", "承办人：尚未认领", "承办单位：东湖区"]),
    ("task_blocked", ["西湖区负责人：", "已转单位负责人 西湖区负责人 办理。", "办理环节：现场核查"]),
])
def test_text_part_says_what_happened(name: str, expected: list[str]) -> None:
    text = render(name, SAMPLES[name]).text
    for fragment in expected:
        assert fragment in text


def test_a_missing_value_raises_instead_of_rendering_blank() -> None:
    context = dict(SAMPLES["application_paid"])
    del context["reference"]
    with pytest.raises(UndefinedError, match="reference"):
        render("application_paid", context)


def test_unknown_template_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown mail template 'nope'"):
        render("nope", {})
    with pytest.raises(ValueError, match="unknown mail template"):
        render("_layout", {})


def test_user_values_are_escaped_in_html_only() -> None:
    evil = '<script>alert("x")</script>'
    context = {**SAMPLES["application_returned"], "enterprise_name": evil, "reasons": ["<b>bold</b> & more"]}
    mail = render("application_returned", context)
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "<li>&lt;b&gt;bold&lt;/b&gt; &amp; more</li>" in mail.html
    assert evil in mail.text and "<b>bold</b> & more" in mail.text


def test_subject_is_one_line_even_when_a_value_has_line_breaks() -> None:
    mail = render("application_paid", {**SAMPLES["application_paid"], "application_id": "12\r\nBcc: x@evil.test"})
    assert "\n" not in mail.subject and "\r" not in mail.subject


@pytest.mark.parametrize(("fen", "text"), [
    (30000000, "300,000.00"), (0, "0.00"), (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"),
    (123456, "1,234.56"), (-150, "-1.50"), (999999999999999999, "9,999,999,999,999,999.99"),
])
def test_yuan_is_exact(fen: int, text: str) -> None:
    assert yuan(fen) == text


@pytest.mark.parametrize("value", [1.5, Decimal("1.50"), True, "100"])
def test_yuan_takes_integer_fen_only(value: Any) -> None:
    with pytest.raises(TypeError):
        yuan(value)


def test_local_dt_is_shanghai_time() -> None:
    assert local_dt(datetime(2024, 12, 31, 16, 5, tzinfo=UTC)) == "2025-01-01 00:05"
    assert local_date(datetime(2024, 12, 31, 16, 5, tzinfo=UTC)) == "2025-01-01"
    assert local_date(date(2024, 6, 3)) == "2024-06-03"
    with pytest.raises(ValueError, match="naive"):
        local_dt(datetime(2024, 6, 3, 9, 0))
