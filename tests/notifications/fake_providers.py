"""A local stand-in for the outside providers: Alibaba Cloud's SMS API (RPC style, the query string) and WeChat's
API (access token, subscription messages). The services reach it through the providers' own SDKs."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.waiting import wait_until


@dataclass
class FakeProviders:
    sms: list[dict] = field(default_factory=list)  # every SendSms request received, answered or not
    wechat: list[dict] = field(default_factory=list)
    tokens_issued: int = 0
    failing: dict[str, str] = field(default_factory=dict)  # mobile -> error code answered
    hanging: set[str] = field(default_factory=set)  # mobiles whose requests are never answered in time
    held: dict[str, threading.Event] = field(default_factory=dict)  # mobile -> the next request waits for this
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)  # set by stop(): hanging requests end
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def sms_to(self, mobile: str) -> list[dict]:
        with self.lock:
            return [r for r in self.sms if r["PhoneNumbers"] == mobile]

    def wait_for(self, condition, seconds: float = 30.0):
        return wait_until(condition, timeout=seconds, what="the providers seeing what was expected")

    def start(self) -> FakeProviders:
        providers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, body: dict, status: int = 200):
                out = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=utf-8")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self):
                url = urlparse(self.path)
                if url.path == "/cgi-bin/token":
                    with providers.lock:
                        providers.tokens_issued += 1
                        n = providers.tokens_issued
                    return self._answer({"access_token": f"token-{n}", "expires_in": 7200})
                self._answer({"errcode": 404, "errmsg": "unknown"}, 404)

            def do_POST(self):
                url = urlparse(self.path)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if url.path == "/cgi-bin/message/subscribe/send":
                    request = {**json.loads(body), "access_token": parse_qs(url.query)["access_token"][0]}
                    with providers.lock:
                        providers.wechat.append(request)
                    return self._answer({"errcode": 0, "errmsg": "ok", "msgid": len(providers.wechat)})
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if query.get("Action", "SendSms") != "SendSms" or "PhoneNumbers" not in query:
                    return self._answer({"Code": "isv.INVALID_PARAMETERS", "Message": "bad request"}, 400)
                mobile = query["PhoneNumbers"]
                with providers.lock:
                    providers.sms.append(query)
                    hold = providers.held.pop(mobile, None)
                if hold is not None:
                    hold.wait(60)
                    return  # the connection is dropped: the sender never hears back
                if mobile in providers.hanging:
                    providers.stopping.wait(5)  # past the sender's timeout, or until the fake stops
                    return
                if mobile in providers.failing:
                    return self._answer({"Code": providers.failing[mobile], "Message": "refused", "RequestId": "r"})
                self._answer({"Code": "OK", "Message": "OK", "BizId": f"biz-{query.get('OutId')}", "RequestId": "r"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for event in self.held.values():
            event.set()
        self.server.shutdown()
