"""Every path of the arrears route through the real engine and database, with time travel across the
statutory limits (working days across holidays, the 30-day result, the 90-day ceiling)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from services.arrears.cases import ArrearsRuntime
from services.audit import chain as audit
from services.awards.deadlines import sweep as award_sweep
from services.db.models import AuditEvent, ProcessInstance
from services.db.models_arrears import ArrearsInstalment, ArrearsRepayment, ArrearsTask
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.arrears.conftest import SHANGHAI, Campaign
from tests.helpers import snapshot


def utc_end_of(day: str) -> datetime:
    """The end of a local day (00:00 Shanghai of the next day)."""
    return (datetime.fromisoformat(day) + timedelta(days=1)).replace(tzinfo=SHANGHAI)


def flow_data(c: Campaign, case_id: int) -> dict[str, object]:
    with c.services.uow() as uow:
        inst = uow.session.get_one(ProcessInstance, c.case(case_id).instance_id)
        return ArrearsRuntime(c.services).data(inst)


def test_refused_at_acceptance_starts_the_route_as_of_registration(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    placeholder = c.open_steps(cid)["acceptance_review"]
    assert placeholder.instance_id is None and c.case(cid).status == "registered"
    c.travel(days=3)
    c.act(cid, "acceptance_review", "bureau", "refuse", "不属于受理范围")
    case = c.case(cid)
    assert (case.status, case.stage_name) == ("refused", "不予受理") and case.closed_at == c.now()
    with c.services.uow() as uow:
        step = uow.session.get_one(ArrearsTask, placeholder.id)  # the placeholder was adopted, not duplicated
        assert (step.status, step.outcome, step.reason) == ("completed", "refuse", "不属于受理范围")
        assert step.instance_id == case.instance_id
        kinds = [e.kind for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.instance_id == case.instance_id).order_by(AuditEvent.seq))]
        assert kinds == ["arrears.start", "arrears.complete"]
        assert audit.verify(uow.session).ok


def test_acceptance_deadline_counts_working_days_across_national_day(campaign: Campaign) -> None:
    c = campaign
    c.at(datetime(2024, 9, 27, 10, 0))  # Friday; 09-29 (Sun) is worked, 10-01..07 are holidays, 10-12 (Sat) worked
    registered = c.register()
    started = c.register(n=2)
    c.act(started, "acceptance_review", "bureau", "accept")  # the transfer clock starts now, same count
    tenth_working_day = utc_end_of("2024-10-16")
    assert c.open_steps(registered)["acceptance_review"].due_at == tenth_working_day
    assert c.open_steps(started)["transfer"].due_at == tenth_working_day
    c.at(datetime(2024, 10, 16, 23, 30))
    report = c.sweep()
    assert report.marked_overdue == 0 and report.fired == []
    c.at(datetime(2024, 10, 17, 0, 30))
    report = c.sweep()
    assert report.marked_overdue == 1 and report.fired == [(started, "transfer_deadline")]
    assert c.open_steps(registered)["acceptance_review"].overdue
    assert c.open_steps(started)["transfer"].overdue
    assert c.sweep().fired == []  # idempotent
    c.act(started, "transfer", "bureau", "transfer")  # late, but still possible
    assert "handle" in c.open_steps(started)


def test_request_material_then_supplied_restarts_the_acceptance_review(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.act(cid, "acceptance_review", "bureau", "request_material", "请补充验收单")
    assert c.open_steps(cid)["supply_material"].role == "complainant"
    c.travel(days=8)
    c.act(cid, "supply_material", "sme", "supplied")  # the creditor itself, in its own case
    review = c.open_steps(cid)["acceptance_review"]
    # 2024-06-11 09:00 + 10 working days (06-10 was the Dragon Boat holiday, already passed) = 06-25
    assert review.due_at == utc_end_of("2024-06-25")
    c.act(cid, "acceptance_review", "bureau", "accept")
    assert "transfer" in c.open_steps(cid)


def test_complainant_withdraws(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.act(cid, "acceptance_review", "bureau", "request_material", "请补充合同")
    c.act(cid, "supply_material", "bureau", "withdraw", "企业撤回投诉")
    assert c.case(cid).status == "withdrawn"


def test_material_not_supplied_in_time_lapses_across_the_dragon_boat_holiday(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()  # Monday 2024-06-03; 06-10 is a holiday, so the 10th working day is 06-18
    c.act(cid, "acceptance_review", "bureau", "request_material", "请补充验收单")
    assert c.open_steps(cid)["supply_material"].due_at == utc_end_of("2024-06-18")
    c.at(datetime(2024, 6, 18, 22, 0))
    assert c.sweep().fired == []
    c.at(datetime(2024, 6, 19, 0, 10))
    assert c.sweep().fired == [(cid, "supply_material_deadline")]
    case = c.case(cid)
    assert case.status == "lapsed" and c.open_steps(cid) == {}


def test_repaid_in_instalments_and_closed(campaign: Campaign) -> None:
    c = campaign
    cid = c.register(amount="120000")
    c.to_handling(cid)
    data = flow_data(c, cid)
    assert (data["received_on"], data["handling_due_on"], data["handling_ceiling_on"]) == (
        "2024-06-03", "2024-07-03", "2024-09-02")  # 90 days lands on Sunday 09-01: the next working day
    c.act(cid, "handle", "handler", "result", amount="100000")
    assert c.open_steps(cid)["debtor_confirmation"].due_at == utc_end_of("2024-07-03")  # confirm within 30 days
    c.act(cid, "debtor_confirmation", "handler", "confirm")
    c.act(cid, "repayment_plan", "handler", "plan", instalments="2024-06-30=40000; 2024-07-31=60000")
    assert c.open_steps(cid)["record_repayment"].due_at == utc_end_of("2024-06-30")
    c.travel(days=5)
    c.act(cid, "record_repayment", "handler", "repaid", amount="40000", paid_on="2024-06-08", reference="B-1")
    assert c.open_steps(cid)["record_repayment"].due_at == utc_end_of("2024-07-31")
    case = c.case(cid)
    assert (case.found_fen, case.confirmed_fen, case.repaid_fen, case.status) == (
        10_000_000, 10_000_000, 4_000_000, "running")
    c.act(cid, "record_repayment", "handler", "repaid", amount="60000", paid_on="2024-06-08", reference="B-2")
    c.act(cid, "verify_clearance", "bureau", "close")
    case = c.case(cid)
    assert (case.status, case.repaid_fen, case.stage_name) == ("cleared", 10_000_000, "已清偿销号")
    with c.services.uow() as uow:
        assert len(uow.session.scalars(select(ArrearsRepayment).where(ArrearsRepayment.case_id == cid)).all()) == 2
        assert [i.amount_fen for i in uow.session.scalars(select(ArrearsInstalment).order_by(
            ArrearsInstalment.seq))] == [4_000_000, 6_000_000]
        assert audit.verify(uow.session).ok


def test_handler_finds_no_arrears(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)
    c.act(cid, "handle", "handler", "unfounded", "款项已于登记前付清")
    assert c.case(cid).status == "unfounded"


def test_undisputed_part_is_repaid_while_the_disputed_part_goes_to_negotiation(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)
    c.act(cid, "handle", "handler", "result", amount="100000")
    c.act(cid, "debtor_confirmation", "handler", "partial", amount="60000")
    assert set(c.open_steps(cid)) == {"dispute_route", "repayment_plan"}
    c.act(cid, "dispute_route", "handler", "negotiation")
    case = c.case(cid)
    assert (case.confirmed_fen, case.disputed_fen, case.dispute_status, case.status) == (
        6_000_000, 4_000_000, "negotiation", "running")
    with pytest.raises(InvalidInput) as exc:  # the plan must cover exactly the undisputed part
        c.act(cid, "repayment_plan", "handler", "plan", instalments="2024-07-01=100000")
    assert exc.value.field == "instalments"
    c.act(cid, "repayment_plan", "handler", "plan", instalments="2024-07-01=60000")
    c.act(cid, "record_repayment", "handler", "repaid", amount="60000", paid_on="2024-06-03", reference="B")
    c.act(cid, "verify_clearance", "bureau", "close")
    assert c.case(cid).status == "cleared"


@pytest.mark.parametrize("route", ["court", "negotiation"])
def test_wholly_disputed_debt_leaves_the_ledger(campaign: Campaign, route: str) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)
    c.act(cid, "handle", "handler", "result", amount="100000")
    c.act(cid, "debtor_confirmation", "handler", "dispute")
    assert set(c.open_steps(cid)) == {"dispute_route"}
    c.act(cid, "dispute_route", "handler", route)
    case = c.case(cid)
    assert (case.status, case.disputed_fen, case.dispute_status) == (route, 10_000_000, route)


def test_extension_up_to_the_90_day_ceiling_then_overdue(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)  # materials received Monday 2024-06-03: result due 07-03, never after 09-02
    with pytest.raises(InvalidInput) as exc:
        c.act(cid, "handle", "handler", "extend", "情况复杂", extension_until="2024-09-03")
    assert exc.value.field == "extension_until" and "90" in exc.value.rule
    with pytest.raises(InvalidInput):
        c.act(cid, "handle", "handler", "extend", "情况复杂", extension_until="2024-07-03")
    c.act(cid, "handle", "handler", "extend", "需调取工程结算资料", extension_until="2024-09-02")
    with pytest.raises(Forbidden):  # only the department's head approves
        c.act(cid, "approve_extension", "handler", "approve")
    c.act(cid, "approve_extension", "head", "approve")
    assert c.open_steps(cid)["handle"].due_at == utc_end_of("2024-09-02")
    c.at(datetime(2024, 7, 10, 9, 0))
    assert c.sweep().fired == []  # the 30 days have passed, but the approved extension runs
    c.at(datetime(2024, 9, 3, 0, 30))
    fired = {spec for _, spec in c.sweep().fired}
    assert fired == {"handle_deadline", "handle_ceiling"}
    step = c.open_steps(cid)["handle"]
    assert step.overdue and step.escalation_level == 2  # past the statutory 90 days
    c.act(cid, "handle", "handler", "result", amount="100000")  # a late result is still recorded
    assert "debtor_confirmation" in c.open_steps(cid)


def test_extension_denied_and_the_requester_cannot_approve_it(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)
    c.act(cid, "handle", "head", "extend", "情况复杂", extension_until="2024-08-01")
    with pytest.raises(Forbidden):
        c.act(cid, "approve_extension", "head", "approve")  # segregation of duties
    with pytest.raises(NotFound):
        c.act(cid, "approve_extension", "xihu", "deny", "x")  # a head of another department does not see it
    with c.services.uow() as uow:  # a second head of donghu denies
        from services.arrears import registry

        registry.add_officer(uow.session, username="bureau2", department="donghu", head=True, actor="t",
                             now=c.now())
        uow.commit()
    c.act(cid, "approve_extension", "bureau2", "deny", "理由不充分")
    assert c.open_steps(cid)["handle"].due_at == utc_end_of("2024-07-03")
    c.at(datetime(2024, 7, 4, 0, 30))
    assert {s for _, s in c.sweep().fired} == {"handle_deadline"}
    step = c.open_steps(cid)["handle"]
    assert step.overdue and step.escalation_level == 0


def test_thirty_days_roll_past_national_day(campaign: Campaign) -> None:
    c = campaign
    c.at(datetime(2024, 9, 1, 10, 0))
    cid = c.register()
    c.to_handling(cid)  # received 09-01: the 30th day is 10-01, a holiday; the period ends on 10-08
    assert flow_data(c, cid)["handling_due_on"] == "2024-10-08"
    assert c.open_steps(cid)["handle"].due_at == utc_end_of("2024-10-08")


def test_non_cooperation_a_letter_then_summons_and_notice_by_choice(campaign: Campaign) -> None:
    # 2025 第二十五条第三款: the handling department 应当 issue a 督办书, then 可以 summon or publicly name
    # the debtor: its own steps, not the bureau's, and a choice with a reason, not a fixed ladder.
    c = campaign
    cid = c.register()
    c.to_handling(cid)
    c.act(cid, "handle", "handler", "non_cooperation", "债务人拒不提供合同履行资料")
    assert set(c.open_steps(cid)) == {"supervision_letter"}
    assert c.open_steps(cid)["supervision_letter"].role == "handler"
    with pytest.raises(NotFound):  # not in the bureau's inbox: not its step
        c.act(cid, "supervision_letter", "bureau", "issued", document_no="督〔2024〕1号")
    c.act(cid, "supervision_letter", "handler", "issued", document_no="督〔2024〕1号")
    assert set(c.open_steps(cid)) == {"handle"} and c.case(cid).cooperation_level == 1
    c.act(cid, "handle", "handler", "result", amount="100000")
    c.travel(days=31)  # the debtor lets its 30-day reply period pass (setting arrears_debtor_reply_days)
    assert c.sweep().fired == [(cid, "confirmation_deadline")]
    assert set(c.open_steps(cid)) == {"further_measures"}  # no second letter, no automatic summons
    with pytest.raises(InvalidInput) as exc:
        c.act(cid, "further_measures", "handler", "choose_summons")
    assert exc.value.field == "reason"
    c.act(cid, "further_measures", "handler", "choose_summons", "督办后仍未答复")
    c.act(cid, "summons", "handler", "held", document_no="约谈〔2024〕1号")
    assert set(c.open_steps(cid)) == {"debtor_confirmation"} and c.case(cid).cooperation_level == 2
    c.travel(days=20)
    c.sweep()
    c.act(cid, "further_measures", "handler", "no_further", "债务人已书面承诺一周内答复")
    assert set(c.open_steps(cid)) == {"debtor_confirmation"} and c.case(cid).cooperation_level == 2
    c.travel(days=20)
    c.sweep()
    c.act(cid, "further_measures", "handler", "choose_notice", "承诺后仍未答复")
    c.act(cid, "public_notice", "handler", "published", document_no="通报〔2024〕1号")
    assert c.case(cid).cooperation_level == 3
    c.act(cid, "debtor_confirmation", "handler", "confirm")
    assert set(c.open_steps(cid)) == {"repayment_plan"}


def test_no_repayment_plan_in_time_gets_a_supervision_letter(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)
    c.act(cid, "handle", "handler", "result", amount="100000")
    c.act(cid, "debtor_confirmation", "handler", "confirm")
    assert c.open_steps(cid)["repayment_plan"].due_at == utc_end_of("2024-06-18")  # 10 working days
    c.at(datetime(2024, 6, 19, 0, 30))
    assert c.sweep().fired == [(cid, "plan_deadline")]
    c.act(cid, "supervision_letter", "handler", "issued", document_no="督〔2024〕2号")
    assert set(c.open_steps(cid)) == {"repayment_plan"}


def test_a_missed_instalment_escalates_and_the_debtor_gets_a_new_period(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_repayment(cid, plan="2024-06-10=30000; 2024-08-30=70000")
    c.at(datetime(2024, 6, 11, 0, 30))
    assert c.sweep().fired == [(cid, "repayment_deadline")]
    c.act(cid, "supervision_letter", "handler", "issued", document_no="督〔2024〕3号")
    # the debtor has the response period (10 working days from 06-11) to pay the missed instalment
    assert c.open_steps(cid)["record_repayment"].due_at == utc_end_of("2024-06-25")
    c.act(cid, "record_repayment", "handler", "repaid", amount="30000", paid_on="2024-06-11", reference="B")
    assert c.open_steps(cid)["record_repayment"].due_at == utc_end_of("2024-08-30")


def test_bad_input_changes_nothing(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    before = snapshot(c.services)
    with pytest.raises(InvalidInput) as exc:
        c.act(cid, "acceptance_review", "bureau", "approve")
    assert exc.value.field == "decision"
    with pytest.raises(InvalidInput) as exc:
        c.act(cid, "acceptance_review", "bureau", "refuse")
    assert exc.value.field == "reason"
    assert snapshot(c.services) == before  # not even the route was started
    c.to_handling(cid)
    before = snapshot(c.services)
    for amount in ("100000.01", "-5", "abc", "1.001"):
        with pytest.raises(InvalidInput) as exc:
            c.act(cid, "handle", "handler", "result", amount=amount)
        assert exc.value.field == "amount"
    assert snapshot(c.services) == before


def test_scope_and_roles(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    with pytest.raises(NotFound):
        c.act(cid, "acceptance_review", "handler", "accept")  # not in a handler's inbox: complaints go to the bureau
    with pytest.raises(NotFound):
        c.act(cid, "acceptance_review", "auditor", "accept")  # auditors have no inbox (read-only)
    c.to_handling(cid)
    with pytest.raises(NotFound):
        c.act(cid, "handle", "xihu", "result", amount="1")  # another department's case does not exist for it
    with pytest.raises(NotFound):
        c.act(cid, "handle", "sme", "result", amount="1")


def test_the_same_step_twice_is_a_conflict(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    step = c.open_steps(cid)["acceptance_review"]
    c.act(cid, "acceptance_review", "bureau", "accept")
    from services.arrears import actions

    with c.services.uow() as uow, pytest.raises(Conflict):
        actions.act(uow, c.services, task_id=step.id, username="bureau2", now=c.now(),
                    step=actions.Step("refuse", "重复"))
    assert c.case(cid).status == "running"


def test_award_sweep_ignores_arrears_timers(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)
    c.travel(days=200)
    report = award_sweep(c.services, c.now())
    assert report.fired == [] and report.due_instances == 0
    assert {s for _, s in c.sweep().fired} == {"handle_deadline", "handle_ceiling"}


def test_a_pending_extension_approval_runs_against_the_handling_period_and_the_90_days(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)  # received 2024-06-03: result due 07-03, never after 09-02
    c.act(cid, "handle", "handler", "extend", "需调取工程结算资料", extension_until="2024-08-15")
    step = c.open_steps(cid)["approve_extension"]
    assert step.due_at == utc_end_of("2024-07-03")  # the approval does not stop the clock
    c.at(datetime(2024, 7, 4, 0, 30))  # nobody approved within the 30 days
    assert c.sweep().fired == [(cid, "approve_extension_deadline")]
    step = c.open_steps(cid)["approve_extension"]
    assert step.overdue and step.escalation_level == 0
    c.at(datetime(2024, 9, 3, 0, 30))  # still pending on day 91: past the statutory ceiling
    assert c.sweep().fired == [(cid, "approve_extension_ceiling")]
    assert c.open_steps(cid)["approve_extension"].escalation_level == 2
    with pytest.raises(InvalidInput) as exc:  # the extension date has passed: it can only be denied
        c.act(cid, "approve_extension", "head", "approve")
    assert exc.value.field == "decision"
    c.act(cid, "approve_extension", "head", "deny", "申请已超期")
    handle = c.open_steps(cid)["handle"]  # back at handling, past both limits: shown so at once
    assert (handle.due_at, handle.overdue, handle.escalation_level) == (utc_end_of("2024-07-03"), True, 2)
    assert c.sweep().fired == []


def test_handling_resumed_after_a_supervision_letter_keeps_its_passed_deadline(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)  # result due 2024-07-03
    c.at(datetime(2024, 7, 1, 10, 0))
    c.act(cid, "handle", "handler", "non_cooperation", "债务人拒不提供资料")
    c.at(datetime(2024, 7, 8, 10, 0))  # the letter goes out after the 30 days have run
    c.act(cid, "supervision_letter", "handler", "issued", document_no="督〔2024〕9号")
    handle = c.open_steps(cid)["handle"]
    assert (handle.due_at, handle.overdue, handle.escalation_level) == (utc_end_of("2024-07-03"), True, 0)
