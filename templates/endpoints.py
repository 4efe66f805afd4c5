"""Endpoints stack: the VPC endpoints through which everything in the VPC reaches AWS's APIs.

PrivateLink (interface) endpoints in the app subnets, behind the network stack's endpoint security
group, and S3/DynamoDB gateway endpoints on the app and db route tables, each with a policy that
keeps it to this account. A stack of its own, split from network by concern: Sceptre sends every
template inline and CloudFormation refuses a body over 51,200 bytes (docs/aws-constraints.md); the
network stack with its endpoints was 84% of that. The security groups stay in the network stack
(one file shows the whole traffic matrix). Every stack that runs something in the VPC at create time
(tasks, Lambdas, DMS, the rotation function) depends on this one, so the APIs are reachable first.
"""

from troposphere import Join, Ref, Split, Sub
from troposphere.ec2 import VPCEndpoint

from bluegreen import cfn_parameters as params
from bluegreen.cfn import export, new_template, tags, to_json
from bluegreen.cfn_iam import allow, policy_document

#: PrivateLink endpoints in the app subnets: what the tasks, Lambdas, DMS and the rotation function
#: call. elasticloadbalancing, sns and rds serve the traffic shifter (listener weights,
#: notifications, cluster state).
INTERFACE_ENDPOINTS = (
    "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "kms", "sts", "monitoring", "dms",
    "elasticloadbalancing", "sns", "rds",
)
#: Gateway endpoints (free, route-table based): S3 for ECR image layers and CloudFormation
#: custom-resource responses, DynamoDB for the traffic-shifter's state table.
GATEWAY_ENDPOINTS = ("s3", "dynamodb")


def _parameters(t):
    params.add(t, "VpcId", "The VPC (network stack).", params.VPC_ID)
    params.add(t, "AppSubnetIds", "Private app subnets, one per AZ, that hold the interface endpoints (network stack).",
               params.SUBNET_IDS)
    params.add(t, "EndpointSecurityGroupId", "Security group of the interface endpoints: HTTPS from the app, Lambda, "
               "DMS and rotation groups only (network stack).", params.SECURITY_GROUP_ID)
    params.add(t, "PrivateRouteTableIds", "The app and db route tables the gateway endpoints are added to (network "
               "stack).", params.Kind("CommaDelimitedList"))


def _interface_endpoints(t):
    # Identity perimeter: only principals of this account may use the interface endpoints.
    perimeter = policy_document(allow("OnlyThisAccountsPrincipals", "*", "*", principal="*", condition={
        "StringEquals": {"aws:PrincipalAccount": Ref("AWS::AccountId")}}))
    for service in INTERFACE_ENDPOINTS:
        logical = "".join(part.capitalize() for part in service.split(".")) + "Endpoint"
        t.add_resource(VPCEndpoint(
            logical,
            VpcId=Ref("VpcId"),
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            VpcEndpointType="Interface",
            PrivateDnsEnabled=True,
            SubnetIds=Ref("AppSubnetIds"),
            SecurityGroupIds=[Ref("EndpointSecurityGroupId")],
            PolicyDocument=perimeter,
            Tags=tags("vpce", service.replace(".", "-")),
        ))


def _gateway_endpoints(t):
    # Gateway endpoints cannot require the caller's account: ECR layer downloads and
    # CloudFormation responses use presigned URLs of AWS-owned buckets, so those are named.
    this_account = {"StringEquals": {"aws:ResourceAccount": Ref("AWS::AccountId")}}
    s3_policy = policy_document(
        allow("BucketsOfThisAccount", "s3:*", "*", principal="*", condition=this_account),
        allow("EcrImageLayers", "s3:GetObject", principal="*",
              resource=Sub("arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*")),
        # The response bucket names the region without dashes (us-east-1 -> useast1).
        allow("CloudFormationCustomResourceResponses", "s3:PutObject", principal="*", resource=Join("", [
            Sub("arn:${AWS::Partition}:s3:::cloudformation-custom-resource-response-"),
            Join("", Split("-", Ref("AWS::Region"))),
            "/*",
        ])),
    )
    dynamodb_policy = policy_document(
        allow("TablesOfThisAccount", "dynamodb:*", "*", principal="*", condition=this_account))
    policies = {"s3": s3_policy, "dynamodb": dynamodb_policy}
    for service in GATEWAY_ENDPOINTS:
        t.add_resource(VPCEndpoint(
            f"{service.capitalize()}GatewayEndpoint",
            VpcId=Ref("VpcId"),
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            VpcEndpointType="Gateway",
            RouteTableIds=Ref("PrivateRouteTableIds"),
            PolicyDocument=policies[service],
            Tags=tags("vpce", service),
        ))


def build():
    t = new_template("VPC endpoints (PrivateLink and S3/DynamoDB gateways) of the blue-green payment platform.")
    _parameters(t)
    _interface_endpoints(t)
    _gateway_endpoints(t)
    export(t, "InterfaceEndpointIds", Join(",", [Ref(r) for r in t.resources.values()
                                                 if getattr(r, "VpcEndpointType", "") == "Interface"]),
           "Comma-joined IDs of the interface endpoints.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
