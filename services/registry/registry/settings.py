from pydantic import Field

from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "registry"
    # the gateway keeps accounts: it names the owner account of a mobile (owner change, rule C6)
    gateway_url: str = "http://127.0.0.1:8000"
    # notifications records what left the platform with a person's data (SMS sent): an erasure lists it (#14)
    notifications_url: str = "http://127.0.0.1:8004"
    # a person's data is kept this long after their last machine's code ended before it may be erased (#14)
    personal_retention_days: int = Field(default=1095, ge=0, le=36500)
