"""Compute stack: the ECS cluster and one Fargate service per colour.

Blue and green are built from one loop, so they differ only in what each colour must own:
its image, its database secret, its target group, its log group and its roles. A colour's
roles can read only that colour's secret, so a green task can never log in to blue's
database and the other way round.

Tasks run in the private app subnets without public IPs, behind the app security group
(reachable only from the ALB), as a non-root user on a read-only root filesystem with every
Linux capability dropped. Secrets reach the container through ECS ``Secrets`` (resolved by
the execution role at start), never through ``Environment`` or the image.

Sizing (docs/sizing.md): 50,000 tx/h, peak x3 = ~42 tx/s; a 1 vCPU task is planned at
20 tx/s at 50 % CPU, so 3 tasks carry the peak and 6 keep it through the loss of an AZ.
"""

from troposphere import GetAtt, Join, Parameter, Ref, Sub
from troposphere.applicationautoscaling import (
    PredefinedMetricSpecification,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
)
from troposphere.ecs import (
    AwsvpcConfiguration,
    Cluster,
    ClusterSetting,
    ContainerDefinition,
    DeploymentCircuitBreaker,
    DeploymentConfiguration,
    KernelCapabilities,
    LinuxParameters,
    LoadBalancer,
    LogConfiguration,
    MountPoint,
    NetworkConfiguration,
    PortMapping,
    RuntimePlatform,
    Secret,
    Service,
    TaskDefinition,
    Volume,
)
from troposphere.ecs import Environment as EnvironmentVariable
from troposphere.iam import ManagedPolicy, Role
from troposphere.logs import LogGroup

from bluegreen.cfn import NAME_TAIL, deletable, export, name, new_template, tags, to_json

COLOURS = ("blue", "green")
CONTAINER = "payment-api"
#: The non-root UID:GID the image runs as; the image must not need root for anything.
CONTAINER_USER = "10001:10001"
#: PCI DSS 10.7 keeps audit logs a year; a literal, so scanners and auditors read it off the template.
LOG_RETENTION_DAYS = 365
SIGNING_KEY_PARAMETER = "app/payment-api-signing-key"
#: Target per task for request-count scaling: 20 tx/s planned per task = 1,200 per minute; scale before it.
REQUESTS_PER_TARGET_PER_MINUTE = 1000
CPU_TARGET_PERCENT = 50
KEY_ARN_PATTERN = "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-f0-9-]+$"


def _cap(colour):
    return colour.capitalize()


def _parameters(t):
    t.add_parameter(Parameter(
        "AppSubnetIds", Type="List<AWS::EC2::Subnet::Id>",
        Description="Private app subnets, one per AZ, the tasks run in (network stack)."))
    t.add_parameter(Parameter(
        "AppSecurityGroupId", Type="AWS::EC2::SecurityGroup::Id",
        Description="Security group of the tasks: app port from the ALB only (network stack)."))
    t.add_parameter(Parameter(
        "LoadBalancerFullName", Type="String", AllowedPattern="^app/[A-Za-z0-9-]+/[a-f0-9]+$",
        ConstraintDescription="app/<name>/<id>",
        Description="app/<name>/<id> of the ALB, for the request-count scaling metric (alb stack)."))
    t.add_parameter(Parameter(
        "DataKeyArn", Type="String", AllowedPattern=KEY_ARN_PATTERN, ConstraintDescription="a KMS key ARN",
        Description="Data KMS key that encrypts the database secrets (security stack)."))
    t.add_parameter(Parameter(
        "OpsKeyArn", Type="String", AllowedPattern=KEY_ARN_PATTERN, ConstraintDescription="a KMS key ARN",
        Description="Ops KMS key that encrypts the log groups and SSM SecureStrings (security stack)."))
    t.add_parameter(Parameter(
        "SsmPrefix", Type="String", AllowedPattern="^/[a-z0-9-]+/[a-z0-9-]+$",
        ConstraintDescription="/<project>/<environment>-<suffix>",
        Description=f"SSM prefix of this deployment (parameters stack); the task reads "
                    f"<prefix>/{SIGNING_KEY_PARAMETER}."))
    t.add_parameter(Parameter(
        "AppPort", Type="Number", Default=8080, MinValue=1024, MaxValue=65535,
        Description="Port the payment API listens on (same as the target groups')."))
    t.add_parameter(Parameter(
        "TaskCpu", Type="String", Default="1024", AllowedValues=["512", "1024", "2048", "4096"],
        Description="Fargate CPU units per task (docs/sizing.md)."))
    t.add_parameter(Parameter(
        "TaskMemory", Type="String", Default="2048", AllowedValues=["1024", "2048", "3072", "4096", "8192"],
        Description="Fargate memory (MiB) per task; must suit TaskCpu (docs/sizing.md)."))
    t.add_parameter(Parameter(
        "MaxTaskCount", Type="Number", Default=18, MinValue=3, MaxValue=60,
        Description="Most tasks auto scaling may run per colour."))
    t.add_parameter(Parameter(
        "DbWriterHost", Type="String",
        AllowedPattern=r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        ConstraintDescription="a lower-case DNS name without a trailing dot",
        Description="The movable database writer name both colours write through (writer stack WriterHostname)."))
    for colour in COLOURS:
        cap = _cap(colour)
        t.add_parameter(Parameter(
            f"{cap}TargetGroupArn", Type="String",
            AllowedPattern="^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/.+$",
            ConstraintDescription="a target group ARN",
            Description=f"Target group of the {colour} service (alb stack)."))
        t.add_parameter(Parameter(
            f"{cap}TargetGroupFullName", Type="String", AllowedPattern="^targetgroup/[A-Za-z0-9-]+/[a-f0-9]+$",
            ConstraintDescription="targetgroup/<name>/<id>",
            Description=f"targetgroup/<name>/<id> of the {colour} target group (alb stack)."))
        t.add_parameter(Parameter(
            f"{cap}DbSecretArn", Type="String",
            AllowedPattern="^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$",
            ConstraintDescription="a Secrets Manager secret ARN",
            Description=f"Master secret of the {colour} Aurora cluster (security stack)."))
        t.add_parameter(Parameter(
            f"{cap}ImageRepository", Type="String", AllowedPattern="^[a-z0-9]+([._/-][a-z0-9]+)*$",
            ConstraintDescription="an ECR repository name in this account and region",
            Description=f"ECR repository (this account, this region) of the {colour} image."))
        t.add_parameter(Parameter(
            f"{cap}ImageTag", Type="String", AllowedPattern="^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
            ConstraintDescription="an image tag (not latest: releases are pinned)",
            Description=f"Image tag the {colour} service runs; a release tag, never latest."))
        t.add_parameter(Parameter(
            f"{cap}DesiredCount", Type="Number", MinValue=3, MaxValue=60,
            Description=f"Tasks of the {colour} service, also its scaling minimum (3 = one per AZ)."))
    t.add_rule("ImagesArePinned", {"Assertions": [
        {
            "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": f"{_cap(c)}ImageTag"}, "latest"]}]},
            "AssertDescription": f"{_cap(c)}ImageTag must name a release, not latest: a moving tag would "
                                 "change what runs without a stack update.",
        }
        for c in COLOURS
    ]})


def _assume(service):
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            # Only ECS acting for this account's tasks may take the role (confused deputy).
            "Condition": {
                "StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")},
                "ArnLike": {"aws:SourceArn": Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*")},
            },
        }],
    }


def _signing_key_arn():
    return Sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SsmPrefix}/"
               + SIGNING_KEY_PARAMETER)


def _execution_role(t, colour, log_group):
    cap = _cap(colour)
    # A managed policy rather than an inline one: reviewers and IAM Access Analyzer see it on its own.
    policy = t.add_resource(ManagedPolicy(
        f"{cap}ExecutionPolicy",
        ManagedPolicyName=name("policy", colour, "exec"),
        Description=f"What ECS needs to start a {colour} task, and nothing of the other colour.",
        PolicyDocument={
            "Version": "2012-10-17",
            "Statement": [
                {
                    # ECR issues registry tokens account-wide; the token alone reads no repository.
                    "Sid": "EcrLogin",
                    "Effect": "Allow",
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                },
                {
                    "Sid": "PullThisColoursImage",
                    "Effect": "Allow",
                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                    "Resource": Sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Repo}",
                                    Repo=Ref(f"{cap}ImageRepository")),
                },
                {
                    "Sid": "WriteThisColoursLog",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": GetAtt(log_group, "Arn"),
                },
                {
                    "Sid": "ReadThisColoursDbSecret",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": Ref(f"{cap}DbSecretArn"),
                },
                {
                    "Sid": "ReadTheSigningKey",
                    "Effect": "Allow",
                    "Action": "ssm:GetParameters",
                    "Resource": _signing_key_arn(),
                },
                {
                    "Sid": "DecryptTheSecretsThroughTheirServices",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": [Ref("DataKeyArn"), Ref("OpsKeyArn")],
                    "Condition": {"StringEquals": {"kms:ViaService": [
                        Sub("secretsmanager.${AWS::Region}.amazonaws.com"),
                        Sub("ssm.${AWS::Region}.amazonaws.com"),
                    ]}},
                },
            ],
        },
    ))
    return t.add_resource(Role(
        f"{cap}ExecutionRole",
        RoleName=name("role", colour, "exec"),
        Description=f"ECS starts {colour} tasks with it: pulls the image, writes the log, reads the secrets.",
        AssumeRolePolicyDocument=_assume("ecs-tasks.amazonaws.com"),
        ManagedPolicyArns=[Ref(policy)],
        Tags=tags(),
    ))


def _task_role(t, colour):
    # The API gets its credentials and key from the injected secrets and calls no AWS API
    # itself, so its role grants nothing; add only what a new feature provably needs.
    return t.add_resource(Role(
        f"{_cap(colour)}TaskRole",
        RoleName=name("role", colour, "task"),
        Description=f"Identity of the {colour} payment API containers; grants no AWS access.",
        AssumeRolePolicyDocument=_assume("ecs-tasks.amazonaws.com"),
        Tags=tags(),
    ))


def _task_definition(t, colour, log_group, execution_role, task_role):
    cap = _cap(colour)
    return t.add_resource(TaskDefinition(
        f"{cap}TaskDefinition",
        Family=name("task", colour),
        RequiresCompatibilities=["FARGATE"],
        NetworkMode="awsvpc",
        Cpu=Ref("TaskCpu"),
        Memory=Ref("TaskMemory"),
        RuntimePlatform=RuntimePlatform(OperatingSystemFamily="LINUX", CpuArchitecture="X86_64"),
        ExecutionRoleArn=GetAtt(execution_role, "Arn"),
        TaskRoleArn=GetAtt(task_role, "Arn"),
        # The root filesystem is read-only; the app writes temporary files to this task-local volume.
        Volumes=[Volume(Name="tmp")],
        ContainerDefinitions=[ContainerDefinition(
            Name=CONTAINER,
            Image=Sub("${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/${Repo}:${Tag}",
                      Repo=Ref(f"{cap}ImageRepository"), Tag=Ref(f"{cap}ImageTag")),
            Essential=True,
            User=CONTAINER_USER,
            Privileged=False,
            ReadonlyRootFilesystem=True,
            LinuxParameters=LinuxParameters(
                InitProcessEnabled=True,
                Capabilities=KernelCapabilities(Drop=["ALL"]),
            ),
            MountPoints=[MountPoint(SourceVolume="tmp", ContainerPath="/tmp", ReadOnly=False)],
            PortMappings=[PortMapping(ContainerPort=Ref("AppPort"), Protocol="tcp")],
            # Only non-secret settings here: anything sensitive goes in Secrets below.
            Environment=[
                EnvironmentVariable(Name="APP_COLOUR", Value=colour),
                EnvironmentVariable(Name="APP_PORT", Value=Ref("AppPort")),
                # Not a secret: a host name. Both colours write through it to the one active writer.
                EnvironmentVariable(Name="DB_WRITER_HOST", Value=Ref("DbWriterHost")),
            ],
            Secrets=[
                Secret(Name="DB_SECRET", ValueFrom=Ref(f"{cap}DbSecretArn")),
                Secret(Name="PAYMENT_SIGNING_KEY", ValueFrom=_signing_key_arn()),
            ],
            LogConfiguration=LogConfiguration(LogDriver="awslogs", Options={
                "awslogs-group": Ref(log_group),
                "awslogs-region": Ref("AWS::Region"),
                "awslogs-stream-prefix": colour,
                # Blocking mode: a payment log line is never dropped to keep the app going.
                "mode": "blocking",
            }),
            StopTimeout=30,
        )],
        Tags=tags("task", colour),
    ))


def _service(t, colour, cluster, task_definition):
    cap = _cap(colour)
    return t.add_resource(Service(
        f"{cap}Service",
        ServiceName=name("svc", colour),
        Cluster=Ref(cluster),
        TaskDefinition=Ref(task_definition),
        LaunchType="FARGATE",
        PlatformVersion="LATEST",
        DesiredCount=Ref(f"{cap}DesiredCount"),
        NetworkConfiguration=NetworkConfiguration(AwsvpcConfiguration=AwsvpcConfiguration(
            AssignPublicIp="DISABLED",
            Subnets=Ref("AppSubnetIds"),
            SecurityGroups=[Ref("AppSecurityGroupId")],
        )),
        LoadBalancers=[LoadBalancer(
            ContainerName=CONTAINER, ContainerPort=Ref("AppPort"), TargetGroupArn=Ref(f"{cap}TargetGroupArn"))],
        HealthCheckGracePeriodSeconds=60,
        DeploymentConfiguration=DeploymentConfiguration(
            # A task set that never gets healthy is rolled back by ECS, not left half deployed.
            DeploymentCircuitBreaker=DeploymentCircuitBreaker(Enable=True, Rollback=True),
            # Full capacity stays in service during a deployment: new tasks first, then old ones go.
            MinimumHealthyPercent=100,
            MaximumPercent=200,
        ),
        # Nobody shells into a container that handles card data.
        EnableExecuteCommand=False,
        EnableECSManagedTags=True,
        PropagateTags="SERVICE",
        Tags=tags("svc", colour),
    ))


def _scaling(t, colour, cluster, service):
    cap = _cap(colour)
    target = t.add_resource(ScalableTarget(
        f"{cap}ScalableTarget",
        ServiceNamespace="ecs",
        ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Join("/", ["service", Ref(cluster), GetAtt(service, "Name")]),
        MinCapacity=Ref(f"{cap}DesiredCount"),
        MaxCapacity=Ref("MaxTaskCount"),
        Tags=tags("scaling", colour),
    ))
    t.add_resource(ScalingPolicy(
        f"{cap}CpuScaling",
        PolicyName=name("asp", colour, "cpu"),
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=TargetTrackingScalingPolicyConfiguration(
            TargetValue=CPU_TARGET_PERCENT,
            PredefinedMetricSpecification=PredefinedMetricSpecification(
                PredefinedMetricType="ECSServiceAverageCPUUtilization"),
            ScaleOutCooldown=60,
            ScaleInCooldown=300,
        ),
    ))
    t.add_resource(ScalingPolicy(
        f"{cap}RequestScaling",
        PolicyName=name("asp", colour, "requests"),
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=TargetTrackingScalingPolicyConfiguration(
            TargetValue=REQUESTS_PER_TARGET_PER_MINUTE,
            PredefinedMetricSpecification=PredefinedMetricSpecification(
                PredefinedMetricType="ALBRequestCountPerTarget",
                ResourceLabel=Join("/", [Ref("LoadBalancerFullName"), Ref(f"{cap}TargetGroupFullName")]),
            ),
            ScaleOutCooldown=60,
            ScaleInCooldown=300,
        ),
    ))


def build():
    t = new_template("ECS cluster and the blue and green Fargate services of the payment API.")
    _parameters(t)
    cluster = t.add_resource(Cluster(
        "Cluster",
        ClusterName=name("ecs"),
        ClusterSettings=[ClusterSetting(Name="containerInsights", Value="enabled")],
        Tags=tags(),
    ))
    services = {}
    for colour in COLOURS:
        log_group = t.add_resource(deletable(LogGroup(
            f"{_cap(colour)}LogGroup",
            LogGroupName=Sub(f"/ecs/log-app-{colour}-" + NAME_TAIL),
            KmsKeyId=Ref("OpsKeyArn"),
            RetentionInDays=LOG_RETENTION_DAYS,
            Tags=tags(),
        )))
        execution_role = _execution_role(t, colour, log_group)
        task_role = _task_role(t, colour)
        task_definition = _task_definition(t, colour, log_group, execution_role, task_role)
        services[colour] = _service(t, colour, cluster, task_definition)
        _scaling(t, colour, cluster, services[colour])

    export(t, "ClusterName", Ref(cluster), "Name of the ECS cluster.")
    for colour, service in services.items():
        export(t, f"{_cap(colour)}ServiceName", GetAtt(service, "Name"), f"Name of the {colour} ECS service.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
