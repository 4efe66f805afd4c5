"""Nested parent stack: every stack of config/prod as an AWS::CloudFormation::Stack.

Generated from Sceptre's reading of the stack configs by bluegreen.nested, so the parent and
Sceptre cannot drift apart: change config/<env>/ and re-render (python -m bluegreen.render main).
Rendered without sceptre_user_data (bluegreen.render) the TemplateURLs are the rendered child files
(network.json, ...). Sceptre deploys the parent from config/nested-<env>/main.yaml, whose
sceptre_user_data names the environment and the packaging bucket: then the TemplateURLs are the S3
URLs its !package_nested hook uploads the children to, and the JSON is compact (CloudFormation takes
a template body of at most 51,200 bytes; docs/deployment.md).
"""

import json

from bluegreen import cfn, nested, package


def build():
    return nested.generate(nested.DEFAULT_ENV).template


def sceptre_handler(sceptre_user_data):
    if not sceptre_user_data:
        return cfn.to_json(build())
    env, bucket, region, root, variables = package.settings(sceptre_user_data)
    parent = nested.generate(env, root, variables)
    return json.dumps(package.packaged_template(parent, bucket, region, root), sort_keys=True, separators=(",", ":"))
