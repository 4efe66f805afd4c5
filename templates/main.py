"""Nested parent stack: every stack of config/prod as an AWS::CloudFormation::Stack.

Generated from the Sceptre stack configs by bluegreen.nested, so the parent and Sceptre cannot
drift apart: change config/<env>/*.yaml and re-render (python -m bluegreen.render main). The
TemplateURLs are the rendered child files (network.json, ...); python -m bluegreen.package
uploads them and writes the packaged parent (docs/deployment.md).
"""

from bluegreen import cfn, nested


def build():
    return nested.generate(nested.DEFAULT_ENV).template


def sceptre_handler(sceptre_user_data):
    return cfn.to_json(build())
