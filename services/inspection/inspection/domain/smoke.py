"""Smoke tests of in-use diesel NRMM (rule D1): GB 36886-2018, kept as data with its source.

Limits table (GB 36886-2018 表 1, 在用非道路柴油移动机械排气烟度限值): light absorption coefficient k in m⁻¹
by class and rated net power, and the Ringelmann blackness level, which must not exceed 1 in every class.

Verification (2026-11-30, this repository's search corpora): the standard's own preamble and scope were found
(http://selaoduyi.com/news/988.html, reprinting 中国环保在线: approved by the Ministry of Ecology and Environment
2018-09-27, in force 2018-12-01, two normative annexes: the opacity method and the Ringelmann method). The
Ministry's letter 环办大气函〔2021〕554号 (2021-12-03, http://www.fl1002.com/doc/125041.html) confirms that either
method alone decides an exceedance. City notices apply class III inside restricted zones by their own decision
(武汉市生态环境局 2021-12-11, https://www.dxh.gov.cn/ZWGK/zc_zwgk/zcwd/qsthjj/202201/t20220112_1894268.shtml: class III
in core zones; 德州市 2023 notice: class III in core zones), which is what ``stricter`` and the setting
NRMM_SMOKE_CLASS_IN_ZONES model. The numeric values of 表 1 were NOT found in the stored corpora: the values
below are DOMAIN.md's (which match the commonly published table: I 3.00/2.00/1.61, II 2.00/1.00/0.80,
III 0.80/0.80/0.50, Ringelmann 1) and must be checked against the official text (GB 36886-2018, 生态环境部)
before they are relied on in enforcement. They are data: replace LIMITS, not code, when they change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SOURCE = "GB 36886-2018 表1 (非道路柴油移动机械排气烟度限值及测量方法); 环办大气函〔2021〕554号"
K_MAX_READING = 10.0  # m⁻¹: an opacimeter reading above this is not a measurement (rule: impossible readings)
RINGELMANN_MAX = 5

# class -> (k limit for P < 19 kW, 19 <= P < 37 kW, P >= 37 kW), Ringelmann limit
LIMITS: dict[str, tuple[tuple[float, float, float], int]] = {
    "I": ((3.00, 2.00, 1.61), 1),
    "II": ((2.00, 1.00, 0.80), 1),
    "III": ((0.80, 0.80, 0.50), 1),
}
BANDS = ("P<19", "19<=P<37", "P>=37")
# class I: China II and earlier (and a stage that cannot be determined); class II: China III and later
CLASS_BY_STAGE = {"1": "I", "2": "I", "X": "I", "3": "II", "4": "II"}
STRICTNESS = ("I", "II", "III")


class NoExhaust(ValueError):
    """An electric machine has no exhaust to test."""


def band_of(rated_power_kw: float) -> int:
    if rated_power_kw < 19:
        return 0
    if rated_power_kw < 37:
        return 1
    return 2


def class_for(stage: str, stricter: str | None = None) -> str:
    """The limit class for an emission stage; a zone or a setting may demand a stricter one, never a laxer one."""
    if stage == "D":
        raise NoExhaust("电动机械无排气，不做烟度检测 (electric machine)")
    base = CLASS_BY_STAGE[stage]
    if stricter and STRICTNESS.index(stricter) > STRICTNESS.index(base):
        return stricter
    return base


@dataclass(frozen=True)
class SmokeVerdict:
    limit_class: str
    band: str
    k_limit: float
    ringelmann_limit: int
    k: float | None
    ringelmann: int | None
    exceeded_by: tuple[str, ...]  # "k" and/or "ringelmann": either method alone finds an exceedance
    source: str = SOURCE

    @property
    def exceeded(self) -> bool:
        return bool(self.exceeded_by)

    def as_dict(self) -> dict[str, Any]:
        return {"limit_class": self.limit_class, "band": self.band, "k_limit": self.k_limit,
                "ringelmann_limit": self.ringelmann_limit, "k": self.k, "ringelmann": self.ringelmann,
                "exceeded": self.exceeded, "exceeded_by": list(self.exceeded_by), "source": self.source}


def judge(*, stage: str, rated_power_kw: float, k: float | None, ringelmann: int | None,
          stricter: str | None = None) -> SmokeVerdict:
    """rule D1: the verdict of one smoke test against GB 36886-2018."""
    if k is None and ringelmann is None:
        raise ValueError("a smoke test needs k or a Ringelmann level")
    limit_class = class_for(stage, stricter)
    band = band_of(rated_power_kw)
    k_limits, ringelmann_limit = LIMITS[limit_class]
    exceeded = []
    if k is not None and k > k_limits[band]:
        exceeded.append("k")
    if ringelmann is not None and ringelmann > ringelmann_limit:
        exceeded.append("ringelmann")
    return SmokeVerdict(limit_class, BANDS[band], k_limits[band], ringelmann_limit, k, ringelmann, tuple(exceeded))
