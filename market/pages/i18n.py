"""Labels of the web pages, Chinese first and English second, and how a page picks its
language: `?lang=` (remembered in a cookie), else the cookie, else the user's own
language, else Chinese."""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup, escape

from market.catalogue import DISTRICT_LABELS, INDUSTRY_LABELS, District, Industry

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# key -> (zh, en)
LABELS: dict[str, tuple[str, str]] = {
    "site": ("技术创新众包平台", "R&D task marketplace"),
    "tasks": ("研发任务", "R&D tasks"),
    "search": ("搜索", "Search"),
    "search_hint": ("输入关键词，如 焊接、新材料", "keywords, e.g. welding, new materials"),
    "no_tasks": ("没有找到任务", "No tasks found"),
    "results": ("条结果", "results"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "for_me": ("为我推荐", "Tasks for me"),
    "for_me_intro": (
        "根据您的技能、领域和简介匹配的开放任务（已投标的除外）",
        "Open tasks matched to your skills, fields and bio (those you bid on left out)",
    ),
    "no_matches": (
        "暂无推荐：请完善技能和领域",
        "Nothing matched yet: add skills and fields to your profile",
    ),
    "why": ("推荐理由", "Why"),
    "matched_skills": ("匹配技能", "Matched skills"),
    "via_synonym": ("同义词", "synonym"),
    "matched_terms": ("匹配词", "Matched terms"),
    "signals": ("其他信号", "Other signals"),
    "score": ("匹配度", "Score"),
    "inbox": ("通知", "Notifications"),
    "unread": ("未读", "unread"),
    "mark_read": ("标为已读", "Mark read"),
    "mark_all_read": ("全部标为已读", "Mark all read"),
    "no_notifications": ("暂无通知", "No notifications"),
    "open_link": ("查看", "Open"),
    "contracts": ("我的合同", "My contracts"),
    "no_contracts": ("暂无合同", "No contracts"),
    "contract": ("合同", "Contract"),
    "task": ("任务", "Task"),
    "status": ("状态", "Status"),
    "price": ("合同金额", "Price"),
    "budget": ("预算", "Budget"),
    "milestones": ("里程碑", "Milestones"),
    "milestone": ("里程碑", "Milestone"),
    "amount": ("金额", "Amount"),
    "due": ("截止", "Due"),
    "escrow": ("托管", "Escrow"),
    "funded": ("已托管", "Funded"),
    "released": ("已支付", "Released"),
    "refunded": ("已退款", "Refunded"),
    "actions": ("可执行操作", "Actions"),
    "no_actions": ("您当前没有可执行的操作", "Nothing for you to do now"),
    "accept_contract": ("接受合同", "Accept contract"),
    "accept_terms": (
        "我接受本合同的知识产权与保密条款",
        "I accept the contract's IP and confidentiality terms",
    ),
    "submit_deliverable": ("提交成果", "Submit deliverable"),
    "deliverable_note": ("成果说明", "Deliverable note"),
    "accept_milestone": ("验收通过", "Accept milestone"),
    "submissions": ("提交记录", "Submissions"),
    "version": ("版本", "Version"),
    "ip_terms": ("知识产权", "IP terms"),
    "confidentiality": ("保密", "Confidentiality"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "email": ("电子邮箱", "E-mail"),
    "password": ("密码", "Password"),
    "login_failed": ("登录失败", "Log-in failed"),
    "org": ("发布单位", "Posted by"),
    "skills": ("所需技能", "Skills"),
    "industry": ("行业", "Industry"),
    "district": ("区县", "District"),
    "trl": ("技术成熟度", "TRL"),
    "bid_deadline": ("投标截止", "Bids close"),
    "delivery_deadline": ("交付截止", "Delivery by"),
    "bidding_mode": ("投标方式", "Bidding"),
    "summary": ("摘要", "Summary"),
    "description": ("详细说明", "Description"),
    "nda_hidden": (
        "签署保密协议后可查看详细说明和附件",
        "Accept the NDA to see the description and files",
    ),
    "bid_count": ("投标数", "Bids"),
    "bids": ("投标", "Bids"),
    "review_bids": ("查看投标", "Review the bids"),
    "no_bids": ("暂无投标", "No bids yet"),
    "place_bid": ("提交投标", "Place a bid"),
    "my_bid": ("我的投标", "My bid"),
    "withdraw_bid": ("撤回投标", "Withdraw the bid"),
    "bid_price": ("报价（元）", "Price (yuan)"),
    "bid_price_hint": ("最多两位小数，如 300000.50", "at most 2 decimals, e.g. 300000.50"),
    "duration_days": ("工期（天）", "Duration (days)"),
    "proposal": ("技术方案", "Proposal"),
    "milestone_plan": (
        "里程碑计划（金额之和须等于报价）",
        "Milestone plan (amounts add up to the price)",
    ),
    "milestone_title": ("名称", "Title"),
    "amount_yuan": ("金额（元）", "Amount (yuan)"),
    "bid_failed": ("投标未提交", "The bid was not placed"),
    "bidder": ("投标方", "Bidder"),
    "decline_reason": ("拒绝理由", "Reason for declining"),
    "shortlist": ("入围", "Shortlist"),
    "decline": ("拒绝", "Decline"),
    "award": ("授标", "Award"),
    "award_terms": (
        "我代表发布单位接受本任务的知识产权与保密条款",
        "On behalf of the posting organisation I accept the task's IP and NDA terms",
    ),
    "view_contract": ("查看合同", "View the contract"),
    "request_revision": ("要求修改", "Ask for a revision"),
    "revision_comment": ("修改意见", "Revision comment"),
    "open_dispute": ("提出争议", "Open a dispute"),
    "dispute_hint": (
        "争议由平台管理员裁决：全额支付、全额退款或按比例分配",
        "An admin decides: release, refund, or split by percentage",
    ),
    "dispute_reason": ("争议理由", "Reason"),
    "action_failed": ("操作未完成", "The action was not taken"),
    "ratings": ("评价", "Ratings"),
    "no_ratings": ("暂无评价", "No ratings yet"),
    "rate": ("提交评价", "Rate"),
    "rate_solver": ("评价解题方（1–5 分）", "Rate the solver (1–5)"),
    "rate_poster": ("评价发布单位（1–5 分）", "Rate the posting organisation (1–5)"),
    "rating_comment": ("评语", "Comment"),
    "rating_by_solver": ("解题方对发布单位的评价", "The solver's rating of the organisation"),
    "rating_by_poster": ("发布单位对解题方的评价", "The organisation's rating of the solver"),
    "disputes": ("争议裁决", "Disputes"),
    "no_disputes": ("暂无待裁决的争议", "No open disputes"),
    "opened_at": ("提出时间", "Opened"),
    "resolve": ("裁决", "Resolve"),
    "outcome:release": ("全额支付给解题方", "Release all to the solver"),
    "outcome:refund": ("全额退还发布单位", "Refund all to the poster"),
    "outcome:split": ("按比例分配", "Split"),
    "solver_share_pct": ("解题方所得比例（%，1–99）", "Solver's share (%, 1–99)"),
    "resolution_note": ("裁决说明", "Note"),
    "error": ("出错了", "Something went wrong"),
    "back": ("返回", "Back"),
    "language": ("English", "中文"),
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    # tasks
    "draft": ("草稿", "draft"),
    "published": ("投标中", "open for bids"),
    "bidding_closed": ("投标已截止", "bidding closed"),
    "awarded": ("已中标", "awarded"),
    "in_progress": ("进行中", "in progress"),
    "completed": ("已完成", "completed"),
    "cancelled": ("已取消", "cancelled"),
    # contracts
    "awaiting_funding": ("等待托管首期款", "awaiting funding"),
    "pending_acceptance": ("待解题方接受", "awaiting the solver's acceptance"),
    "active": ("执行中", "active"),
    # milestones
    "open": ("待交付", "open"),
    "submitted": ("已提交待验收", "submitted"),
    "revision_requested": ("需修改", "revision requested"),
    "accepted": ("已验收", "accepted"),
    "disputed": ("争议中", "disputed"),
    "resolved": ("争议已裁决", "resolved"),
    # escrow
    "unfunded": ("未托管", "unfunded"),
    "funding": ("托管中", "funding"),
    "funded": ("已托管", "funded"),
    "settling": ("结算中", "settling"),
    "releasing": ("支付中", "releasing"),
    "refunding": ("退款中", "refunding"),
    "released": ("已支付", "released"),
    "refunded": ("已退款", "refunded"),
    # submissions
    "pending": ("待验收", "pending"),
    # bids ("submitted" and "awarded" as above)
    "shortlisted": ("已入围", "shortlisted"),
    "declined": ("已拒绝", "declined"),
    "withdrawn": ("已撤回", "withdrawn"),
    # bidding modes, IP terms, confidentiality
    "mode:open": ("公开投标", "open bidding"),
    "mode:sealed": ("密封投标", "sealed bidding"),
    "public": ("公开", "public"),
    "nda": ("需签保密协议", "NDA"),
    "assign": ("转让", "assignment"),
    "exclusive_licence": ("独占许可", "exclusive licence"),
    "non_exclusive_licence": ("非独占许可", "non-exclusive licence"),
    "solver_keeps": ("归解题方", "solver keeps"),
}

# A refused form's rule (DomainError.rule) in both languages; the service's own detail
# follows it. Rules without an entry get the form's general "not placed" label.
RULE_LABELS: dict[str, tuple[str, str]] = {
    "yuan_amount": ("金额格式有误，应为元，如 12345.67", "An amount in yuan, e.g. 12345.67"),
    "fen_precision": (
        "金额最多两位小数（精确到分）",
        "Amounts have at most 2 decimals (to the fen)",
    ),
    "whole_number": ("应为整数", "A whole number"),
    "date": ("日期格式有误（年-月-日）", "A date (YYYY-MM-DD)"),
    "invalid_form": ("请检查填写的内容", "Please check the fields"),
    "non_empty": ("至少需要一个里程碑", "At least one milestone"),
    "sum_equals_price": (
        "里程碑金额之和必须等于报价",
        "The milestone amounts must add up to the price",
    ),
    "future": ("里程碑截止日期不能早于今天", "A milestone cannot be due in the past"),
    "within_delivery_deadline": (
        "里程碑截止日期不能晚于任务交付截止",
        "A milestone cannot be due after the task's delivery deadline",
    ),
    "ordered": ("里程碑须按截止日期先后排列", "List the milestones in the order they fall due"),
    "bidding_closed": ("该任务已停止投标", "Bidding on this task is closed"),
    "deadline_passed": ("投标已截止", "The bid deadline has passed"),
    "one_live_bid": ("您在该任务已有有效投标", "You already have a live bid on this task"),
    "split_range": (
        "按比例分配时，解题方所得比例须在 1% 到 99% 之间",
        "A split gives the solver between 1 and 99 percent",
    ),
    "one_rating": ("您已评价过该合同", "You have rated this contract already"),
    "not_completed": ("合同完成后才能评价", "Ratings open when the contract is completed"),
    "illegal_transition": ("当前状态不允许此操作", "Not possible in the current state"),
}

SIGNAL_LABELS: dict[str, tuple[str, str]] = {
    "skill_overlap": ("技能覆盖", "skill overlap"),
    "text_relevance": ("文本相关", "text relevance"),
    "industry_match": ("行业相符", "same industry"),
    "district_match": ("同一区县", "same district"),
    "reputation": ("信誉", "reputation"),
}


def pick_language(query: str | None, cookie: str | None, user_language: str | None) -> str:
    for candidate in (query, cookie, user_language):
        if candidate in LANGUAGES:
            return str(candidate)
    return DEFAULT_LANGUAGE


class Labels:
    """`t("key")`: the label in the page's language with the other language after it."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def _pair(self, table: Mapping[str, tuple[str, str]], key: str) -> tuple[str, str]:
        zh, en = table.get(key, (key, key))
        return (en, zh) if self.lang == "en" else (zh, en)

    def __call__(self, key: str) -> Markup:
        first, second = self._pair(LABELS, key)
        return Markup('{} <span class="alt">{}</span>').format(first, second)

    def one(self, key: str) -> str:
        """Only the page language (for attributes such as placeholders)."""
        return self._pair(LABELS, key)[0]

    def status(self, value: str) -> Markup:
        first, second = self._pair(STATUS_LABELS, value)
        if first == second:
            return escape(first)
        return Markup('{} <span class="alt">{}</span>').format(first, second)

    def rule(self, rule: str | None, fallback: str = "bid_failed") -> Markup:
        first, second = self._pair(RULE_LABELS, rule or "")
        if first == second:  # no entry: the form's general label
            return self(fallback)
        return Markup('{} <span class="alt">{}</span>').format(first, second)

    def signal(self, key: str) -> str:
        return self._pair(SIGNAL_LABELS, key)[0]

    def text(self, zh: str | None, en: str | None) -> str:
        """A bilingual content field in the page language, falling back to the other."""
        first, second = (en, zh) if self.lang == "en" else (zh, en)
        return first or second or ""

    def industry(self, key: str) -> str:
        try:
            zh, en = INDUSTRY_LABELS[Industry(key)]
        except ValueError:
            return key
        return self.text(zh, en)

    def district(self, key: str | None) -> str:
        if not key:
            return ""
        try:
            zh, en = DISTRICT_LABELS[District(key)]
        except ValueError:
            return key
        return self.text(zh, en)


def money(amount_minor: int) -> str:
    """Fen as yuan: 123456 -> ¥1,234.56 (integer arithmetic, no floats)."""
    sign = "-" if amount_minor < 0 else ""
    yuan, fen = divmod(abs(amount_minor), 100)
    return f"{sign}¥{yuan:,}.{fen:02d}"
