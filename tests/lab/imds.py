#!/usr/bin/env python3
"""tests/lab/imds.py: the instance metadata service of one lab node.

    imds.py INSTANCE_ID LOCAL_IPV4 AVAILABILITY_ZONE ROLE

Started by tests/lab/node-agent inside the node's network namespace, where it
serves http://169.254.169.254/ as an instance that requires IMDSv2 does: PUT
/latest/api/token (with X-aws-ec2-metadata-token-ttl-seconds) gives a
session token; every GET must carry it (X-aws-ec2-metadata-token), else 401.
Served: meta-data/instance-id, local-ipv4, placement/availability-zone,
placement/region, iam/security-credentials/ (the role) and
iam/security-credentials/ROLE (temporary credentials moto accepts). Test
infrastructure, not product code; plain python3, no dependencies.
"""

import datetime
import http.server
import json
import secrets
import sys
import time

ADDR = ("169.254.169.254", 80)


def main():
    instance_id, local_ip, zone, role = sys.argv[1:5]
    ready = sys.argv[5] if len(sys.argv) > 5 else None  # a file written once it listens
    tokens = {}  # token -> expiry (monotonic seconds)
    meta = {
        "instance-id": instance_id,
        "local-ipv4": local_ip,
        "placement/availability-zone": zone,
        "placement/region": zone[:-1],
        "iam/security-credentials/": role,
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, code, body=b"", kind="text/plain", headers=()):
            self.send_response(code)
            self.send_header("Content-Type", kind)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self):
            if self.path != "/latest/api/token":
                return self.reply(404)
            try:
                ttl = int(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                return self.reply(400)
            if not 1 <= ttl <= 21600:
                return self.reply(400)
            token = secrets.token_urlsafe(32)
            tokens[token] = time.monotonic() + ttl
            # As EC2 does: the Go SDK (dockerd's awslogs) reads the TTL
            # back and falls back to IMDSv1 without it.
            self.reply(200, token.encode(), headers=[("X-aws-ec2-metadata-token-ttl-seconds", str(ttl))])

        def do_GET(self):
            token = self.headers.get("X-aws-ec2-metadata-token", "")
            if tokens.get(token, 0) < time.monotonic():
                return self.reply(401)  # IMDSv2 required: no v1 GETs
            path = self.path.split("?", 1)[0]
            if not path.startswith("/latest/meta-data/"):
                return self.reply(404)
            key = path[len("/latest/meta-data/"):]
            if key == f"iam/security-credentials/{role}":
                expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6)
                creds = {
                    "Code": "Success",
                    "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": "ASIALABNODE" + instance_id[-8:].upper(),
                    "SecretAccessKey": "lab-node-secret",
                    "Token": "lab-node-session-token",
                    "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                return self.reply(200, json.dumps(creds).encode(), "application/json")
            if key in meta:
                return self.reply(200, meta[key].encode())
            self.reply(404)

        def log_message(self, fmt, *args):
            sys.stderr.write("imds: " + (fmt % args) + "\n")

    server = http.server.ThreadingHTTPServer(ADDR, Handler)
    server.daemon_threads = True
    if ready:
        # EC2's metadata service answers from the first instruction of a
        # boot: the agent starts the boot only after this file exists.
        with open(ready, "w") as f:
            f.write("listening\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
