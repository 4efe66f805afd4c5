"""IAM enforced by the emulator: what moto does itself, and only what it lacks added here.

moto's own parts, used as they are:

* the access key of a request, and the policies of its user or assumed role
  (``moto.iam.access_control.create_access_key``, ``collect_policies``);
* the SigV4 signature check (``IAMRequestBase.check_signature``: the request rebuilt from the signed
  headers and signed with the key's secret by botocore), given the body as it arrived;
* the IAM backend's users, roles, managed policies and trust policies.

What moto lacks, and so lives here:

* ``enforcement.py``: the hooks in moto's place (moto checks every request against resource ``*``
  and only after ``INITIAL_NO_AUTH_ACTION_COUNT`` requests), the deployer the server creates, the
  one-time Lambda service keys, the error document in each service's own format;
* ``requests.py``: which IAM action, resource ARNs and condition keys an API call is (moto knows
  only the action); also read by tests/test_iam;
* ``policy.py``: the evaluation of identity and trust policies. moto's ``IAMPolicyStatement``
  matches a trust policy's principal only as ``{"AWS": <caller ARN>}`` (a ``Service`` principal
  or the account root never matches), takes condition values only from the request's parameters
  (``aws:MultiFactorAuthPresent``, ``aws:SourceArn`` never reach it) and answers an unmet condition
  with a Deny: kinder than AWS in some cases, stricter in others, so it is not used;
* ``cfn.py``: roles and managed policies from CloudFormation as enforcement needs them
  (moto's Role model drops ``ManagedPolicyArns``).

Standard library only at import time: tests/test_iam imports ``requests`` and ``policy`` in the
project venv, which has no moto.
"""
