"""Compute stack: the ECS cluster and one Fargate service per colour.

Blue and green are built from one loop, so they differ only in what each colour must own:
its image, its target groups (one in each ALB: docs/traffic-weights.md), its log group and its roles.

Both colours log in to the database as the application user ``payments_app`` with IAM database
authentication, through the one movable writer name (docs/db-switchover.md): no password
exists, so none is injected, none has to match across clusters and none reaches a task. The
master secrets stay with the fence and the rotation. Each task role may ``rds-db:connect`` as
``payments_app`` to both clusters (the writer name can point at either) and as no other user;
the writer fence revokes that user's DML on the old writer, so a stale task cannot write there.

Tasks run in the private app subnets without public IPs, behind the app security group
(reachable only from the two ALBs), as a non-root user on a read-only root filesystem with every
Linux capability dropped. The one secret, the signing key, reaches the container through ECS
``Secrets`` (resolved by the execution role at start), never through ``Environment`` or the image.

Sizing (docs/sizing.md): 50,000 tx/h, peak x3 = ~42 tx/s; a payment measured ~3 ms of CPU, planned
at 6 ms, so a 1 vCPU task carries 83 tx/s at 50 % CPU: one task per AZ (3), not CPU, sets the count.
"""

from troposphere import GetAtt, Join, Ref, Sub
from troposphere.applicationautoscaling import (
    CustomizedMetricSpecification,
    PredefinedMetricSpecification,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingMetric,
    TargetTrackingMetricDataQuery,
    TargetTrackingMetricDimension,
    TargetTrackingMetricStat,
    TargetTrackingScalingPolicyConfiguration,
)
from troposphere.ecs import (
    AwsvpcConfiguration,
    Cluster,
    ClusterSetting,
    ContainerDefinition,
    DeploymentCircuitBreaker,
    DeploymentConfiguration,
    HealthCheck,
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

from bluegreen import cfn_parameters as params
from bluegreen.cfn import (
    APP_DB_USER,
    COLOURS,
    DB_NAME,
    DB_PORT,
    EDGES,
    NAME_TAIL,
    WRITE_RETRY_SECONDS,
    cap,
    export,
    name,
    new_template,
    tags,
    target_group,
    to_json,
)
from bluegreen.cfn_alarms import payments_namespace
from bluegreen.cfn_iam import allow, policy_and_role, service_trust, via_service
from bluegreen.cfn_storage import log_group

CONTAINER = "payment-api"
#: The non-root UID:GID the image runs as; the image must not need root for anything.
CONTAINER_USER = "10001:10001"
SIGNING_KEY_PARAMETER = "app/payment-api-signing-key"
#: Where app/Dockerfile puts the RDS CA bundle the database's certificate is verified against.
APP_CA_BUNDLE = "/opt/payment-api/rds-global-bundle.pem"
#: Target per task for request-count scaling: 1,000 per minute (~17 tx/s), far below the 83 tx/s a task is
#: planned at (docs/sizing.md), so requests add tasks long before CPU runs short; kept this low until the
#: benchmark has run on Fargate against Aurora.
REQUESTS_PER_TARGET_PER_MINUTE = 1000
#: A task's requests through both ALBs; an edge without traffic (weight 0) publishes nothing, and
#: SUM of the array keeps the other edge's value instead of dropping the minute.
REQUESTS_PER_TASK_EXPRESSION = "SUM([" + ", ".join(f"via{edge}" for edge in EDGES) + "])"
CPU_TARGET_PERCENT = 50
CLUSTER_RESOURCE_ID_PATTERN = "^cluster-[A-Z0-9]{1,64}$"


def _parameters(t):
    params.add(t, "AppSubnetIds", "Private app subnets, one per AZ, the tasks run in (network stack).", params.SUBNET_IDS)
    params.add(t, "AppSecurityGroupId", "Security group of the tasks: app port from the ALB only (network stack).",
               params.SECURITY_GROUP_ID)
    for edge in EDGES:
        params.add(t, f"{cap(edge)}LoadBalancerFullName", f"app/<name>/<id> of the {edge} ALB, for the request-count "
                   "scaling metric (alb stack).", params.LOAD_BALANCER_FULL_NAME)
    params.add(t, "OpsKeyArn", "Ops KMS key that encrypts the log groups and SSM SecureStrings (security stack).",
               params.KMS_KEY_ARN)
    params.add(t, "SsmPrefix", f"SSM prefix of this deployment (parameters stack); the task reads "
               f"<prefix>/{SIGNING_KEY_PARAMETER}.", params.SSM_PREFIX)
    params.app_port(t, "Port the payment API listens on (same as the target groups').")
    params.add(t, "TaskCpu", "Fargate CPU units per task (docs/sizing.md).", Default="1024",
               AllowedValues=["512", "1024", "2048", "4096"])
    params.add(t, "TaskMemory", "Fargate memory (MiB) per task; must suit TaskCpu (docs/sizing.md).", Default="2048",
               AllowedValues=["1024", "2048", "3072", "4096", "8192"])
    params.add(t, "MaxTaskCount", "Most tasks auto scaling may run per colour.", params.NUMBER,
               Default=18, MinValue=3, MaxValue=60)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}DbEndpoint", f"RDS writer (cluster) endpoint of the {colour} cluster (database stack "
                   f"{cap(colour)}WriterEndpoint): the tasks connect by this name, the one their IAM token and TLS "
                   "identity check are for.", params.DNS_NAME)
    for colour in COLOURS:
        params.add(t, f"{cap(colour)}ClusterResourceId", f"Resource ID of the {colour} cluster, the target of "
                   "rds-db:connect (database stack).", AllowedPattern=CLUSTER_RESOURCE_ID_PATTERN,
                   ConstraintDescription="an Aurora cluster resource ID such as cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for colour in COLOURS:
        _colour_parameters(t, colour)
    t.add_rule("ImagesArePinned", {"Assertions": [
        {
            "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": f"{cap(c)}ImageTag"}, "latest"]}]},
            "AssertDescription": f"{cap(c)}ImageTag must name a release, not latest: a moving tag would "
                                 "change what runs without a stack update.",
        }
        for c in COLOURS
    ]})


def _colour_parameters(t, colour):
    """Where the colour's tasks register (its target group in each ALB), what they run, how many."""
    for edge in EDGES:
        group = target_group(edge, colour)
        params.add(t, f"{group}Arn", f"The {edge} ALB's target group the {colour} service registers with (alb stack).",
                   params.TARGET_GROUP_ARN)
        params.add(t, f"{group}FullName", f"targetgroup/<name>/<id> of the {edge} ALB's {colour} target group (alb "
                   "stack).", params.TARGET_GROUP_FULL_NAME)
    params.add(t, f"{cap(colour)}ImageRepository", f"ECR repository (this account, this region) of the {colour} image.",
               AllowedPattern="^[a-z0-9]+([._/-][a-z0-9]+)*$",
               ConstraintDescription="an ECR repository name in this account and region")
    params.add(t, f"{cap(colour)}ImageTag", f"Image tag the {colour} service runs; a release tag, never latest.",
               params.IMAGE_TAG)
    params.add(t, f"{cap(colour)}DesiredCount", f"Tasks of the {colour} service, also its scaling minimum (3 = one "
               "per AZ).", params.NUMBER, MinValue=3, MaxValue=60)


def _ecs_trust():
    # Only ECS acting for this account's tasks may take the role (confused deputy).
    return service_trust("ecs-tasks.amazonaws.com", source_account=True,
                         source_arn=Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*"))


def _signing_key_arn():
    return Sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SsmPrefix}/"
               + SIGNING_KEY_PARAMETER)


def _execution_role(t, colour, logs):
    repository = Sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Repo}",
                     Repo=Ref(f"{cap(colour)}ImageRepository"))
    _, role = policy_and_role(
        t, f"{cap(colour)}Execution", [colour, "exec"], _ecs_trust(), [
            # ECR issues registry tokens account-wide; the token alone reads no repository.
            allow("EcrLogin", "ecr:GetAuthorizationToken", "*"),
            allow("PullThisColoursImage",
                  ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], repository),
            allow("WriteThisColoursLog", ["logs:CreateLogStream", "logs:PutLogEvents"], GetAtt(logs, "Arn")),
            allow("ReadTheSigningKey", "ssm:GetParameters", _signing_key_arn()),
            # The signing key is an SSM SecureString under the ops key; nothing else is decrypted.
            allow("DecryptTheSigningKeyThroughSsm", "kms:Decrypt", Ref("OpsKeyArn"),
                  condition={"StringEquals": {"kms:ViaService": via_service("ssm")}}),
        ],
        policy_description=f"What ECS needs to start a {colour} task, and nothing of the other colour.",
        role_description=f"ECS starts {colour} tasks with it: pulls the image, writes the log, reads the signing key.",
        policy_props={"Metadata": {"parliament": {"ignore": [{
            "issue": "CREDENTIALS_EXPOSURE", "actions": ["ecr:GetAuthorizationToken"],
            "reason": "ECS needs a registry token to pull the image; the action has no resource-level permissions "
                      "and the token alone reads no repository (PullThisColoursImage names the one it may pull)."}]}}},
    )
    return role


def _db_user_arn(colour):
    return Sub("arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:${ClusterId}/" + APP_DB_USER,
               ClusterId=Ref(f"{cap(colour)}ClusterResourceId"))


IAM_DB_AUTH_REASON = (
    "IAM database authentication is the design: the task signs short-lived login tokens for the one database "
    "user on the two clusters and no password is stored; parliament counts every token-issuing action.")


def _task_role(t, colour):
    # The API's only AWS call is the signing of IAM database authentication tokens; its key
    # comes from the injected secret. Add only what a new feature provably needs.
    _, role = policy_and_role(
        t, f"{cap(colour)}Task", [colour, "task"], _ecs_trust(), [
            # Both clusters: the writer name the task connects through can point at either
            # colour (docs/db-switchover.md). The fence, not IAM, decides which one takes writes.
            allow("ConnectAsTheAppUser", "rds-db:connect", [_db_user_arn(c) for c in COLOURS]),
        ],
        policy_description=f"The {colour} payment API may log in to the databases as {APP_DB_USER} and as nobody else.",
        role_description=f"Identity of the {colour} payment API containers: IAM database login as {APP_DB_USER} only.",
        policy_props={"Metadata": {"parliament": {"ignore": [
            {"issue": issue, "actions": ["rds-db:connect"], "reason": IAM_DB_AUTH_REASON}
            for issue in ("CREDENTIALS_EXPOSURE", "PERMISSIONS_MANAGEMENT_ACTIONS")]}}},
    )
    return role


def _task_definition(t, colour, logs, execution_role, task_role):
    c = cap(colour)
    return t.add_resource(TaskDefinition(
        f"{c}TaskDefinition",
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
                      Repo=Ref(f"{c}ImageRepository"), Tag=Ref(f"{c}ImageTag")),
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
                # Not secrets: host names. Both clusters' RDS endpoints; the task writes to the one the fence
                # allows (app/payment_api/database.py), so no DNS change is on the write path.
                EnvironmentVariable(Name="DB_ENDPOINTS", Value=Sub("blue=${BlueDbEndpoint},green=${GreenDbEndpoint}")),
                EnvironmentVariable(Name="DB_PORT", Value=str(DB_PORT)),
                EnvironmentVariable(Name="DB_NAME", Value=DB_NAME),
                # Not secrets either: the app signs a 15-minute IAM token with the task role per
                # connection (TLS required) instead of sending a password.
                EnvironmentVariable(Name="DB_USER", Value=APP_DB_USER),
                EnvironmentVariable(Name="DB_IAM_AUTH", Value="true"),
                # The token is signed for this region; TLS to Aurora is verified with the RDS CA bundle in the image.
                EnvironmentVariable(Name="AWS_REGION", Value=Ref("AWS::Region")),
                EnvironmentVariable(Name="DB_CA_BUNDLE", Value=APP_CA_BUNDLE),
                # How long a write refused by the writer fence is retried before 503 + Retry-After.
                EnvironmentVariable(Name="WRITE_RETRY_SECONDS", Value=str(WRITE_RETRY_SECONDS)),
                # The payment metrics the monitoring stack's fast alarms judge (EMF in the task's log).
                EnvironmentVariable(Name="METRICS_NAMESPACE", Value=payments_namespace()),
                # HTTPS from the ALB (it re-encrypts and does not validate target certificates): a
                # per-task self-signed pair written to /tmp at start, no key in the image or a secret.
                EnvironmentVariable(Name="TLS_CERT_FILE", Value="/tmp/tls/cert.pem"),
                EnvironmentVariable(Name="TLS_KEY_FILE", Value="/tmp/tls/key.pem"),
                EnvironmentVariable(Name="TLS_SELF_SIGNED", Value="true"),
            ],
            Secrets=[
                Secret(Name="PAYMENT_SIGNING_KEY", ValueFrom=_signing_key_arn()),
            ],
            # The image's own HEALTHCHECK (app/Dockerfile): GET /health on this task answers 200.
            HealthCheck=HealthCheck(Command=["CMD", "payment-api", "healthcheck"], Interval=10, Timeout=5,
                                    Retries=3, StartPeriod=30),
            LogConfiguration=LogConfiguration(LogDriver="awslogs", Options={
                "awslogs-group": Ref(logs),
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
    c = cap(colour)
    return t.add_resource(Service(
        f"{c}Service",
        ServiceName=name("svc", colour),
        Cluster=Ref(cluster),
        TaskDefinition=Ref(task_definition),
        LaunchType="FARGATE",
        PlatformVersion="LATEST",
        DesiredCount=Ref(f"{c}DesiredCount"),
        NetworkConfiguration=NetworkConfiguration(AwsvpcConfiguration=AwsvpcConfiguration(
            AssignPublicIp="DISABLED",
            Subnets=Ref("AppSubnetIds"),
            SecurityGroups=[Ref("AppSecurityGroupId")],
        )),
        # One target group in each ALB (a target group belongs to one load balancer): whichever edge a
        # client reached, it can forward to this colour's tasks, so a rollback never waits for DNS.
        LoadBalancers=[
            LoadBalancer(ContainerName=CONTAINER, ContainerPort=Ref("AppPort"),
                         TargetGroupArn=Ref(f"{target_group(edge, colour)}Arn"))
            for edge in EDGES
        ],
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


def _tracking(t, logical, colour, qualifier, target, value, **metric):
    """A target-tracking policy: out after a minute over ``value``, in only after five minutes under it."""
    t.add_resource(ScalingPolicy(
        f"{cap(colour)}{logical}Scaling",
        PolicyName=name("asp", colour, qualifier),
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=TargetTrackingScalingPolicyConfiguration(
            TargetValue=value, ScaleOutCooldown=60, ScaleInCooldown=300, **metric),
    ))


def _requests_per_task(colour):
    """A task's requests through both ALBs. Every task is in one target group per ALB, so they are the sum
    of the two groups' RequestCountPerTarget (the predefined ALBRequestCountPerTarget follows one group only)."""
    per_edge = [
        TargetTrackingMetricDataQuery(
            Id=f"via{edge}", ReturnData=False,
            MetricStat=TargetTrackingMetricStat(
                Metric=TargetTrackingMetric(
                    Namespace="AWS/ApplicationELB", MetricName="RequestCountPerTarget",
                    Dimensions=[
                        TargetTrackingMetricDimension(Name="LoadBalancer", Value=Ref(f"{cap(edge)}LoadBalancerFullName")),
                        TargetTrackingMetricDimension(Name="TargetGroup", Value=Ref(f"{target_group(edge, colour)}FullName")),
                    ]),
                # The metric's only statistic; per target it is already an average.
                Stat="Sum"),
        )
        for edge in EDGES
    ]
    return CustomizedMetricSpecification(Metrics=[
        *per_edge,
        TargetTrackingMetricDataQuery(Id="requests", ReturnData=True, Expression=REQUESTS_PER_TASK_EXPRESSION,
                                      Label=f"{colour}: requests per task per minute, both ALBs"),
    ])


def _scaling(t, colour, cluster, service):
    target = t.add_resource(ScalableTarget(
        f"{cap(colour)}ScalableTarget",
        ServiceNamespace="ecs",
        ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Join("/", ["service", Ref(cluster), GetAtt(service, "Name")]),
        MinCapacity=Ref(f"{cap(colour)}DesiredCount"),
        MaxCapacity=Ref("MaxTaskCount"),
        Tags=tags("scaling", colour),
    ))
    _tracking(t, "Cpu", colour, "cpu", target, CPU_TARGET_PERCENT,
              PredefinedMetricSpecification=PredefinedMetricSpecification(
                  PredefinedMetricType="ECSServiceAverageCPUUtilization"))
    _tracking(t, "Request", colour, "requests", target, REQUESTS_PER_TARGET_PER_MINUTE,
              CustomizedMetricSpecification=_requests_per_task(colour))


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
        logs = log_group(t, f"{cap(colour)}LogGroup", Sub(f"/ecs/log-app-{colour}-" + NAME_TAIL))
        execution_role = _execution_role(t, colour, logs)
        task_role = _task_role(t, colour)
        task_definition = _task_definition(t, colour, logs, execution_role, task_role)
        services[colour] = _service(t, colour, cluster, task_definition)
        _scaling(t, colour, cluster, services[colour])

    export(t, "ClusterName", Ref(cluster), "Name of the ECS cluster.")
    for colour, service in services.items():
        export(t, f"{cap(colour)}ServiceName", GetAtt(service, "Name"), f"Name of the {colour} ECS service.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
