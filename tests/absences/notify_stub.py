"""A stand-in for GOV.UK Notify on 127.0.0.1: the two endpoints the app uses.

POST /v2/notifications/sms checks the bearer token as Notify does (an HS256 JWT signed
with the API key's secret, issued by its service id, no older than 30 seconds) and the
request body, records exactly what would have been sent, and answers 201 with an id.
GET /v2/notifications/<id> answers with the status the test chose (default "delivered").
A phone number listed in ``refuse`` gets Notify's 400 error.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

SERVICE_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
API_KEY = f"test_key-{SERVICE_ID}-{SECRET}"
TEMPLATE_ID = "99999999-8888-7777-6666-555555555555"


class NotifyStub:
    # Complexity: a test stub answering each Notify case.
    def __init__(self):  # noqa: C901
        self.sent: list[dict] = []
        self.status: dict[str, str] = {}
        self.refuse: set[str] = set()
        self.rejected_auth = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, code, payload):
                body = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                try:
                    claims = jwt.decode(header.removeprefix("Bearer "), SECRET, algorithms=["HS256"],
                                        options={"require": ["iss", "iat"]})
                except jwt.PyJWTError:
                    claims = {}
                if claims.get("iss") != SERVICE_ID or abs(time.time() - claims.get("iat", 0)) > 30:
                    stub.rejected_auth += 1
                    self._reply(403, {"status_code": 403, "errors": [
                        {"error": "AuthError", "message": "Invalid token"}]})
                    return False
                return True

            def do_POST(self):
                if not self._authorised():
                    return
                if self.path != "/v2/notifications/sms":
                    return self._reply(404, {"status_code": 404, "errors": []})
                data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if data.get("template_id") != TEMPLATE_ID or "body" not in data.get("personalisation", {}):
                    return self._reply(400, {"status_code": 400, "errors": [
                        {"error": "BadRequestError", "message": "Missing personalisation: body"}]})
                if data["phone_number"] in stub.refuse:
                    return self._reply(400, {"status_code": 400, "errors": [
                        {"error": "ValidationError", "message": "phone_number Not a UK mobile number"}]})
                nid = str(uuid.uuid4())
                stub.sent.append({"id": nid, **data})
                stub.status[nid] = stub.status.get("*", "delivered")
                self._reply(201, {"id": nid, "reference": data.get("reference"),
                                  "content": {"body": data["personalisation"]["body"],
                                              "from_number": "GOVUK"},
                                  "uri": f"/v2/notifications/{nid}",
                                  "template": {"id": TEMPLATE_ID, "version": 1, "uri": ""}})

            def do_GET(self):
                if not self._authorised():
                    return
                nid = self.path.rsplit("/", 1)[-1]
                if not self.path.startswith("/v2/notifications/") or nid not in stub.status:
                    return self._reply(404, {"status_code": 404, "errors": [
                        {"error": "NoResultFound", "message": "No result found"}]})
                self._reply(200, {"id": nid, "type": "sms", "status": stub.status[nid]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
