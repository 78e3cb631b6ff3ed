"""What each kind of audit event is called where a person reads it (pages, CLI); the code (`case.start`)
stays in exports and `--json`, and beside the label only in a `<code>` element."""

from __future__ import annotations

KIND_LABELS = {
    "application.correct": "更正申报信息", "arrears.complete": "清欠环节办理", "arrears.confirmation": "登记确权请求",
    "arrears.confirmation_answer": "确权答复", "arrears.debtor": "登记债务人", "arrears.import": "导入清欠线索",
    "arrears.officer": "登记清欠经办人", "arrears.oversight": "函询、约谈、督办或通报",
    "arrears.register": "登记清欠投诉", "arrears.start": "清欠案件开始办理", "arrears.timer": "清欠期限到期",
    "calendar.reload": "节假日安排更新，期限重算", "call.close": "截止申报批次", "call.open": "开启申报批次",
    "case.archive": "案件归档", "case.start": "提交申报", "demo_clock.move": "拨动演示时钟",
    "diagram.install": "安装流程图版本", "documents.add": "补充附件", "enterprise.register": "登记企业",
    "fund.adjust": "调整资金预算", "fund.create": "设立资金预算", "fund.top_up": "追加资金预算",
    "honour.add": "登记荣誉", "login.locked": "登录失败次数过多，暂时锁定",
    "offer.claim": "企业认领免申即享奖励", "offer.claim_code": "发放认领码",
    "offer.make": "发出免申即享告知", "outbox.retry": "重发邮件", "payout": "拨付入账", "policy.load": "载入政策版本",
    "policy.simulate": "政策沙盘测算", "pool.import": "导入认定名单", "task.claim": "认领待办",
    "task.complete": "办理", "task.escalate": "督办升级", "task.release": "释放待办", "timer.fire": "期限届满",
    "user.bind_enterprise": "账号绑定企业", "user.create": "创建用户", "user.password": "设置或更改密码",
    "user.update": "修改用户",
}


def kind_label(kind: str) -> str:
    """The Chinese name of an event kind; an unknown kind reads 其他事件 (its code goes in a <code> beside)."""
    return KIND_LABELS.get(kind, "其他事件")
