package query

// Prometheus' HTTP query API under /prometheus/api/v1, answered by
// Prometheus' own PromQL engine over the metrics meshscope stores
// (query/promstore), so that Grafana's Prometheus data source (URL
// http://HOST:8080/prometheus) charts them with PromQL. Its shapes (the
// "status"/"data" envelope, [time, "value"] pairs, errorType) are
// Prometheus', not the rest of the API's.

import (
	"context"
	"errors"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/meshscope/meshscope/query/promstore"
	"github.com/meshscope/meshscope/schema"
)

// promPrefix is where the Prometheus API is mounted.
const promPrefix = "/prometheus/api/v1"

// promMaxPoints is the most points a range query may give a series, as
// Prometheus allows.
const promMaxPoints = 11_000

// promConcurrency is how many PromQL queries run at once; more wait (a
// dashboard sends many at a time, and the process also ingests).
const promConcurrency = 4

// promResponse is Prometheus' envelope.
type promResponse struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// promErrorType is Prometheus' errorType for an HTTP status.
func promErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_data"
	case http.StatusUnprocessableEntity:
		return "execution"
	case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return "timeout"
	case http.StatusNotFound:
		return "not_found"
	}
	return "internal"
}

func newPromEngine(cfg Config, deps Deps) *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		Logger:               deps.Logger,
		MaxSamples:           10_000_000,
		Timeout:              cfg.RequestTimeout,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
}

func (s *Server) promRoutes() {
	g := s.e.Group(promPrefix)
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		g.Add(m, "/query", s.promInstantQuery)
		g.Add(m, "/query_range", s.promRangeQuery)
		g.Add(m, "/series", s.promSeries)
		g.Add(m, "/labels", s.promLabels)
		g.Add(m, "/query_exemplars", func(c echo.Context) error { return promOK(c, []any{}) })
	}
	g.GET("/label/:name/values", s.promLabelValues)
	g.GET("/metadata", s.promMetadata)
	g.GET("/status/buildinfo", s.promBuildInfo)
}

func promOK(c echo.Context, data any) error {
	return c.JSON(http.StatusOK, promResponse{Status: "success", Data: data})
}

func (s *Server) queryable() (*promstore.Queryable, error) {
	if err := s.store(); err != nil {
		return nil, err
	}
	// One for the server: it caches the metric names PromQL sees.
	s.promStoreOnce.Do(func() { s.promStore = promstore.New(s.deps.Store, promstore.Limits{}) })
	return s.promStore, nil
}

// promTime reads a time parameter (RFC 3339, Unix seconds, or relative
// to now), or def when absent.
func (s *Server) promTime(c echo.Context, name string, def time.Time) (time.Time, error) {
	v := c.FormValue(name)
	if v == "" {
		return def, nil
	}
	t, err := ParseTime(v, s.now())
	if err != nil {
		return t, badParam(name, "invalid parameter %q: %v", name, err)
	}
	return t, nil
}

// promExpr reads the query parameter (the engine parses it).
func promExpr(c echo.Context) (string, error) {
	q := c.FormValue("query")
	if q == "" {
		return "", badParam("query", "invalid parameter \"query\": the query is empty")
	}
	return q, nil
}

// promParser reads match[] selectors.
var promParser = parser.NewParser(parser.Options{})

// POST|GET /prometheus/api/v1/query
func (s *Server) promInstantQuery(c echo.Context) error {
	expr, err := promExpr(c)
	if err != nil {
		return err
	}
	at, err := s.promTime(c, "time", s.now())
	if err != nil {
		return err
	}
	qa, err := s.queryable()
	if err != nil {
		return err
	}
	q, err := s.promEngine.NewInstantQuery(c.Request().Context(), qa, nil, expr, at)
	if err != nil {
		return badParam("query", "invalid parameter \"query\": %v", err)
	}
	return s.promRun(c, q)
}

// POST|GET /prometheus/api/v1/query_range
func (s *Server) promRangeQuery(c echo.Context) error {
	expr, err := promExpr(c)
	if err != nil {
		return err
	}
	start, err := s.promTime(c, "start", time.Time{})
	if err != nil {
		return err
	}
	end, err := s.promTime(c, "end", time.Time{})
	if err != nil {
		return err
	}
	if start.IsZero() || end.IsZero() {
		return badParam("start", "invalid parameter \"start\": start and end are required")
	}
	if end.Before(start) {
		return badParam("end", "invalid parameter \"end\": end timestamp must not be before start time")
	}
	v := c.FormValue("step")
	var step time.Duration
	if f, ferr := strconv.ParseFloat(v, 64); ferr == nil {
		step = time.Duration(f * float64(time.Second))
	} else if step, err = ParseDuration(v); err != nil || v == "" {
		return badParam("step", "invalid parameter \"step\": %q is not a duration or a number of seconds", v)
	}
	if step <= 0 {
		return badParam("step", "zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if end.Sub(start)/step > promMaxPoints {
		return badParam("step", "exceeded maximum resolution of %d points per timeseries. Try decreasing the query resolution (?step=XX)", promMaxPoints)
	}
	qa, err := s.queryable()
	if err != nil {
		return err
	}
	q, err := s.promEngine.NewRangeQuery(c.Request().Context(), qa, nil, expr, start, end, step)
	if err != nil {
		return badParam("query", "invalid parameter \"query\": %v", err)
	}
	return s.promRun(c, q)
}

// promRun executes q, once one of promConcurrency slots is free, and
// answers its result.
func (s *Server) promRun(c echo.Context, q promql.Query) error {
	defer q.Close()
	ctx := c.Request().Context()
	select {
	case s.promSlots <- struct{}{}:
		defer func() { <-s.promSlots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	res := q.Exec(ctx)
	if res.Err != nil {
		var (
			canceled promql.ErrQueryCanceled
			timeout  promql.ErrQueryTimeout
		)
		switch {
		case errors.As(res.Err, &canceled), errors.As(res.Err, &timeout), errors.Is(res.Err, context.DeadlineExceeded):
			return &apiError{Status: http.StatusServiceUnavailable, Message: res.Err.Error()}
		case errors.Is(res.Err, promstore.ErrTooMany), errors.As(res.Err, new(promql.ErrTooManySamples)):
			return &apiError{Status: http.StatusUnprocessableEntity, Message: res.Err.Error()}
		}
		var storageErr promql.ErrStorage
		if errors.As(res.Err, &storageErr) {
			return storageErr.Err
		}
		return &apiError{Status: http.StatusUnprocessableEntity, Message: res.Err.Error()}
	}
	resultType, result := promResult(res.Value)
	out := promResponse{Status: "success", Data: map[string]any{"resultType": resultType, "result": result}}
	out.Warnings, _ = res.Warnings.AsStrings("", 10, 0)
	if len(out.Warnings) == 0 {
		out.Warnings = nil
	}
	return c.JSON(http.StatusOK, out)
}

// promFloat formats a value as Prometheus does.
func promFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// promPoint is [Unix seconds, "value"].
func promPoint(t int64, f float64) [2]any { return [2]any{float64(t) / 1000, promFloat(f)} }

// promResult is a query result in Prometheus' JSON shapes.
func promResult(v parser.Value) (string, any) {
	switch v := v.(type) {
	case promql.Vector:
		out := make([]map[string]any, 0, len(v))
		for _, smp := range v {
			out = append(out, map[string]any{"metric": smp.Metric.Map(), "value": promPoint(smp.T, smp.F)})
		}
		return "vector", out
	case promql.Matrix:
		out := make([]map[string]any, 0, len(v))
		for _, ser := range v {
			points := make([][2]any, 0, len(ser.Floats))
			for _, p := range ser.Floats {
				points = append(points, promPoint(p.T, p.F))
			}
			out = append(out, map[string]any{"metric": ser.Metric.Map(), "values": points})
		}
		return "matrix", out
	case promql.Scalar:
		return "scalar", promPoint(v.T, v.V)
	case promql.String:
		return "string", [2]any{float64(v.T) / 1000, v.V}
	}
	return string(v.Type()), nil
}

// promRange is the start and end of a metadata request (default: the
// last 6 hours, as Grafana asks), as a querier's bounds in ms.
func (s *Server) promRange(c echo.Context) (int64, int64, error) {
	now := s.now()
	start, err := s.promTime(c, "start", now.Add(-6*time.Hour))
	if err != nil {
		return 0, 0, err
	}
	end, err := s.promTime(c, "end", now)
	if err != nil {
		return 0, 0, err
	}
	return start.UnixMilli(), end.UnixMilli(), nil
}

// promMatchers reads match[] selectors.
func promMatchers(c echo.Context) ([][]*labels.Matcher, error) {
	if err := c.Request().ParseForm(); err != nil {
		return nil, badParam("match[]", "invalid form: %v", err)
	}
	var out [][]*labels.Matcher
	for _, v := range c.Request().Form["match[]"] {
		ms, err := promParser.ParseMetricSelector(v)
		if err != nil {
			return nil, badParam("match[]", "invalid parameter \"match[]\": %v", err)
		}
		out = append(out, ms)
	}
	return out, nil
}

// promQuerier opens a querier over the request's range.
func (s *Server) promQuerier(c echo.Context) (storage.Querier, int64, int64, error) {
	mint, maxt, err := s.promRange(c)
	if err != nil {
		return nil, 0, 0, err
	}
	qa, err := s.queryable()
	if err != nil {
		return nil, 0, 0, err
	}
	q, err := qa.Querier(mint, maxt)
	return q, mint, maxt, err
}

// GET|POST /prometheus/api/v1/series?match[]=
func (s *Server) promSeries(c echo.Context) error {
	sets, err := promMatchers(c)
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		return badParam("match[]", "no match[] parameter provided")
	}
	q, mint, maxt, err := s.promQuerier(c)
	if err != nil {
		return err
	}
	defer q.Close()
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
	defer cancel()
	seen := map[string]bool{}
	out := []map[string]string{}
	for _, ms := range sets {
		ss := q.Select(ctx, true, &storage.SelectHints{Start: mint, End: maxt, Func: "series"}, ms...)
		for ss.Next() {
			l := ss.At().Labels()
			if k := l.String(); !seen[k] {
				seen[k] = true
				out = append(out, l.Map())
			}
		}
		if err := ss.Err(); err != nil {
			return promStoreErr(err)
		}
	}
	return promOK(c, out)
}

func promStoreErr(err error) error {
	if errors.Is(err, promstore.ErrTooMany) {
		return &apiError{Status: http.StatusUnprocessableEntity, Message: err.Error()}
	}
	return err
}

// promUnion is what each match[] selector (or none) gives from a querier
// over the request's range, merged and sorted.
func (s *Server) promUnion(c echo.Context, get func(q storage.Querier, ms []*labels.Matcher) ([]string, error)) error {
	sets, err := promMatchers(c)
	if err != nil {
		return err
	}
	q, _, _, err := s.promQuerier(c)
	if err != nil {
		return err
	}
	defer q.Close()
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	out := []string{}
	for _, ms := range sets {
		v, err := get(q, ms)
		if err != nil {
			return err
		}
		out = append(out, v...)
	}
	slices.Sort(out)
	return promOK(c, slices.Compact(out))
}

// GET|POST /prometheus/api/v1/labels
func (s *Server) promLabels(c echo.Context) error {
	return s.promUnion(c, func(q storage.Querier, ms []*labels.Matcher) ([]string, error) {
		names, _, err := q.LabelNames(c.Request().Context(), nil, ms...)
		return names, err
	})
}

// GET /prometheus/api/v1/label/{name}/values
func (s *Server) promLabelValues(c echo.Context) error {
	name := c.Param("name")
	if !labelNameOK(name) {
		return badParam("name", "invalid label name: %q", name)
	}
	return s.promUnion(c, func(q storage.Querier, ms []*labels.Matcher) ([]string, error) {
		values, _, err := q.LabelValues(c.Request().Context(), name, nil, ms...)
		return values, err
	})
}

// labelNameOK: label names are any non-empty UTF-8 text since
// Prometheus 3.
func labelNameOK(name string) bool { return name != "" && !strings.ContainsRune(name, 0) }

// GET /prometheus/api/v1/metadata: each metric's type, help and unit.
func (s *Server) promMetadata(c echo.Context) error {
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	type meta struct {
		Type string `json:"type"`
		Help string `json:"help"`
		Unit string `json:"unit"`
	}
	// By the names PromQL sees (an OTLP metric's Prometheus name, see
	// promstore): metric= names either.
	metric := c.QueryParam("metric")
	out := map[string][]meta{}
	err = s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			name, help, unit string
			typ, mono, otlp  uint8
		)
		if err := scan(&name, &typ, &mono, &help, &unit, &otlp); err != nil {
			return err
		}
		shown := promstore.PromName(name, typ, unit, mono == 1, otlp == 1)
		if metric != "" && metric != name && metric != shown {
			return nil
		}
		t := map[uint8]string{schema.MetricGauge: "gauge", schema.MetricHistogram: "histogram",
			schema.MetricExponentialHistogram: "histogram", schema.MetricSummary: "summary"}[typ]
		if typ == schema.MetricSum {
			t = "gauge"
			if mono == 1 {
				t = "counter"
			}
		}
		out[shown] = []meta{{Type: cmpOrUnknown(t), Help: help, Unit: unit}}
		return nil
	}, `SELECT metric_name, any(type), max(monotonic), any(description), any(unit), max(source = 'otlp') FROM metric_series GROUP BY metric_name LIMIT 100000`)
	if err != nil {
		return err
	}
	return promOK(c, out)
}

func cmpOrUnknown(t string) string {
	if t == "" {
		return "unknown"
	}
	return t
}

// GET /prometheus/api/v1/status/buildinfo: the Prometheus release whose
// engine answers (Grafana picks its features by it).
func (s *Server) promBuildInfo(c echo.Context) error {
	version := "3.0.0"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			// Module v0.3MM.P is Prometheus 3.MM.P.
			if d.Path == "github.com/prometheus/prometheus" && strings.HasPrefix(d.Version, "v0.3") {
				parts := strings.SplitN(strings.TrimPrefix(d.Version, "v0.3"), ".", 2)
				if len(parts) == 2 {
					if minor, err := strconv.Atoi(parts[0]); err == nil {
						version = "3." + strconv.Itoa(minor) + "." + parts[1]
					}
				}
			}
		}
	}
	return promOK(c, map[string]string{"version": version, "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": runtime.Version()})
}
