from pydantic import Field

from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "sites"
    # rule E2 anomaly: a machine scanned in while still inside another site is refused unless this is set;
    # either way inspectors get a MachineOnTwoSites event
    allow_two_sites: bool = False
    # the gateway makes site-admin accounts (issue: gateway and identity) and checks SMS codes
    gateway_url: str = "http://127.0.0.1:8000"
    # the gate asks the registry before refusing on its copy of the codes
    registry_url: str = "http://127.0.0.1:8001"
    batch_limit: int = Field(default=50, ge=1, le=500)
