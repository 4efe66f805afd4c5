"""Writer stack: the ONE name both colours' tasks use to reach the database that accepts payment writes.

A private hosted zone ``db-<environment>-<suffix>.internal``, associated with the VPC only, holds
``writer.<zone>``: a CNAME (TTL 5 s) to the active cluster's writer endpoint, blue at creation.
The traffic shifter's db switchover (lambda_src/traffic_shifter/db.py) moves it with an UPSERT,
after fencing the old writer and waiting for DMS to drain; nothing else may (docs/db-switchover.md).

Why a DNS name and not an SSM parameter the application re-reads: every MySQL driver and pool
resolves a host name when it opens a connection, so a name needs no application code and no
polling; a reconnect after the fence killed a session lands on the new writer within the 5 s TTL.
An SSM value would need code in every task to re-read it, cache it, and tear down pools when it
changes, and a task that missed the change would keep writing to the old cluster (the fence is
what stops that either way).

CloudFormation creates the record and never changes it afterwards (its properties are constant):
once the shifter moved it, the live value differs from the template on purpose. Drift detection
shows it; a stack update does not revert it, because CloudFormation only updates resources whose
template properties changed. Changing ``Name``/``TTL`` here would re-point the writer at blue
without the guardrails: do not.
"""

from troposphere import Ref, Sub
from troposphere.route53 import HostedZone, HostedZoneConfiguration, HostedZoneVPCs, RecordSetType

from bluegreen import cfn_parameters as params
from bluegreen.cfn import NAME_TAIL, export, new_template, tags, to_json

ZONE = "db-" + NAME_TAIL + ".internal"
WRITER_LABEL = "writer"
WRITER_TTL = "5"


def build():
    t = new_template("Private hosted zone and the movable writer name of the blue-green payment database.")
    params.add(t, "VpcId", "The VPC (network stack VpcId) whose tasks and Lambdas resolve the writer name.",
               params.VPC_ID)
    params.add(t, "BlueWriterEndpoint", "Writer endpoint of the blue cluster (database stack BlueWriterEndpoint): "
               "where the writer name points when it is created.", params.DNS_NAME)

    zone = t.add_resource(HostedZone(
        "WriterZone",
        Name=Sub(ZONE),
        HostedZoneConfig=HostedZoneConfiguration(
            Comment=Sub("Database writer name of ${Environment}-${EnvironmentSuffix} (private, this VPC only)")),
        VPCs=[HostedZoneVPCs(VPCId=Ref("VpcId"), VPCRegion=Ref("AWS::Region"))],
        HostedZoneTags=tags("zone", "db"),
    ))
    t.add_resource(RecordSetType(
        "WriterRecord",
        HostedZoneId=Ref(zone),
        Name=Sub(f"{WRITER_LABEL}.{ZONE}."),
        Type="CNAME",
        # 5 s: after a switchover, a reconnecting pool resolves the new writer within seconds.
        TTL=WRITER_TTL,
        ResourceRecords=[Ref("BlueWriterEndpoint")],
    ))

    export(t, "WriterZoneId", Ref(zone), "Private hosted zone of the writer name (the shifter UPSERTs the record in it).")
    export(t, "WriterZoneName", Sub(ZONE), "Name of the private zone, without the trailing dot.")
    export(t, "WriterHostname", Sub(f"{WRITER_LABEL}.{ZONE}"),
           "The database writer name both colours connect to (DB_WRITER_HOST), without the trailing dot.")
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
