package schema

// SLO alert history, written by the SLO evaluator (slo/): one row per change
// of an alert's state. Partitioned by month, so that the day-based retention
// of raw data leaves the history in place.

// SLOAlertsTable holds the history of SLO alerts.
var SLOAlertsTable = Table{
	Name: "slo_alerts",
	Doc:  "One row per state change of an SLO alert (one alert per SLO and severity). Partitioned by month.",
	Columns: []Column{
		{Name: "timestamp", Type: "DateTime", Codec: "Delta, ZSTD(1)", Doc: "evaluation instant of the change"},
		{Name: "slo", Type: "String", LowCard: true, Doc: "SLO name"},
		{Name: "severity", Type: "String", LowCard: true, Doc: "page or ticket"},
		{Name: "state", Type: "String", LowCard: true, Doc: "new state: inactive, pending, firing or resolved"},
		{Name: "previous_state", Type: "String", LowCard: true, Doc: "state before the change"},
		{Name: "service", Type: "String", LowCard: true, Doc: "NAMESPACE/NAME of the SLO's service, empty for other targets"},
		{Name: "objective", Type: "Float64", Doc: "objective in percent"},
		{Name: "sli", Type: "Float64", Doc: "share of good requests over the SLO window, NaN without requests"},
		{Name: "error_budget_remaining", Type: "Float64", Doc: "share of the error budget left over the SLO window (negative when overspent)"},
		{Name: "burn_windows", Type: "Array(String)", Doc: "alerting windows (5m, 1h ...), parallel to burn_rates and window_requests"},
		{Name: "burn_rates", Type: "Array(Float64)", Doc: "burn rate over each window"},
		{Name: "window_requests", Type: "Array(UInt64)", Doc: "requests in each window"},
		{Name: "active_at", Type: "DateTime", Doc: "when the condition of the episode first held (zero when inactive)"},
		{Name: "fired_at", Type: "DateTime", Doc: "when the episode started firing (zero if it did not)"},
		{Name: "no_data", Type: "UInt8", Doc: "1 when the state comes from the no-data rule"},
		{Name: "label_keys", Type: "Array(String)", Doc: "alert label names, parallel to label_values"},
		{Name: "label_values", Type: "Array(String)", Doc: "alert label values"},
		{Name: "annotation_keys", Type: "Array(String)", Doc: "alert annotation names, parallel to annotation_values"},
		{Name: "annotation_values", Type: "Array(String)", Doc: "alert annotation values"},
	},
	Engine:      "MergeTree",
	PartitionBy: "toYYYYMM(timestamp)",
	OrderBy:     "(slo, severity, timestamp)",
	ShardKey:    "cityHash64(slo)",
}

func init() {
	Register(Migration{ID: 3, Name: "slo alert history", Objects: []Object{SLOAlertsTable}})
}
