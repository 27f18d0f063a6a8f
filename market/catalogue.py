"""Reference data from the seed plan: industries, districts and innovation zones.

Keys are stable identifiers used in the API and the database; labels are Chinese
first, English second, as everywhere on the platform.
"""

from __future__ import annotations

from enum import StrEnum


class Industry(StrEnum):
    EMERGING_SEED = "emerging_seed"
    OFFSHORE_EQUIPMENT = "offshore_equipment"
    SMART_CONSTRUCTION = "smart_construction"
    MODERN_SERVICES = "modern_services"
    PRODUCER_SERVICES = "producer_services"
    ELECTRONIC_COMMUNICATIONS = "electronic_communications"
    NEW_ENERGY = "new_energy"
    ELECTRONIC_SOFTWARE = "electronic_software"
    PORT_INDUSTRIES = "port_industries"
    BIOMEDICINE = "biomedicine"
    HIGH_END_EQUIPMENT = "high_end_equipment"
    NEW_MATERIALS = "new_materials"


class District(StrEnum):
    CHONGCHUAN = "chongchuan"
    TONGZHOU = "tongzhou"
    GANGZHA = "gangzha"
    DEVELOPMENT_ZONE = "development_zone"
    HAIAN = "haian"
    RUGAO = "rugao"
    RUDONG = "rudong"
    HAIMEN = "haimen"
    QIDONG = "qidong"
    TONGZHOU_BAY = "tongzhou_bay"


class Zone(StrEnum):
    NTU_SCIENCE_PARK = "ntu_science_park"
    NANTONG_HI_TECH_ZONE = "nantong_hi_tech_zone"
    CHUANGYUAN = "chuangyuan"
    CHONGCHUAN = "chongchuan"
    SHIBEI_NEW_CITY = "shibei_new_city"
    NENGDA = "nengda"
    HAIAN_HI_TECH = "haian_hi_tech"
    RUGAO_SOFTWARE_PARK = "rugao_software_park"
    RUDONG_SCI_TECH_CITY = "rudong_sci_tech_city"
    HAIMEN_BIOMEDICINE = "haimen_biomedicine"
    QIDONG_INNOVATION_ECONOMY = "qidong_innovation_economy"
    TONGZHOU_BAY_SCI_EDU_CITY = "tongzhou_bay_sci_edu_city"


INDUSTRY_LABELS: dict[Industry, tuple[str, str]] = {
    Industry.EMERGING_SEED: ("未来新兴种子产业", "Emerging seed industries"),
    Industry.OFFSHORE_EQUIPMENT: ("海工装备配套", "Offshore engineering equipment supply chain"),
    Industry.SMART_CONSTRUCTION: ("智慧建筑", "Smart construction"),
    Industry.MODERN_SERVICES: ("现代服务业", "Modern services"),
    Industry.PRODUCER_SERVICES: ("生产性服务业", "Producer services"),
    Industry.ELECTRONIC_COMMUNICATIONS: (
        "新一代电子通信",
        "Next-generation electronic communications",
    ),
    Industry.NEW_ENERGY: ("新能源", "New energy"),
    Industry.ELECTRONIC_SOFTWARE: ("电子软件", "Electronic software"),
    Industry.PORT_INDUSTRIES: ("临港产业", "Port industries"),
    Industry.BIOMEDICINE: ("生物医药", "Biomedicine"),
    Industry.HIGH_END_EQUIPMENT: ("高端装备", "High-end equipment"),
    Industry.NEW_MATERIALS: ("新材料", "New materials"),
}

DISTRICT_LABELS: dict[District, tuple[str, str]] = {
    District.CHONGCHUAN: ("崇川区", "Chongchuan"),
    District.TONGZHOU: ("通州区", "Tongzhou"),
    District.GANGZHA: ("港闸区", "Gangzha"),
    District.DEVELOPMENT_ZONE: (
        "南通经济技术开发区",
        "Nantong Economic and Technological Development Zone",
    ),
    District.HAIAN: ("海安", "Hai'an"),
    District.RUGAO: ("如皋", "Rugao"),
    District.RUDONG: ("如东", "Rudong"),
    District.HAIMEN: ("海门", "Haimen"),
    District.QIDONG: ("启东", "Qidong"),
    District.TONGZHOU_BAY: ("通州湾", "Tongzhou Bay"),
}

# Each innovation zone (众创空间) of the plan's item 7: its district and industry focus.
ZONES: dict[Zone, tuple[str, str, District, Industry]] = {
    Zone.NTU_SCIENCE_PARK: (
        "南通大学科技园",
        "Nantong University Science Park",
        District.CHONGCHUAN,
        Industry.EMERGING_SEED,
    ),
    Zone.NANTONG_HI_TECH_ZONE: (
        "南通高新区",
        "Nantong Hi-tech Zone",
        District.TONGZHOU,
        Industry.OFFSHORE_EQUIPMENT,
    ),
    Zone.CHUANGYUAN: (
        "南通创源",
        "Nantong Chuangyuan",
        District.CHONGCHUAN,
        Industry.SMART_CONSTRUCTION,
    ),
    Zone.CHONGCHUAN: ("崇川", "Chongchuan", District.CHONGCHUAN, Industry.MODERN_SERVICES),
    Zone.SHIBEI_NEW_CITY: (
        "市北新城",
        "Shibei New City",
        District.GANGZHA,
        Industry.PRODUCER_SERVICES,
    ),
    Zone.NENGDA: (
        "市开发区能达",
        "Nengda, Development Zone",
        District.DEVELOPMENT_ZONE,
        Industry.ELECTRONIC_COMMUNICATIONS,
    ),
    Zone.HAIAN_HI_TECH: ("海安高新技术", "Hai'an Hi-tech", District.HAIAN, Industry.NEW_ENERGY),
    Zone.RUGAO_SOFTWARE_PARK: (
        "如皋软件园",
        "Rugao Software Park",
        District.RUGAO,
        Industry.ELECTRONIC_SOFTWARE,
    ),
    Zone.RUDONG_SCI_TECH_CITY: (
        "如东科技城",
        "Rudong Science and Technology City",
        District.RUDONG,
        Industry.PORT_INDUSTRIES,
    ),
    Zone.HAIMEN_BIOMEDICINE: (
        "海门生物医药",
        "Haimen Biomedicine",
        District.HAIMEN,
        Industry.BIOMEDICINE,
    ),
    Zone.QIDONG_INNOVATION_ECONOMY: (
        "启东创新型经济",
        "Qidong Innovation Economy",
        District.QIDONG,
        Industry.HIGH_END_EQUIPMENT,
    ),
    Zone.TONGZHOU_BAY_SCI_EDU_CITY: (
        "通州湾科教城",
        "Tongzhou Bay Science and Education City",
        District.TONGZHOU_BAY,
        Industry.NEW_MATERIALS,
    ),
}
