"""The shape of Chongqing's fleet, for the city generator: where machines work, what they are, how old their
engines are, and how their applications ended. Weights are a plausible shape, not statistics: the point is that
lookups, indexes and read models meet the skew a real city has (a few busy districts, mostly excavators and
forklifts, mostly China III), not a uniform toy."""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

from nrmm_kernel.reference import DISTRICTS

# rule C5 table: 41 districts. The main urban districts and the new areas carry most construction.
_BUSY = {"11": 9, "39": 9, "07": 6, "08": 6, "09": 5, "06": 5, "12": 5, "10": 4, "14": 4, "15": 3, "16": 3,
         "01": 4, "03": 3, "41": 4, "21": 3, "13": 2, "05": 2, "04": 1}
DISTRICT_WEIGHTS = {code: _BUSY.get(code, 1) for code in DISTRICTS}

# rule S1 categories (the registry's Category values) as a fleet holds them
CATEGORY_WEIGHTS = {"excavator": 34, "forklift": 22, "loader": 12, "crane": 9, "road_roller": 5, "bulldozer": 4,
                    "piling": 4, "paver": 2, "grader": 2, "stacker": 2, "tractor": 1, "shuttle": 1, "in_plant": 1,
                    "other": 1}

# rule C5 stage characters: 1 (China I and before), 2, 3, 4, D (electric), X (undetermined)
STAGE_WEIGHTS = {"1": 6, "2": 22, "3": 48, "4": 18, "D": 4, "X": 2}

# how applications ended: issued (most), waiting for review, rejected, issued then cancelled (scrapped)
OUTCOME_WEIGHTS = {"issued": 84, "pending": 8, "rejected": 4, "cancelled": 4}

BRANDS = ["三一", "徐工", "柳工", "中联重科", "山推", "临工", "卡特彼勒", "小松", "日立", "沃尔沃", "斗山", "杭叉",
          "合力", "龙工", "厦工", "山河智能"]

# sites per district follow the same skew; S1 site categories of rule E1
SITE_CATEGORY_WEIGHTS = {"building": 40, "municipal_works": 18, "transport_works": 14, "water_works": 6,
                         "port_airport_dock": 3, "ecological_restoration": 4, "municipal_maintenance": 6,
                         "industrial_enterprise": 9}


class Picker:
    """Weighted choice from a fixed table, O(log n) per draw."""

    def __init__(self, weights: dict[str, int]):
        self.values = list(weights)
        self.cumulative = list(accumulate(weights.values()))

    def __call__(self, rng: random.Random) -> str:
        return self.values[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


district = Picker(DISTRICT_WEIGHTS)
category = Picker(CATEGORY_WEIGHTS)
stage = Picker(STAGE_WEIGHTS)
outcome = Picker(OUTCOME_WEIGHTS)
site_category = Picker(SITE_CATEGORY_WEIGHTS)
