"""The gateway serves the mini-program's pages at /m/ and the PC console at / under a strict CSP, and the browser's
session: the refresh token in an HttpOnly, SameSite=Strict cookie scoped to the refresh path, the refresh and
sign-out refused without the CSRF token or from another site."""

from __future__ import annotations

import re

import httpx

from .platform_web import ADMIN_PASSWORD, ADMIN_USER


def test_the_pages_are_served_at_m_with_a_strict_content_security_policy(web):
    page = web.http.get("/m/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    # the router's paths are the app; its assets are files, cached for good
    deep = web.http.get("/m/owner/applications/abc")
    assert deep.status_code == 200 and deep.text == page.text
    script = page.text.split('src="', 1)[1].split('"', 1)[0]
    asset = web.http.get(script)
    assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
    assert "immutable" in asset.headers["cache-control"]
    assert asset.headers["content-encoding"] == "gzip" and "import" in asset.text  # gzipped at build time
    plain = web.http.get(script, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == asset.text
    # nothing outside the build: not the source, not the repository
    for path in ("/m/../pyproject.toml", "/m/%2e%2e/%2e%2e/pyproject.toml", "/m/assets/nope.js", "/m/src/main.ts"):
        assert web.http.get(path).status_code == 404, path
    assert web.http.get("/m", follow_redirects=False).headers["location"] == "/m/"


def test_the_console_is_served_at_the_root_and_under_its_own_sections_only(web):
    console = web.http.get("/")
    assert console.status_code == 200 and "text/html" in console.headers["content-type"]
    assert console.headers["content-security-policy"] == web.http.get("/m/").headers["content-security-policy"]
    assert console.text != web.http.get("/m/").text  # another page: console.html, its assets under /m/assets/
    assert '/m/assets/console-' in console.text
    # a deep link into one of the console's sections (a reload there) is the console's page
    for path in ("/review/01ABC", "/sites/W-1/", "/zones", "/login?next=/review"):
        deep = web.http.get(path)
        assert deep.status_code == 200 and deep.text == console.text, path
    # every other path stays the gateway's: the API, the docs, a 404
    assert web.http.get("/nothing-here").status_code == 404
    assert web.http.get("/api/registry/applications").status_code == 401
    assert web.http.get("/healthz").status_code == 200


def sign_in(web) -> httpx.Client:
    browser = httpx.Client(base_url=web.url, timeout=30)
    answer = browser.post("/api/auth/session", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert answer.status_code == 200, answer.text
    assert "refresh_token" not in answer.json() and answer.json()["access_token"]
    return browser


def test_the_refresh_token_lives_in_an_http_only_strict_cookie_on_the_refresh_path(web):
    raw = httpx.post(f"{web.url}/api/auth/session", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    set_cookies = raw.headers.get_list("set-cookie")
    refresh = next(c for c in set_cookies if c.startswith("nrmm_refresh="))
    assert "HttpOnly" in refresh and "SameSite=strict" in refresh and "Path=/api/auth/session" in refresh
    assert "Secure" not in refresh  # loopback over plain HTTP: development; anywhere else it is Secure
    csrf = next(c for c in set_cookies if c.startswith("nrmm_csrf="))
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf
    behind_tls = httpx.post(f"{web.url}/api/auth/session", data={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                            headers={"host": "nrmm.example.cn"})
    assert all("Secure" in c for c in behind_tls.headers.get_list("set-cookie"))


def test_a_refresh_needs_the_csrf_token_and_the_own_origin_and_rotates_the_cookie(web):
    browser = sign_in(web)
    csrf = browser.cookies["nrmm_csrf"]
    assert browser.post("/api/auth/session/refresh").json()["code"] == "csrf_failed"
    assert browser.post("/api/auth/session/refresh", headers={"x-csrf-token": "0" * 40}).status_code == 403
    forged = browser.post("/api/auth/session/refresh", headers={"x-csrf-token": csrf, "origin": "https://evil.example"})
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_origin"
    old_refresh = browser.cookies["nrmm_refresh"]
    # the page's own host (here as a TLS proxy in front would show it: https) is its own origin
    fresh = browser.post("/api/auth/session/refresh",
                         headers={"x-csrf-token": csrf, "origin": web.url.replace("http://", "https://")})
    assert fresh.status_code == 200, fresh.text
    me = browser.get("/api/auth/me", headers={"authorization": f"Bearer {fresh.json()['access_token']}"})
    assert me.json()["username"] == ADMIN_USER
    assert browser.cookies["nrmm_refresh"] != old_refresh and browser.cookies["nrmm_csrf"] != csrf
    # without the cookie (another client): no session
    cookieless = httpx.post(f"{web.url}/api/auth/session/refresh", headers={"x-csrf-token": csrf})
    assert cookieless.json()["code"] == "no_session"
    # signing out ends the session: the cookie no longer refreshes
    kept, kept_csrf = browser.cookies["nrmm_refresh"], browser.cookies["nrmm_csrf"]
    assert browser.post("/api/auth/session/logout", headers={"x-csrf-token": kept_csrf}).status_code == 204
    assert "nrmm_refresh" not in browser.cookies  # cleared
    again = httpx.post(f"{web.url}/api/auth/session/refresh", cookies={"nrmm_refresh": kept},
                       headers={"x-csrf-token": kept_csrf})
    assert again.status_code == 401, again.text
    browser.close()


def test_the_gateway_passes_read_your_writes_positions_both_ways(web):
    owner = web.login(web.register_owner(), "Owner-Passw0rd")
    sent = web.application(owner, district="01", stage="4")
    assert re.fullmatch(r"registry:\d+", sent.headers["x-position"]), sent.headers
    # the position a page sends back reaches the service: far ahead, it waits, then says it is behind
    ahead = web.http.get("/api/registry/applications", headers={**owner, "x-min-position": "registry:999999999"})
    assert ahead.status_code == 503 and ahead.json()["code"] == "read_model_behind"
    assert ahead.headers["retry-after"]
    mine = web.http.get("/api/registry/applications", headers={**owner, "x-min-position": sent.headers["x-position"]})
    assert mine.status_code == 200
