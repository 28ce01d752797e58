"""Make sure the lab's moto holds the example platform's database password.

The example (manifests/examples/nextcloud) reads its postgres password from
SSM Parameter Store (`x-swarmkeeper.source`), as it would in a real
account, so nothing secret sits in git. This puts a random SecureString at
/swarmkeeper-values/cloud/postgres-password when none is there, and leaves
an existing one alone (a new value would roll the example's services).
Usage: python example-values.py  (idempotent; prints nothing)
Talks only to AWS_ENDPOINT_URL (the lab's moto on 127.0.0.1).
"""

import os
import secrets

import boto3

NAME = "/swarmkeeper-values/cloud/postgres-password"

ssm = boto3.client("ssm", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ.get("AWS_REGION", "eu-west-1"))
try:
    ssm.put_parameter(Name=NAME, Value=secrets.token_urlsafe(24), Type="SecureString", Overwrite=False)
except ssm.exceptions.ParameterAlreadyExists:
    pass
