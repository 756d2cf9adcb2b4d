package chstore

import (
	"github.com/ClickHouse/ch-go/proto"

	"github.com/meshscope/meshscope/schema"
)

// Columns holds rows of every table as insert columns, one set of columns
// per table, filled by Add and emptied by Reset, which keeps their memory
// for the next rows: steady-state inserts allocate little besides
// clickhouse-go's own block. The columns copy every value, so they hold no
// reference to the rows added. Not safe for concurrent use.
type Columns struct {
	spans    *spanCols
	logs     *logCols
	series   *seriesCols
	samples  *sampleCols
	requests *requestCols
	scratch  insertScratch
	expect   [numTables]int // rows of each table expected before Reset (ExpectRows)
	runs     bool           // string columns keep runs of equal values once (NewRecordColumns)
}

// NewColumns returns empty columns.
func NewColumns() *Columns { return new(Columns) }

// NewRecordColumns returns empty columns for building records
// (AppendRecord): their string and string-array columns keep a value equal
// to the one appended before it as one more row of its run, not its bytes
// again. They encode as any columns, but are meant for records only.
func NewRecordColumns() *Columns { return &Columns{runs: true} }

// made sets up a table's columns just made.
func (cs *Columns) made(t tableCols) {
	if !cs.runs {
		return
	}
	for _, col := range t {
		switch c := col.(type) {
		case *strColumn:
			c.runs = true
		case *strArrColumn:
			c.runs = true
		}
	}
}

// ExpectRows says how many rows of each table c will likely hold before
// its next Reset (a flush batch: what the previous batch held), so that
// AddEncoded grows a column short of room to about that size at once.
func (c *Columns) ExpectRows(spans, logs, series, samples, requests int) {
	c.expect = [numTables]int{spans, logs, series, samples, requests}
}

// Add appends the rows of b.
func (c *Columns) Add(b *schema.Batch) {
	if len(b.Spans) > 0 {
		c.addSpans(b.Spans)
	}
	if len(b.Logs) > 0 {
		c.addLogs(b.Logs)
	}
	if len(b.MetricSeries) > 0 {
		c.addSeries(b.MetricSeries)
	}
	if len(b.MetricSamples) > 0 {
		c.addSamples(b.MetricSamples)
	}
	if len(b.Requests) > 0 {
		c.addRequests(b.Requests)
	}
}

// Reset empties every table's columns.
func (c *Columns) Reset() {
	for i := range numTables {
		c.existing(i).reset()
	}
	c.scratch.buf.Reset()
}

// Rows is the number of rows of each table: spans, logs, metric series,
// metric samples, requests.
func (c *Columns) Rows() (spans, logs, series, samples, requests int) {
	return c.spanCols().rows(), c.logCols().rows(), c.seriesCols().rows(), c.sampleCols().rows(), c.requestCols().rows()
}

// Len is the number of rows of all tables.
func (c *Columns) Len() int {
	a, b, d, e, f := c.Rows()
	return a + b + d + e + f
}

// The column lists of each table, nil before the table's first rows.

func (c *Columns) spanCols() tableCols {
	if c.spans == nil {
		return nil
	}
	return c.spans.cols
}

func (c *Columns) logCols() tableCols {
	if c.logs == nil {
		return nil
	}
	return c.logs.cols
}

func (c *Columns) seriesCols() tableCols {
	if c.series == nil {
		return nil
	}
	return c.series.cols
}

func (c *Columns) sampleCols() tableCols {
	if c.samples == nil {
		return nil
	}
	return c.samples.cols
}

func (c *Columns) requestCols() tableCols {
	if c.requests == nil {
		return nil
	}
	return c.requests.cols
}

// getColumns takes the columns Write fills, or new ones while another Write
// holds them. The store keeps them for good (a sync.Pool would drop them at
// every garbage collection, and with them the capacity they exist to keep).
func (s *Store) getColumns() *Columns {
	select {
	case c := <-s.columns:
		return c
	default:
		return NewColumns()
	}
}

func (s *Store) putColumns(c *Columns) {
	select {
	case s.columns <- c:
	default:
	}
}

// tableCols is the list of a table's columns, in table order.
type tableCols []any

func (t tableCols) rows() int {
	if len(t) == 0 {
		return 0
	}
	return t[0].(nativeColumn).Rows()
}

func (t tableCols) reset() {
	for _, c := range t {
		c.(nativeColumn).Reset()
	}
}

type spanCols struct {
	ts                                           *proto.ColDateTime
	start, dur                                   *proto.ColUInt64
	traceID, spanID, parentID                    *proto.ColFixedStr
	traceState, name, statusMsg                  *strColumn
	kind, status                                 *proto.ColUInt8
	svc, ns, ver, wl, scope, scopeVer            *strColumn
	method, route                                *strColumn
	httpStatus                                   *proto.ColUInt16
	grpcStatus                                   *proto.ColInt16
	peer, server, dbSys, dbName, msgSys, msgDest *strColumn
	resK, resV, attrK, attrV                     *strArrColumn
	evTimes                                      *proto.ColArr[uint64]
	evNames, evAttrs                             *strArrColumn
	linkTraces, linkSpans                        *proto.ColArr[[]byte]
	linkAttrs                                    *strArrColumn
	cols                                         tableCols
}

func newSpanCols() *spanCols {
	c := new(spanCols)
	cols := make([]nativeColumn, 37)
	c.ts, cols[0] = dateCol()
	c.start, cols[1] = numCol[uint64, proto.ColUInt64]()
	c.dur, cols[2] = numCol[uint64, proto.ColUInt64]()
	c.traceID, cols[3] = fixedCol(16)
	c.spanID, cols[4] = fixedCol(8)
	c.parentID, cols[5] = fixedCol(8)
	c.traceState, cols[6] = strCol()
	c.name, cols[7] = strCol()
	c.kind, cols[8] = numCol[uint8, proto.ColUInt8]()
	c.status, cols[9] = numCol[uint8, proto.ColUInt8]()
	c.statusMsg, cols[10] = strCol()
	c.svc, cols[11] = strCol()
	c.ns, cols[12] = strCol()
	c.ver, cols[13] = strCol()
	c.wl, cols[14] = strCol()
	c.scope, cols[15] = strCol()
	c.scopeVer, cols[16] = strCol()
	c.method, cols[17] = strCol()
	c.route, cols[18] = strCol()
	c.httpStatus, cols[19] = numCol[uint16, proto.ColUInt16]()
	c.grpcStatus, cols[20] = numCol[int16, proto.ColInt16]()
	c.peer, cols[21] = strCol()
	c.server, cols[22] = strCol()
	c.dbSys, cols[23] = strCol()
	c.dbName, cols[24] = strCol()
	c.msgSys, cols[25] = strCol()
	c.msgDest, cols[26] = strCol()
	c.resK, cols[27] = strArrCol()
	c.resV, cols[28] = strArrCol()
	c.attrK, cols[29] = strArrCol()
	c.attrV, cols[30] = strArrCol()
	c.evTimes, cols[31] = u64ArrCol()
	c.evNames, cols[32] = strArrCol()
	c.evAttrs, cols[33] = strArrCol()
	c.linkTraces, cols[34] = fixedArrCol(16)
	c.linkSpans, cols[35] = fixedArrCol(8)
	c.linkAttrs, cols[36] = strArrCol()
	c.cols = asAny(cols)
	return c
}

func asAny(cols []nativeColumn) tableCols {
	out := make(tableCols, len(cols))
	for i, c := range cols {
		out[i] = c
	}
	return out
}

func (cs *Columns) addSpans(rows []schema.SpanRow) {
	if cs.spans == nil {
		cs.spans = newSpanCols()
		cs.made(cs.spans.cols)
	}
	c := cs.spans
	for i := range rows {
		r := &rows[i]
		c.ts.AppendRaw(dt(r.StartUnixNano))
		c.start.Append(r.StartUnixNano)
		c.dur.Append(r.DurationNanos)
		c.traceID.Append(r.TraceID[:])
		c.spanID.Append(r.SpanID[:])
		c.parentID.Append(r.ParentSpanID[:])
		c.traceState.Append(r.TraceState)
		c.name.Append(r.Name)
		c.kind.Append(r.Kind)
		c.status.Append(r.StatusCode)
		c.statusMsg.Append(r.StatusMessage)
		c.svc.Append(r.ServiceName)
		c.ns.Append(r.ServiceNamespace)
		c.ver.Append(r.ServiceVersion)
		c.wl.Append(r.Workload)
		c.scope.Append(r.ScopeName)
		c.scopeVer.Append(r.ScopeVersion)
		c.method.Append(r.HTTPMethod)
		c.route.Append(r.HTTPRoute)
		c.httpStatus.Append(r.HTTPStatusCode)
		c.grpcStatus.Append(r.GRPCStatusCode)
		c.peer.Append(r.PeerService)
		c.server.Append(r.ServerAddress)
		c.dbSys.Append(r.DBSystem)
		c.dbName.Append(r.DBName)
		c.msgSys.Append(r.MessagingSystem)
		c.msgDest.Append(r.MessagingDestination)
		c.resK.Append(r.ResourceKeys)
		c.resV.Append(r.ResourceValues)
		c.attrK.Append(r.AttrKeys)
		c.attrV.Append(r.AttrValues)
		c.evTimes.Append(r.EventTimes)
		c.evNames.Append(r.EventNames)
		c.evAttrs.Append(r.EventAttrs)
		appendTraceIDs(c.linkTraces, r.LinkTraceIDs)
		appendSpanIDs(c.linkSpans, r.LinkSpanIDs)
		c.linkAttrs.Append(r.LinkAttrs)
	}
}

type logCols struct {
	ts                           *proto.ColDateTime
	t, obs                       *proto.ColUInt64
	traceID, spanID              *proto.ColFixedStr
	flags                        *proto.ColUInt32
	sev                          *proto.ColUInt8
	sevText, svc, ns, scope, evt *strColumn
	body                         *strColumn
	resK, resV, attrK, attrV     *strArrColumn
	cols                         tableCols
}

func newLogCols() *logCols {
	c := new(logCols)
	cols := make([]nativeColumn, 17)
	c.ts, cols[0] = dateCol()
	c.t, cols[1] = numCol[uint64, proto.ColUInt64]()
	c.obs, cols[2] = numCol[uint64, proto.ColUInt64]()
	c.traceID, cols[3] = fixedCol(16)
	c.spanID, cols[4] = fixedCol(8)
	c.flags, cols[5] = numCol[uint32, proto.ColUInt32]()
	c.sev, cols[6] = numCol[uint8, proto.ColUInt8]()
	c.sevText, cols[7] = strCol()
	c.svc, cols[8] = strCol()
	c.ns, cols[9] = strCol()
	c.scope, cols[10] = strCol()
	c.evt, cols[11] = strCol()
	c.body, cols[12] = strCol()
	c.resK, cols[13] = strArrCol()
	c.resV, cols[14] = strArrCol()
	c.attrK, cols[15] = strArrCol()
	c.attrV, cols[16] = strArrCol()
	c.cols = asAny(cols)
	return c
}

func (cs *Columns) addLogs(rows []schema.LogRow) {
	if cs.logs == nil {
		cs.logs = newLogCols()
		cs.made(cs.logs.cols)
	}
	c := cs.logs
	for i := range rows {
		r := &rows[i]
		tt := r.TimeUnixNano
		if tt == 0 {
			tt = r.ObservedTimeUnixNano
		}
		c.ts.AppendRaw(dt(tt))
		c.t.Append(r.TimeUnixNano)
		c.obs.Append(r.ObservedTimeUnixNano)
		c.traceID.Append(r.TraceID[:])
		c.spanID.Append(r.SpanID[:])
		c.flags.Append(r.Flags)
		c.sev.Append(r.SeverityNumber)
		c.sevText.Append(r.SeverityText)
		c.svc.Append(r.ServiceName)
		c.ns.Append(r.ServiceNamespace)
		c.scope.Append(r.ScopeName)
		c.evt.Append(r.EventName)
		c.body.Append(r.Body)
		c.resK.Append(r.ResourceKeys)
		c.resV.Append(r.ResourceValues)
		c.attrK.Append(r.AttrKeys)
		c.attrV.Append(r.AttrValues)
	}
}

type seriesCols struct {
	id                         *proto.ColUInt64
	name, unit, desc, svc, src *strColumn
	typ, temp, mono            *proto.ColUInt8
	first                      *proto.ColDateTime
	resK, resV, labelK, labelV *strArrColumn
	cols                       tableCols
}

func newSeriesCols() *seriesCols {
	c := new(seriesCols)
	cols := make([]nativeColumn, 14)
	c.id, cols[0] = numCol[uint64, proto.ColUInt64]()
	c.name, cols[1] = strCol()
	c.typ, cols[2] = numCol[uint8, proto.ColUInt8]()
	c.unit, cols[3] = strCol()
	c.desc, cols[4] = strCol()
	c.temp, cols[5] = numCol[uint8, proto.ColUInt8]()
	c.mono, cols[6] = numCol[uint8, proto.ColUInt8]()
	c.svc, cols[7] = strCol()
	c.src, cols[8] = strCol()
	c.first, cols[9] = dateCol()
	c.resK, cols[10] = strArrCol()
	c.resV, cols[11] = strArrCol()
	c.labelK, cols[12] = strArrCol()
	c.labelV, cols[13] = strArrCol()
	c.cols = asAny(cols)
	return c
}

func (cs *Columns) addSeries(rows []schema.MetricSeriesRow) {
	if cs.series == nil {
		cs.series = newSeriesCols()
		cs.made(cs.series.cols)
	}
	c := cs.series
	for i := range rows {
		r := &rows[i]
		c.id.Append(r.SeriesID)
		c.name.Append(r.MetricName)
		c.typ.Append(r.Type)
		c.unit.Append(r.Unit)
		c.desc.Append(r.Description)
		c.temp.Append(r.Temporality)
		var mono uint8
		if r.Monotonic {
			mono = 1
		}
		c.mono.Append(mono)
		c.svc.Append(r.ServiceName)
		c.src.Append(r.Source)
		c.first.AppendRaw(proto.DateTime(r.FirstSeenUnix))
		c.resK.Append(r.ResourceKeys)
		c.resV.Append(r.ResourceValues)
		c.labelK.Append(r.LabelKeys)
		c.labelV.Append(r.LabelValues)
	}
}

type sampleCols struct {
	id             *proto.ColUInt64
	name           *strColumn
	ts             *proto.ColDateTime
	t, start       *proto.ColUInt64
	val            *proto.ColFloat64
	count          *proto.ColUInt64
	sum, mn, mx    *proto.ColFloat64
	bounds         *proto.ColArr[float64]
	counts         *proto.ColArr[uint64]
	scale          *proto.ColInt32
	zero           *proto.ColUInt64
	posOff, negOff *proto.ColInt32
	pos, neg       *proto.ColArr[uint64]
	qs, qv         *proto.ColArr[float64]
	flags          *proto.ColUInt32
	cols           tableCols
}

func newSampleCols() *sampleCols {
	c := new(sampleCols)
	cols := make([]nativeColumn, 21)
	c.id, cols[0] = numCol[uint64, proto.ColUInt64]()
	c.name, cols[1] = strCol()
	c.ts, cols[2] = dateCol()
	c.t, cols[3] = numCol[uint64, proto.ColUInt64]()
	c.start, cols[4] = numCol[uint64, proto.ColUInt64]()
	c.val, cols[5] = numCol[float64, proto.ColFloat64]()
	c.count, cols[6] = numCol[uint64, proto.ColUInt64]()
	c.sum, cols[7] = numCol[float64, proto.ColFloat64]()
	c.mn, cols[8] = numCol[float64, proto.ColFloat64]()
	c.mx, cols[9] = numCol[float64, proto.ColFloat64]()
	c.bounds, cols[10] = f64ArrCol()
	c.counts, cols[11] = u64ArrCol()
	c.scale, cols[12] = numCol[int32, proto.ColInt32]()
	c.zero, cols[13] = numCol[uint64, proto.ColUInt64]()
	c.posOff, cols[14] = numCol[int32, proto.ColInt32]()
	c.pos, cols[15] = u64ArrCol()
	c.negOff, cols[16] = numCol[int32, proto.ColInt32]()
	c.neg, cols[17] = u64ArrCol()
	c.qs, cols[18] = f64ArrCol()
	c.qv, cols[19] = f64ArrCol()
	c.flags, cols[20] = numCol[uint32, proto.ColUInt32]()
	c.cols = asAny(cols)
	return c
}

func (cs *Columns) addSamples(rows []schema.MetricSampleRow) {
	if cs.samples == nil {
		cs.samples = newSampleCols()
		cs.made(cs.samples.cols)
	}
	c := cs.samples
	for i := range rows {
		r := &rows[i]
		c.id.Append(r.SeriesID)
		c.name.Append(r.MetricName)
		c.ts.AppendRaw(dt(r.TimeUnixNano))
		c.t.Append(r.TimeUnixNano)
		c.start.Append(r.StartTimeUnixNano)
		c.val.Append(r.Value)
		c.count.Append(r.Count)
		c.sum.Append(r.Sum)
		c.mn.Append(r.Min)
		c.mx.Append(r.Max)
		c.bounds.Append(r.BucketBounds)
		c.counts.Append(r.BucketCounts)
		c.scale.Append(r.ExpScale)
		c.zero.Append(r.ExpZeroCount)
		c.posOff.Append(r.ExpPositiveOffset)
		c.pos.Append(r.ExpPositiveCounts)
		c.negOff.Append(r.ExpNegativeOffset)
		c.neg.Append(r.ExpNegativeCounts)
		c.qs.Append(r.Quantiles)
		c.qv.Append(r.QuantileValues)
		c.flags.Append(r.Flags)
	}
}

type requestCols struct {
	ts                                                          *proto.ColDateTime
	start, dur                                                  *proto.ColUInt64
	ust                                                         *proto.ColInt64
	reporter, emitter, logName                                  *strColumn
	src, srcNS, srcWL, srcApp, srcVer                           *strColumn
	dst, dstNS, dstWL, dstApp, dstVer                           *strColumn
	protocol, method, path, authority                           *strColumn
	code                                                        *proto.ColUInt16
	grpc                                                        *proto.ColInt16
	flags, details, term, tfail                                 *strColumn
	bin, bout                                                   *proto.ColUInt64
	uhost, ucluster, ulocal, dlocal, dremote, sni, route, reqID *strColumn
	ua, xff                                                     *strColumn
	traceID                                                     *proto.ColFixedStr
	mtls                                                        *proto.ColUInt8
	attrK, attrV                                                *strArrColumn
	cols                                                        tableCols
}

func newRequestCols() *requestCols {
	c := new(requestCols)
	cols := make([]nativeColumn, 43)
	c.ts, cols[0] = dateCol()
	c.start, cols[1] = numCol[uint64, proto.ColUInt64]()
	c.dur, cols[2] = numCol[uint64, proto.ColUInt64]()
	c.ust, cols[3] = numCol[int64, proto.ColInt64]()
	for i, p := range []**strColumn{&c.reporter, &c.emitter, &c.logName,
		&c.src, &c.srcNS, &c.srcWL, &c.srcApp, &c.srcVer,
		&c.dst, &c.dstNS, &c.dstWL, &c.dstApp, &c.dstVer,
		&c.protocol, &c.method, &c.path, &c.authority} {
		*p, cols[4+i] = strCol()
	}
	c.code, cols[21] = numCol[uint16, proto.ColUInt16]()
	c.grpc, cols[22] = numCol[int16, proto.ColInt16]()
	for i, p := range []**strColumn{&c.flags, &c.details, &c.term, &c.tfail} {
		*p, cols[23+i] = strCol()
	}
	c.bin, cols[27] = numCol[uint64, proto.ColUInt64]()
	c.bout, cols[28] = numCol[uint64, proto.ColUInt64]()
	for i, p := range []**strColumn{&c.uhost, &c.ucluster, &c.ulocal, &c.dlocal, &c.dremote, &c.sni, &c.route, &c.reqID, &c.ua, &c.xff} {
		*p, cols[29+i] = strCol()
	}
	c.traceID, cols[39] = fixedCol(16)
	c.mtls, cols[40] = numCol[uint8, proto.ColUInt8]()
	c.attrK, cols[41] = strArrCol()
	c.attrV, cols[42] = strArrCol()
	c.cols = asAny(cols)
	return c
}

func (cs *Columns) addRequests(rows []schema.RequestRow) {
	if cs.requests == nil {
		cs.requests = newRequestCols()
		cs.made(cs.requests.cols)
	}
	c := cs.requests
	for i := range rows {
		r := &rows[i]
		c.ts.AppendRaw(dt(r.StartUnixNano))
		c.start.Append(r.StartUnixNano)
		c.dur.Append(r.DurationNanos)
		c.ust.Append(r.UpstreamServiceTimeNanos)
		c.reporter.Append(r.Reporter)
		c.emitter.Append(r.Emitter)
		c.logName.Append(r.LogName)
		c.src.Append(r.Source)
		c.srcNS.Append(r.SourceNamespace)
		c.srcWL.Append(r.SourceWorkload)
		c.srcApp.Append(r.SourceApp)
		c.srcVer.Append(r.SourceVersion)
		c.dst.Append(r.Destination)
		c.dstNS.Append(r.DestinationNamespace)
		c.dstWL.Append(r.DestinationWorkload)
		c.dstApp.Append(r.DestinationApp)
		c.dstVer.Append(r.DestinationVersion)
		c.protocol.Append(r.Protocol)
		c.method.Append(r.Method)
		c.path.Append(r.Path)
		c.authority.Append(r.Authority)
		c.code.Append(r.ResponseCode)
		c.grpc.Append(r.GRPCStatus)
		c.flags.Append(r.ResponseFlags)
		c.details.Append(r.ResponseCodeDetails)
		c.term.Append(r.ConnectionTerminationDetails)
		c.tfail.Append(r.UpstreamTransportFailureReason)
		c.bin.Append(r.BytesReceived)
		c.bout.Append(r.BytesSent)
		c.uhost.Append(r.UpstreamHost)
		c.ucluster.Append(r.UpstreamCluster)
		c.ulocal.Append(r.UpstreamLocalAddress)
		c.dlocal.Append(r.DownstreamLocalAddress)
		c.dremote.Append(r.DownstreamRemoteAddress)
		c.sni.Append(r.RequestedServerName)
		c.route.Append(r.RouteName)
		c.reqID.Append(r.RequestID)
		c.ua.Append(r.UserAgent)
		c.xff.Append(r.XForwardedFor)
		c.traceID.Append(r.TraceID[:])
		c.mtls.Append(r.MTLS)
		c.attrK.Append(r.AttrKeys)
		c.attrV.Append(r.AttrValues)
	}
}
