from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "notifications"
