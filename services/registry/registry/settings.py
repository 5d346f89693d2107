from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "registry"
    # the gateway keeps accounts: it names the owner account of a mobile (owner change, rule C6)
    gateway_url: str = "http://127.0.0.1:8000"
