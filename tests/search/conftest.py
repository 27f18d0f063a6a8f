"""Fixtures of the search tests: a small hand-written zh/en data set and the adapters.

The conformance suite runs every case against each adapter: the embedded engine always,
Meilisearch only when MEILI_URL points at a server (MEILI_API_KEY or MEILI_MASTER_KEY
for its key); each Meilisearch test run uses its own index prefix and drops its indexes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from search.embedded import EmbeddedSearchIndex
from search.port import SearchIndex, SolverDocument, TaskDocument

DAY = 86_400
BASE = 1_767_225_600  # 2026-01-01T00:00:00Z


def _task(
    id: int,
    *,
    title_zh: str,
    title_en: str = "",
    summary_zh: str = "",
    summary_en: str = "",
    description_zh: str = "",
    description_en: str = "",
    skills: list[str],
    industry: str,
    district: str,
    zone: str | None = None,
    status: str = "published",
    trl: tuple[int, int] = (4, 6),
    budget_yuan: int,
    poster_org_id: int = 1,
) -> TaskDocument:
    published_at = BASE + id * DAY
    return TaskDocument(
        id=id,
        title_zh=title_zh,
        title_en=title_en,
        summary_zh=summary_zh,
        summary_en=summary_en,
        description_zh=description_zh,
        description_en=description_en,
        skills=skills,
        industry=industry,
        district=district,
        zone=zone,
        status=status,
        trl_current=trl[0],
        trl_target=trl[1],
        budget_minor=budget_yuan * 100,
        bid_deadline=published_at + (30 + id % 7) * DAY,
        published_at=published_at,
        poster_org_id=poster_org_id,
    )


TASKS: list[TaskDocument] = [
    # Chinese only: English must find it through synonyms (graphene, coating).
    _task(
        1,
        title_zh="石墨烯导热涂层在海工装备防腐中的应用研究",
        summary_zh="开发石墨烯改性防腐涂层，耐盐雾不低于3000小时。",
        description_zh="面向海上平台钢结构，研制石墨烯改性环氧涂层，完成盐雾与附着力测试。",
        skills=["石墨烯", "涂层", "盐雾试验"],
        industry="new_materials",
        district="tongzhou_bay",
        zone="tongzhou_bay_sci_edu_city",
        trl=(3, 6),
        budget_yuan=480_000,
        poster_org_id=11,
    ),
    _task(
        2,
        title_zh="海上风电单桩基础焊缝疲劳寿命评估",
        title_en="Fatigue life assessment of welds in offshore wind monopile foundations",
        summary_zh="建立单桩环焊缝的疲劳寿命评估方法。",
        summary_en="A fatigue life method for girth welds of monopiles.",
        description_zh="结合现场应变监测数据，完成热点应力计算与寿命预测。",
        description_en="Hot-spot stress calculation and life prediction from field strain data.",
        skills=["焊接", "疲劳分析", "有限元分析"],
        industry="offshore_equipment",
        district="tongzhou",
        zone="nantong_hi_tech_zone",
        trl=(4, 6),
        budget_yuan=350_000,
        poster_org_id=12,
    ),
    _task(
        3,
        title_zh="机器人焊接工艺参数优化",
        title_en="Robotic welding process parameter optimisation",
        summary_zh="提高厚板机器人焊接的一次合格率。",
        summary_en="Raise the first-pass yield of robotic welding on thick plates.",
        description_zh="利用视觉传感实时调整焊接电流与速度。",
        description_en="Use vision sensing to adjust current and travel speed in real time.",
        skills=["welding", "industrial robot", "机器视觉"],
        industry="high_end_equipment",
        district="qidong",
        zone="qidong_innovation_economy",
        trl=(5, 7),
        budget_yuan=260_000,
        poster_org_id=13,
    ),
    # Mentions welding only in passing, in its description.
    _task(
        4,
        title_zh="船用起重机液压系统故障诊断",
        title_en="Fault diagnosis for marine crane hydraulic systems",
        summary_zh="基于振动与压力信号的液压系统早期故障识别。",
        summary_en="Early fault detection from vibration and pressure signals.",
        description_zh="起重机由多家供应商集成，部分结构件曾返厂焊接修复。",
        description_en="The cranes were integrated by several suppliers; some parts were repaired.",
        skills=["液压系统", "故障诊断"],
        industry="offshore_equipment",
        district="tongzhou",
        trl=(4, 6),
        budget_yuan=180_000,
        poster_org_id=12,
    ),
    _task(
        5,
        title_zh="锂电池储能系统热管理仿真",
        title_en="Thermal management simulation for lithium battery energy storage",
        summary_zh="储能集装箱内电池簇温度均匀性仿真与风道优化。",
        summary_en="Temperature uniformity of battery clusters in storage containers.",
        skills=["锂电池", "热管理", "计算流体力学"],
        industry="new_energy",
        district="haian",
        zone="haian_hi_tech",
        trl=(3, 5),
        budget_yuan=300_000,
        poster_org_id=14,
    ),
    _task(
        6,
        title_zh="光伏组件回收中的银铝分离工艺",
        title_en="Silver and aluminium separation in PV module recycling",
        skills=["光伏", "湿法冶金"],
        industry="new_energy",
        district="haian",
        zone="haian_hi_tech",
        status="awarded",
        trl=(4, 6),
        budget_yuan=220_000,
        poster_org_id=14,
    ),
    _task(
        7,
        title_zh="基于BIM的装配式建筑施工进度管理平台",
        title_en="BIM-based construction progress platform for prefabricated buildings",
        summary_zh="打通设计模型与现场进度，自动生成偏差预警。",
        summary_en="Link design models to site progress and raise deviation alerts.",
        skills=["BIM", "装配式建筑", "软件开发"],
        industry="smart_construction",
        district="chongchuan",
        zone="chuangyuan",
        trl=(5, 8),
        budget_yuan=400_000,
        poster_org_id=15,
    ),
    _task(
        8,
        title_zh="5G小基站毫米波天线阵列设计",
        title_en="Millimetre-wave antenna array for 5G small cells",
        summary_zh="28GHz频段低剖面天线阵列，满足小型化要求。",
        summary_en="A low-profile 28 GHz array for compact small cells.",
        skills=["天线设计", "毫米波", "射频"],
        industry="electronic_communications",
        district="development_zone",
        zone="nengda",
        trl=(3, 6),
        budget_yuan=550_000,
        poster_org_id=16,
    ),
    _task(
        9,
        title_zh="工业软件国产化：有限元求解器并行加速",
        title_en="Parallel acceleration of a domestic finite element solver",
        summary_zh="在国产CPU集群上实现求解器的并行加速。",
        summary_en="Speed the solver up on domestic CPU clusters.",
        skills=["有限元分析", "高性能计算", "C++"],
        industry="electronic_software",
        district="rugao",
        zone="rugao_software_park",
        trl=(4, 7),
        budget_yuan=600_000,
        poster_org_id=17,
    ),
    _task(
        10,
        title_zh="港口集装箱堆场智能调度算法",
        title_en="Intelligent scheduling for port container yards",
        summary_zh="降低集卡空驶率，提升堆场翻箱效率。",
        summary_en="Cut empty truck trips and re-handling in the yard.",
        skills=["港口物流", "运筹优化", "machine learning"],
        industry="port_industries",
        district="rudong",
        zone="rudong_sci_tech_city",
        trl=(4, 7),
        budget_yuan=280_000,
        poster_org_id=18,
    ),
    _task(
        11,
        title_zh="抗体药物细胞培养工艺放大",
        title_en="Scale-up of cell culture for antibody drugs",
        summary_zh="从2升到200升生物反应器的工艺放大。",
        summary_en="Scale-up from 2 L to 200 L bioreactors.",
        skills=["细胞培养", "抗体", "生物制药"],
        industry="biomedicine",
        district="haimen",
        zone="haimen_biomedicine",
        trl=(5, 7),
        budget_yuan=750_000,
        poster_org_id=19,
    ),
    _task(
        12,
        title_zh="体外诊断试剂微流控芯片开发",
        title_en="Microfluidic chip for in vitro diagnostic reagents",
        skills=["体外诊断", "微流控"],
        industry="biomedicine",
        district="haimen",
        zone="haimen_biomedicine",
        status="closed",
        trl=(3, 5),
        budget_yuan=320_000,
        poster_org_id=19,
    ),
    _task(
        13,
        title_zh="高端数控机床主轴热误差补偿",
        title_en="Thermal error compensation for CNC machine tool spindles",
        summary_zh="建立温度场与主轴伸长的预测模型并在线补偿。",
        summary_en="Predict spindle growth from temperatures and compensate online.",
        skills=["数控机床", "热误差补偿", "machine learning"],
        industry="high_end_equipment",
        district="qidong",
        zone="qidong_innovation_economy",
        trl=(4, 6),
        budget_yuan=420_000,
        poster_org_id=13,
    ),
    _task(
        14,
        title_zh="碳纤维复合材料轻量化船体结构",
        title_en="Lightweight hull structures in carbon fibre composites",
        summary_zh="在保证强度的前提下减重百分之三十。",
        summary_en="Thirty per cent lighter at equal strength.",
        skills=["碳纤维", "复合材料", "有限元分析"],
        industry="new_materials",
        district="tongzhou_bay",
        zone="tongzhou_bay_sci_edu_city",
        trl=(3, 5),
        budget_yuan=500_000,
        poster_org_id=11,
    ),
    # Tagged 新材料 outside the new-materials industry: "new materials" finds it by synonym.
    _task(
        15,
        title_zh="深海钻井平台轴承选材",
        title_en="Bearing selection for deep-sea drilling platforms",
        summary_zh="比较候选轴承在低温海水中的磨损与腐蚀。",
        summary_en="Compare wear and corrosion of candidate bearings in cold seawater.",
        skills=["新材料", "轴承", "材料表征"],
        industry="offshore_equipment",
        district="tongzhou",
        trl=(3, 5),
        budget_yuan=330_000,
        poster_org_id=12,
    ),
    # Tagged "new materials" in English only: 新材料 finds it by synonym.
    _task(
        16,
        title_zh="智慧建筑外墙自清洁涂料",
        title_en="Self-cleaning facade paint for smart buildings",
        summary_zh="光催化自清洁外墙涂料的耐候性验证。",
        summary_en="Weathering tests of a photocatalytic self-cleaning paint.",
        skills=["new materials", "green building"],
        industry="smart_construction",
        district="chongchuan",
        zone="chuangyuan",
        trl=(5, 7),
        budget_yuan=240_000,
        poster_org_id=15,
    ),
    _task(
        17,
        title_zh="中小企业质量管理体系数字化",
        title_en="Digital quality management systems for small firms",
        summary_zh="以轻量化软件落地质量管理体系。",
        summary_en="Put a quality management system into light software.",
        skills=["质量管理", "软件开发"],
        industry="producer_services",
        district="gangzha",
        zone="shibei_new_city",
        trl=(6, 8),
        budget_yuan=120_000,
        poster_org_id=20,
    ),
    _task(
        18,
        title_zh="社区养老服务需求数据分析",
        title_en="Data analysis of community elderly-care demand",
        summary_zh="整合问卷与服务记录，刻画需求画像。",
        summary_en="Combine surveys and service records into demand profiles.",
        skills=["数据分析", "问卷调查"],
        industry="modern_services",
        district="chongchuan",
        zone="chongchuan",
        trl=(5, 7),
        budget_yuan=80_000,
        poster_org_id=21,
    ),
    _task(
        19,
        title_zh="可降解高分子包装膜",
        title_en="Biodegradable polymer packaging film",
        summary_zh="在保证阻隔性能的同时实现堆肥降解。",
        summary_en="Compostable without losing barrier properties.",
        skills=["高分子材料", "膜材料"],
        industry="emerging_seed",
        district="chongchuan",
        zone="ntu_science_park",
        trl=(2, 4),
        budget_yuan=160_000,
        poster_org_id=22,
    ),
    _task(
        20,
        title_zh="水下机器人视觉导航",
        title_en="Visual navigation for underwater robots",
        summary_zh="浑浊水体中的视觉定位与避障。",
        summary_en="Visual positioning and obstacle avoidance in turbid water.",
        description_zh="用于海底管道焊缝检测的自主巡检。",
        description_en="Autonomous inspection of subsea pipeline seams.",
        skills=["水下机器人", "计算机视觉"],
        industry="offshore_equipment",
        district="tongzhou",
        trl=(4, 6),
        budget_yuan=450_000,
        poster_org_id=12,
    ),
]

SOLVERS: list[SolverDocument] = [
    SolverDocument(
        id=101,
        display_name="陈伟 Chen Wei",
        headline_zh="海工结构焊接与疲劳评估专家",
        headline_en="Offshore structural welding and fatigue specialist",
        skills=["welding", "fatigue analysis", "有限元分析"],
        fields=["offshore_equipment"],
        bio_zh="十五年海上平台结构设计与焊接工艺评定经验。",
        bio_en="Fifteen years of offshore platform structures and weld procedure qualification.",
        languages=["zh", "en"],
        district="tongzhou",
        rating_avg=4.8,
        completed_count=12,
    ),
    SolverDocument(
        id=102,
        display_name="南通大学新材料实验室",
        headline_zh="石墨烯与功能涂层研发",
        headline_en="Graphene and functional coatings R&D",
        skills=["graphene", "coatings", "材料表征"],
        fields=["new_materials"],
        bio_en="We characterise and scale up graphene coatings.",
        languages=["zh", "en"],
        district="chongchuan",
        rating_avg=4.5,
        completed_count=5,
    ),
    SolverDocument(
        id=103,
        display_name="如皋码坊 Rugao Code Studio",
        headline_zh="建筑与制造业软件开发",
        headline_en="Software development for construction and manufacturing",
        skills=["软件开发", "BIM", "cloud computing"],
        fields=["electronic_software", "smart_construction"],
        languages=["zh"],
        district="rugao",
        rating_avg=4.2,
        completed_count=20,
    ),
    SolverDocument(
        id=104,
        display_name="Dr. Lin Biotech",
        headline_zh="抗体工艺开发顾问",
        headline_en="Antibody process development consultant",
        skills=["cell culture", "antibody", "药物研发"],
        fields=["biomedicine"],
        languages=["en", "zh"],
        district="haimen",
        rating_avg=None,
        completed_count=0,
    ),
    SolverDocument(
        id=105,
        display_name="张磊 Zhang Lei",
        headline_zh="机器视觉与智能制造",
        headline_en="Machine vision for smart manufacturing",
        skills=["机器视觉", "machine learning", "工业机器人"],
        fields=["high_end_equipment", "port_industries"],
        languages=["zh"],
        district="qidong",
        rating_avg=4.9,
        completed_count=30,
    ),
    SolverDocument(
        id=106,
        display_name="李娜 Li Na",
        headline_zh="储能系统热管理",
        headline_en="Thermal management of energy storage systems",
        skills=["thermal management", "lithium battery", "CFD"],
        fields=["new_energy"],
        languages=["zh"],
        district="haian",
        rating_avg=3.9,
        completed_count=3,
    ),
]

TASKS_BY_ID = {t.id: t for t in TASKS}
SOLVERS_BY_ID = {s.id: s for s in SOLVERS}

BACKENDS = ["embedded", "meilisearch"]


def _meili(request: pytest.FixtureRequest) -> Iterator[SearchIndex]:
    url = os.environ.get("MEILI_URL")
    if not url:
        pytest.skip("Meilisearch conformance runs only when MEILI_URL points at a server")
    from search.meili import MeiliSearchIndex

    key = os.environ.get("MEILI_API_KEY") or os.environ.get("MEILI_MASTER_KEY")
    index = MeiliSearchIndex(url, key, index_prefix=f"test_{uuid.uuid4().hex[:8]}_", wait=True)
    index.ensure_settings()
    try:
        yield index
    finally:
        client: Any = index._client()
        for kind in ("tasks", "solvers"):
            client.wait_for_task(client.delete_index(index.uid(kind)).task_uid)


def make_index(request: pytest.FixtureRequest, backend: str) -> Iterator[SearchIndex]:
    if backend == "embedded":
        index = EmbeddedSearchIndex(":memory:")
        try:
            yield index
        finally:
            index.close()
    else:
        yield from _meili(request)


@pytest.fixture(params=BACKENDS, scope="module")
def loaded(request: pytest.FixtureRequest) -> Iterator[SearchIndex]:
    """An index holding the whole data set (read-only tests)."""
    for index in make_index(request, request.param):
        index.upsert_tasks(TASKS)
        index.upsert_solvers(SOLVERS)
        yield index


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest) -> Iterator[SearchIndex]:
    """An index of its own holding the whole data set (tests that write)."""
    for index in make_index(request, request.param):
        index.upsert_tasks(TASKS)
        index.upsert_solvers(SOLVERS)
        yield index


@pytest.fixture(scope="session")
def task_docs() -> dict[int, TaskDocument]:
    return dict(TASKS_BY_ID)


@pytest.fixture(scope="session")
def solver_docs() -> dict[int, SolverDocument]:
    return dict(SOLVERS_BY_ID)
