#!/usr/bin/python3
"""webhook_sink.py: an HTTP receiver for the webhook test.

    webhook_sink.py PORT DIR

Each POST is written to DIR/hook-N.body (the body as received) and DIR/hook-N.head (the
X-Clinic-Timestamp, X-Clinic-Signature and X-Clinic-Delivery headers, one per line, in that
order) and answered 204. DIR/ready is written once it listens. While DIR/fail holds a number N,
the next N POSTs are answered 503 and not written.
"""
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    count = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        folder = self.server.folder
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fail = os.path.join(folder, "fail")
        try:
            with open(fail) as f:
                left = int(f.read().strip() or "0")
        except (OSError, ValueError):
            left = 0
        if left > 0:
            with open(fail, "w") as f:
                f.write(str(left - 1))
            self.send_response(503)
            self.end_headers()
            return
        Handler.count += 1
        base = os.path.join(folder, "hook-%d" % Handler.count)
        with open(base + ".head.tmp", "w") as f:
            for h in ("X-Clinic-Timestamp", "X-Clinic-Signature", "X-Clinic-Delivery"):
                f.write((self.headers.get(h) or "") + "\n")
        with open(base + ".body", "wb") as f:
            f.write(body)
        os.replace(base + ".head.tmp", base + ".head")
        self.send_response(204)
        self.end_headers()


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    server.folder = folder
    with open(os.path.join(folder, "ready"), "w") as f:
        f.write(str(port))
    server.serve_forever()


if __name__ == "__main__":
    main()
