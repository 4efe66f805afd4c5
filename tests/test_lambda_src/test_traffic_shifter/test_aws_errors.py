"""aws_errors: a denial in any shape AWS answers it becomes one sentence naming action, resource and principal.

The messages are AWS's documented shapes (docs/aws-constraints.md cites the pages); the emulator's own
denials are run through the entry points in tests/test_iam/test_denials_named.py.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from traffic_shifter.aws_errors import Denial, denial_of, explain, explain_text, parse
from traffic_shifter.errors import ApplyFailed

ROLE = "arn:aws:sts::123456789012:assumed-role/role-traffic-shifter-dev-d01/lambda-traffic-shifter-dev-d01"
LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/alb-blue-dev-d01/50dc6c495c0c9188/f2f7dc8efc522ab2"
IMPLICIT = (f"User: {ROLE} is not authorized to perform: elasticloadbalancing:ModifyListener on resource: {LISTENER} "
            "because no identity-based policy allows the elasticloadbalancing:ModifyListener action")


def client_error(code: str, message: str, operation: str = "ModifyListener") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize("message,expected", [
    (IMPLICIT, Denial("elasticloadbalancing:ModifyListener", LISTENER, ROLE, "",
                      "because no identity-based policy allows the elasticloadbalancing:ModifyListener action")),
    # IAM User Guide: an explicit deny names the policy, and may end with a console link.
    ("User: arn:aws:iam::123456789012:user/janedoe is not authorized to perform: iam:CreateInstanceProfile on resource: "
     "arn:aws:iam::123456789012:instance-profile/my-instance-profile with an explicit deny in an identity-based policy: "
     "arn:aws:iam::123456789012:policy/ExampleDenyPolicy. Go to https://us-east-1.console.aws.amazon.com/iam/home",
     Denial("iam:CreateInstanceProfile", "arn:aws:iam::123456789012:instance-profile/my-instance-profile",
            "arn:aws:iam::123456789012:user/janedoe", "",
            "with an explicit deny in an identity-based policy: arn:aws:iam::123456789012:policy/ExampleDenyPolicy")),
    # S3 quotes the resource.
    ('User: arn:aws:iam::123456789012:user/ci is not authorized to perform: s3:GetObject on resource: '
     '"arn:aws:s3:::s3-artifacts-dev-d01/lambda/x.zip" because no identity-based policy allows the s3:GetObject action',
     Denial("s3:GetObject", "arn:aws:s3:::s3-artifacts-dev-d01/lambda/x.zip", "arn:aws:iam::123456789012:user/ci", "",
            "because no identity-based policy allows the s3:GetObject action")),
    # No resource-level permission: no resource named.
    (f"User: {ROLE} is not authorized to perform: dms:DescribeReplicationTasks because no identity-based policy allows "
     "the dms:DescribeReplicationTasks action",
     Denial("dms:DescribeReplicationTasks", "", ROLE, "",
            "because no identity-based policy allows the dms:DescribeReplicationTasks action")),
])
def test_parse__aws_message_shapes__action_resource_principal_reason(message, expected):
    assert parse(message) == expected


@pytest.mark.parametrize("text", ["", "Rate exceeded", "ValidationError: 1 validation error detected"])
def test_parse__not_a_denial__none(text):
    assert parse(text) is None


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "AccessDeniedFault", "AuthorizationError"])
def test_explain__denial_codes_of_the_services__one_sentence(code):
    said = explain(client_error(code, IMPLICIT))

    assert said == (f"{code}: {ROLE} may not elasticloadbalancing:ModifyListener on {LISTENER} (because no identity-based "
                    "policy allows the elasticloadbalancing:ModifyListener action); grant that action on that resource to "
                    "that principal's policy, or act as a principal that has it")


def test_explain__ec2_encoded_message__the_call_is_the_action():
    err = client_error("UnauthorizedOperation", "You are not authorized to perform this operation. Encoded authorization "
                       "failure message: 4GIOHlTkIaWHQD0Q0m6XSnuUMCm-abc", "CreateNetworkInterface")

    assert denial_of(err) == Denial("ec2:CreateNetworkInterface", "", "", "UnauthorizedOperation",
                                    "You are not authorized to perform this operation")
    assert explain(err).startswith("UnauthorizedOperation: the caller (`aws sts get-caller-identity` says who) may not "
                                   "ec2:CreateNetworkInterface (You are not authorized")


def test_explain__denial_wrapped_by_the_shifter__denial_first_then_what_the_run_left():
    try:
        try:
            raise client_error("AccessDenied", IMPLICIT)
        except ClientError as err:
            raise ApplyFailed(f"rollback did not finish (ClientError: {err}; again: ClientError: {err}); the claim is kept") from err
    except ApplyFailed as wrapped:
        said = explain(wrapped)

    assert said.startswith(f"AccessDenied: {ROLE} may not elasticloadbalancing:ModifyListener on {LISTENER} (because")
    assert said.endswith("-- rollback did not finish (ClientError: An error occurred (AccessDenied) when calling the "
                         f"ModifyListener operation: {IMPLICIT}; again: ClientError: An error occurred (AccessDenied) when "
                         f"calling the ModifyListener operation: {IMPLICIT}); the claim is kept")


def test_explain_text__a_lambda_error_message__denial_named_from_the_text():
    said = explain_text(f"start to green 10 failed (ClientError: An error occurred (AccessDenied) when calling the "
                        f"ModifyListener operation: {IMPLICIT}); every side put back to green 0")

    assert said.startswith(f"AccessDenied: {ROLE} may not elasticloadbalancing:ModifyListener on {LISTENER} (because no "
                           "identity-based policy allows the elasticloadbalancing:ModifyListener action); grant")
    assert said.endswith("-- start to green 10 failed (ClientError: An error occurred (AccessDenied) when calling the "
                         f"ModifyListener operation: {IMPLICIT}); every side put back to green 0")


def test_explain__other_client_error__its_own_words():
    err = client_error("ThrottlingException", "Rate exceeded")

    assert denial_of(err) is None
    assert explain(err) == "An error occurred (ThrottlingException) when calling the ModifyListener operation: Rate exceeded"


def test_explain__endpoint_unreachable__says_no_answer():
    err = EndpointConnectionError(endpoint_url="http://127.0.0.1:5999/")

    assert explain(err) == 'no answer from the AWS endpoint: Could not connect to the endpoint URL: "http://127.0.0.1:5999/"'
