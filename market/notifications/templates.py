"""What each notification says, in Chinese and in English.

Every kind has a title and a body in both languages; the values (task titles, amounts,
reasons) are filled in with str.format, so a title containing braces is inserted as it is.
Amounts are integer fen, shown as yuan; times are shown in China Standard Time (UTC+8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

CST = timezone(timedelta(hours=8), "CST")


class Kind(StrEnum):
    BID_PLACED = "bid_placed"
    BID_SHORTLISTED = "bid_shortlisted"
    BID_DECLINED = "bid_declined"
    CONTRACT_AWARDED = "contract_awarded"
    CONTRACT_FUNDED = "contract_funded"
    CONTRACT_CANCELLED = "contract_cancelled"
    TASK_CANCELLED = "task_cancelled"
    MILESTONE_FUNDED = "milestone_funded"
    MILESTONE_READY = "milestone_ready"
    MILESTONE_FUNDING_FAILED = "milestone_funding_failed"
    MILESTONE_SUBMITTED = "milestone_submitted"
    MILESTONE_REVISION_REQUESTED = "milestone_revision_requested"
    MILESTONE_ACCEPTED = "milestone_accepted"
    MILESTONE_RELEASED = "milestone_released"
    MILESTONE_REFUNDED = "milestone_refunded"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_RESOLVED = "dispute_resolved"
    BID_DEADLINE_SOON = "bid_deadline_soon"
    MILESTONE_DUE_SOON = "milestone_due_soon"
    SAVED_SEARCH_MATCH = "saved_search_match"  # market.discovery.tasks


@dataclass(frozen=True, slots=True)
class Template:
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str


@dataclass(frozen=True, slots=True)
class Rendered:
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_zh

    def body(self, language: str) -> str:
        return self.body_en if language == "en" else self.body_zh


# Placeholders: task_zh/task_en (the task's title), seq and milestone (a milestone's number
# and title), amount/paid/fee/to_solver/to_poster (money), and the kind's own values.
TEMPLATES: dict[Kind, Template] = {
    Kind.BID_PLACED: Template(
        "「{task_zh}」收到新投标",
        "New bid on “{task_en}”",
        "{solver}对您发布的任务「{task_zh}」提交了投标，报价 {amount}，工期 {days} 天。",
        "{solver} placed a bid of {amount} ({days} days) on your task “{task_en}”.",
    ),
    Kind.BID_SHORTLISTED: Template(
        "您对「{task_zh}」的投标已入围",
        "Your bid on “{task_en}” was shortlisted",
        "发布方已将您对任务「{task_zh}」的投标列入候选名单，请留意后续通知。",
        "The poster shortlisted your bid on “{task_en}”. Watch for further news.",
    ),
    Kind.BID_DECLINED: Template(
        "您对「{task_zh}」的投标未被采纳",
        "Your bid on “{task_en}” was declined",
        "发布方未采纳您对任务「{task_zh}」的投标。理由：{reason}",
        "The poster declined your bid on “{task_en}”. Reason: {reason}",
    ),
    Kind.CONTRACT_AWARDED: Template(
        "恭喜！您中标了「{task_zh}」",
        "You won “{task_en}”",
        "您对任务「{task_zh}」的投标已中标，合同金额 {amount}。发布方正在将首期款存入托管，"
        "到账后请确认合同条款，开始工作。",
        "Your bid on “{task_en}” was awarded; the contract is worth {amount}. The poster is "
        "paying the first milestone into escrow; once it is held, accept the contract terms "
        "to start work.",
    ),
    Kind.CONTRACT_FUNDED: Template(
        "「{task_zh}」首期款已托管，请确认合同",
        "First milestone of “{task_en}” is in escrow: please accept the contract",
        "任务「{task_zh}」的首期款 {amount} 已存入平台托管。请确认知识产权与保密条款，合同随即生效。",
        "The first milestone of “{task_en}”, {amount}, is now held in escrow. Accept the IP "
        "and confidentiality terms and the contract starts.",
    ),
    Kind.CONTRACT_CANCELLED: Template(
        "「{task_zh}」的合同已被发布方取消",
        "The poster cancelled the contract for “{task_en}”",
        "发布方取消了任务「{task_zh}」的合同，理由：{reason}。尚未交付的里程碑不再进行，"
        "其托管款退回发布方；已验收的款项不受影响。",
        "The poster cancelled the contract for “{task_en}”. Reason: {reason}. Milestones not "
        "yet delivered will not go ahead and their escrow goes back to the poster; money "
        "already released to you is not affected.",
    ),
    Kind.TASK_CANCELLED: Template(
        "您投标的任务「{task_zh}」已取消",
        "“{task_en}”, which you bid on, was cancelled",
        "发布方取消了任务「{task_zh}」，理由：{reason}。您的投标不会再被评审。",
        "The poster cancelled the task “{task_en}”. Reason: {reason}. Your bid will not be "
        "reviewed.",
    ),
    Kind.MILESTONE_FUNDED: Template(
        "「{task_zh}」第 {seq} 期款已存入托管",
        "Milestone {seq} of “{task_en}” is funded",
        "您为任务「{task_zh}」第 {seq} 期里程碑「{milestone}」支付的 {amount} 已存入平台托管，"
        "验收通过后才会支付给解题方。",
        "The {amount} you paid for milestone {seq} (“{milestone}”) of “{task_en}” is held in "
        "escrow; it is paid to the solver only after you accept the work.",
    ),
    Kind.MILESTONE_READY: Template(
        "「{task_zh}」第 {seq} 期款已托管，可以开始",
        "Milestone {seq} of “{task_en}” is funded: you can start",
        "任务「{task_zh}」第 {seq} 期里程碑「{milestone}」的 {amount} 已存入托管，请开始工作并按期交付。",
        "The {amount} for milestone {seq} (“{milestone}”) of “{task_en}” is held in escrow. "
        "You can start the work and deliver it on time.",
    ),
    Kind.MILESTONE_FUNDING_FAILED: Template(
        "「{task_zh}」第 {seq} 期付款未成功",
        "Payment for milestone {seq} of “{task_en}” failed",
        "任务「{task_zh}」第 {seq} 期里程碑 {amount} 的托管付款未成功（{reason}）。"
        "请检查付款方式后重新付款。",
        "Paying {amount} into escrow for milestone {seq} of “{task_en}” failed ({reason}). "
        "Please check your payment method and fund the milestone again.",
    ),
    Kind.MILESTONE_SUBMITTED: Template(
        "「{task_zh}」第 {seq} 期成果已提交，请验收",
        "Work delivered for milestone {seq} of “{task_en}”",
        "解题方提交了任务「{task_zh}」第 {seq} 期里程碑「{milestone}」的第 {version} 版成果。"
        "请在 {review_days} 天内验收或提出修改意见，逾期将自动验收。",
        "The solver delivered version {version} of milestone {seq} (“{milestone}”) of "
        "“{task_en}”. Please accept it or ask for a revision within {review_days} days; "
        "after that it is accepted automatically.",
    ),
    Kind.MILESTONE_REVISION_REQUESTED: Template(
        "「{task_zh}」第 {seq} 期成果需要修改",
        "Revision requested for milestone {seq} of “{task_en}”",
        "发布方要求修改任务「{task_zh}」第 {seq} 期里程碑「{milestone}」的成果。意见：{comment}",
        "The poster asked for a revision of milestone {seq} (“{milestone}”) of “{task_en}”. "
        "Comment: {comment}",
    ),
    Kind.MILESTONE_ACCEPTED: Template(
        "「{task_zh}」第 {seq} 期成果已验收",
        "Milestone {seq} of “{task_en}” accepted",
        "发布方已验收任务「{task_zh}」第 {seq} 期里程碑「{milestone}」，托管的 {amount} "
        "将支付给您（扣除平台服务费）。",
        "The poster accepted milestone {seq} (“{milestone}”) of “{task_en}”. The {amount} "
        "held in escrow is being paid to you, less the platform fee.",
    ),
    Kind.MILESTONE_RELEASED: Template(
        "「{task_zh}」第 {seq} 期款项已支付",
        "Payment released for milestone {seq} of “{task_en}”",
        "任务「{task_zh}」第 {seq} 期里程碑的 {paid} 已从托管支付给您（平台服务费 {fee}）。",
        "{paid} for milestone {seq} of “{task_en}” was released to you from escrow "
        "(platform fee {fee}).",
    ),
    Kind.MILESTONE_REFUNDED: Template(
        "「{task_zh}」第 {seq} 期托管款已退回",
        "Escrow refunded for milestone {seq} of “{task_en}”",
        "任务「{task_zh}」第 {seq} 期里程碑托管的 {amount} 已退回您的付款账户。",
        "{amount} held in escrow for milestone {seq} of “{task_en}” was refunded to you.",
    ),
    Kind.DISPUTE_OPENED: Template(
        "「{task_zh}」第 {seq} 期出现争议",
        "Dispute opened on milestone {seq} of “{task_en}”",
        "{opener_zh}对任务「{task_zh}」第 {seq} 期里程碑「{milestone}」提出了争议，理由：{reason}。"
        "托管款项将保持冻结，直至平台管理员裁决。",
        "{opener_en} opened a dispute on milestone {seq} (“{milestone}”) of “{task_en}”. "
        "Reason: {reason}. The escrowed money stays held until a platform administrator decides.",
    ),
    Kind.DISPUTE_RESOLVED: Template(
        "「{task_zh}」第 {seq} 期争议已裁决",
        "Dispute on milestone {seq} of “{task_en}” decided",
        "平台管理员已裁决任务「{task_zh}」第 {seq} 期里程碑的争议：{outcome_zh}。"
        "支付给解题方 {to_solver}，退回发布方 {to_poster}。",
        "A platform administrator decided the dispute on milestone {seq} of “{task_en}”: "
        "{outcome_en}. {to_solver} goes to the solver and {to_poster} back to the poster.",
    ),
    Kind.BID_DEADLINE_SOON: Template(
        "「{task_zh}」的投标将在 24 小时内截止",
        "Bidding on “{task_en}” closes within 24 hours",
        "任务「{task_zh}」的投标将于 {deadline_zh} 截止，目前已收到 {bids} 份投标。"
        "截止后即可评审投标并选定中标方。",
        "Bidding on “{task_en}” closes on {deadline_en}; {bids} bid(s) so far. After the "
        "deadline you can review the bids and award the task.",
    ),
    Kind.MILESTONE_DUE_SOON: Template(
        "「{task_zh}」第 {seq} 期将在 48 小时内到期",
        "Milestone {seq} of “{task_en}” is due within 48 hours",
        "任务「{task_zh}」第 {seq} 期里程碑「{milestone}」的交付期限是 {due_zh}，请按时提交成果。",
        "Milestone {seq} (“{milestone}”) of “{task_en}” is due on {due_en}. Please deliver on "
        "time.",
    ),
    Kind.SAVED_SEARCH_MATCH: Template(
        "新任务「{task_zh}」符合您保存的搜索",
        "New task matching your saved search: “{task_en}”",
        "刚发布的任务「{task_zh}」符合您保存的搜索「{search}」，欢迎查看并投标。",
        "The newly published task “{task_en}” matches your saved search {search_en}. Take a "
        "look and bid.",
    ),
}

OUTCOMES = {
    "release": ("全额支付给解题方", "paid in full to the solver"),
    "refund": ("全额退回发布方", "refunded in full to the poster"),
    "split": ("按比例分配", "split between the parties"),
}
PARTIES = {"poster": ("发布方", "The poster"), "solver": ("解题方", "The solver")}


def money(minor: int) -> str:
    """Integer fen as yuan: 1234567 -> ¥12,345.67."""
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}¥{minor // 100:,}.{minor % 100:02d}"


def when_zh(at: datetime) -> str:
    return at.astimezone(CST).strftime("%Y年%m月%d日 %H:%M（北京时间）")


def when_en(at: datetime) -> str:
    return at.astimezone(CST).strftime("%d %b %Y, %H:%M China Standard Time")


def parse_when(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def task_titles(title_zh: str, title_en: str) -> dict[str, str]:
    """Either title stands in for the other when a task has one language only."""
    return {"task_zh": title_zh or title_en, "task_en": title_en or title_zh}


def render(kind: Kind, values: dict[str, Any]) -> Rendered:
    t = TEMPLATES[kind]
    return Rendered(
        t.title_zh.format(**values),
        t.title_en.format(**values),
        t.body_zh.format(**values),
        t.body_en.format(**values),
    )
