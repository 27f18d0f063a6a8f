from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from market.catalogue import District, Industry, Zone
from market.schemas import (
    NO_NUL,
    AmountMinor,
    AwareDatetime,
    Input,
    LongText,
    Summary,
    Tags,
    Title,
    Trl,
)
from market.tasks.domain import BiddingMode, Confidentiality, IpTerms


class TaskInput(Input, kw_only=True):
    title_zh: Title = ""
    title_en: Title = ""
    summary_zh: Summary = ""
    summary_en: Summary = ""
    description_zh: LongText = ""
    description_en: LongText = ""
    required_skills: Tags = msgspec.field(default_factory=list)
    industry: Industry
    district: District
    zone: Zone | None = None
    trl_current: Trl
    trl_target: Trl
    budget_minor: AmountMinor
    bid_deadline: AwareDatetime
    delivery_deadline: AwareDatetime
    bidding_mode: BiddingMode = BiddingMode.OPEN
    ip_terms: IpTerms
    confidentiality: Confidentiality = Confidentiality.PUBLIC


class TaskPatch(Input, kw_only=True):
    """Partial edit: only the fields given change."""

    title_zh: Title | UnsetType = UNSET
    title_en: Title | UnsetType = UNSET
    summary_zh: Summary | UnsetType = UNSET
    summary_en: Summary | UnsetType = UNSET
    description_zh: LongText | UnsetType = UNSET
    description_en: LongText | UnsetType = UNSET
    required_skills: Tags | UnsetType = UNSET
    industry: Industry | UnsetType = UNSET
    district: District | UnsetType = UNSET
    zone: Zone | UnsetType | None = UNSET
    trl_current: Trl | UnsetType = UNSET
    trl_target: Trl | UnsetType = UNSET
    budget_minor: AmountMinor | UnsetType = UNSET
    bid_deadline: AwareDatetime | UnsetType = UNSET
    delivery_deadline: AwareDatetime | UnsetType = UNSET
    bidding_mode: BiddingMode | UnsetType = UNSET
    ip_terms: IpTerms | UnsetType = UNSET
    confidentiality: Confidentiality | UnsetType = UNSET


class CancelInput(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=1_000, pattern=NO_NUL)]


class AttachmentOut(msgspec.Struct):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class TaskOut(msgspec.Struct):
    id: int
    status: str
    org_id: int
    org_name_zh: str
    org_name_en: str
    org_kind: str
    created_by_id: int
    title_zh: str
    title_en: str
    summary_zh: str
    summary_en: str
    # None when the task is under NDA and the caller has not accepted it.
    description_zh: str | None
    description_en: str | None
    details_visible: bool
    required_skills: list[str]
    industry: str
    district: str
    zone: str | None
    trl_current: int
    trl_target: int
    budget_minor: int
    currency: str
    bid_deadline: AwareDatetime
    delivery_deadline: AwareDatetime
    bidding_mode: str
    ip_terms: str
    confidentiality: str
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    bid_count: int | None = None
    attachments: list[AttachmentOut] | None = None


class TaskSummaryOut(msgspec.Struct):
    """A row of a task listing: the public summary, never the confidential details."""

    id: int
    status: str
    org_id: int
    org_name_zh: str
    org_name_en: str
    title_zh: str
    title_en: str
    summary_zh: str
    summary_en: str
    required_skills: list[str]
    industry: str
    district: str
    zone: str | None
    trl_current: int
    trl_target: int
    budget_minor: int
    bid_deadline: AwareDatetime
    delivery_deadline: AwareDatetime
    bidding_mode: str
    ip_terms: str
    confidentiality: str
    published_at: datetime | None
