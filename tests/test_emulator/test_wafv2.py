"""extensions/wafv2.py: a web ACL associated with an ALB, with logging."""

from __future__ import annotations

import pytest

from .parts import network

pytestmark = pytest.mark.emulator


def test_waf_web_acl__associated_with_alb_and_logging__exist_then_deleted(emulator, stacks):
    template = {"Resources": {
        **network("10.81"),
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}},
        "Acl": {"Type": "AWS::WAFv2::WebACL", "Properties": {
            "Scope": "REGIONAL", "DefaultAction": {"Allow": {}},
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "alb"},
            "Rules": [{"Name": "common", "Priority": 0, "OverrideAction": {"None": {}},
                       "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}},
                       "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "common"}}]}},
        "Association": {"Type": "AWS::WAFv2::WebACLAssociation", "Properties": {
            "ResourceArn": {"Ref": "Alb"}, "WebACLArn": {"Fn::GetAtt": ["Acl", "Arn"]}}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"aws-waf-logs-{stacks.unique('alb')}"}},
        "Logging": {"Type": "AWS::WAFv2::LoggingConfiguration", "Properties": {
            "ResourceArn": {"Fn::GetAtt": ["Acl", "Arn"]}, "LogDestinationConfigs": [{"Fn::GetAtt": ["Logs", "Arn"]}]}},
    }, "Outputs": {"AclArn": {"Value": {"Fn::GetAtt": ["Acl", "Arn"]}}}}
    deployed = stacks.create(template)
    waf = emulator.client("wafv2")

    attached = waf.get_web_acl_for_resource(ResourceArn=deployed.resources["Alb"])["WebACL"]
    logging = waf.get_logging_configuration(ResourceArn=deployed.outputs["AclArn"])["LoggingConfiguration"]
    stacks.delete(deployed)

    assert attached["ARN"] == deployed.outputs["AclArn"]
    assert [r["Name"] for r in attached["Rules"]] == ["common"]
    assert logging["ResourceArn"] == deployed.outputs["AclArn"]
    assert waf.list_web_acls(Scope="REGIONAL")["WebACLs"] == [] or deployed.outputs["AclArn"] not in [
        a["ARN"] for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"]]
