package query

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/query/adhoc"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// requestColumns selects every column of the requests table, in order.
var requestColumns = func() string {
	names := make([]string, len(schema.RequestsTable.Columns))
	for i, c := range schema.RequestsTable.Columns {
		names[i] = "`" + c.Name + "`"
	}
	return strings.Join(names, ", ")
}()

// requestFailed is graph.IsError over a row of the requests table, as a
// ClickHouse expression (chstore.RequestFailed), so that the request
// explorer marks and filters failures by the rule the graph and the SLOs
// count them with (requestStatus is the same rule's input in Go).
var requestFailed = chstore.RequestFailed

// requestStatus is what a row of the requests table tells graph.IsError.
func requestStatus(code uint16, flags string, grpc int16, proto string) graph.Status {
	st := graph.Status{Protocol: graph.ProtocolHTTP, HTTPCode: int(code), HTTPKnown: strings.ToLower(proto) != "tcp", GRPCCode: int(grpc), EnvoyFlags: flags}
	if strings.ToLower(proto) == "grpc" {
		st.Protocol = graph.ProtocolGRPC
	}
	return st
}

// codeFilter turns code=503 or code=5xx into a condition.
func codeFilter(v string) (string, []any, error) {
	if len(v) == 3 && strings.HasSuffix(strings.ToLower(v), "xx") && v[0] >= '1' && v[0] <= '5' {
		class := int(v[0]-'0') * 100
		return "response_code >= ? AND response_code < ?", []any{class, class + 100}, nil
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n > 999 {
		return "", nil, badParam("code", "code must be an HTTP status (503), a class (5xx) or 0, got %q", v)
	}
	return "response_code = ?", []any{uint16(n)}, nil
}

// flagsFilter turns flags=UH,UF into "has either flag".
func flagsFilter(v string) (string, []any, error) {
	var conds []string
	var args []any
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" || strings.Trim(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return "", nil, badParam("flags", "flags are Envoy response flags such as UH or UF,URX, got %q", v)
		}
		conds = append(conds, "has(splitByChar(',', response_flags), ?)")
		args = append(args, f)
	}
	return "(" + strings.Join(conds, " OR ") + ")", args, nil
}

// requestFilters are the WHERE conditions (and arguments) of a request
// search over [from, to]: by source, destination, code, flags, path
// prefix, upstream host and failure.
func requestFilters(c echo.Context, from, to time.Time) ([]string, []any, error) {
	where := []string{"timestamp >= toDateTime(?)", "timestamp <= toDateTime(?)"}
	args := []any{from.Unix(), to.Unix()}
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if v := c.QueryParam("source"); v != "" {
		add("source = ?", v)
	}
	if v := c.QueryParam("destination"); v != "" {
		add("destination = ?", v)
	}
	if v := c.QueryParam("code"); v != "" {
		cond, a, err := codeFilter(v)
		if err != nil {
			return nil, nil, err
		}
		add(cond, a...)
	}
	if v := c.QueryParam("flags"); v != "" {
		cond, a, err := flagsFilter(v)
		if err != nil {
			return nil, nil, err
		}
		add(cond, a...)
	}
	if v := c.QueryParam("path_prefix"); v != "" {
		add("startsWith(path, ?)", v)
	}
	if v := c.QueryParam("upstream_host"); v != "" {
		add("upstream_host = ?", v)
	}
	if c.QueryParam("failed") != "" {
		failed, err := boolParam(c, "failed")
		if err != nil {
			return nil, nil, err
		}
		want := uint8(0)
		if failed {
			want = 1
		}
		add(requestFailed+" = ?", want)
	}
	return where, args, nil
}

// requestOutcome names a request's outcome for the volume chart: failed by
// the graph's rule (requestFailed), else its status code's class.
var requestOutcome = "multiIf(" + requestFailed + " = 1, 'failed', response_code >= 400, '4xx', response_code >= 300, '3xx', " +
	"response_code >= 200 OR grpc_status = 0, '2xx', 'other')"

// GET /api/v1/requests/volume: how many entries the search (the filters of
// GET /api/v1/requests) matches, by outcome (failed, 4xx, 3xx, 2xx, other)
// and bucket of the range (60 buckets): the chart above the Requests page.
func (s *Server) requestVolume(c echo.Context) error {
	from, to, _, err := s.rangeOrDefault(c)
	if err != nil {
		return err
	}
	where, args, err := requestFilters(c, from, to)
	if err != nil {
		return err
	}
	return s.volume(c, "requests", requestOutcome, "outcomes", where, args, from, to)
}

// GET /api/v1/requests
func (s *Server) getRequests(c echo.Context) error {
	from, to, limit, err := s.rowsParams(c)
	if err != nil {
		return err
	}
	where, args, err := requestFilters(c, from, to)
	if err != nil {
		return err
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	rows, err := s.deps.Store.Conn().Query(ctx, "SELECT "+requestColumns+", "+requestFailed+" AS failed FROM requests WHERE "+strings.Join(where, " AND ")+
		" ORDER BY timestamp DESC, start_time_unix_nano DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	enc := adhoc.NewObjectEncoder(rows)
	b := []byte(`{"requests":[`)
	for n := 0; rows.Next(); n++ {
		if n > 0 {
			b = append(b, ',')
		}
		if b, err = enc.Append(b, rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	b = append(b, "]}\n"...)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}
