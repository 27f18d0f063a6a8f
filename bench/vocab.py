"""Vocabularies for generated data: per industry of the seed plan, the things firms build,
the R&D work they ask for and the skills it needs, each as a (Chinese, English) pair.

Every text here is free of tabs, newlines and backslashes, so rows built from it can be
written to PostgreSQL's COPY text format without escaping (checked at import).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from market.catalogue import Industry

Pair = tuple[str, str]

# What each industry's firms make or run (the object of a task).
OBJECTS: dict[Industry, list[Pair]] = {
    Industry.EMERGING_SEED: [
        ("PEM电解水制氢装置", "PEM water electrolysers"),
        ("近海无人艇", "coastal unmanned surface vessels"),
        ("柔性可穿戴传感器", "flexible wearable sensors"),
        ("固态电池样机", "solid-state battery prototypes"),
        ("合成生物菌株", "synthetic-biology strains"),
        ("量子点显示材料", "quantum-dot display materials"),
        ("低空飞行器", "low-altitude aircraft"),
        ("类脑计算芯片", "neuromorphic computing chips"),
    ],
    Industry.OFFSHORE_EQUIPMENT: [
        ("导管架平台", "jacket platforms"),
        ("半潜式浮式风电基础", "semi-submersible floating wind foundations"),
        ("深水系泊系统", "deep-water mooring systems"),
        ("FPSO上部模块", "FPSO topside modules"),
        ("海工起重机", "offshore cranes"),
        ("海底管线", "subsea pipelines"),
        ("超级双相不锈钢管线", "super duplex stainless steel piping"),
        ("自升式钻井平台桩腿", "jack-up rig legs"),
    ],
    Industry.SMART_CONSTRUCTION: [
        ("装配式混凝土构件", "precast concrete components"),
        ("既有公共建筑空调系统", "HVAC systems in existing public buildings"),
        ("机电管线", "MEP services"),
        ("超高层建筑幕墙", "high-rise curtain walls"),
        ("建筑工地塔吊", "construction-site tower cranes"),
        ("钢结构桥梁", "steel bridges"),
        ("城市地下管廊", "urban utility tunnels"),
    ],
    Industry.MODERN_SERVICES: [
        ("智慧物业工单", "property-management work orders"),
        ("居家养老服务", "home-based elderly care"),
        ("商业综合体客流", "shopping-centre footfall"),
        ("社区医疗随访", "community healthcare follow-ups"),
        ("文旅景区票务", "scenic-area ticketing"),
        ("城市停车服务", "urban parking services"),
    ],
    Industry.PRODUCER_SERVICES: [
        ("装备售后备品备件", "after-sales spare parts"),
        ("储能电池产品碳足迹", "carbon footprints of storage batteries"),
        ("检验检测资源", "testing and inspection resources"),
        ("工业设计服务", "industrial design services"),
        ("供应链金融风控", "supply-chain finance risk control"),
        ("知识产权运营", "IP portfolio management"),
    ],
    Industry.ELECTRONIC_COMMUNICATIONS: [
        ("5G毫米波天线阵列", "5G mmWave antenna arrays"),
        ("400G光模块", "400G optical modules"),
        ("5G RedCap工业网关", "5G RedCap industrial gateways"),
        ("基站射频前端", "base-station RF front ends"),
        ("卫星通信终端", "satellite communication terminals"),
        ("工业以太网交换机", "industrial Ethernet switches"),
        ("车载通信模组", "automotive communication modules"),
    ],
    Industry.NEW_ENERGY: [
        ("储能电站磷酸铁锂电池簇", "LFP battery clusters in grid storage"),
        ("钠离子电池正极材料", "sodium-ion battery cathodes"),
        ("工商业储能柜", "C&I energy-storage cabinets"),
        ("海上风电变流器", "offshore wind converters"),
        ("光伏组件", "photovoltaic modules"),
        ("氢燃料电池电堆", "hydrogen fuel-cell stacks"),
        ("充电桩功率模块", "EV charger power modules"),
    ],
    Industry.ELECTRONIC_SOFTWARE: [
        ("嵌入式Linux设备", "embedded Linux devices"),
        ("基站射频产线测试数据", "base-station RF production test data"),
        ("工业装备远程监测", "remote monitoring of machinery"),
        ("制造执行系统", "manufacturing execution systems"),
        ("工业APP", "industrial apps"),
        ("企业数据中台", "enterprise data platforms"),
    ],
    Industry.PORT_INDUSTRIES: [
        ("集装箱码头堆场", "container terminal yards"),
        ("深水码头高桩梁板结构", "deep-water piled wharves"),
        ("大型海工模块滚装装船", "roll-on load-out of offshore modules"),
        ("散货港口皮带机", "bulk-port belt conveyors"),
        ("LNG接收站", "LNG receiving terminals"),
        ("港口集卡", "port container trucks"),
    ],
    Industry.BIOMEDICINE: [
        ("利培酮长效缓释微球", "long-acting risperidone microspheres"),
        ("司美格鲁肽原料药", "semaglutide API"),
        ("缓释胶囊仿制药", "extended-release generic capsules"),
        ("单克隆抗体药物", "monoclonal antibody drugs"),
        ("体外诊断试剂", "in-vitro diagnostic reagents"),
        ("医用高分子耗材", "medical polymer consumables"),
        ("中药配方颗粒", "TCM dispensing granules"),
    ],
    Industry.HIGH_END_EQUIPMENT: [
        ("大型回转支承", "large slewing bearings"),
        ("工业机器人RV减速器", "RV reducers for industrial robots"),
        ("五轴龙门加工中心", "five-axis gantry machining centres"),
        ("精密数控磨床", "precision CNC grinders"),
        ("高速纺织机械", "high-speed textile machinery"),
        ("液压伺服系统", "hydraulic servo systems"),
        ("电梯曳引机", "elevator traction machines"),
    ],
    Industry.NEW_MATERIALS: [
        ("高导热石墨烯膜", "high-thermal-conductivity graphene film"),
        ("海洋重防腐涂料", "heavy-duty marine anticorrosive coatings"),
        ("退役风电叶片复合材料", "composites from decommissioned wind blades"),
        ("碳纤维预浸料", "carbon-fibre prepregs"),
        ("高性能聚酰亚胺薄膜", "high-performance polyimide film"),
        ("特种陶瓷部件", "technical ceramic parts"),
        ("生物基可降解材料", "bio-based degradable materials"),
    ],
}

# What the firm asks for, per industry (a title is OBJECT + ACTION in Chinese,
# ACTION for OBJECT in English).
ACTIONS: dict[Industry, list[Pair]] = {
    Industry.EMERGING_SEED: [
        ("关键材料与工艺探索", "Exploration of key materials and processes"),
        ("原理样机研制", "Proof-of-concept prototype"),
        ("自主控制算法开发", "Autonomous control algorithms"),
        ("性能预测模型构建", "Performance prediction model"),
    ],
    Industry.OFFSHORE_EQUIPMENT: [
        ("耐蚀焊接工艺开发", "Corrosion-resistant welding procedure"),
        ("系泊与动力响应分析", "Mooring and dynamic response analysis"),
        ("阴极保护在线监测系统研制", "Online cathodic-protection monitoring"),
        ("疲劳寿命评估与延寿", "Fatigue life assessment and extension"),
        ("轻量化结构设计", "Lightweight structural design"),
    ],
    Industry.SMART_CONSTRUCTION: [
        ("无损检测技术", "Non-destructive testing"),
        ("AI节能群控", "AI-based energy-saving group control"),
        ("自动排布与碰撞优化", "Automatic routing and clash resolution"),
        ("结构健康监测", "Structural health monitoring"),
        ("数字化施工管理平台", "Digital construction management platform"),
    ],
    Industry.MODERN_SERVICES: [
        ("智能派单与质量评价模型", "Intelligent dispatch and quality scoring"),
        ("隐私保护风险监测方案", "Privacy-preserving risk monitoring"),
        ("数据分析与决策支持", "Analytics and decision support"),
        ("服务流程数字化设计", "Digital service design"),
    ],
    Industry.PRODUCER_SERVICES: [
        ("需求预测与库存优化", "Demand forecasting and inventory optimisation"),
        ("核算与合规服务", "Accounting and compliance service"),
        ("共享与在线预约体系建设", "Shared booking service system"),
        ("风险评估模型开发", "Risk assessment model"),
    ],
    Industry.ELECTRONIC_COMMUNICATIONS: [
        ("封装天线设计", "Antenna-in-package design"),
        ("高速PCB信号完整性优化", "High-speed PCB signal-integrity optimisation"),
        ("低功耗软硬件设计", "Low-power hardware and software design"),
        ("射频性能提升", "RF performance improvement"),
        ("国产化芯片替代验证", "Domestic chip substitution and validation"),
    ],
    Industry.NEW_ENERGY: [
        ("SOC/SOH高精度估算算法", "High-accuracy SOC/SOH estimation"),
        ("空气稳定性改性及中试", "Air-stability improvement and pilot production"),
        ("液冷系统均温设计", "Liquid-cooling design for uniform temperature"),
        ("效率提升与热管理", "Efficiency and thermal management"),
        ("寿命衰减机理研究", "Degradation mechanism study"),
    ],
    Industry.ELECTRONIC_SOFTWARE: [
        ("安全差分OTA升级框架", "Secure differential OTA update framework"),
        ("自动分析平台", "Automated analysis platform"),
        ("预测性维护软件", "Predictive-maintenance software"),
        ("微服务架构改造", "Microservice re-architecture"),
        ("数据治理与可视化", "Data governance and visualisation"),
    ],
    Industry.PORT_INDUSTRIES: [
        ("智能调度与路径优化", "Scheduling and routing optimisation"),
        ("健康监测与腐蚀评估系统", "Health monitoring and corrosion assessment"),
        ("压载协同控制系统", "Coordinated ballast control"),
        ("数字孪生运维平台", "Digital-twin operations platform"),
    ],
    Industry.BIOMEDICINE: [
        ("制剂开发", "Formulation development"),
        ("有关物质HPLC方法开发与验证", "HPLC related-substances method validation"),
        ("一致性评价研究", "Generic consistency evaluation"),
        ("工艺放大与质量研究", "Process scale-up and quality study"),
        ("稳定性研究", "Stability study"),
    ],
    Industry.HIGH_END_EQUIPMENT: [
        ("缺陷机器视觉在线检测", "Machine-vision online defect inspection"),
        ("回差控制与寿命提升", "Backlash control and life improvement"),
        ("热误差建模与实时补偿", "Thermal-error modelling and compensation"),
        ("振动抑制与降噪", "Vibration suppression and noise reduction"),
        ("关键部件国产化", "Domestic key-component development"),
    ],
    Industry.NEW_MATERIALS: [
        ("规模化制备关键技术", "Scalable production technology"),
        ("改性配方开发", "Modified formulation development"),
        ("高值化回收与再利用", "High-value recycling and reuse"),
        ("性能表征与失效分析", "Characterisation and failure analysis"),
        ("中试工艺开发", "Pilot-scale process development"),
    ],
}

SKILLS: dict[Industry, list[Pair]] = {
    Industry.EMERGING_SEED: [
        ("电催化", "electrocatalysis"),
        ("深度学习", "deep learning"),
        ("合成生物学", "synthetic biology"),
        ("固态电解质", "solid electrolytes"),
        ("自主导航", "autonomous navigation"),
        ("芯片设计", "chip design"),
    ],
    Industry.OFFSHORE_EQUIPMENT: [
        ("焊接工艺评定", "welding procedure qualification"),
        ("焊接冶金", "welding metallurgy"),
        ("海洋腐蚀防护", "marine corrosion protection"),
        ("系泊分析", "mooring analysis"),
        ("船舶水动力", "ship hydrodynamics"),
        ("疲劳评估", "fatigue assessment"),
        ("船级社认证", "DNV certification"),
    ],
    Industry.SMART_CONSTRUCTION: [
        ("BIM", "BIM"),
        ("建筑能耗模拟", "building energy simulation"),
        ("无损检测", "non-destructive testing"),
        ("结构健康监测", "structural health monitoring"),
        ("暖通空调", "HVAC"),
        ("装配式建筑", "prefabricated construction"),
    ],
    Industry.MODERN_SERVICES: [
        ("服务设计", "service design"),
        ("用户研究", "user research"),
        ("推荐系统", "recommender systems"),
        ("隐私计算", "privacy computing"),
        ("毫米波雷达", "mmWave radar"),
    ],
    Industry.PRODUCER_SERVICES: [
        ("供应链管理", "supply chain management"),
        ("生命周期评价", "life cycle assessment"),
        ("运筹优化", "operations research"),
        ("碳核算", "carbon accounting"),
        ("质量管理体系", "quality management systems"),
    ],
    Industry.ELECTRONIC_COMMUNICATIONS: [
        ("天线设计", "antenna design"),
        ("射频电路设计", "RF circuit design"),
        ("信号完整性", "signal integrity"),
        ("高速PCB设计", "high-speed PCB design"),
        ("低功耗设计", "low-power design"),
        ("毫米波", "mmWave"),
    ],
    Industry.NEW_ENERGY: [
        ("电池管理系统", "battery management systems"),
        ("锂电池材料", "lithium battery materials"),
        ("储能系统", "energy storage systems"),
        ("电力电子", "power electronics"),
        ("热管理", "thermal management"),
        ("光伏", "photovoltaics"),
    ],
    Industry.ELECTRONIC_SOFTWARE: [
        ("嵌入式开发", "embedded development"),
        ("软件开发", "software development"),
        ("信息安全", "information security"),
        ("边缘计算", "edge computing"),
        ("云原生", "cloud native"),
        ("Python", "Python"),
    ],
    Industry.PORT_INDUSTRIES: [
        ("港口物流", "port logistics"),
        ("数字孪生", "digital twin"),
        ("运动控制", "motion control"),
        ("结构健康监测", "structural health monitoring"),
        ("起重机械", "lifting machinery"),
    ],
    Industry.BIOMEDICINE: [
        ("缓释制剂", "sustained-release formulation"),
        ("HPLC方法开发", "HPLC method development"),
        ("药物分析", "pharmaceutical analysis"),
        ("药代动力学", "pharmacokinetics"),
        ("一致性评价", "bioequivalence studies"),
        ("细胞培养", "cell culture"),
    ],
    Industry.HIGH_END_EQUIPMENT: [
        ("机器视觉", "machine vision"),
        ("运动控制", "motion control"),
        ("齿轮传动", "gear transmission"),
        ("数控系统", "CNC systems"),
        ("工业机器人", "industrial robotics"),
        ("振动分析", "vibration analysis"),
    ],
    Industry.NEW_MATERIALS: [
        ("石墨烯", "graphene"),
        ("涂层技术", "coating technology"),
        ("复合材料", "composites"),
        ("材料表征", "materials characterisation"),
        ("高分子合成", "polymer synthesis"),
        ("热界面材料", "thermal interface materials"),
    ],
}

# Skills any industry may ask for.
GENERIC_SKILLS: list[Pair] = [
    ("有限元分析", "finite element analysis"),
    ("数据分析", "data analytics"),
    ("CFD仿真", "CFD simulation"),
    ("物联网", "IoT"),
    ("信号处理", "signal processing"),
    ("项目管理", "project management"),
    ("实验设计", "design of experiments"),
    ("标准与认证", "standards and certification"),
]

TITLE_PREFIXES: list[Pair] = [
    ("", ""),
    ("", ""),
    ("", ""),
    ("高可靠", "High-reliability "),
    ("低成本", "Low-cost "),
    ("智能化", "Smart "),
    ("绿色低碳", "Low-carbon "),
    ("国产化", "Domestic "),
]

DELIVERABLES: list[Pair] = [
    ("技术方案、样机及测试报告", "a technical design, a prototype and test reports"),
    ("工艺规程与中试验证报告", "process specifications and a pilot-scale validation report"),
    ("软件源代码、部署文档与培训", "source code, deployment documents and training"),
    ("研究报告与可复现的实验数据", "a research report and reproducible experimental data"),
    ("设计图纸、计算书与第三方检测报告", "drawings, calculations and third-party test reports"),
    ("算法模型、验证数据集与接口文档", "the model, a validation data set and interface documents"),
]

REQUIREMENTS: list[Pair] = [
    (
        "关键指标须经第三方检测机构验证。",
        "Key figures must be verified by an accredited third-party lab.",
    ),
    ("方案须兼容我方现有产线与设备。", "The solution must fit our existing production line."),
    (
        "须提供不少于三个月的现场技术支持。",
        "At least three months of on-site support are required.",
    ),
    ("成果须形成可申请的发明专利。", "The results should support at least one invention patent."),
    ("研发过程须符合相关国家标准。", "The work must follow the applicable national standards."),
    ("优先考虑具有同类项目经验的团队。", "Teams with similar project experience are preferred."),
    ("须对我方技术人员进行培训。", "Our engineers must be trained on the result."),
    ("中期须提交阶段性评审材料。", "A mid-term review package is due halfway through."),
]

MILESTONE_TITLES: list[list[Pair]] = [
    [("方案设计与可行性验证", "Design and feasibility")],
    [
        ("方案设计与关键技术验证", "Design and key-technology validation"),
        ("样机研制与测试交付", "Prototype, tests and handover"),
    ],
    [
        ("需求分析与方案设计", "Requirements and design"),
        ("样机研制与实验验证", "Prototype and experiments"),
        ("中试验证、培训与验收", "Pilot validation, training and acceptance"),
    ],
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "秀英",
    "建华",
    "海涛",
    "志刚",
    "晓燕",
    "振宇",
    "海波",
    "明哲",
    "卫东",
    "子涵",
    "浩然",
    "思远",
    "雨桐",
    "俊杰",
    "文博",
    "嘉怡",
    "梓萱",
    "宇航",
    "欣怡",
    "一鸣",
    "晨曦",
    "立新",
]
EN_NAMES = [
    "Michael Chen",
    "Anna Nilsson",
    "David Müller",
    "Sarah Lee",
    "Tom Hansen",
    "Maria Rossi",
    "James Wong",
    "Elena Petrova",
    "Lukas Becker",
    "Priya Nair",
    "Kenji Sato",
    "Olivia Brown",
]

BRANDS: list[Pair] = [
    ("瀚洋", "Hanyang"),
    ("康源", "Kangyuan"),
    ("恒储", "Hengchu"),
    ("讯联", "Xunlian"),
    ("精益", "Jingyi"),
    ("华建", "Huajian"),
    ("中天", "Zhongtian"),
    ("通光", "Tongguang"),
    ("江海", "Jianghai"),
    ("蓝海", "Lanhai"),
    ("东方", "Dongfang"),
    ("瑞华", "Ruihua"),
    ("新宇", "Xinyu"),
    ("博远", "Boyuan"),
    ("鼎盛", "Dingsheng"),
    ("远航", "Yuanhang"),
    ("科润", "Kerun"),
    ("海星", "Haixing"),
    ("金陵", "Jinling"),
    ("长青", "Changqing"),
    ("天合", "Tianhe"),
    ("启明", "Qiming"),
    ("广汇", "Guanghui"),
    ("锦程", "Jincheng"),
    ("宏达", "Hongda"),
    ("振华", "Zhenhua"),
    ("汇通", "Huitong"),
    ("凯瑞", "Kairui"),
    ("润泽", "Runze"),
    ("星火", "Xinghuo"),
    ("恒通", "Hengtong"),
    ("海润", "Hairun"),
]
LAB_PREFIXES: list[Pair] = [
    ("南通大学", "Nantong University"),
    ("江苏工程职业技术学院", "Jiangsu College of Engineering and Technology"),
    ("南通理工学院", "Nantong Institute of Technology"),
    ("东南大学南通研究院", "Southeast University Nantong Institute"),
    ("南京大学", "Nanjing University"),
    ("江南大学", "Jiangnan University"),
]


def _check_clean() -> None:
    def texts() -> list[str]:
        out: list[str] = [SURNAMES, *GIVEN, *EN_NAMES]
        for table in (OBJECTS, ACTIONS, SKILLS):
            for pairs in table.values():
                out += [s for p in pairs for s in p]
        for pairs in (
            GENERIC_SKILLS,
            TITLE_PREFIXES,
            DELIVERABLES,
            REQUIREMENTS,
            BRANDS,
            LAB_PREFIXES,
        ):
            out += [s for p in pairs for s in p]
        out += [s for ms in MILESTONE_TITLES for p in ms for s in p]
        return out

    for t in texts():
        if any(c in t for c in "\t\n\r\\"):
            raise ValueError(f"vocabulary text {t!r} needs COPY escaping")
    assert set(OBJECTS) == set(ACTIONS) == set(SKILLS) == set(Industry)


_check_clean()


def lower_first(text: str) -> str:
    """'Corrosion-resistant' -> 'corrosion-resistant'; acronyms ('SOC/SOH', 'AI-based') stay."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


@dataclass(frozen=True)
class TaskTexts:
    """A generated task's texts in both languages (one composer for the database generator
    and the search benchmark, so both measure the same kind of text)."""

    title_zh: str
    title_en: str
    summary_zh: str
    summary_en: str
    skills: list[tuple[str, str]]
    """The required skills as (zh, en) pairs; the caller picks the spelling shown."""
    requirements: list[tuple[str, str]]

    def descriptions(self, budget_minor: int, days: int) -> tuple[str, str]:
        """(zh, en) descriptions for a budget and a delivery time after the bid deadline."""
        wan = budget_minor // 1_000_000
        req = self.requirements
        zh = (
            f"项目背景：{self.summary_zh}技术要求：{req[1][0]}{req[2][0]}"
            f"所需能力：{'、'.join(p[0] for p in self.skills)}。预算约{wan}万元，"
            f"须在投标截止后{days}天内完成交付。"
        )
        en = (
            f"Background: {self.summary_en} Requirements: {req[1][1]} {req[2][1]} "
            f"Skills needed: {', '.join(p[1] for p in self.skills)}. Budget about CNY "
            f"{wan * 10_000:,}; delivery within {days} days of the bid deadline."
        )
        return zh, en


def task_texts(
    rng: random.Random,
    industry: Industry,
    industry_label: tuple[str, str],
    district_label: tuple[str, str],
    trl: tuple[int, int],
    key_task: bool,
) -> TaskTexts:
    """Title, summary, required skills and requirements of a task of `industry` in a
    district (labels as (zh, en)), taking the technology from TRL `trl[0]` to `trl[1]`."""
    ind_zh, ind_en = industry_label
    d_zh, d_en = district_label
    trl_c, trl_t = trl
    obj_zh, obj_en = rng.choice(OBJECTS[industry])
    act_zh, act_en = rng.choice(ACTIONS[industry])
    pre_zh, pre_en = rng.choice(TITLE_PREFIXES)
    title_zh = f"{pre_zh}{obj_zh}{act_zh}"
    title_en = f"{pre_en}{lower_first(act_en) if pre_en else act_en} for {obj_en}"
    if key_task:
        title_zh += f"（{d_zh}{ind_zh}产业重点研发任务）"
        title_en += f" ({d_en} {ind_en.lower()} key R&D task)"
    deliv_zh, deliv_en = rng.choice(DELIVERABLES)
    req = rng.sample(REQUIREMENTS, 3)
    summary_zh = (
        f"面向{d_zh}{ind_zh}产业需求，征集{obj_zh}{act_zh}的解决方案，技术成熟度由TRL{trl_c}"
        f"提升至TRL{trl_t}，交付{deliv_zh}。{req[0][0]}"
    )
    summary_en = (
        f"We are looking for {lower_first(act_en)} for {obj_en}, serving the "
        f"{ind_en.lower()} industry in {d_en}. The work should take the technology from "
        f"TRL {trl_c} to TRL {trl_t} and deliver {deliv_en}. {req[0][1]}"
    )
    pool = SKILLS[industry]
    k = rng.choices((2, 3, 4, 5), weights=(3, 4, 2, 1))[0]
    picked = rng.sample(pool, min(k, len(pool)))
    if rng.random() < 0.3:
        picked[-1] = rng.choice(GENERIC_SKILLS)
    return TaskTexts(title_zh, title_en, summary_zh, summary_en, picked, req)
