package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// The write-ahead log record format: one record per acknowledged request,
// holding a schema.Batch. Layout: a version byte, then for each of the five
// row kinds (spans, logs, series, samples, requests) a uvarint count followed
// by the rows, each field in struct order: uvarint for unsigned integers,
// varint for signed ones, 8 little-endian bytes for floats, uvarint length +
// bytes for strings and fixed ids, uvarint length + elements for slices.
// Changing the layout means a new version byte and a decoder for the old one.
//
// Version 1 is what the log was written in before version 2, which holds a
// request's rows as insert columns in their native encoding
// (chstore.Columns.AppendEncoded): the flusher adds such a record to the
// batch it fills with one copy per column. Version 1 records are still read
// (a log written by an earlier release), and EncodeBatch still writes them,
// for tests.
//
// Version 3, written since, is version 2 with the runs of repeated values
// of string columns written once each (chstore.Columns.AppendRecord): a
// request's spans repeat their resource's attributes and their attribute
// keys row after row. Version 2 records are still read.
const (
	recordVersion    = 1
	recordColumns    = 2
	recordColumnRuns = 3
)

// newColumnsPool is a pool of columns for encodeColumns.
func newColumnsPool() *sync.Pool {
	return &sync.Pool{New: func() any { return chstore.NewRecordColumns() }}
}

// encodeColumns appends the version 3 record of b to dst, encoding the rows
// through columns taken from pool.
func encodeColumns(dst []byte, b *schema.Batch, pool *sync.Pool) []byte {
	c := pool.Get().(*chstore.Columns)
	c.Reset()
	c.Add(b)
	dst = c.AppendRecord(append(dst, recordColumnRuns))
	c.Reset() // the columns in the pool hold no row's strings
	pool.Put(c)
	return dst
}

type enc struct{ b []byte }

func (e *enc) u(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) i(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) f(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *enc) s(v string)  { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) raw(v []byte) {
	e.b = append(e.b, v...)
}
func (e *enc) ss(v []string) {
	e.u(uint64(len(v)))
	for _, x := range v {
		e.s(x)
	}
}
func (e *enc) us(v []uint64) {
	e.u(uint64(len(v)))
	for _, x := range v {
		e.u(x)
	}
}
func (e *enc) fs(v []float64) {
	e.u(uint64(len(v)))
	for _, x := range v {
		e.f(x)
	}
}

// EncodeBatch appends the record encoding of b to dst.
func EncodeBatch(dst []byte, b *schema.Batch) []byte {
	e := enc{b: append(dst, recordVersion)}
	e.u(uint64(len(b.Spans)))
	for i := range b.Spans {
		r := &b.Spans[i]
		e.u(r.StartUnixNano)
		e.u(r.DurationNanos)
		e.raw(r.TraceID[:])
		e.raw(r.SpanID[:])
		e.raw(r.ParentSpanID[:])
		e.s(r.TraceState)
		e.s(r.Name)
		e.u(uint64(r.Kind))
		e.u(uint64(r.StatusCode))
		e.s(r.StatusMessage)
		e.s(r.ServiceName)
		e.s(r.ServiceNamespace)
		e.s(r.ServiceVersion)
		e.s(r.Workload)
		e.s(r.ScopeName)
		e.s(r.ScopeVersion)
		e.s(r.HTTPMethod)
		e.s(r.HTTPRoute)
		e.u(uint64(r.HTTPStatusCode))
		e.i(int64(r.GRPCStatusCode))
		e.s(r.PeerService)
		e.s(r.ServerAddress)
		e.s(r.DBSystem)
		e.s(r.DBName)
		e.s(r.MessagingSystem)
		e.s(r.MessagingDestination)
		e.ss(r.ResourceKeys)
		e.ss(r.ResourceValues)
		e.ss(r.AttrKeys)
		e.ss(r.AttrValues)
		e.us(r.EventTimes)
		e.ss(r.EventNames)
		e.ss(r.EventAttrs)
		e.u(uint64(len(r.LinkTraceIDs)))
		for _, id := range r.LinkTraceIDs {
			e.raw(id[:])
		}
		e.u(uint64(len(r.LinkSpanIDs)))
		for _, id := range r.LinkSpanIDs {
			e.raw(id[:])
		}
		e.ss(r.LinkAttrs)
	}
	e.u(uint64(len(b.Logs)))
	for i := range b.Logs {
		r := &b.Logs[i]
		e.u(r.TimeUnixNano)
		e.u(r.ObservedTimeUnixNano)
		e.raw(r.TraceID[:])
		e.raw(r.SpanID[:])
		e.u(uint64(r.Flags))
		e.u(uint64(r.SeverityNumber))
		e.s(r.SeverityText)
		e.s(r.ServiceName)
		e.s(r.ServiceNamespace)
		e.s(r.ScopeName)
		e.s(r.EventName)
		e.s(r.Body)
		e.ss(r.ResourceKeys)
		e.ss(r.ResourceValues)
		e.ss(r.AttrKeys)
		e.ss(r.AttrValues)
	}
	e.u(uint64(len(b.MetricSeries)))
	for i := range b.MetricSeries {
		r := &b.MetricSeries[i]
		e.u(r.SeriesID)
		e.s(r.MetricName)
		e.u(uint64(r.Type))
		e.s(r.Unit)
		e.s(r.Description)
		e.u(uint64(r.Temporality))
		if r.Monotonic {
			e.u(1)
		} else {
			e.u(0)
		}
		e.s(r.ServiceName)
		e.s(r.Source)
		e.u(uint64(r.FirstSeenUnix))
		e.ss(r.ResourceKeys)
		e.ss(r.ResourceValues)
		e.ss(r.LabelKeys)
		e.ss(r.LabelValues)
	}
	e.u(uint64(len(b.MetricSamples)))
	for i := range b.MetricSamples {
		r := &b.MetricSamples[i]
		e.u(r.SeriesID)
		e.s(r.MetricName)
		e.u(r.TimeUnixNano)
		e.u(r.StartTimeUnixNano)
		e.f(r.Value)
		e.u(r.Count)
		e.f(r.Sum)
		e.f(r.Min)
		e.f(r.Max)
		e.fs(r.BucketBounds)
		e.us(r.BucketCounts)
		e.i(int64(r.ExpScale))
		e.u(r.ExpZeroCount)
		e.i(int64(r.ExpPositiveOffset))
		e.us(r.ExpPositiveCounts)
		e.i(int64(r.ExpNegativeOffset))
		e.us(r.ExpNegativeCounts)
		e.fs(r.Quantiles)
		e.fs(r.QuantileValues)
		e.u(uint64(r.Flags))
	}
	e.u(uint64(len(b.Requests)))
	for i := range b.Requests {
		r := &b.Requests[i]
		e.u(r.StartUnixNano)
		e.u(r.DurationNanos)
		e.i(r.UpstreamServiceTimeNanos)
		for _, s := range [...]string{r.Reporter, r.Emitter, r.LogName,
			r.Source, r.SourceNamespace, r.SourceWorkload, r.SourceApp, r.SourceVersion,
			r.Destination, r.DestinationNamespace, r.DestinationWorkload, r.DestinationApp, r.DestinationVersion,
			r.Protocol, r.Method, r.Path, r.Authority} {
			e.s(s)
		}
		e.u(uint64(r.ResponseCode))
		e.i(int64(r.GRPCStatus))
		for _, s := range [...]string{r.ResponseFlags, r.ResponseCodeDetails, r.ConnectionTerminationDetails, r.UpstreamTransportFailureReason} {
			e.s(s)
		}
		e.u(r.BytesReceived)
		e.u(r.BytesSent)
		for _, s := range [...]string{r.UpstreamHost, r.UpstreamCluster, r.UpstreamLocalAddress, r.DownstreamLocalAddress,
			r.DownstreamRemoteAddress, r.RequestedServerName, r.RouteName, r.RequestID, r.UserAgent, r.XForwardedFor} {
			e.s(s)
		}
		e.raw(r.TraceID[:])
		e.u(uint64(r.MTLS))
		e.ss(r.AttrKeys)
		e.ss(r.AttrValues)
	}
	return e.b
}

var errShort = errors.New("record truncated")

// dec reads a record. The first error sticks; callers check it once at the
// end. Strings are substrings of one copy of the record, and string slices
// are carved from shared chunks, so a decoded row costs few allocations.
type dec struct {
	s    string // the record, copied once
	off  int
	err  error
	strs []string
	u64s []uint64
	// grow is 1 for a decoder whose chunks are reused: a new chunk doubles
	// the last, so that the one kept comes to hold a whole record's.
	grow int
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.off = len(d.s)
}

func (d *dec) rest() int { return len(d.s) - d.off }

func (d *dec) u() uint64 {
	var v uint64
	var shift uint
	for i := 0; d.off+i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[d.off+i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			d.off += i + 1
			return v | uint64(c)<<shift
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.fail(errShort)
	return 0
}

func (d *dec) i() int64 {
	ux := d.u()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *dec) f() float64 {
	if d.rest() < 8 {
		d.fail(errShort)
		return 0
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(d.s[d.off+i])
	}
	d.off += 8
	return math.Float64frombits(v)
}

// n reads a length and checks that at least min bytes per element remain.
func (d *dec) n(min int) int {
	v := d.u()
	if v > uint64(d.rest()/max(min, 1)) {
		d.fail(fmt.Errorf("length %d exceeds record", v))
		return 0
	}
	return int(v)
}

func (d *dec) str() string {
	n := d.n(1)
	if d.err != nil {
		return ""
	}
	s := d.s[d.off : d.off+n]
	d.off += n
	return s
}

func (d *dec) raw(dst []byte) {
	if d.rest() < len(dst) {
		d.fail(errShort)
		return
	}
	copy(dst, d.s[d.off:])
	d.off += len(dst)
}

// ss carves n strings out of the shared chunk.
func (d *dec) ss() []string {
	n := d.n(1)
	if n == 0 {
		return nil
	}
	if cap(d.strs)-len(d.strs) < n {
		d.strs = make([]string, 0, max(4096, n, d.grow*min(2*cap(d.strs), 1<<16)))
	}
	start := len(d.strs)
	for range n {
		d.strs = append(d.strs, d.str())
	}
	return d.strs[start:len(d.strs):len(d.strs)]
}

func (d *dec) us() []uint64 {
	n := d.n(1)
	if n == 0 {
		return nil
	}
	if cap(d.u64s)-len(d.u64s) < n {
		d.u64s = make([]uint64, 0, max(1024, n, d.grow*min(2*cap(d.u64s), 1<<16)))
	}
	start := len(d.u64s)
	for range n {
		d.u64s = append(d.u64s, d.u())
	}
	return d.u64s[start:len(d.u64s):len(d.u64s)]
}

func (d *dec) fs() []float64 {
	n := d.n(8)
	if n == 0 {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = d.f()
	}
	return out
}

// reserve returns rows with room for n more. It at least doubles the
// capacity when it grows, so that filling a flush batch row by row copies
// each row about once (append grows large slices by a quarter, which copies
// a 100,000-row batch of pointer-rich rows about four times over while it
// fills).
func reserve[T any](rows []T, n int) []T {
	if cap(rows)-len(rows) >= n {
		return rows
	}
	grown := make([]T, len(rows), max(2*cap(rows), len(rows)+n))
	copy(grown, rows)
	return grown
}

// add extends *rows by one zero row and returns it for decoding in place.
func add[T any](rows *[]T) *T {
	if len(*rows) == cap(*rows) {
		*rows = reserve(*rows, 1)
	}
	*rows = (*rows)[:len(*rows)+1]
	r := &(*rows)[len(*rows)-1]
	var zero T
	*r = zero
	return r
}

// DecodeBatch appends the rows of one record to b. Each table's row count
// is checked against the bytes left at the least a row of it takes (its raw
// ids or floats) before room for the rows is reserved.
func DecodeBatch(rec []byte, b *schema.Batch) error {
	if len(rec) == 0 || rec[0] != recordVersion {
		return fmt.Errorf("decode wal record: unknown version")
	}
	d := &dec{s: string(rec[1:])}
	return d.batch(b)
}

// viewDecoder decodes records into rows that borrow their memory: strings
// point into the record itself and string slices into chunks the decoder
// reuses. The rows are good until the next decode or until the record's
// bytes change, which suits rows copied elsewhere right away.
type viewDecoder struct{ d dec }

func (v *viewDecoder) decode(rec []byte, b *schema.Batch) error {
	if len(rec) < 2 || rec[0] != recordVersion {
		// Too short to hold any row: DecodeBatch says what is wrong.
		return DecodeBatch(rec, b)
	}
	v.d = dec{s: unsafe.String(&rec[1], len(rec)-1), strs: v.d.strs[:0], u64s: v.d.u64s[:0], grow: 1}
	return v.d.batch(b)
}

// minRow is the smallest encoding of one row of each kind: a zero row's
// (every varint one byte, every string and slice one length byte). Row
// counts are checked against it, so that a damaged record cannot make the
// decoder reserve much more memory than the record's rows could fill.
var minRow = func() (m struct{ spans, logs, series, samples, requests int }) {
	empty := len(EncodeBatch(nil, &schema.Batch{}))
	size := func(b schema.Batch) int { return len(EncodeBatch(nil, &b)) - empty }
	m.spans = size(schema.Batch{Spans: make([]schema.SpanRow, 1)})
	m.logs = size(schema.Batch{Logs: make([]schema.LogRow, 1)})
	m.series = size(schema.Batch{MetricSeries: make([]schema.MetricSeriesRow, 1)})
	m.samples = size(schema.Batch{MetricSamples: make([]schema.MetricSampleRow, 1)})
	m.requests = size(schema.Batch{Requests: make([]schema.RequestRow, 1)})
	return m
}()

// batch appends the rows of the record d reads to b.
func (d *dec) batch(b *schema.Batch) error {
	n := d.n(minRow.spans)
	b.Spans = reserve(b.Spans, n)
	for ; n > 0 && d.err == nil; n-- {
		r := add(&b.Spans)
		r.StartUnixNano = d.u()
		r.DurationNanos = d.u()
		d.raw(r.TraceID[:])
		d.raw(r.SpanID[:])
		d.raw(r.ParentSpanID[:])
		r.TraceState = d.str()
		r.Name = d.str()
		r.Kind = uint8(d.u())
		r.StatusCode = uint8(d.u())
		r.StatusMessage = d.str()
		r.ServiceName = d.str()
		r.ServiceNamespace = d.str()
		r.ServiceVersion = d.str()
		r.Workload = d.str()
		r.ScopeName = d.str()
		r.ScopeVersion = d.str()
		r.HTTPMethod = d.str()
		r.HTTPRoute = d.str()
		r.HTTPStatusCode = uint16(d.u())
		r.GRPCStatusCode = int16(d.i())
		r.PeerService = d.str()
		r.ServerAddress = d.str()
		r.DBSystem = d.str()
		r.DBName = d.str()
		r.MessagingSystem = d.str()
		r.MessagingDestination = d.str()
		r.ResourceKeys = d.ss()
		r.ResourceValues = d.ss()
		r.AttrKeys = d.ss()
		r.AttrValues = d.ss()
		r.EventTimes = d.us()
		r.EventNames = d.ss()
		r.EventAttrs = d.ss()
		if n := d.n(16); n > 0 {
			r.LinkTraceIDs = make([]schema.TraceID, n)
			for j := range r.LinkTraceIDs {
				d.raw(r.LinkTraceIDs[j][:])
			}
		}
		if n := d.n(8); n > 0 {
			r.LinkSpanIDs = make([]schema.SpanID, n)
			for j := range r.LinkSpanIDs {
				d.raw(r.LinkSpanIDs[j][:])
			}
		}
		r.LinkAttrs = d.ss()
	}
	n = d.n(minRow.logs)
	b.Logs = reserve(b.Logs, n)
	for ; n > 0 && d.err == nil; n-- {
		r := add(&b.Logs)
		r.TimeUnixNano = d.u()
		r.ObservedTimeUnixNano = d.u()
		d.raw(r.TraceID[:])
		d.raw(r.SpanID[:])
		r.Flags = uint32(d.u())
		r.SeverityNumber = uint8(d.u())
		r.SeverityText = d.str()
		r.ServiceName = d.str()
		r.ServiceNamespace = d.str()
		r.ScopeName = d.str()
		r.EventName = d.str()
		r.Body = d.str()
		r.ResourceKeys = d.ss()
		r.ResourceValues = d.ss()
		r.AttrKeys = d.ss()
		r.AttrValues = d.ss()
	}
	n = d.n(minRow.series)
	b.MetricSeries = reserve(b.MetricSeries, n)
	for ; n > 0 && d.err == nil; n-- {
		r := add(&b.MetricSeries)
		r.SeriesID = d.u()
		r.MetricName = d.str()
		r.Type = uint8(d.u())
		r.Unit = d.str()
		r.Description = d.str()
		r.Temporality = uint8(d.u())
		r.Monotonic = d.u() == 1
		r.ServiceName = d.str()
		r.Source = d.str()
		r.FirstSeenUnix = uint32(d.u())
		r.ResourceKeys = d.ss()
		r.ResourceValues = d.ss()
		r.LabelKeys = d.ss()
		r.LabelValues = d.ss()
	}
	n = d.n(minRow.samples)
	b.MetricSamples = reserve(b.MetricSamples, n)
	for ; n > 0 && d.err == nil; n-- {
		r := add(&b.MetricSamples)
		r.SeriesID = d.u()
		r.MetricName = d.str()
		r.TimeUnixNano = d.u()
		r.StartTimeUnixNano = d.u()
		r.Value = d.f()
		r.Count = d.u()
		r.Sum = d.f()
		r.Min = d.f()
		r.Max = d.f()
		r.BucketBounds = d.fs()
		r.BucketCounts = d.us()
		r.ExpScale = int32(d.i())
		r.ExpZeroCount = d.u()
		r.ExpPositiveOffset = int32(d.i())
		r.ExpPositiveCounts = d.us()
		r.ExpNegativeOffset = int32(d.i())
		r.ExpNegativeCounts = d.us()
		r.Quantiles = d.fs()
		r.QuantileValues = d.fs()
		r.Flags = uint32(d.u())
	}
	n = d.n(minRow.requests)
	b.Requests = reserve(b.Requests, n)
	for ; n > 0 && d.err == nil; n-- {
		r := add(&b.Requests)
		r.StartUnixNano = d.u()
		r.DurationNanos = d.u()
		r.UpstreamServiceTimeNanos = d.i()
		for _, p := range [...]*string{&r.Reporter, &r.Emitter, &r.LogName,
			&r.Source, &r.SourceNamespace, &r.SourceWorkload, &r.SourceApp, &r.SourceVersion,
			&r.Destination, &r.DestinationNamespace, &r.DestinationWorkload, &r.DestinationApp, &r.DestinationVersion,
			&r.Protocol, &r.Method, &r.Path, &r.Authority} {
			*p = d.str()
		}
		r.ResponseCode = uint16(d.u())
		r.GRPCStatus = int16(d.i())
		for _, p := range [...]*string{&r.ResponseFlags, &r.ResponseCodeDetails, &r.ConnectionTerminationDetails, &r.UpstreamTransportFailureReason} {
			*p = d.str()
		}
		r.BytesReceived = d.u()
		r.BytesSent = d.u()
		for _, p := range [...]*string{&r.UpstreamHost, &r.UpstreamCluster, &r.UpstreamLocalAddress, &r.DownstreamLocalAddress,
			&r.DownstreamRemoteAddress, &r.RequestedServerName, &r.RouteName, &r.RequestID, &r.UserAgent, &r.XForwardedFor} {
			*p = d.str()
		}
		d.raw(r.TraceID[:])
		r.MTLS = uint8(d.u())
		r.AttrKeys = d.ss()
		r.AttrValues = d.ss()
	}
	if d.err != nil {
		return fmt.Errorf("decode wal record: %w", d.err)
	}
	if d.rest() != 0 {
		return fmt.Errorf("decode wal record: %d trailing bytes", d.rest())
	}
	return nil
}
