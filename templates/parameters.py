"""Parameters stack: the SSM parameters that configure one environment of the platform.

Everything lives under ``ssm_path()`` = /<project>/<environment>-<suffix>/:
  traffic/green-weight          live share of traffic on green (0-100), rewritten by the traffic shifter
  shift/plan                    the steps of a traffic shift (JSON), read by the traffic shifter
  health/max-5xx-percent        health thresholds the shifter checks before every step
  health/max-p99-latency-ms
  health/min-running-tasks
  image/blue-tag, image/green-tag   image tags the compute stack deploys
  app/payment-api-signing-key   SecureString, generated, never seen by a template or a person
  db/rds-ca-bundle              the RDS CA bundle (PEM) the switchover verifies the databases' TLS with;
                                created with a placeholder the operator overwrites once

Configuration that only changes through a stack update is a plain AWS::SSM::Parameter. Two kinds
go through the ``Custom::SsmParameter`` resource of lambda_src/ssm_parameter instead:
  * traffic/green-weight is live state. CloudFormation puts a parameter it owns back to the
    template value on every update of this stack, which would move live card traffic as a side
    effect of, say, changing a health threshold. The custom resource writes the initial "0" once
    and never overwrites a value that exists.
  * SecureStrings: CloudFormation cannot create them, and their value must never pass through a
    template or a stack parameter, so the function generates it and encrypts it with the ops key.
  * db/rds-ca-bundle is loaded by an operator (the bundle is downloaded from AWS, not built here):
    a stack update must not put the placeholder back over it. It is a String: the bundle is public.
"""

from troposphere import GetAtt, Ref, Sub
from troposphere.cloudformation import CustomResource
from troposphere.ssm import Parameter as SsmParameter

from bluegreen import cfn_lambda
from bluegreen import cfn_parameters as params
from bluegreen.cfn import COLOURS, NAME_TAIL, cap, export, new_template, ssm_path, tag_map, to_json
from bluegreen.cfn_iam import allow, via_service

HANDLER = "ssm_parameter.handler.lambda_handler"
FUNCTION_NAME = "lambda-ssm-parameter-" + NAME_TAIL
#: Bytes of randomness in the generated signing key (secrets.token_urlsafe: 64 characters).
SIGNING_KEY_BYTES = 48
DEFAULT_SHIFT_PLAN = (
    '{"steps": [{"green_weight": 10, "bake_seconds": 300}, {"green_weight": 25, "bake_seconds": 300}, '
    '{"green_weight": 50, "bake_seconds": 600}, {"green_weight": 100, "bake_seconds": 0}]}'
)
#: What db/rds-ca-bundle holds until an operator loads the bundle; the switchover refuses to connect
#: while it holds no PEM certificate, saying to load it.
CA_BUNDLE_PLACEHOLDER = (
    "NOT LOADED: overwrite with the RDS CA bundle of us-east-1 (PEM), "
    "https://truststore.pki.rds.amazonaws.com/us-east-1/us-east-1-bundle.pem"
)
#: Every parameter the function may touch: this deployment's prefix and nothing else.
PREFIX_ARN = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${Project}/" + NAME_TAIL + "/*"



def _parameters(t):
    params.add(t, "OpsKeyArn", "ARN of the ops KMS key (security stack): SecureStrings, the log group, the Lambda "
               "environment.", params.KMS_KEY_ARN)
    cfn_lambda.parameters(t, "SsmParameterCodeKey", "ssm_parameter")
    params.add(t, "ShiftPlan", "Steps of a traffic shift as JSON: each step's green weight and how long it bakes.",
               Default=DEFAULT_SHIFT_PLAN, AllowedPattern=r'^\{\s*"steps"\s*:\s*\[.+\]\s*\}$',
               ConstraintDescription='a JSON object {"steps": [{"green_weight": N, "bake_seconds": S}, ...]}.')
    params.add(t, "Max5xxPercent", "Highest share of 5xx responses (percent) green may show before the shift rolls "
               "back.", params.NUMBER, Default=1, MinValue=0, MaxValue=100)
    params.add(t, "MaxP99LatencyMs", "Highest p99 target response time (milliseconds) green may show before the "
               "shift rolls back.", params.NUMBER, Default=1000, MinValue=50, MaxValue=60000)
    params.add(t, "MinRunningTasks", "Fewest running green tasks with which the shift may advance.", params.NUMBER,
               Default=2, MinValue=1, MaxValue=100)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}ImageTag", f"Image tag the {colour} service runs.", params.IMAGE_TAG)


def _function(t):
    return cfn_lambda.custom_resource_function(
        t, "SsmParameter", "ssm-parameter", FUNCTION_NAME, [
            allow("ManageParametersUnderPrefix",
                  ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource"],
                  Sub(PREFIX_ARN)),
            # Encrypt only, and only through SSM: the function never reads a secret back.
            allow("EncryptSecureStringsWithOpsKey", ["kms:Encrypt", "kms:GenerateDataKey"], Ref("OpsKeyArn"),
                  condition={"StringEquals": {"kms:ViaService": via_service("ssm")}}),
        ],
        policy_description="Lets the ssm-parameter custom resource manage parameters under this deployment's prefix "
                           "only.",
        role_description="Execution role of the ssm-parameter custom resource function.",
        description="Custom::SsmParameter: creates live-state and SecureString SSM parameters CloudFormation must not own.",
        handler=HANDLER, code_key="SsmParameterCodeKey",
        MemorySize=128,
        Timeout=60,
        # Only CloudFormation calls it, a few times per stack operation.
        ReservedConcurrentExecutions=cfn_lambda.reserved_concurrency(t, 2, "2: only CloudFormation calls it"),
    )


def _plain(t, logical, path, value, description):
    return t.add_resource(SsmParameter(
        logical,
        Name=ssm_path(*path.split("/")),
        Type="String",
        Tier="Standard",
        Value=value,
        Description=description,
        Tags=tag_map(),
    ))


class SsmParameterResource(CustomResource):
    """A parameter created by lambda_src/ssm_parameter (properties: see its handler's docstring)."""

    resource_type = "Custom::SsmParameter"


def _custom(t, logical, function, path, description, **props):
    return t.add_resource(SsmParameterResource(
        logical,
        ServiceToken=GetAtt(function, "Arn"),
        Name=ssm_path(*path.split("/")),
        Description=description,
        Tags=tag_map(),
        **props,
    ))


def build():
    t = new_template("SSM parameters (traffic weight, shift plan, health thresholds, image tags, secrets) of the blue-green payment platform.")
    _parameters(t)
    function = _function(t)

    green_weight = _custom(
        t, "GreenWeightParameter", function, "traffic/green-weight",
        "Live share of traffic (0-100) on green; written by the traffic shifter, never reset by a stack update.",
        Type="String", Value="0")
    signing_key = _custom(
        t, "PaymentApiSigningKeyParameter", function, "app/payment-api-signing-key",
        "Key the payment API signs its responses with; generated, encrypted with the ops key.",
        Type="SecureString", KeyId=Ref("OpsKeyArn"), GeneratedLength=SIGNING_KEY_BYTES)

    ca_bundle = _custom(
        t, "DbCaBundleParameter", function, "db/rds-ca-bundle",
        "RDS CA bundle (PEM) the database switchover verifies TLS against; loaded by an operator, never reset by a stack update.",
        Type="String", Value=CA_BUNDLE_PLACEHOLDER)

    shift_plan = _plain(t, "ShiftPlanParameter", "shift/plan", Ref("ShiftPlan"),
                        "Traffic shift steps: green weight and bake time of each.")
    _plain(t, "Max5xxPercentParameter", "health/max-5xx-percent", Ref("Max5xxPercent"),
           "Highest 5xx percentage green may show before the shift rolls back.")
    _plain(t, "MaxP99LatencyMsParameter", "health/max-p99-latency-ms", Ref("MaxP99LatencyMs"),
           "Highest p99 response time in milliseconds green may show before the shift rolls back.")
    _plain(t, "MinRunningTasksParameter", "health/min-running-tasks", Ref("MinRunningTasks"),
           "Fewest running green tasks with which the shift may advance.")
    images = {
        colour: _plain(t, f"{cap(colour)}ImageTagParameter", f"image/{colour}-tag", Ref(f"{cap(colour)}ImageTag"),
                       f"Image tag the {colour} service runs.")
        for colour in COLOURS
    }

    export(t, "SsmPrefix", Sub("/${Project}/" + NAME_TAIL), "Prefix of every SSM parameter of this deployment.")
    export(t, "GreenWeightParameterName", Ref(green_weight), "Name of the live green weight parameter.")
    export(t, "DbCaBundleParameterName", Ref(ca_bundle),
           "Name of the String parameter with the RDS CA bundle the switchover verifies TLS against.")
    export(t, "ShiftPlanParameterName", Ref(shift_plan), "Name of the traffic shift plan parameter.")
    export(t, "PaymentApiSigningKeyParameterName", Ref(signing_key),
           "Name of the SecureString with the payment API signing key.")
    for colour, parameter in images.items():
        export(t, f"{cap(colour)}ImageTagParameterName", Ref(parameter), f"Name of the {colour} image tag parameter.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
