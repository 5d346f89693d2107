"""The WeChat mini-program's native shell (web/miniprogram) cannot run here: its files are checked structurally.
Each page opens a route of the mobile pages (/m/) in a <web-view>."""

from __future__ import annotations

import json
import re

from .platform_web import WEB

SHELL = WEB / "miniprogram"


def test_every_page_of_the_shell_is_complete_and_opens_a_route_of_the_mobile_pages_in_a_web_view():
    app = json.loads((SHELL / "app.json").read_text(encoding="utf-8"))
    project = json.loads((SHELL / "project.config.json").read_text(encoding="utf-8"))
    json.loads((SHELL / "sitemap.json").read_text(encoding="utf-8"))
    assert project["compileType"] == "miniprogram" and app["pages"][0] == "pages/index/index"
    assert "scope.camera" in app["permission"]  # the gate scans with the camera
    base = re.search(r"base: '([^']+)'", (SHELL / "app.js").read_text(encoding="utf-8")).group(1)
    assert base.startswith("https://") and base.endswith("/m/")  # web-view opens HTTPS only
    routes = set(re.findall(r"path: '([^']+)'", (WEB / "src" / "router.ts").read_text(encoding="utf-8")))
    for page in app["pages"]:
        for ext in ("js", "json", "wxml", "wxss"):
            assert (SHELL / f"{page}.{ext}").is_file(), f"{page}.{ext}"
        settings = json.loads((SHELL / f"{page}.json").read_text(encoding="utf-8"))
        assert settings["navigationBarTitleText"]
        assert re.fullmatch(r'<web-view src="\{\{url\}\}"></web-view>\s*',
                            (SHELL / f"{page}.wxml").read_text(encoding="utf-8"))
        script = (SHELL / f"{page}.js").read_text(encoding="utf-8")
        route = "/" + re.search(r"app\.globalData\.base \+ '([^']*)'", script).group(1)
        assert route in routes, f"{page} opens {route}, which the mobile pages do not have"
