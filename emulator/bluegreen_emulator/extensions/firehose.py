"""Firehose: the AWS::KinesisFirehose::DeliveryStream model moto 5.2 lacks (a phantom).

The stream is created through moto's own ``create_delivery_stream``, so
``describe_delivery_stream`` sees it and moto's delivery (``put_record``, CloudWatch Logs
subscriptions) writes its batches into the destination bucket. An update is a delete and a
create under the same name (moto's ``update_destination`` covers only part of the
configuration); the ARN does not change, as on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.firehose.exceptions import ResourceNotFoundException
from moto.firehose.models import firehose_backends

from ._base import BackendResource, tags_to_list

EXTENSIONS = [
    ("AWS::KinesisFirehose::DeliveryStream", "new model: create_delivery_stream (DirectPut, ExtendedS3/S3 destination, SSE input) / delete_delivery_stream"),
]


class DeliveryStreamResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::KinesisFirehose::DeliveryStream"
    NAME_PROPERTY = "DeliveryStreamName"
    REPLACE_ON = ("DeliveryStreamType",)
    GETATT = {"Arn": lambda self: self._stream().delivery_stream_arn}

    def _backend(self):
        return firehose_backends[self.account_id][self.region_name]

    def _stream(self):
        return self._backend().delivery_streams[self.physical_id]

    def create(self, name: str) -> None:
        p = self.properties
        # Firehose stream names: 1-64 characters (CreateDeliveryStream).
        self.physical_id = name[:64]
        self._backend().create_delivery_stream(
            region=self.region_name,
            delivery_stream_name=self.physical_id,
            delivery_stream_type=p.get("DeliveryStreamType", "DirectPut"),
            kinesis_stream_source_configuration=p.get("KinesisStreamSourceConfiguration"),
            delivery_stream_encryption_configuration_input=p.get("DeliveryStreamEncryptionConfigurationInput"),
            s3_destination_configuration=p.get("S3DestinationConfiguration"),
            extended_s3_destination_configuration=p.get("ExtendedS3DestinationConfiguration"),
            redshift_destination_configuration=p.get("RedshiftDestinationConfiguration"),
            elasticsearch_destination_configuration=p.get("ElasticsearchDestinationConfiguration"),
            splunk_destination_configuration=p.get("SplunkDestinationConfiguration"),
            http_endpoint_destination_configuration=p.get("HttpEndpointDestinationConfiguration"),
            snowflake_destination_configuration=p.get("SnowflakeDestinationConfiguration"),
            iceberg_destination_configuration=p.get("IcebergDestinationConfiguration"),
            tags=tags_to_list(p.get("Tags")),
        )

    def update(self, new_properties: dict[str, Any]) -> None:
        self.remove()
        self.properties = new_properties
        self.create(self.physical_id)

    def remove(self) -> None:
        try:
            self._backend().delete_delivery_stream(self.physical_id)
        except ResourceNotFoundException:
            pass
