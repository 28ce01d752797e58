"""moto_server for the lab: one moto on several addresses, with a fix for one
moto defect the node tests meet.

    moto_server.py -H 127.0.0.1 [-H 10.213.0.1 ...] -p PORT

Every -H address serves the same moto (one process, one state): the host's
clients use 127.0.0.1, the nodes' aws CLI and dockerd's awslogs reach it on
the lab bridge.

moto 5.2.5 stores the UserData of a launch template version made by
CreateLaunchTemplateVersion as a plain str, and asserts it is a
Base64EncodedString when an auto scaling group launches an instance from that
version: every launch after an instance type or AMI change failed with a 500
(AssertionError in moto/ec2/models/launch_templates.py, user_data). AWS takes
such a version and launches from it; so does the lab, through this wrapper.
"""

import argparse
import os
import signal
import sys
import threading

from moto.core.types import Base64EncodedString
from moto.ec2.models import launch_templates
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def _user_data(self):
    user_data = self.data.get("UserData")
    if isinstance(user_data, str):
        user_data = Base64EncodedString(user_data)
    return user_data


launch_templates.LaunchTemplateVersion.user_data = property(_user_data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", action="append", required=True, help="an address to serve on")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    servers = [
        make_server(host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
        for host in args.host
    ]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
