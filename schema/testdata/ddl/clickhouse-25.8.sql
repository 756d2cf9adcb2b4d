-- migration 1: core tables
CREATE TABLE IF NOT EXISTS `meshscope`.`spans`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `start_time_unix_nano` UInt64 CODEC(Delta, ZSTD(1)),
    `duration_ns` UInt64 CODEC(T64, ZSTD(1)),
    `trace_id` FixedString(16),
    `span_id` FixedString(8),
    `parent_span_id` FixedString(8),
    `trace_state` String,
    `name` LowCardinality(String),
    `kind` UInt8,
    `status_code` UInt8,
    `status_message` String,
    `service_name` LowCardinality(String),
    `service_namespace` LowCardinality(String),
    `service_version` LowCardinality(String),
    `workload` LowCardinality(String),
    `scope_name` LowCardinality(String),
    `scope_version` LowCardinality(String),
    `http_method` LowCardinality(String),
    `http_route` LowCardinality(String),
    `http_status_code` UInt16,
    `rpc_grpc_status_code` Int16,
    `peer_service` LowCardinality(String),
    `server_address` LowCardinality(String),
    `db_system` LowCardinality(String),
    `db_name` LowCardinality(String),
    `messaging_system` LowCardinality(String),
    `messaging_destination` LowCardinality(String),
    `resource_keys` Array(String),
    `resource_values` Array(String),
    `attr_keys` Array(String),
    `attr_values` Array(String),
    `event_time_unix_nano` Array(UInt64),
    `event_names` Array(String),
    `event_attrs` Array(String),
    `link_trace_ids` Array(FixedString(16)),
    `link_span_ids` Array(FixedString(8)),
    `link_attrs` Array(String),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = MergeTree()
PARTITION BY toDate(timestamp)
ORDER BY (service_name, name, timestamp, trace_id)
SETTINGS index_granularity = 8192;

CREATE TABLE IF NOT EXISTS `meshscope`.`logs`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `time_unix_nano` UInt64 CODEC(Delta, ZSTD(1)),
    `observed_time_unix_nano` UInt64 CODEC(Delta, ZSTD(1)),
    `trace_id` FixedString(16),
    `span_id` FixedString(8),
    `flags` UInt32,
    `severity_number` UInt8,
    `severity_text` LowCardinality(String),
    `service_name` LowCardinality(String),
    `service_namespace` LowCardinality(String),
    `scope_name` LowCardinality(String),
    `event_name` LowCardinality(String),
    `body` String CODEC(ZSTD(1)),
    `resource_keys` Array(String),
    `resource_values` Array(String),
    `attr_keys` Array(String),
    `attr_values` Array(String)
)
ENGINE = MergeTree()
PARTITION BY toDate(timestamp)
ORDER BY (service_name, timestamp);

CREATE TABLE IF NOT EXISTS `meshscope`.`metric_series`
(
    `series_id` UInt64,
    `metric_name` LowCardinality(String),
    `type` UInt8,
    `unit` LowCardinality(String),
    `description` String,
    `temporality` UInt8,
    `monotonic` UInt8,
    `service_name` LowCardinality(String),
    `source` LowCardinality(String),
    `first_seen` DateTime,
    `resource_keys` Array(String),
    `resource_values` Array(String),
    `label_keys` Array(String),
    `label_values` Array(String)
)
ENGINE = ReplacingMergeTree(first_seen)
ORDER BY (metric_name, series_id);

CREATE TABLE IF NOT EXISTS `meshscope`.`metric_samples`
(
    `series_id` UInt64,
    `metric_name` LowCardinality(String),
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `time_unix_nano` UInt64 CODEC(Delta, ZSTD(1)),
    `start_time_unix_nano` UInt64 CODEC(Delta, ZSTD(1)),
    `value` Float64 CODEC(Gorilla, ZSTD(1)),
    `count` UInt64,
    `sum` Float64,
    `min` Float64,
    `max` Float64,
    `bucket_bounds` Array(Float64),
    `bucket_counts` Array(UInt64),
    `exp_scale` Int32,
    `exp_zero_count` UInt64,
    `exp_positive_offset` Int32,
    `exp_positive_counts` Array(UInt64),
    `exp_negative_offset` Int32,
    `exp_negative_counts` Array(UInt64),
    `quantiles` Array(Float64),
    `quantile_values` Array(Float64),
    `flags` UInt32
)
ENGINE = MergeTree()
PARTITION BY toDate(timestamp)
ORDER BY (metric_name, series_id, time_unix_nano);

CREATE TABLE IF NOT EXISTS `meshscope`.`requests`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `start_time_unix_nano` UInt64 CODEC(Delta, ZSTD(1)),
    `duration_ns` UInt64,
    `upstream_service_time_ns` Int64,
    `reporter` LowCardinality(String),
    `emitter` LowCardinality(String),
    `log_name` LowCardinality(String),
    `source` LowCardinality(String),
    `source_namespace` LowCardinality(String),
    `source_workload` LowCardinality(String),
    `source_app` LowCardinality(String),
    `source_version` LowCardinality(String),
    `destination` LowCardinality(String),
    `destination_namespace` LowCardinality(String),
    `destination_workload` LowCardinality(String),
    `destination_app` LowCardinality(String),
    `destination_version` LowCardinality(String),
    `protocol` LowCardinality(String),
    `method` LowCardinality(String),
    `path` String,
    `authority` LowCardinality(String),
    `response_code` UInt16,
    `grpc_status` Int16,
    `response_flags` LowCardinality(String),
    `response_code_details` LowCardinality(String),
    `connection_termination_details` LowCardinality(String),
    `upstream_transport_failure_reason` String,
    `bytes_received` UInt64,
    `bytes_sent` UInt64,
    `upstream_host` LowCardinality(String),
    `upstream_cluster` LowCardinality(String),
    `upstream_local_address` String,
    `downstream_local_address` LowCardinality(String),
    `downstream_remote_address` String,
    `requested_server_name` LowCardinality(String),
    `route_name` LowCardinality(String),
    `request_id` String,
    `user_agent` LowCardinality(String),
    `x_forwarded_for` String,
    `trace_id` FixedString(16),
    `mtls` UInt8,
    `attr_keys` Array(String),
    `attr_values` Array(String)
)
ENGINE = MergeTree()
PARTITION BY toDate(timestamp)
ORDER BY (destination, source, timestamp);

-- migration 2: edge aggregates
CREATE TABLE IF NOT EXISTS `meshscope`.`edges_10s`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `source_kind` LowCardinality(String),
    `source_cluster` LowCardinality(String),
    `source_namespace` LowCardinality(String),
    `source_name` LowCardinality(String),
    `source_workload` LowCardinality(String),
    `source_version` LowCardinality(String),
    `destination_kind` LowCardinality(String),
    `destination_cluster` LowCardinality(String),
    `destination_namespace` LowCardinality(String),
    `destination_name` LowCardinality(String),
    `destination_workload` LowCardinality(String),
    `destination_version` LowCardinality(String),
    `protocol` LowCardinality(String),
    `provenance` UInt8,
    `reporters` UInt8,
    `requests` UInt64,
    `errors` UInt64,
    `latency` Array(UInt64),
    `latency_sum_ns` UInt64,
    `bytes_sent` UInt64,
    `bytes_received` UInt64,
    `mtls` UInt64,
    `plaintext` UInt64
)
ENGINE = MergeTree()
PARTITION BY toDate(timestamp)
ORDER BY (timestamp, destination_namespace, destination_name, source_namespace, source_name);

CREATE TABLE IF NOT EXISTS `meshscope`.`edges_1m`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `source_kind` LowCardinality(String),
    `source_cluster` LowCardinality(String),
    `source_namespace` LowCardinality(String),
    `source_name` LowCardinality(String),
    `source_workload` LowCardinality(String),
    `source_version` LowCardinality(String),
    `destination_kind` LowCardinality(String),
    `destination_cluster` LowCardinality(String),
    `destination_namespace` LowCardinality(String),
    `destination_name` LowCardinality(String),
    `destination_workload` LowCardinality(String),
    `destination_version` LowCardinality(String),
    `protocol` LowCardinality(String),
    `provenance` AggregateFunction(groupBitOr, UInt8),
    `reporters` AggregateFunction(groupBitOr, UInt8),
    `requests` AggregateFunction(sum, UInt64),
    `errors` AggregateFunction(sum, UInt64),
    `latency` AggregateFunction(sumForEach, Array(UInt64)),
    `latency_sum_ns` AggregateFunction(sum, UInt64),
    `bytes_sent` AggregateFunction(sum, UInt64),
    `bytes_received` AggregateFunction(sum, UInt64),
    `mtls` AggregateFunction(sum, UInt64),
    `plaintext` AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toDate(timestamp)
ORDER BY (timestamp, destination_namespace, destination_name, source_namespace, source_name, destination_kind, source_kind, destination_workload, destination_version, source_workload, source_version, destination_cluster, source_cluster, protocol);

CREATE TABLE IF NOT EXISTS `meshscope`.`edges_1h`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `source_kind` LowCardinality(String),
    `source_cluster` LowCardinality(String),
    `source_namespace` LowCardinality(String),
    `source_name` LowCardinality(String),
    `source_workload` LowCardinality(String),
    `source_version` LowCardinality(String),
    `destination_kind` LowCardinality(String),
    `destination_cluster` LowCardinality(String),
    `destination_namespace` LowCardinality(String),
    `destination_name` LowCardinality(String),
    `destination_workload` LowCardinality(String),
    `destination_version` LowCardinality(String),
    `protocol` LowCardinality(String),
    `provenance` AggregateFunction(groupBitOr, UInt8),
    `reporters` AggregateFunction(groupBitOr, UInt8),
    `requests` AggregateFunction(sum, UInt64),
    `errors` AggregateFunction(sum, UInt64),
    `latency` AggregateFunction(sumForEach, Array(UInt64)),
    `latency_sum_ns` AggregateFunction(sum, UInt64),
    `bytes_sent` AggregateFunction(sum, UInt64),
    `bytes_received` AggregateFunction(sum, UInt64),
    `mtls` AggregateFunction(sum, UInt64),
    `plaintext` AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (timestamp, destination_namespace, destination_name, source_namespace, source_name, destination_kind, source_kind, destination_workload, destination_version, source_workload, source_version, destination_cluster, source_cluster, protocol);

CREATE MATERIALIZED VIEW IF NOT EXISTS `meshscope`.`edges_1m_mv` TO `meshscope`.`edges_1m` AS
SELECT
    toStartOfMinute(src.timestamp) AS timestamp,
    src.source_kind AS source_kind,
    src.source_cluster AS source_cluster,
    src.source_namespace AS source_namespace,
    src.source_name AS source_name,
    src.source_workload AS source_workload,
    src.source_version AS source_version,
    src.destination_kind AS destination_kind,
    src.destination_cluster AS destination_cluster,
    src.destination_namespace AS destination_namespace,
    src.destination_name AS destination_name,
    src.destination_workload AS destination_workload,
    src.destination_version AS destination_version,
    src.protocol AS protocol,
    groupBitOrState(src.provenance) AS provenance,
    groupBitOrState(src.reporters) AS reporters,
    sumState(src.requests) AS requests,
    sumState(src.errors) AS errors,
    sumForEachState(src.latency) AS latency,
    sumState(src.latency_sum_ns) AS latency_sum_ns,
    sumState(src.bytes_sent) AS bytes_sent,
    sumState(src.bytes_received) AS bytes_received,
    sumState(src.mtls) AS mtls,
    sumState(src.plaintext) AS plaintext
FROM `meshscope`.`edges_10s` AS src
GROUP BY timestamp, source_kind, source_cluster, source_namespace, source_name, source_workload, source_version, destination_kind, destination_cluster, destination_namespace, destination_name, destination_workload, destination_version, protocol;

CREATE MATERIALIZED VIEW IF NOT EXISTS `meshscope`.`edges_1h_mv` TO `meshscope`.`edges_1h` AS
SELECT
    toStartOfHour(src.timestamp) AS timestamp,
    src.source_kind AS source_kind,
    src.source_cluster AS source_cluster,
    src.source_namespace AS source_namespace,
    src.source_name AS source_name,
    src.source_workload AS source_workload,
    src.source_version AS source_version,
    src.destination_kind AS destination_kind,
    src.destination_cluster AS destination_cluster,
    src.destination_namespace AS destination_namespace,
    src.destination_name AS destination_name,
    src.destination_workload AS destination_workload,
    src.destination_version AS destination_version,
    src.protocol AS protocol,
    groupBitOrState(src.provenance) AS provenance,
    groupBitOrState(src.reporters) AS reporters,
    sumState(src.requests) AS requests,
    sumState(src.errors) AS errors,
    sumForEachState(src.latency) AS latency,
    sumState(src.latency_sum_ns) AS latency_sum_ns,
    sumState(src.bytes_sent) AS bytes_sent,
    sumState(src.bytes_received) AS bytes_received,
    sumState(src.mtls) AS mtls,
    sumState(src.plaintext) AS plaintext
FROM `meshscope`.`edges_10s` AS src
GROUP BY timestamp, source_kind, source_cluster, source_namespace, source_name, source_workload, source_version, destination_kind, destination_cluster, destination_namespace, destination_name, destination_workload, destination_version, protocol;

-- migration 3: slo alert history
CREATE TABLE IF NOT EXISTS `meshscope`.`slo_alerts`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `slo` LowCardinality(String),
    `severity` LowCardinality(String),
    `state` LowCardinality(String),
    `previous_state` LowCardinality(String),
    `service` LowCardinality(String),
    `objective` Float64,
    `sli` Float64,
    `error_budget_remaining` Float64,
    `burn_windows` Array(String),
    `burn_rates` Array(Float64),
    `window_requests` Array(UInt64),
    `active_at` DateTime,
    `fired_at` DateTime,
    `no_data` UInt8,
    `label_keys` Array(String),
    `label_values` Array(String),
    `annotation_keys` Array(String),
    `annotation_values` Array(String)
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (slo, severity, timestamp);

-- migration 4: insert deduplication
ALTER TABLE `meshscope`.`spans` MODIFY SETTING non_replicated_deduplication_window = 100;

ALTER TABLE `meshscope`.`logs` MODIFY SETTING non_replicated_deduplication_window = 100;

ALTER TABLE `meshscope`.`metric_series` MODIFY SETTING non_replicated_deduplication_window = 100;

ALTER TABLE `meshscope`.`metric_samples` MODIFY SETTING non_replicated_deduplication_window = 100;

ALTER TABLE `meshscope`.`requests` MODIFY SETTING non_replicated_deduplication_window = 100;

-- migration 5: trace summaries
CREATE TABLE IF NOT EXISTS `meshscope`.`trace_summaries`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `trace_id` FixedString(16),
    `start_unix_nano` AggregateFunction(min, UInt64),
    `end_unix_nano` AggregateFunction(max, UInt64),
    `spans` AggregateFunction(count),
    `errors` AggregateFunction(sum, UInt64),
    `root_service` AggregateFunction(argMin, String, Tuple(UInt8, UInt64)),
    `root_name` AggregateFunction(argMin, String, Tuple(UInt8, UInt64))
)
ENGINE = AggregatingMergeTree()
PARTITION BY toDate(timestamp)
ORDER BY (timestamp, trace_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS `meshscope`.`trace_summaries_mv` TO `meshscope`.`trace_summaries` AS
SELECT
    src.timestamp AS timestamp,
    src.trace_id AS trace_id,
    minState(src.start_time_unix_nano) AS start_unix_nano,
    maxState(src.start_time_unix_nano + src.duration_ns) AS end_unix_nano,
    countState() AS spans,
    sumState(toUInt64(src.status_code = 2)) AS errors,
    argMinState(CAST(src.service_name AS String), (src.parent_span_id != unhex('0000000000000000'), src.start_time_unix_nano)) AS root_service,
    argMinState(CAST(src.name AS String), (src.parent_span_id != unhex('0000000000000000'), src.start_time_unix_nano)) AS root_name
FROM `meshscope`.`spans` AS src
GROUP BY timestamp, trace_id;

-- migration 6: log search indexes
ALTER TABLE `meshscope`.`logs` ADD INDEX IF NOT EXISTS idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE `meshscope`.`logs` ADD INDEX IF NOT EXISTS idx_body lowerUTF8(body) TYPE ngrambf_v1(4, 60000, 5, 0) GRANULARITY 1;

-- migration 7: trace summary backfills
CREATE TABLE IF NOT EXISTS `meshscope`.`trace_summary_backfills`
(
    `day` Date,
    `spans` UInt64,
    `backfilled_at` DateTime
)
ENGINE = MergeTree()
ORDER BY day;

-- migration 8: exception groups
CREATE TABLE IF NOT EXISTS `meshscope`.`exception_groups`
(
    `service_namespace` LowCardinality(String),
    `service_name` LowCardinality(String),
    `type` String,
    `source` LowCardinality(String),
    `first_seen` AggregateFunction(min, UInt64),
    `last_seen` AggregateFunction(max, UInt64),
    `occurrences` AggregateFunction(count)
)
ENGINE = AggregatingMergeTree()
ORDER BY (service_name, type, source, service_namespace);

CREATE MATERIALIZED VIEW IF NOT EXISTS `meshscope`.`exception_groups_spans_mv` TO `meshscope`.`exception_groups` AS
SELECT
    service_namespace,
    service_name,
    CAST(visitParamExtractString(ev_attrs, 'exception.type') AS String) AS type,
    'span' AS source,
    minState(ev_time) AS first_seen,
    maxState(ev_time) AS last_seen,
    countState() AS occurrences
FROM `meshscope`.`spans`
ARRAY JOIN event_names AS ev_name, event_attrs AS ev_attrs, event_time_unix_nano AS ev_time
WHERE ev_name = 'exception'
GROUP BY service_namespace, service_name, type;

CREATE MATERIALIZED VIEW IF NOT EXISTS `meshscope`.`exception_groups_logs_mv` TO `meshscope`.`exception_groups` AS
SELECT
    service_namespace,
    service_name,
    CAST(attr_values[indexOf(attr_keys, 'exception.type')] AS String) AS type,
    'log' AS source,
    minState(time_unix_nano) AS first_seen,
    maxState(time_unix_nano) AS last_seen,
    countState() AS occurrences
FROM `meshscope`.`logs`
WHERE (has(attr_keys, 'exception.type') OR has(attr_keys, 'exception.stacktrace'))
GROUP BY service_namespace, service_name, type;

-- migration 9: exception group backfills
CREATE TABLE IF NOT EXISTS `meshscope`.`exception_group_backfills`
(
    `upto` DateTime,
    `backfilled_at` DateTime
)
ENGINE = MergeTree()
ORDER BY upto;

-- migration 10: exceptions
CREATE TABLE IF NOT EXISTS `meshscope`.`exceptions`
(
    `timestamp` DateTime CODEC(Delta, ZSTD(1)),
    `time_unix_nano` UInt64,
    `service_namespace` LowCardinality(String),
    `service_name` LowCardinality(String),
    `service_version` LowCardinality(String),
    `source` LowCardinality(String),
    `type` String,
    `message` String,
    `stacktrace` String,
    `attrs` String,
    `trace_id` FixedString(16),
    `span_id` FixedString(8),
    `span_name` LowCardinality(String)
)
ENGINE = MergeTree()
PARTITION BY toDate(timestamp)
ORDER BY (service_name, type, timestamp);

CREATE MATERIALIZED VIEW IF NOT EXISTS `meshscope`.`exceptions_spans_mv` TO `meshscope`.`exceptions` AS
SELECT
    timestamp,
    ev_time AS time_unix_nano,
    service_namespace,
    service_name,
    service_version,
    'span' AS source,
    CAST(visitParamExtractString(ev_attrs, 'exception.type') AS String) AS type,
    visitParamExtractString(ev_attrs, 'exception.message') AS message,
    visitParamExtractString(ev_attrs, 'exception.stacktrace') AS stacktrace,
    ev_attrs AS attrs,
    trace_id,
    span_id,
    name AS span_name
FROM `meshscope`.`spans`
ARRAY JOIN event_names AS ev_name, event_attrs AS ev_attrs, event_time_unix_nano AS ev_time
WHERE ev_name = 'exception';

CREATE MATERIALIZED VIEW IF NOT EXISTS `meshscope`.`exceptions_logs_mv` TO `meshscope`.`exceptions` AS
SELECT
    timestamp,
    time_unix_nano,
    service_namespace,
    service_name,
    resource_values[indexOf(resource_keys, 'service.version')] AS service_version,
    'log' AS source,
    CAST(attr_values[indexOf(attr_keys, 'exception.type')] AS String) AS type,
    if(has(attr_keys, 'exception.message'), attr_values[indexOf(attr_keys, 'exception.message')], body) AS message,
    attr_values[indexOf(attr_keys, 'exception.stacktrace')] AS stacktrace,
    '' AS attrs,
    trace_id,
    span_id,
    '' AS span_name
FROM `meshscope`.`logs`
WHERE (has(attr_keys, 'exception.type') OR has(attr_keys, 'exception.stacktrace'));

-- migration 11: exception backfills
CREATE TABLE IF NOT EXISTS `meshscope`.`exception_backfills`
(
    `day` Date,
    `exceptions` UInt64,
    `backfilled_at` DateTime
)
ENGINE = MergeTree()
ORDER BY day;

