from pydantic import Field

from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "inspection"
    # asked once before a code is called unknown (its copy of the registry's codes may be a moment behind)
    registry_url: str = "http://127.0.0.1:8001"
    # days an addressee has to rectify, per violation kind (rule D1, D4); missing kinds: the defaults in
    # inspection.domain.rules.DEFAULT_DEADLINE_DAYS. JSON, e.g. NRMM_VIOLATION_DEADLINE_DAYS='{"smoke_exceedance": 15}'
    violation_deadline_days: dict[str, int] = {}
    # how often the durable scheduler looks for due deadlines and newly coded machines (seconds)
    scheduler_poll_seconds: float = Field(default=15.0, gt=0, le=30)  # within NRMM_RUNNER_STUCK_SECONDS
    # a stricter smoke class (GB 36886-2018 class III) for sites inside a restricted zone, where the city demands it
    smoke_class_in_zones: str | None = Field(default=None, pattern=r"^(I|II|III)$")
    # department views and rankings (rules D3, D6): how often the refresher looks for changes (seconds), and the
    # ranking's weights (JSON; missing ones: inspection.domain.scoring.DEFAULT_WEIGHTS), shown beside every ranking
    views_poll_seconds: float = Field(default=0.5, gt=0, le=30)
    ranking_weights: dict[str, float] = {}
