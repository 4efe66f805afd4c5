"""Fixtures of the ssm_parameter custom resource tests: moto SSM/KMS and a stand-in ResponseURL.

CloudFormation hands a custom resource a pre-signed S3 URL to PUT its response to; here an
http.server on 127.0.0.1 takes that role and records every request it gets.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ssm_parameter import handler

PREFIX = "/payments-migration/dev-d01"


class Recorder(BaseHTTPRequestHandler):
    """Records each request as (method, path, headers, parsed JSON body) and answers 200."""

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.command, self.path, dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def response_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws(aws):
    """tests/conftest.py's moto AWS; the handler's cached client is made afresh inside it."""
    handler.ssm_client.cache_clear()
    yield aws
    handler.ssm_client.cache_clear()


@pytest.fixture
def ssm(aws):
    return aws.client("ssm")


@pytest.fixture
def ops_key_arn(aws):
    return aws.client("kms").create_key(Description="ops key")["KeyMetadata"]["Arn"]


@pytest.fixture
def event(response_server):
    """Build a CloudFormation custom resource request whose ResponseURL is the recorder."""
    def make(request_type, properties, physical_id=None, old_properties=None, logical="GreenWeightParameter"):
        request = {
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:lambda-ssm-parameter-dev-d01",
            "ResponseURL": f"http://127.0.0.1:{response_server.server_port}/cfn-response?X-Amz-Signature=abc",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/payments-dev-operations-parameters/1b2c",
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": logical,
            "ResourceType": "Custom::SsmParameter",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", **properties},
        }
        if physical_id is not None:
            request["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            request["OldResourceProperties"] = {"ServiceToken": "arn:aws:lambda:...", **old_properties}
        return request
    return make


@pytest.fixture
def green_weight():
    return {"Name": f"{PREFIX}/traffic/green-weight", "Type": "String", "Value": "0",
            "Description": "Live share of traffic on green", "Tags": {"Environment": "dev", "Project": "payments-migration"}}


@pytest.fixture
def signing_key(ops_key_arn):
    return {"Name": f"{PREFIX}/app/payment-api-signing-key", "Type": "SecureString", "KeyId": ops_key_arn,
            "GeneratedLength": "48", "Tags": {"Environment": "dev"}}
