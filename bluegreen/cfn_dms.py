"""What every DMS replication task of the platform shares: the table mappings (the whole payment
schema and the switchover's drain marker) and the task settings (stop on any error, validate every
row, log without row data). The dms stack (blue <-> green) and the datacentre-dms stack (data centre
<-> blue) both use them, so every copy of the payment data is made the same way.
"""

from bluegreen.cfn import DB_NAME, MARKER_SCHEMA

#: Tables the payment service is known to have today; the mapping covers them through the
#: schema-wide rule, and the tests check that each of them is matched.
PAYMENT_TABLES = ("payments", "transactions", "ledger_entries", "idempotency_keys")
#: The switchover's drain marker (cfn.MARKER_SCHEMA): a row written on the old writer after the
#: fence whose arrival on the new one proves every earlier commit arrived, so the table must be in
#: the mapping.
MARKER_TABLE = "switchover_marker"

def table_mappings() -> dict:
    """Selection rules: the whole payment schema, and the switchover's marker table; nothing excluded.

    One schema-wide include instead of one rule per table, so a table the service adds later is
    replicated rather than silently left behind; FailOnNoTablesCaptured stops a task whose
    mapping matches nothing. There are no exclude rules: anything left out would have to be
    written here, where a reviewer sees it. The marker is one table, not its schema: nothing
    else of the operations schema is the payment service's data.
    """
    return {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "include-payments-schema-all-tables",
                "object-locator": {"schema-name": DB_NAME, "table-name": "%"},
                "rule-action": "include",
                "filters": [],
            },
            {
                "rule-type": "selection",
                "rule-id": "2",
                "rule-name": "include-switchover-marker",
                "object-locator": {"schema-name": MARKER_SCHEMA, "table-name": MARKER_TABLE},
                "rule-action": "include",
                "filters": [],
            },
        ]
    }


def task_settings() -> dict:
    """Task settings: stop on any data or table error, validate every row, log without row data."""
    default = "LOGGER_SEVERITY_DEFAULT"
    return {
        "TargetMetadata": {
            "TargetSchema": "",
            "SupportLobs": True,
            # Full LOB mode never truncates a LOB (limited mode would, silently); LOBs up to
            # InlineLobMaxSize KB still travel inline, so only rare large ones pay the lookup.
            "FullLobMode": True,
            "LobChunkSize": 64,
            "LimitedSizeLobMode": False,
            "LobMaxSize": 0,
            "InlineLobMaxSize": 32,
            # Transactional apply keeps commit order, so a ledger entry never lands before its payment.
            "BatchApplyEnabled": False,
            "ParallelLoadThreads": 0,
        },
        "FullLoadSettings": {
            # DO_NOTHING: DMS never drops or empties a target table. The application's migrations
            # create the schema (with its keys and constraints) on both clusters; a full load into
            # a table that already holds rows fails loudly instead of being wiped.
            "TargetTablePrepMode": "DO_NOTHING",
            "CreatePkAfterFullLoad": False,
            "StopTaskCachedChangesApplied": False,
            "StopTaskCachedChangesNotApplied": False,
            "MaxFullLoadSubTasks": 8,
            "CommitRate": 10000,
        },
        "Logging": {
            "EnableLogging": True,
            # Default severity (info, warnings, errors) for every component. DEBUG levels are
            # off on purpose: they write row values, i.e. card data, into the task log.
            "LogComponents": [
                {"Id": component, "Severity": default}
                for component in (
                    "SOURCE_UNLOAD", "SOURCE_CAPTURE", "TARGET_LOAD", "TARGET_APPLY",
                    "TASK_MANAGER", "TABLES_MANAGER", "METADATA_MANAGER", "COMMON",
                    "DATA_STRUCTURE", "COMMUNICATION", "FILE_FACTORY", "FILE_TRANSFER",
                    "REST_SERVER", "ADDONS", "TRANSFORMATION", "PERFORMANCE", "SORTER",
                    "IO", "VALIDATOR_EXT",
                )
            ],
        },
        "ControlTablesSettings": {
            "ControlSchema": "awsdms_control",
            "HistoryTimeslotInMinutes": 5,
            "HistoryTableEnabled": True,
            "SuspendedTablesTableEnabled": True,
            "StatusTableEnabled": True,
        },
        "ChangeProcessingDdlHandlingPolicy": {
            # Schema changes flow through; a DROP or TRUNCATE on one side never empties the other.
            "HandleSourceTableDropped": False,
            "HandleSourceTableTruncated": False,
            "HandleSourceTableAltered": True,
        },
        "ValidationSettings": {
            "EnableValidation": True,
            "ValidationMode": "ROW_LEVEL",
            "ThreadCount": 5,
            "FailureMaxCount": 10000,
            "TableFailureMaxCount": 1000,
            "HandleCollationDiff": False,
            "RecordFailureDelayLimitInMinutes": 0,
            "SkipLobColumns": False,
            "ValidationPartialLobSize": 0,
            "ValidationOnly": False,
        },
        "ErrorBehavior": {
            # Payments are never skipped: any data, truncation, table or apply error stops the
            # task (and its CDC latency alarms then block a traffic shift) until someone looks.
            "DataErrorPolicy": "STOP_TASK",
            "DataTruncationErrorPolicy": "STOP_TASK",
            "DataErrorEscalationPolicy": "STOP_TASK",
            "DataErrorEscalationCount": 0,
            "TableErrorPolicy": "STOP_TASK",
            "TableErrorEscalationPolicy": "STOP_TASK",
            "TableErrorEscalationCount": 0,
            "ApplyErrorDeletePolicy": "STOP_TASK",
            "ApplyErrorInsertPolicy": "STOP_TASK",
            "ApplyErrorUpdatePolicy": "STOP_TASK",
            "ApplyErrorEscalationPolicy": "STOP_TASK",
            "ApplyErrorEscalationCount": 0,
            "ApplyErrorFailOnTruncationDdl": True,
            "FullLoadIgnoreConflicts": False,
            "FailOnTransactionConsistencyBreached": True,
            "FailOnNoTablesCaptured": True,
            # Network blips and the 30-day password rotation are recoverable: retry them.
            "RecoverableErrorCount": -1,
            "RecoverableErrorInterval": 5,
            "RecoverableErrorThrottling": True,
            "RecoverableErrorThrottlingMax": 1800,
        },
    }
