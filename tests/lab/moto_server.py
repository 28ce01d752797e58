"""moto_server for the lab, with a fix for one moto defect the node tests meet.

moto 5.2.5 stores the UserData of a launch template version made by
CreateLaunchTemplateVersion as a plain str, and asserts it is a
Base64EncodedString when an auto scaling group launches an instance from that
version: every launch after an instance type or AMI change failed with a 500
(AssertionError in moto/ec2/models/launch_templates.py, user_data). AWS takes
such a version and launches from it; so does the lab, through this wrapper.
Everything else is moto_server as installed.
"""

import sys

from moto.core.types import Base64EncodedString
from moto.ec2.models import launch_templates
from moto.server import main


def _user_data(self):
    user_data = self.data.get("UserData")
    if isinstance(user_data, str):
        user_data = Base64EncodedString(user_data)
    return user_data


launch_templates.LaunchTemplateVersion.user_data = property(_user_data)

if __name__ == "__main__":
    sys.exit(main())
