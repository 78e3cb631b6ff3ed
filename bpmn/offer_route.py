"""Derives bpmn/award_enterprise_honour_offer.bpmn (免申即享) from bpmn/award_enterprise_honour.bpmn: the same
route and layout with a first step in the applicant lane, 企业确认 (confirm or decline), and an interrupting
timer `stage_deadline("offer_confirmation")` that ends an unconfirmed offer as 逾期未确认. Run
`python -m bpmn.offer_route` after changing the base route; tests/bpmn/test_offer_route.py checks they agree."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = HERE / "award_enterprise_honour.bpmn"
TARGET = HERE / "award_enterprise_honour_offer.bpmn"


def _sub(text: str, old: str, new: str) -> str:
    if text.count(old) < 1:
        raise ValueError(f"the base route no longer has: {old[:80]!r}")
    return text.replace(old, new, 1)


def derive(src: str) -> str:
    """The offer route's XML from the base route's."""
    s = src.replace("award_enterprise_honour", "award_enterprise_honour_offer")
    s = s.replace('name="企业荣誉奖励（专精特新、“小巨人”、单项冠军）"',
                  'name="企业荣誉奖励·免申即享（专精特新、“小巨人”、单项冠军）"')
    s = _sub(s, "<bpmn:documentation>企业荣誉奖励（专精特新、“小巨人”、单项冠军）（洪府办发〔2022〕109号 第2条）。",
             "<bpmn:documentation>企业荣誉奖励·免申即享（洪府办发〔2022〕109号 第2条）："
             "依据导入的认定名单主动向企业发出奖励，"
             "企业在确认时限内确认银行账户和承诺事项后进入区县初审，逾期未确认即失效，企业也可放弃；此后与申报路线相同。")
    s = _sub(s, "        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>\n", "".join(
        f"        <bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>\n"
        for n in ("start", "confirm_offer", "gw_confirm", "end_declined", "offer_lapse", "end_lapsed")))
    s = _sub(s, '<bpmn:startEvent id="start" name="提交申请">',
             '<bpmn:startEvent id="start" name="发出奖励（免申即享）">')
    merge = '    <bpmn:exclusiveGateway id="gw_merge_district">\n      <bpmn:incoming>'
    s = _sub(s, merge + "flow_start</bpmn:incoming>", _NODES + merge + "flow_confirmed</bpmn:incoming>")
    s = _sub(s, '    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="gw_merge_district" />', _FLOWS)
    s = _sub(s, _OLD_EDGE, _SHAPES)
    return s


_NODES = """    <bpmn:userTask id="confirm_offer" name="企业确认">
      <bpmn:documentation>企业确认收款银行账户和本批次的承诺事项（confirm），或放弃（decline）；确认时限届满未确认的，奖励失效。</bpmn:documentation>
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="decisions" value="confirm,decline" />
          <spiffworkflow:property name="fields" value="bank_account" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_start</bpmn:incoming>
      <bpmn:outgoing>flow_confirm_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw_confirm" name="企业答复">
      <bpmn:incoming>flow_confirm_done</bpmn:incoming>
      <bpmn:outgoing>flow_confirmed</bpmn:outgoing>
      <bpmn:outgoing>flow_declined</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_declined" name="企业放弃">
      <bpmn:incoming>flow_declined</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:boundaryEvent id="offer_lapse" name="确认时限" cancelActivity="true" attachedToRef="confirm_offer">
      <bpmn:outgoing>flow_lapsed</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerDef_offer_lapse">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">stage_deadline("offer_confirmation")</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end_lapsed" name="逾期未确认">
      <bpmn:incoming>flow_lapsed</bpmn:incoming>
    </bpmn:endEvent>
"""
_FLOWS = """    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="confirm_offer" />
    <bpmn:sequenceFlow id="flow_confirm_done" sourceRef="confirm_offer" targetRef="gw_confirm" />
    <bpmn:sequenceFlow id="flow_confirmed" name="确认" sourceRef="gw_confirm" targetRef="gw_merge_district">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "confirm"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_declined" name="放弃" sourceRef="gw_confirm" targetRef="end_declined">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "decline"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_lapsed" sourceRef="offer_lapse" targetRef="end_lapsed">
      <bpmn:documentation>确认时限届满：奖励失效。</bpmn:documentation>
    </bpmn:sequenceFlow>"""
_OLD_EDGE = """      <bpmndi:BPMNEdge id="flow_start_di" bpmnElement="flow_start">
        <di:waypoint x="240" y="198" />
        <di:waypoint x="240" y="420" />
        <di:waypoint x="305" y="420" />
      </bpmndi:BPMNEdge>"""
_SHAPES = """      <bpmndi:BPMNShape id="confirm_offer_di" bpmnElement="confirm_offer">
        <dc:Bounds x="380" y="60" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="gw_confirm_di" bpmnElement="gw_confirm" isMarkerVisible="true">
        <dc:Bounds x="520" y="75" width="50" height="50" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="519" y="52" width="52" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_declined_di" bpmnElement="end_declined">
        <dc:Bounds x="642" y="82" width="36" height="36" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="634" y="60" width="52" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="offer_lapse_di" bpmnElement="offer_lapse">
        <dc:Bounds x="412" y="122" width="36" height="36" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="450" y="150" width="52" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_lapsed_di" bpmnElement="end_lapsed">
        <dc:Bounds x="412" y="222" width="36" height="36" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="398" y="262" width="64" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_start_di" bpmnElement="flow_start">
        <di:waypoint x="240" y="162" />
        <di:waypoint x="240" y="100" />
        <di:waypoint x="380" y="100" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_confirm_done_di" bpmnElement="flow_confirm_done">
        <di:waypoint x="480" y="100" />
        <di:waypoint x="520" y="100" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_declined_di" bpmnElement="flow_declined">
        <di:waypoint x="570" y="100" />
        <di:waypoint x="642" y="100" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="590" y="104" width="26" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_confirmed_di" bpmnElement="flow_confirmed">
        <di:waypoint x="545" y="125" />
        <di:waypoint x="545" y="300" />
        <di:waypoint x="290" y="300" />
        <di:waypoint x="290" y="420" />
        <di:waypoint x="305" y="420" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="551" y="280" width="26" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_lapsed_di" bpmnElement="flow_lapsed">
        <di:waypoint x="430" y="158" />
        <di:waypoint x="430" y="222" />
      </bpmndi:BPMNEdge>"""


if __name__ == "__main__":
    TARGET.write_text(derive(BASE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {TARGET}")
