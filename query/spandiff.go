package query

// GET /api/v1/spans/differences: what the failing (or slow) calls of a
// service have in common that its other calls do not. Every attribute
// value of the service's spans (span and resource attributes, its name and
// workload, and the promoted columns of spans whose attributes do not
// carry them) is counted among the selected spans and among the others, and the
// values whose share of the selection exceeds their share of the rest the
// most come first: a pod that serves a third of the calls and all of the
// failures, a route, a version, a client. Honeycomb calls this BubbleUp.
//
// A busy service has millions of spans an hour; each side is read from an
// even sample (a hash of the span id) of at most diffSampleRows spans, so
// the answer's shares are estimates past that (sample says by how much).

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/schema"
)

// diffSampleRows bounds the spans of each side whose attributes are read.
const diffSampleRows = 50_000

// diffMinShare is the smallest share of the selection a value listed has.
const diffMinShare = 0.05

// diffSlowQuantile is where slow starts when no threshold is given: the
// service's 90th percentile over the range.
const diffSlowQuantile = 0.9

// diffColumns are the columns spans' attributes are promoted to, under
// their attribute key, with the SQL of their value (empty when the span has
// none) and the keys the value may have come from. The attributes stay in
// the arrays too, so a column counts only for spans whose arrays have none
// of its keys (rows written by other means than OTLP, a span's name).
var diffColumns = []struct {
	key, expr string
	from      []string
}{
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

// diffColumnValue is the SQL of a column's value for the comparison: empty
// where the span's arrays carry it already.
func diffColumnValue(expr string, from []string) string {
	if len(from) == 0 {
		return expr
	}
	quoted := make([]string, len(from))
	for i, k := range from {
		quoted[i] = "'" + k + "'"
	}
	list := "[" + strings.Join(quoted, ", ") + "]"
	return "if(hasAny(attr_keys, " + list + ") OR hasAny(resource_keys, " + list + "), '', " + expr + ")"
}

// spanDifference is one attribute value of GET /api/v1/spans/differences.
type spanDifference struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Selected and Baseline count the sampled spans of each side with the
	// value; the shares are of each side's sampled spans.
	Selected      uint64  `json:"selected"`
	Baseline      uint64  `json:"baseline"`
	SelectedShare float64 `json:"selected_share"`
	BaselineShare float64 `json:"baseline_share"`
	// Difference is SelectedShare minus BaselineShare: the order.
	Difference float64 `json:"difference"`
}

// spanDifferences is GET /api/v1/spans/differences.
type spanDifferences struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Select is what the selection is: errors (status error) or slow
	// (duration at least SlowNs).
	Select string `json:"select"`
	SlowNs uint64 `json:"slow_ns,omitempty"`
	// SelectedSpans and BaselineSpans count each side's spans in the range;
	// SelectedSample and BaselineSample those whose attributes were read.
	SelectedSpans  uint64           `json:"selected_spans"`
	BaselineSpans  uint64           `json:"baseline_spans"`
	SelectedSample uint64           `json:"selected_sample"`
	BaselineSample uint64           `json:"baseline_sample"`
	Differences    []spanDifference `json:"differences"`
}

func (s *Server) getSpanDifferences(c echo.Context) error {
	svc := c.QueryParam("service")
	if svc == "" {
		return badParam("service", "service is required")
	}
	from, to, _, err := s.rangeOrDefault(c)
	if err != nil {
		return err
	}
	limit := 20
	if c.QueryParam("limit") != "" {
		if limit, err = s.limitParam(c); err != nil {
			return err
		}
	}
	where := []string{"service_name = ?", "timestamp >= toDateTime(?)", "timestamp <= toDateTime(?)"}
	args := []any{svc, from.Unix(), to.Unix()}
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
	out := spanDifferences{From: from, To: to, Select: c.QueryParam("select"), Differences: []spanDifference{}}
	var slow time.Duration
	switch out.Select {
	case "", "errors":
		out.Select = "errors"
	case "slow":
		if v := c.QueryParam("slow"); v != "" {
			if slow, err = ParseDuration(v); err != nil || slow <= 0 {
				return badParam("slow", "slow is a positive duration (200ms), got %q", v)
			}
		}
	default:
		return badParam("select", "select %q is not errors or slow", out.Select)
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	cond := fmt.Sprintf("status_code = %d", schema.StatusError)
	if out.Select == "slow" {
		if slow == 0 {
			var q uint64
			if err := s.deps.Store.Conn().QueryRow(ctx, fmt.Sprintf("SELECT toUInt64(quantileTDigest(%g)(duration_ns)) FROM spans WHERE %s",
				diffSlowQuantile, strings.Join(where, " AND ")), args...).Scan(&q); err != nil {
				return err
			}
			slow = time.Duration(q)
		}
		out.SlowNs = uint64(slow)
		cond = fmt.Sprintf("duration_ns >= %d", out.SlowNs)
	}
	if err := s.deps.Store.Conn().QueryRow(ctx, "SELECT countIf("+cond+"), countIf(NOT ("+cond+")) FROM spans WHERE "+strings.Join(where, " AND "), args...).
		Scan(&out.SelectedSpans, &out.BaselineSpans); err != nil {
		return err
	}
	if out.SelectedSpans == 0 || out.BaselineSpans == 0 {
		return c.JSON(http.StatusOK, out)
	}
	// An even sample of each side: every k-th span by a hash of its id.
	every := func(n uint64) uint64 { return max(1, (n+diffSampleRows-1)/diffSampleRows) }
	sample := fmt.Sprintf("cityHash64(span_id) %% if(%s, %d, %d) = 0", cond, every(out.SelectedSpans), every(out.BaselineSpans))
	if err := s.deps.Store.Conn().QueryRow(ctx, "SELECT countIf("+cond+"), countIf(NOT ("+cond+")) FROM spans WHERE "+strings.Join(where, " AND ")+" AND "+sample, args...).
		Scan(&out.SelectedSample, &out.BaselineSample); err != nil {
		return err
	}
	if out.SelectedSample == 0 || out.BaselineSample == 0 {
		return c.JSON(http.StatusOK, out)
	}
	keys, values := make([]string, len(diffColumns)), make([]string, len(diffColumns))
	for i, col := range diffColumns {
		keys[i], values[i] = "'"+col.key+"'", diffColumnValue(col.expr, col.from)
	}
	// A value must be on at least diffMinShare of the selection to be
	// listed: the rest is left in ClickHouse.
	minSelected := uint64(float64(out.SelectedSample)*diffMinShare + 0.999)
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var d spanDifference
		if err := scan(&d.Key, &d.Value, &d.Selected, &d.Baseline); err != nil {
			return err
		}
		d.SelectedShare = float64(d.Selected) / float64(out.SelectedSample)
		d.BaselineShare = float64(d.Baseline) / float64(out.BaselineSample)
		d.Difference = d.SelectedShare - d.BaselineShare
		if d.Difference > 0 {
			out.Differences = append(out.Differences, d)
		}
		return nil
	}, `
SELECT k, v, countIf(sel) AS selected, countIf(NOT sel) AS baseline
FROM (
  SELECT `+cond+` AS sel,
         arrayConcat([`+strings.Join(keys, ", ")+`], attr_keys, resource_keys) AS ks,
         arrayConcat([`+strings.Join(values, ", ")+`], attr_values, resource_values) AS vs
  FROM spans
  WHERE `+strings.Join(where, " AND ")+` AND `+sample+`
)
ARRAY JOIN ks AS k, vs AS v
WHERE v != ''
GROUP BY k, v
HAVING selected >= ?`, append(args, minSelected)...)
	if err != nil {
		return err
	}
	slices.SortFunc(out.Differences, func(a, b spanDifference) int {
		if c := cmp.Compare(b.Difference, a.Difference); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value))
	})
	if len(out.Differences) > limit {
		out.Differences = out.Differences[:limit]
	}
	return c.JSON(http.StatusOK, out)
}
