package chstore

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/meshscope/meshscope/schema"
)

// Write inserts every row of b, one INSERT per table, each naming its columns
// (ClickHouse 18.16 requires it) and filled column by column.
func (s *Store) Write(ctx context.Context, b *schema.Batch) error {
	if len(b.Spans) > 0 {
		if err := s.insert(ctx, schema.SpansTable, spanColumns(b.Spans)); err != nil {
			return err
		}
	}
	if len(b.Logs) > 0 {
		if err := s.insert(ctx, schema.LogsTable, logColumns(b.Logs)); err != nil {
			return err
		}
	}
	if len(b.MetricSeries) > 0 {
		if err := s.insert(ctx, schema.MetricSeriesTable, seriesColumns(b.MetricSeries)); err != nil {
			return err
		}
	}
	if len(b.MetricSamples) > 0 {
		if err := s.insert(ctx, schema.MetricSamplesTable, sampleColumns(b.MetricSamples)); err != nil {
			return err
		}
	}
	if len(b.Requests) > 0 {
		if err := s.insert(ctx, schema.RequestsTable, requestColumns(b.Requests)); err != nil {
			return err
		}
	}
	return nil
}

// InsertColumns inserts pre-built columns, one slice per column of t in
// order. Packages that own tables (edges) use it for their rows.
func (s *Store) InsertColumns(ctx context.Context, t schema.Table, columns []any) error {
	return s.insert(ctx, t, columns)
}

// InsertSQL is the INSERT statement for t, naming every column.
func InsertSQL(t schema.Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = "`" + c.Name + "`"
	}
	return "INSERT INTO `" + t.Name + "` (" + strings.Join(names, ", ") + ")"
}

func (s *Store) insert(ctx context.Context, t schema.Table, columns []any) error {
	if len(columns) != len(t.Columns) {
		return fmt.Errorf("insert %s: %d columns built for %d in the table", t.Name, len(columns), len(t.Columns))
	}
	batch, err := s.conn.PrepareBatch(ctx, InsertSQL(t))
	if err != nil {
		return fmt.Errorf("insert %s: prepare: %w", t.Name, err)
	}
	if err := appendColumns(batch, t, columns); err != nil {
		_ = batch.Abort()
		return err
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %s: send: %w", t.Name, err)
	}
	return nil
}

func appendColumns(batch driver.Batch, t schema.Table, columns []any) error {
	for i, col := range columns {
		if err := batch.Column(i).Append(col); err != nil {
			return fmt.Errorf("insert %s: column %s: %w", t.Name, t.Columns[i].Name, err)
		}
	}
	return nil
}

// bstr views a byte array as a string without copying; the array must not
// change while the string is in use (rows are immutable once batched).
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func secs(ns uint64) time.Time { return time.Unix(int64(ns/1e9), 0).UTC() }

func spanColumns(rows []schema.SpanRow) []any {
	n := len(rows)
	var (
		ts                                                    = make([]time.Time, n)
		start, dur                                            = make([]uint64, n), make([]uint64, n)
		traceID, spanID, parentID                             = make([]string, n), make([]string, n), make([]string, n)
		traceState, name, statusMsg                           = make([]string, n), make([]string, n), make([]string, n)
		kind, status                                          = make([]uint8, n), make([]uint8, n)
		svc, ns, ver, wl, scope, scopeVer                     = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		method, route                                         = make([]string, n), make([]string, n)
		httpStatus                                            = make([]uint16, n)
		grpcStatus                                            = make([]int16, n)
		peer, server, dbSys, dbName, msgSys, msgDest          = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		resK, resV, attrK, attrV, evNames, evAttrs, linkAttrs = make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n)
		evTimes                                               = make([][]uint64, n)
		linkTraces, linkSpans                                 = make([][]string, n), make([][]string, n)
	)
	for i := range rows {
		r := &rows[i]
		ts[i], start[i], dur[i] = secs(r.StartUnixNano), r.StartUnixNano, r.DurationNanos
		traceID[i], spanID[i], parentID[i] = bstr(r.TraceID[:]), bstr(r.SpanID[:]), bstr(r.ParentSpanID[:])
		traceState[i], name[i], kind[i], status[i], statusMsg[i] = r.TraceState, r.Name, r.Kind, r.StatusCode, r.StatusMessage
		svc[i], ns[i], ver[i], wl[i], scope[i], scopeVer[i] = r.ServiceName, r.ServiceNamespace, r.ServiceVersion, r.Workload, r.ScopeName, r.ScopeVersion
		method[i], route[i], httpStatus[i], grpcStatus[i] = r.HTTPMethod, r.HTTPRoute, r.HTTPStatusCode, r.GRPCStatusCode
		peer[i], server[i], dbSys[i], dbName[i], msgSys[i], msgDest[i] = r.PeerService, r.ServerAddress, r.DBSystem, r.DBName, r.MessagingSystem, r.MessagingDestination
		resK[i], resV[i], attrK[i], attrV[i] = nz(r.ResourceKeys), nz(r.ResourceValues), nz(r.AttrKeys), nz(r.AttrValues)
		evTimes[i], evNames[i], evAttrs[i] = nzu(r.EventTimes), nz(r.EventNames), nz(r.EventAttrs)
		lt, ls := make([]string, len(r.LinkTraceIDs)), make([]string, len(r.LinkSpanIDs))
		for j := range r.LinkTraceIDs {
			lt[j] = bstr(r.LinkTraceIDs[j][:])
		}
		for j := range r.LinkSpanIDs {
			ls[j] = bstr(r.LinkSpanIDs[j][:])
		}
		linkTraces[i], linkSpans[i], linkAttrs[i] = lt, ls, nz(r.LinkAttrs)
	}
	return []any{ts, start, dur, traceID, spanID, parentID, traceState, name, kind, status, statusMsg,
		svc, ns, ver, wl, scope, scopeVer, method, route, httpStatus, grpcStatus, peer, server, dbSys, dbName, msgSys, msgDest,
		resK, resV, attrK, attrV, evTimes, evNames, evAttrs, linkTraces, linkSpans, linkAttrs}
}

func logColumns(rows []schema.LogRow) []any {
	n := len(rows)
	var (
		ts                           = make([]time.Time, n)
		t, obs                       = make([]uint64, n), make([]uint64, n)
		traceID, spanID              = make([]string, n), make([]string, n)
		flags                        = make([]uint32, n)
		sev                          = make([]uint8, n)
		sevText, svc, ns, scope, evt = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		body                         = make([]string, n)
		resK, resV, attrK, attrV     = make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n)
	)
	for i := range rows {
		r := &rows[i]
		tt := r.TimeUnixNano
		if tt == 0 {
			tt = r.ObservedTimeUnixNano
		}
		ts[i], t[i], obs[i] = secs(tt), r.TimeUnixNano, r.ObservedTimeUnixNano
		traceID[i], spanID[i], flags[i] = bstr(r.TraceID[:]), bstr(r.SpanID[:]), r.Flags
		sev[i], sevText[i], svc[i], ns[i], scope[i], evt[i], body[i] = r.SeverityNumber, r.SeverityText, r.ServiceName, r.ServiceNamespace, r.ScopeName, r.EventName, r.Body
		resK[i], resV[i], attrK[i], attrV[i] = nz(r.ResourceKeys), nz(r.ResourceValues), nz(r.AttrKeys), nz(r.AttrValues)
	}
	return []any{ts, t, obs, traceID, spanID, flags, sev, sevText, svc, ns, scope, evt, body, resK, resV, attrK, attrV}
}

func seriesColumns(rows []schema.MetricSeriesRow) []any {
	n := len(rows)
	var (
		id                         = make([]uint64, n)
		name, unit, desc, svc, src = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		typ, temp, mono            = make([]uint8, n), make([]uint8, n), make([]uint8, n)
		first                      = make([]time.Time, n)
		resK, resV, labelK, labelV = make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n)
	)
	for i := range rows {
		r := &rows[i]
		id[i], name[i], typ[i], unit[i], desc[i], temp[i] = r.SeriesID, r.MetricName, r.Type, r.Unit, r.Description, r.Temporality
		if r.Monotonic {
			mono[i] = 1
		}
		svc[i], src[i], first[i] = r.ServiceName, r.Source, time.Unix(int64(r.FirstSeenUnix), 0).UTC()
		resK[i], resV[i], labelK[i], labelV[i] = nz(r.ResourceKeys), nz(r.ResourceValues), nz(r.LabelKeys), nz(r.LabelValues)
	}
	return []any{id, name, typ, unit, desc, temp, mono, svc, src, first, resK, resV, labelK, labelV}
}

func sampleColumns(rows []schema.MetricSampleRow) []any {
	n := len(rows)
	var (
		id, t, start, count, zero = make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n)
		name                      = make([]string, n)
		ts                        = make([]time.Time, n)
		val, sum, mn, mx          = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		bounds, qs, qv            = make([][]float64, n), make([][]float64, n), make([][]float64, n)
		counts, pos, neg          = make([][]uint64, n), make([][]uint64, n), make([][]uint64, n)
		scale, posOff, negOff     = make([]int32, n), make([]int32, n), make([]int32, n)
		flags                     = make([]uint32, n)
	)
	for i := range rows {
		r := &rows[i]
		id[i], name[i], ts[i], t[i], start[i] = r.SeriesID, r.MetricName, secs(r.TimeUnixNano), r.TimeUnixNano, r.StartTimeUnixNano
		val[i], count[i], sum[i], mn[i], mx[i] = r.Value, r.Count, r.Sum, r.Min, r.Max
		bounds[i], counts[i] = nzf(r.BucketBounds), nzu(r.BucketCounts)
		scale[i], zero[i], posOff[i], pos[i], negOff[i], neg[i] = r.ExpScale, r.ExpZeroCount, r.ExpPositiveOffset, nzu(r.ExpPositiveCounts), r.ExpNegativeOffset, nzu(r.ExpNegativeCounts)
		qs[i], qv[i], flags[i] = nzf(r.Quantiles), nzf(r.QuantileValues), r.Flags
	}
	return []any{id, name, ts, t, start, val, count, sum, mn, mx, bounds, counts, scale, zero, posOff, pos, negOff, neg, qs, qv, flags}
}

func requestColumns(rows []schema.RequestRow) []any {
	n := len(rows)
	str := func() []string { return make([]string, n) }
	var (
		ts                                                          = make([]time.Time, n)
		start, dur, bin, bout                                       = make([]uint64, n), make([]uint64, n), make([]uint64, n), make([]uint64, n)
		ust                                                         = make([]int64, n)
		reporter, emitter, logName                                  = str(), str(), str()
		src, srcNS, srcWL, srcApp, srcVer                           = str(), str(), str(), str(), str()
		dst, dstNS, dstWL, dstApp, dstVer                           = str(), str(), str(), str(), str()
		proto, method, path, authority                              = str(), str(), str(), str()
		code                                                        = make([]uint16, n)
		grpc                                                        = make([]int16, n)
		flags, details, term, tfail                                 = str(), str(), str(), str()
		uhost, ucluster, ulocal, dlocal, dremote, sni, route, reqID = str(), str(), str(), str(), str(), str(), str(), str()
		ua, xff, traceID                                            = str(), str(), str()
		mtls                                                        = make([]uint8, n)
		attrK, attrV                                                = make([][]string, n), make([][]string, n)
	)
	for i := range rows {
		r := &rows[i]
		ts[i], start[i], dur[i], ust[i] = secs(r.StartUnixNano), r.StartUnixNano, r.DurationNanos, r.UpstreamServiceTimeNanos
		reporter[i], emitter[i], logName[i] = r.Reporter, r.Emitter, r.LogName
		src[i], srcNS[i], srcWL[i], srcApp[i], srcVer[i] = r.Source, r.SourceNamespace, r.SourceWorkload, r.SourceApp, r.SourceVersion
		dst[i], dstNS[i], dstWL[i], dstApp[i], dstVer[i] = r.Destination, r.DestinationNamespace, r.DestinationWorkload, r.DestinationApp, r.DestinationVersion
		proto[i], method[i], path[i], authority[i], code[i], grpc[i] = r.Protocol, r.Method, r.Path, r.Authority, r.ResponseCode, r.GRPCStatus
		flags[i], details[i], term[i], tfail[i] = r.ResponseFlags, r.ResponseCodeDetails, r.ConnectionTerminationDetails, r.UpstreamTransportFailureReason
		bin[i], bout[i] = r.BytesReceived, r.BytesSent
		uhost[i], ucluster[i], ulocal[i], dlocal[i], dremote[i] = r.UpstreamHost, r.UpstreamCluster, r.UpstreamLocalAddress, r.DownstreamLocalAddress, r.DownstreamRemoteAddress
		sni[i], route[i], reqID[i], ua[i], xff[i] = r.RequestedServerName, r.RouteName, r.RequestID, r.UserAgent, r.XForwardedFor
		traceID[i], mtls[i] = bstr(r.TraceID[:]), r.MTLS
		attrK[i], attrV[i] = nz(r.AttrKeys), nz(r.AttrValues)
	}
	return []any{ts, start, dur, ust, reporter, emitter, logName, src, srcNS, srcWL, srcApp, srcVer,
		dst, dstNS, dstWL, dstApp, dstVer, proto, method, path, authority, code, grpc, flags, details, term, tfail,
		bin, bout, uhost, ucluster, ulocal, dlocal, dremote, sni, route, reqID, ua, xff, traceID, mtls, attrK, attrV}
}

var (
	emptyStrings = []string{}
	emptyU64     = []uint64{}
	emptyF64     = []float64{}
)

func nz(s []string) []string {
	if s == nil {
		return emptyStrings
	}
	return s
}

func nzu(s []uint64) []uint64 {
	if s == nil {
		return emptyU64
	}
	return s
}

func nzf(s []float64) []float64 {
	if s == nil {
		return emptyF64
	}
	return s
}
