from pathlib import Path

from pydantic import Field

from nrmm_kernel.settings import KernelSettings


class Settings(KernelSettings):
    service_name: str = "gateway"
    # where the services are (deploy/run.sh: base port + 1 .. + 4)
    registry_url: str = "http://127.0.0.1:8001"
    sites_url: str = "http://127.0.0.1:8002"
    inspection_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    access_token_minutes: int = Field(default=15, ge=1, le=120)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    # failed logins from one client address to any usernames in the window (password spraying)
    login_max_failures_per_address: int = Field(default=50, ge=1)
    # failed logins to one username from all addresses together (guessing from many addresses)
    login_max_failures_per_username: int = Field(default=20, ge=1)
    sms_code_ttl_seconds: int = Field(default=300, ge=1)
    # the server secret SMS codes are stored keyed with (HMAC, #14); unset: derived from NRMM_JWT_SECRET
    sms_code_secret: str | None = Field(default=None, min_length=32)
    sms_resend_seconds: int = Field(default=60, ge=0)
    sms_daily_limit: int = Field(default=10, ge=1)
    sms_max_attempts: int = Field(default=5, ge=1)
    # SMS sends from one client address (IPv6: a /64), and from everyone together, per hour (SMS pumping)
    sms_max_per_address: int = Field(default=10, ge=1)
    sms_max_per_hour: int = Field(default=1000, ge=1)
    # the first administrator, made at start-up when absent (or: python -m gateway.main create-admin)
    bootstrap_admin_username: str | None = None
    bootstrap_admin_password: str | None = None
    # the mini-program's pages, built by Vite (web/: npm ci && npm run build), served at /m/
    web_dist: str = str(Path(__file__).resolve().parents[3] / "web" / "dist")
