package query

// GET /api/v1/spans/differences and /api/v1/requests/differences: what
// the failing (or slow) calls of a service have in common that its other
// calls do not. Every attribute value of the calls (of spans: span and
// resource attributes, the name and workload, and the promoted columns of
// spans whose attributes do not carry them; of access log entries: their
// columns and extra attributes) is counted among the selected calls and
// among the others, and the values whose share of the selection exceeds
// their share of the rest the most come first: a pod that serves a third
// of the calls and all of the failures, a route, a version, a client.
// Honeycomb calls this BubbleUp.
//
// With baseline=previous the other side is the same calls (select=all:
// every call) in the range of the same length just before: what changed.
// A value whose share grew is listed under differences, one whose share
// fell (a version rolled away, a client that stopped calling) under
// shrunk.
//
// A busy service has millions of calls an hour; each side is read from an
// even sample (a hash of the row's id) of at most diffSampleRows rows, so
// the answer's shares are estimates past that (sample says by how much).

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// diffSampleRows bounds the rows of each side whose attributes are read.
const diffSampleRows = 50_000

// diffMinShare is the smallest share of the selection a value listed has.
const diffMinShare = 0.05

// diffMinZ is the smallest two-proportion z score of a value's shares a
// listed value has: below it the difference is as likely the luck of a few
// rows (a path called once among nine calls) as a pattern.
const diffMinZ = 2

// diffAll is the key every row of a comparison also counts under (no
// attribute is named so), and diffAllSQL the literal that makes it.
const (
	diffAll    = "\x00all"
	diffAllSQL = `'\0all'`
)

// diffSlowQuantile is where slow starts when no threshold is given: the
// service's 90th percentile over the range.
const diffSlowQuantile = 0.9

// diffColumns are the columns spans' attributes are promoted to, under
// their attribute key, with the SQL of their value (empty when the span has
// none) and the keys the value may have come from. The attributes stay in
// the arrays too, so a column counts only for spans whose arrays have none
// of its keys (rows written by other means than OTLP, a span's name).
var diffColumns = []diffColumn{
	{"span.name", "name", nil},
	{"service.version", "service_version", []string{"service.version"}},
	{"k8s.workload", "workload", []string{"k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.pod.name"}},
	{"http.request.method", "http_method", []string{"http.request.method", "http.method"}},
	{"http.route", "http_route", []string{"http.route"}},
	{"http.response.status_code", "if(http_status_code = 0, '', toString(http_status_code))", []string{"http.response.status_code", "http.status_code"}},
	{"rpc.grpc.status_code", "if(rpc_grpc_status_code < 0, '', toString(rpc_grpc_status_code))", []string{"rpc.grpc.status_code"}},
	{"peer.service", "peer_service", []string{"peer.service"}},
	{"server.address", "server_address", []string{"server.address", "net.peer.name"}},
	{"db.system", "db_system", []string{"db.system", "db.system.name"}},
	{"db.namespace", "db_name", []string{"db.namespace", "db.name"}},
	{"messaging.destination.name", "messaging_destination", []string{"messaging.destination.name", "messaging.destination"}},
}

// diffColumn is a column compared under an attribute key, with the SQL of
// its value (empty when unknown) and the keys of the row's attribute
// arrays its value may have come from: where the arrays carry one, the
// column is not counted again.
type diffColumn struct {
	key, expr string
	from      []string
}

// diffArrays is the SQL of a row's keys and values (parallel arrays) for a
// comparison: cols, then the PREFIX_keys and PREFIX_values arrays of each
// prefix (attr, resource).
func diffArrays(cols []diffColumn, prefixes ...string) (keys, values string) {
	ks, vs := make([]string, len(cols)), make([]string, len(cols))
	for i, col := range cols {
		ks[i], vs[i] = "'"+col.key+"'", col.expr
		if len(col.from) > 0 {
			quoted := make([]string, len(col.from))
			for j, k := range col.from {
				quoted[j] = "'" + k + "'"
			}
			list := "[" + strings.Join(quoted, ", ") + "]"
			carried := make([]string, len(prefixes))
			for j, p := range prefixes {
				carried[j] = "hasAny(" + p + "_keys, " + list + ")"
			}
			vs[i] = "if(" + strings.Join(carried, " OR ") + ", '', " + col.expr + ")"
		}
	}
	keys, values = "["+strings.Join(ks, ", ")+"]", "["+strings.Join(vs, ", ")+"]"
	for _, p := range prefixes {
		keys, values = keys+", "+p+"_keys", values+", "+p+"_values"
	}
	return "arrayConcat(" + keys + ")", "arrayConcat(" + values + ")"
}

// diffRange is the range a differences request reads: the range asked
// (from, to) and, with baseline=previous, the range of the same length
// just before it (lo to from); lo is from otherwise.
type diffRange struct {
	from, to, lo time.Time
	previous     bool
}

// diffRangeParams reads the range and the baseline of a differences
// request.
func (s *Server) diffRangeParams(c echo.Context) (diffRange, error) {
	from, to, _, err := s.rangeOrDefault(c)
	if err != nil {
		return diffRange{}, err
	}
	r := diffRange{from: from, to: to, lo: from}
	switch v := c.QueryParam("baseline"); v {
	case "", "rest":
	case "previous":
		r.previous, r.lo = true, from.Add(-to.Sub(from))
	default:
		return diffRange{}, badParam("baseline", "baseline %q is not rest (the other calls of the range) or previous (the same calls in the range before)", v)
	}
	return r, nil
}

// difference is one attribute value of a differences answer.
type difference struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Selected and Baseline count the sampled rows of each side with the
	// value; the shares are of each side's sampled rows.
	Selected      uint64  `json:"selected"`
	Baseline      uint64  `json:"baseline"`
	SelectedShare float64 `json:"selected_share"`
	BaselineShare float64 `json:"baseline_share"`
	// Difference is SelectedShare minus BaselineShare: the order.
	Difference float64 `json:"difference"`
	// Z is the two-proportion z score of the shares (its size at least
	// diffMinZ): how far the difference is from what chance gives.
	Z float64 `json:"z"`
}

// differences is the answer of the differences endpoints.
type differences struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Select is what the selection is: errors (failed calls), slow
	// (duration at least SlowNs) or all (every call, against the range
	// before only).
	Select string `json:"select"`
	SlowNs uint64 `json:"slow_ns,omitempty"`
	// Baseline is what the selection is compared with: rest (the other
	// calls of the range) or previous (the calls Select names between
	// BaselineFrom and BaselineTo, the range of the same length before).
	Baseline     string     `json:"baseline"`
	BaselineFrom *time.Time `json:"baseline_from,omitempty"`
	BaselineTo   *time.Time `json:"baseline_to,omitempty"`
	// SelectedTotal and BaselineTotal count each side's calls;
	// SelectedSample and BaselineSample those whose attributes were read.
	SelectedTotal  uint64       `json:"selected_total"`
	BaselineTotal  uint64       `json:"baseline_total"`
	SelectedSample uint64       `json:"selected_sample"`
	BaselineSample uint64       `json:"baseline_sample"`
	Differences    []difference `json:"differences"`
	// Shrunk (baseline=previous only) lists the values whose share fell,
	// the biggest fall first: Difference is negative.
	Shrunk []difference `json:"shrunk,omitzero"`
}

// comparison is what a differences query compares: the rows of table
// that meet where (with args), errors selected by failed (and, when the
// rows have a duration_ns, slow ones by it); each row's sample key, and
// the SQL of its keys and values (parallel arrays).
type comparison struct {
	table, where string
	args         []any
	failed       string
	noDuration   bool
	sampleKey    string
	keys, values string
}

func (s *Server) getSpanDifferences(c echo.Context) error {
	svc := c.QueryParam("service")
	if svc == "" {
		return badParam("service", "service is required")
	}
	r, err := s.diffRangeParams(c)
	if err != nil {
		return err
	}
	where := []string{"service_name = ?", "timestamp >= toDateTime(?)", "timestamp <= toDateTime(?)"}
	args := []any{svc, r.lo.Unix(), r.to.Unix()}
	if ns := c.QueryParam("namespace"); ns != "" {
		where, args = append(where, "service_namespace = ?"), append(args, ns)
	}
	if op := c.QueryParam("operation"); op != "" {
		where, args = append(where, "name = ?"), append(args, op)
	}
	kinds := "server,consumer"
	if v := c.QueryParam("kind"); v != "" {
		kinds = v
	}
	ks, err := spanKindsParam(kinds)
	if err != nil {
		return err
	}
	where = append(where, "kind IN ("+strings.Join(ks, ", ")+")") // numbers of spanKinds
	keys, values := diffArrays(diffColumns, "attr", "resource")
	return s.compare(c, r, comparison{
		table: "spans", where: strings.Join(where, " AND "), args: args,
		failed:    fmt.Sprintf("status_code = %d", schema.StatusError),
		sampleKey: "span_id",
		keys:      keys,
		values:    values,
	})
}

// requestDiffColumns are the columns of the requests table compared, as
// keys, with the SQL of their value (empty when unknown).
var requestDiffColumns = []diffColumn{
	{"source", "source", nil},
	{"source_workload", "source_workload", nil},
	{"source_version", "source_version", nil},
	{"destination_workload", "destination_workload", nil},
	{"destination_version", "destination_version", nil},
	{"reporter", "reporter", nil},
	{"protocol", "protocol", nil},
	{"method", "method", nil},
	{"path", "path", nil},
	{"authority", "authority", nil},
	{"route_name", "route_name", nil},
	{"response_code", "toString(response_code)", nil},
	{"grpc_status", "if(grpc_status < 0, '', toString(grpc_status))", nil},
	{"response_flags", "response_flags", nil},
	{"response_code_details", "response_code_details", nil},
	{"upstream_host", "upstream_host", nil},
	{"downstream_local_address", "downstream_local_address", nil},
	{"upstream_cluster", "upstream_cluster", nil},
	{"upstream_transport_failure_reason", "upstream_transport_failure_reason", nil},
	{"requested_server_name", "requested_server_name", nil},
	{"user_agent", "user_agent", nil},
	{"mtls", "multiIf(mtls = 1, 'mutual', mtls = 2, 'plaintext', '')", nil},
}

func (s *Server) getRequestDifferences(c echo.Context) error {
	r, err := s.diffRangeParams(c)
	if err != nil {
		return err
	}
	where, args, err := requestFilters(c, r.lo, r.to)
	if err != nil {
		return err
	}
	keys, values := diffArrays(requestDiffColumns, "attr")
	return s.compare(c, r, comparison{
		table: "requests", where: strings.Join(where, " AND "), args: args,
		failed:    requestFailed + " = 1",
		sampleKey: "start_time_unix_nano, duration_ns, request_id",
		keys:      keys,
		values:    values,
	})
}

// logDiffColumns are the columns of the logs table compared besides the
// record's and its resource's attributes, as attribute keys (an attribute
// of the same key counted once).
var logDiffColumns = []diffColumn{
	{"service.name", "service_name", []string{"service.name"}},
	{"service.namespace", "service_namespace", []string{"service.namespace"}},
	{"scope.name", "scope_name", []string{"scope.name"}},
	{"event.name", "event_name", []string{"event.name"}},
}

func (s *Server) getLogDifferences(c echo.Context) error {
	r, err := s.diffRangeParams(c)
	if err != nil {
		return err
	}
	if c.QueryParam("severity") != "" && !r.previous {
		return badParam("severity", "severity would leave one side empty: the errors are compared with the rest (baseline=previous compares the range with the one before)")
	}
	where, args, err := logFilters(c, r.lo, r.to)
	if err != nil {
		return err
	}
	keys, values := diffArrays(logDiffColumns, "attr", "resource")
	return s.compare(c, r, comparison{
		table: "logs", where: strings.Join(where, " AND "), args: args,
		failed:     fmt.Sprintf("severity_number >= %d", severityLevels["error"]),
		noDuration: true,
		sampleKey:  "time_unix_nano, body",
		keys:       keys,
		values:     values,
	})
}

// compare answers a differences request over q's rows in r: select
// (errors, slow or all), slow (a duration; by default the 90th percentile
// of the range's rows) and limit (20 by default). q.where covers r.lo to
// r.to; the rows before r.from are the baseline when r.previous.
func (s *Server) compare(c echo.Context, r diffRange, q comparison) error {
	limit := 20
	if c.QueryParam("limit") != "" {
		var err error
		if limit, err = s.limitParam(c); err != nil {
			return err
		}
	}
	out := differences{From: r.from, To: r.to, Select: c.QueryParam("select"), Baseline: "rest", Differences: []difference{}}
	if r.previous {
		out.Baseline, out.BaselineFrom, out.BaselineTo, out.Shrunk = "previous", &r.lo, &r.from, []difference{}
	}
	var slow time.Duration
	switch out.Select {
	case "", "errors":
		out.Select = "errors"
	case "all":
		if !r.previous {
			return badParam("select", "select all would leave no other calls to compare with: give baseline=previous")
		}
	case "slow":
		if q.noDuration {
			return badParam("select", "select slow: %s have no duration; select errors", q.table)
		}
		if v := c.QueryParam("slow"); v != "" {
			var err error
			if slow, err = ParseDuration(v); err != nil || slow <= 0 {
				return badParam("slow", "slow is a positive duration (200ms), got %q", v)
			}
		}
	default:
		return badParam("select", "select %q is not errors, slow or all", out.Select)
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	conn := s.deps.Store.Conn()
	// inRange is true of the rows of the range asked (every row but the
	// baseline's when it is the range before).
	inRange := "1"
	if r.previous {
		inRange = fmt.Sprintf("timestamp >= toDateTime(%d)", r.from.Unix())
	}
	cond := q.failed
	switch out.Select {
	case "slow":
		if slow == 0 {
			var ns uint64
			if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT toUInt64(quantileTDigest(%g)(duration_ns)) FROM %s WHERE %s AND %s",
				diffSlowQuantile, q.table, q.where, inRange), q.args...).Scan(&ns); err != nil {
				return err
			}
			slow = time.Duration(ns)
		}
		out.SlowNs = uint64(slow)
		cond = fmt.Sprintf("duration_ns >= %d", out.SlowNs)
	case "all":
		cond = "1"
	}
	// The two sides: the selected rows, and the others of the range or the
	// selected rows of the range before.
	selected, baseline := cond, "NOT ("+cond+")"
	if r.previous {
		selected, baseline = "("+cond+") AND "+inRange, "("+cond+") AND NOT "+inRange
	}
	count := "SELECT countIf(" + selected + "), countIf(" + baseline + ") FROM " + q.table + " WHERE " + q.where
	if err := conn.QueryRow(ctx, count, q.args...).Scan(&out.SelectedTotal, &out.BaselineTotal); err != nil {
		return err
	}
	if out.SelectedTotal == 0 || out.BaselineTotal == 0 {
		return c.JSON(http.StatusOK, out)
	}
	// An even sample of each side: every k-th row by a hash of its id.
	every := func(n uint64) uint64 { return max(1, (n+diffSampleRows-1)/diffSampleRows) }
	sample := fmt.Sprintf("(%s OR %s) AND cityHash64(%s) %% if(%s, %d, %d) = 0",
		selected, baseline, q.sampleKey, selected, every(out.SelectedTotal), every(out.BaselineTotal))
	// Every row also counts under diffAll, so that the one pass over the
	// sample says how large it is. A value must be on at least
	// diffMinShare of the selection (or, against the range before, of
	// either side) to be listed: ClickHouse drops what is well under that
	// (by the sample's expected size), Go the rest.
	minShare := func(n uint64) uint64 { return max(1, uint64(float64(n/every(n))*diffMinShare*0.8)) }
	having, havingArgs := "selected >= ?", []any{minShare(out.SelectedTotal)}
	if r.previous {
		having, havingArgs = "selected >= ? OR baseline >= ?", append(havingArgs, minShare(out.BaselineTotal))
	}
	var found []difference
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var d difference
		if err := scan(&d.Key, &d.Value, &d.Selected, &d.Baseline); err != nil {
			return err
		}
		if d.Key == diffAll {
			out.SelectedSample, out.BaselineSample = d.Selected, d.Baseline
		} else {
			found = append(found, d)
		}
		return nil
	}, `
SELECT k, v, countIf(sel) AS selected, countIf(NOT sel) AS baseline
FROM (
  SELECT `+selected+` AS sel, arrayPushFront(`+q.keys+`, `+diffAllSQL+`) AS ks, arrayPushFront(`+q.values+`, '*') AS vs
  FROM `+q.table+`
  WHERE `+q.where+` AND `+sample+`
)
ARRAY JOIN ks AS k, vs AS v
WHERE v != ''
GROUP BY k, v
HAVING `+having, append(slices.Clip(q.args), havingArgs...)...)
	if err != nil {
		return err
	}
	if out.SelectedSample == 0 || out.BaselineSample == 0 {
		return c.JSON(http.StatusOK, out)
	}
	for _, d := range found {
		d.SelectedShare = float64(d.Selected) / float64(out.SelectedSample)
		d.BaselineShare = float64(d.Baseline) / float64(out.BaselineSample)
		d.Difference = d.SelectedShare - d.BaselineShare
		// The shares as the error rates of two sets of calls, which
		// graph's test compares.
		d.Z = graph.ErrorRatesZ(graph.VersionCalls{Requests: out.SelectedSample, Errors: d.Selected},
			graph.VersionCalls{Requests: out.BaselineSample, Errors: d.Baseline})
		if math.Abs(d.Z) < diffMinZ {
			continue
		}
		switch {
		case d.SelectedShare >= diffMinShare && d.Difference > 0:
			out.Differences = append(out.Differences, d)
		case r.previous && d.BaselineShare >= diffMinShare && d.Difference < 0:
			out.Shrunk = append(out.Shrunk, d)
		}
	}
	out.Differences = biggestDifferences(out.Differences, 1, limit)
	if r.previous {
		out.Shrunk = biggestDifferences(out.Shrunk, -1, limit)
	}
	return c.JSON(http.StatusOK, out)
}

// biggestDifferences sorts ds by their difference times sign, the biggest
// first, and keeps limit of them.
func biggestDifferences(ds []difference, sign float64, limit int) []difference {
	slices.SortFunc(ds, func(a, b difference) int {
		if c := cmp.Compare(sign*b.Difference, sign*a.Difference); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value))
	})
	if len(ds) > limit {
		ds = ds[:limit]
	}
	return ds
}
