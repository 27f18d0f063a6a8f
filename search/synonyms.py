"""Chinese <-> English synonyms for skills and industries, shared by every adapter.

Each entry of `SKILL_SYNONYMS` is one group of equivalent terms: the Chinese term first,
then the English term, then any other aliases (abbreviations, spellings). Terms are
compared after `normalize` (NFKC, case-folded, hyphens and runs of spaces made one space).
A term belongs to at most one group (a test holds this).

The industry and district labels repeat the keys of `market.catalogue` (this package may
not import `market`; a test checks that the keys agree).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache

# Industry key -> (Chinese label, English label, further aliases...)
INDUSTRY_LABELS: dict[str, tuple[str, ...]] = {
    "emerging_seed": (
        "未来新兴种子产业",
        "emerging seed industries",
        "新兴产业",
        "emerging industries",
    ),
    "offshore_equipment": (
        "海工装备配套",
        "offshore engineering equipment supply chain",
        "海工装备",
        "offshore equipment",
    ),
    "smart_construction": ("智慧建筑", "smart construction", "智能建筑", "smart building"),
    "modern_services": ("现代服务业", "modern services"),
    "producer_services": ("生产性服务业", "producer services"),
    "electronic_communications": (
        "新一代电子通信",
        "next-generation electronic communications",
        "电子通信",
        "electronic communications",
    ),
    "new_energy": ("新能源", "new energy"),
    "electronic_software": ("电子软件", "electronic software"),
    "port_industries": ("临港产业", "port industries"),
    "biomedicine": ("生物医药", "biomedicine", "biomedical"),
    "high_end_equipment": (
        "高端装备",
        "high-end equipment",
        "高端装备制造",
        "high-end equipment manufacturing",
    ),
    "new_materials": ("新材料", "new materials", "advanced materials"),
}

# District key -> (Chinese label, English label, further aliases...)
DISTRICT_LABELS: dict[str, tuple[str, ...]] = {
    "chongchuan": ("崇川区", "chongchuan", "崇川"),
    "tongzhou": ("通州区", "tongzhou"),
    "gangzha": ("港闸区", "gangzha", "港闸"),
    "development_zone": (
        "南通经济技术开发区",
        "nantong economic and technological development zone",
        "开发区",
    ),
    "haian": ("海安", "hai'an", "haian"),
    "rugao": ("如皋", "rugao"),
    "rudong": ("如东", "rudong"),
    "haimen": ("海门", "haimen"),
    "qidong": ("启东", "qidong"),
    "tongzhou_bay": ("通州湾", "tongzhou bay"),
}

# Skill synonym groups, by industry (Chinese, English, aliases...).
SKILL_SYNONYMS: tuple[tuple[str, ...], ...] = (
    # emerging seed industries (未来新兴种子产业)
    ("人工智能", "artificial intelligence", "ai"),
    ("机器学习", "machine learning", "ml"),
    ("深度学习", "deep learning"),
    ("量子计算", "quantum computing"),
    ("区块链", "blockchain"),
    ("增材制造", "additive manufacturing", "3d打印", "3d printing"),
    ("无人机", "drone", "uav", "unmanned aerial vehicle"),
    ("虚拟现实", "virtual reality", "vr"),
    ("计算机视觉", "computer vision"),
    ("自然语言处理", "natural language processing", "nlp"),
    # offshore engineering equipment (海工装备配套)
    ("海洋工程", "offshore engineering", "marine engineering"),
    ("船舶设计", "ship design", "naval architecture"),
    ("防腐涂层", "anti-corrosion coating", "corrosion protection coating"),
    ("焊接", "welding"),
    ("有限元分析", "finite element analysis", "fea", "有限元"),
    ("海上风电", "offshore wind power", "offshore wind"),
    ("钻井平台", "drilling platform", "drilling rig"),
    ("系泊系统", "mooring system"),
    ("水下机器人", "underwater robot", "rov"),
    ("疲劳分析", "fatigue analysis"),
    ("计算流体力学", "computational fluid dynamics", "cfd"),
    # smart construction (智慧建筑)
    ("建筑信息模型", "building information modeling", "bim"),
    ("装配式建筑", "prefabricated building", "prefabricated construction"),
    ("绿色建筑", "green building"),
    ("楼宇自动化", "building automation"),
    ("结构健康监测", "structural health monitoring", "shm"),
    ("建筑节能", "building energy efficiency"),
    ("物联网", "internet of things", "iot"),
    ("暖通空调", "hvac"),
    # modern services (现代服务业)
    ("电子商务", "e-commerce", "ecommerce"),
    ("供应链管理", "supply chain management"),
    ("数据分析", "data analysis", "data analytics"),
    ("用户体验", "user experience", "ux"),
    ("市场调研", "market research"),
    ("金融科技", "fintech", "financial technology"),
    ("知识产权", "intellectual property"),
    # producer services (生产性服务业)
    ("工业设计", "industrial design"),
    ("检验检测", "testing and inspection", "inspection and testing"),
    ("技术咨询", "technical consulting"),
    ("质量管理", "quality management"),
    ("物流", "logistics"),
    ("标准化", "standardization", "standardisation"),
    ("精益生产", "lean manufacturing", "lean production"),
    ("认证", "certification"),
    # next-generation electronic communications (新一代电子通信)
    ("第五代移动通信", "5g"),
    ("射频", "radio frequency", "rf"),
    ("天线设计", "antenna design"),
    ("光纤通信", "optical fiber communication", "fiber optic communication"),
    ("集成电路", "integrated circuit", "ic"),
    ("芯片设计", "chip design"),
    ("信号处理", "signal processing"),
    ("嵌入式系统", "embedded systems", "embedded system", "嵌入式"),
    ("电磁兼容", "electromagnetic compatibility", "emc"),
    ("毫米波", "millimeter wave", "mmwave"),
    ("印制电路板", "printed circuit board", "pcb"),
    # new energy (新能源)
    ("锂电池", "lithium battery", "lithium-ion battery", "锂离子电池"),
    ("光伏", "photovoltaic", "photovoltaics", "pv"),
    ("储能", "energy storage"),
    ("氢能", "hydrogen energy"),
    ("燃料电池", "fuel cell"),
    ("风力发电", "wind power", "wind power generation"),
    ("电池管理系统", "battery management system", "bms"),
    ("热管理", "thermal management"),
    ("逆变器", "inverter"),
    ("电池回收", "battery recycling"),
    # electronic software (电子软件)
    ("软件开发", "software development", "software engineering"),
    ("云计算", "cloud computing"),
    ("大数据", "big data"),
    ("数据库", "database"),
    ("网络安全", "cybersecurity", "network security"),
    ("移动应用", "mobile app", "mobile application"),
    ("操作系统", "operating system"),
    ("微服务", "microservices"),
    ("工业软件", "industrial software"),
    ("自动化测试", "test automation", "automated testing"),
    # port industries (临港产业)
    ("港口物流", "port logistics"),
    ("集装箱", "container", "containers"),
    ("石油化工", "petrochemical", "petrochemicals", "石化"),
    ("仓储", "warehousing"),
    ("冷链", "cold chain"),
    ("船舶修造", "shipbuilding and repair", "ship repair"),
    ("装卸设备", "cargo handling equipment"),
    ("智慧港口", "smart port"),
    # biomedicine (生物医药)
    ("生物制药", "biopharmaceutical", "biopharmaceuticals"),
    ("药物研发", "drug development", "drug discovery"),
    ("基因测序", "gene sequencing", "dna sequencing"),
    ("医疗器械", "medical device", "medical devices"),
    ("临床试验", "clinical trial", "clinical trials"),
    ("细胞培养", "cell culture"),
    ("抗体", "antibody", "antibodies"),
    ("疫苗", "vaccine", "vaccines"),
    ("生物信息学", "bioinformatics"),
    ("药物制剂", "drug formulation", "pharmaceutical formulation"),
    ("体外诊断", "in vitro diagnostics", "ivd"),
    # high-end equipment (高端装备)
    ("数控机床", "cnc machine tool", "cnc machine tools", "cnc"),
    ("工业机器人", "industrial robot", "industrial robots"),
    ("机器人", "robotics", "robot"),
    ("机器视觉", "machine vision"),
    ("伺服控制", "servo control"),
    ("可编程逻辑控制器", "programmable logic controller", "plc"),
    ("精密加工", "precision machining"),
    ("液压系统", "hydraulic system", "hydraulics"),
    ("故障诊断", "fault diagnosis"),
    ("运动控制", "motion control"),
    ("轴承", "bearing", "bearings"),
    ("减速器", "gear reducer", "speed reducer"),
    # new materials (新材料)
    ("石墨烯", "graphene"),
    ("碳纤维", "carbon fiber", "carbon fibre"),
    ("复合材料", "composite materials", "composites"),
    ("高分子材料", "polymer materials", "polymers"),
    ("纳米材料", "nanomaterials"),
    ("涂层", "coating", "coatings"),
    ("陶瓷", "ceramics", "ceramic"),
    ("合金", "alloy", "alloys"),
    ("稀土", "rare earth", "rare earths"),
    ("膜材料", "membrane materials"),
    ("表面处理", "surface treatment"),
    ("热处理", "heat treatment"),
    ("材料表征", "materials characterization", "material characterization"),
)

STOP_WORDS: tuple[str, ...] = (
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is",
    "it", "of", "on", "or", "the", "to", "with",
)  # fmt: skip

_SPACE_RE = re.compile(r"[\s\-_/]+")


@lru_cache(maxsize=65_536)  # pure; matching normalizes the same skills for every candidate
def normalize(term: str) -> str:
    """The comparison form of a term: NFKC, case-folded, hyphens/spaces collapsed."""
    folded = unicodedata.normalize("NFKC", term).casefold()
    return _SPACE_RE.sub(" ", folded).strip()


def _all_groups() -> list[tuple[str, ...]]:
    groups = [tuple(labels) for labels in INDUSTRY_LABELS.values()]
    groups.extend(SKILL_SYNONYMS)
    return groups


@cache
def _index() -> dict[str, frozenset[str]]:
    """Normalized term -> its group (normalized terms, itself included)."""
    index: dict[str, frozenset[str]] = {}
    for group in _all_groups():
        normalized = frozenset(normalize(t) for t in group)
        for term in normalized:
            index[term] = normalized
    return index


def groups() -> list[frozenset[str]]:
    """Every synonym group (normalized terms), industries first."""
    seen: list[frozenset[str]] = []
    for group in _index().values():
        if group not in seen:
            seen.append(group)
    return seen


def equivalents(term: str) -> frozenset[str]:
    """The normalized synonyms of `term`, itself included (just itself when unknown)."""
    norm = normalize(term)
    return _index().get(norm, frozenset((norm,)))


def are_synonyms(a: str, b: str) -> bool:
    """True when two different spellings belong to one group."""
    na, nb = normalize(a), normalize(b)
    return na != nb and nb in _index().get(na, frozenset())


def is_known(term: str) -> bool:
    return normalize(term) in _index()


def known_terms() -> frozenset[str]:
    return frozenset(_index())


@cache
def max_term_length() -> int:
    return max(len(t) for t in _index())


def expand(terms: Iterable[str]) -> list[str]:
    """Every normalized equivalent of the given terms, in a stable order, no duplicates."""
    out: list[str] = []
    for term in terms:
        norm = normalize(term)
        for candidate in (norm, *sorted(equivalents(term) - {norm})):
            if candidate and candidate not in out:
                out.append(candidate)
    return out


def meili_synonyms() -> dict[str, list[str]]:
    """The Meilisearch `synonyms` setting: every term maps to all the others of its group
    (so both directions, zh -> en and en -> zh, are covered)."""
    out: dict[str, list[str]] = {}
    for group in groups():
        for term in sorted(group):
            out[term] = sorted(group - {term})
    return out


def industry_text(key: str) -> str:
    """Searchable labels of an industry key (Chinese and English); empty when unknown."""
    return " ".join(INDUSTRY_LABELS.get(key, ()))


def district_text(key: str | None) -> str:
    return " ".join(DISTRICT_LABELS.get(key, ())) if key else ""
