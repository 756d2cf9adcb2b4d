// Package adhoc runs users' ad hoc ClickHouse SQL safely: a lexical guard
// (Check) refuses what meshscope never sends, and Run sends what passes with
// server-enforced settings (readonly=1 and the Limits) and streams the result
// as JSON or CSV. The HTTP API (POST /api/v1/sql) and the `meshscope sql`
// command share it. It imports nothing of meshscope.
package adhoc

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Output formats.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// Stats describe a finished query.
type Stats struct {
	// Rows is the number of result rows written.
	Rows uint64
	// RowsRead and BytesRead are what the server read, from its progress
	// reports.
	RowsRead, BytesRead uint64
	// Elapsed is the wall time from sending the query to the last row.
	Elapsed time.Duration
	// Started reports whether anything was written to the output: an error
	// returned with Started set was reported inside the output (JSON "error"
	// field, or a last CSV line starting with "#error"), after a partial
	// result.
	Started bool
}

// flushEvery is how many rows are written between flushes of the output.
const flushEvery = 1000

// Run checks q with Check, runs it on conn with readonly=1 and the limits in
// lim (zero fields take DefaultLimits), and writes the result to w in format
// ("json", the default, or "csv"). The first 256 KiB of output are held back
// until the query ends or outgrows them, so an error returned with
// Stats.Started unset left w untouched and may be reported by the caller in
// its own way; larger results stream, flushing w (when it has a Flush
// method) every 1000 rows.
// A refused query returns a *RefusedError; a query the server rejects
// returns an error wrapping *clickhouse.Exception. The cancellation of ctx
// cancels the query; its deadline, if any, does not replace
// lim.MaxExecutionTime.
func Run(ctx context.Context, conn driver.Conn, q string, lim Limits, w io.Writer, format string) (Stats, error) {
	var st Stats
	lim = lim.WithDefaults()
	switch format {
	case "":
		format = FormatJSON
	case FormatJSON, FormatCSV:
	default:
		return st, &RefusedError{What: "format", Reason: fmt.Sprintf("unknown format %q: use json or csv", format)}
	}
	if len(q) > lim.MaxQueryBytes {
		return st, &RefusedError{What: "query length", Reason: fmt.Sprintf("query is %d bytes, more than the %d allowed", len(q), lim.MaxQueryBytes)}
	}
	if err := Check(q); err != nil {
		return st, err
	}
	var revision uint64
	if v, err := conn.ServerVersion(); err == nil {
		revision = v.Revision
	}
	var rowsRead, bytesRead atomic.Uint64
	// The driver turns a context deadline into its own max_execution_time,
	// overriding ours: keep ctx's cancellation and values but not its deadline.
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	qctx = clickhouse.Context(qctx,
		clickhouse.WithSettings(lim.Settings(revision)),
		clickhouse.WithProgress(func(p *clickhouse.Progress) {
			rowsRead.Add(p.Rows)
			bytesRead.Add(p.Bytes)
		}))

	start := time.Now()
	rows, err := conn.Query(qctx, q)
	if err != nil {
		return st, fmt.Errorf("run query: %w", err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	dest := make([]any, len(types))
	leaves := make([]leaf, len(types))
	for i, t := range types {
		dest[i] = reflect.New(t.ScanType()).Interface()
		leaves[i] = leafOf(t.DatabaseTypeName())
	}
	out := newWriter(w, format, types)
	finish := func() {
		st.Elapsed = time.Since(start)
		st.RowsRead, st.BytesRead = rowsRead.Load(), bytesRead.Load()
		st.Rows = out.rows
	}
	fail := func(err error) (Stats, error) {
		finish()
		err = out.fail(err, st)
		st.Started = out.started()
		return st, err
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fail(fmt.Errorf("read row %d: %w", out.rows+1, err))
		}
		out.row(dest, leaves)
		if out.rows%flushEvery == 0 {
			if err := out.stream(); err != nil {
				st.Started = true
				return st, fmt.Errorf("write result: %w", err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fail(fmt.Errorf("run query: %w", err))
	}
	finish()
	st.Started = true
	return st, out.end(st)
}

// commitSize is how much output is held back before the first byte goes
// out: a query that fails within it returns a clean error instead of a
// partial result.
const commitSize = 256 << 10

// output holds the first commitSize bytes back, then passes writes through
// in chunks.
type output struct {
	w         io.Writer
	flusher   interface{ Flush() }
	pending   []byte
	committed bool
	err       error
}

func (o *output) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	o.pending = append(o.pending, p...)
	if len(o.pending) >= commitSize || o.committed && len(o.pending) >= 64<<10 {
		o.flush()
	}
	return len(p), o.err
}

// flush commits and sends what is pending.
func (o *output) flush() {
	o.committed = true
	if o.err == nil && len(o.pending) > 0 {
		_, o.err = o.w.Write(o.pending)
	}
	o.pending = o.pending[:0]
	if o.err == nil && o.flusher != nil {
		o.flusher.Flush()
	}
}

// writer streams one result in one format.
type writer struct {
	out   *output
	csv   *csv.Writer // nil for JSON
	cells []string
	buf   []byte
	rows  uint64
}

func newWriter(w io.Writer, format string, types []driver.ColumnType) *writer {
	o := &output{w: w}
	o.flusher, _ = w.(interface{ Flush() })
	out := &writer{out: o}
	if format == FormatCSV {
		out.csv = csv.NewWriter(o)
		out.cells = make([]string, len(types))
		for i, t := range types {
			out.cells[i] = t.Name()
		}
		_ = out.csv.Write(out.cells)
		return out
	}
	b := append(out.buf, `{"columns":[`...)
	for i, t := range types {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, t.Name())
		b = append(b, `,"type":`...)
		b = appendJSONString(b, t.DatabaseTypeName())
		b = append(b, '}')
	}
	b = append(b, "],\n\"rows\":["...)
	_, _ = o.Write(b)
	out.buf = b[:0]
	return out
}

func (w *writer) row(dest []any, leaves []leaf) {
	w.rows++
	if w.csv != nil {
		for i, d := range dest {
			w.cells[i] = cellText(reflect.ValueOf(d), leaves[i])
		}
		_ = w.csv.Write(w.cells)
		return
	}
	b := w.buf[:0]
	if w.rows > 1 {
		b = append(b, ",\n"...)
	}
	b = append(b, '[')
	for i, d := range dest {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, reflect.ValueOf(d), leaves[i])
	}
	b = append(b, ']')
	_, _ = w.out.Write(b)
	w.buf = b[:0]
}

// stream sends what is pending once the output is committed, so that a long
// result reaches the reader as it is produced.
func (w *writer) stream() error {
	if w.csv != nil {
		w.csv.Flush()
	}
	if w.out.committed {
		w.out.flush()
	}
	return w.out.err
}

// started reports whether any output has gone out.
func (w *writer) started() bool { return w.out.committed }

// trailer closes the JSON document with the statistics and, after a
// failure, the error.
func (w *writer) trailer(st Stats, failure error) {
	b := w.buf[:0]
	b = append(b, "],\n"...)
	if failure != nil {
		b = append(b, `"error":`...)
		b = appendJSONString(b, failure.Error())
		b = append(b, ',')
	}
	b = append(b, `"rows_read":`...)
	b = strconv.AppendUint(b, st.RowsRead, 10)
	b = append(b, `,"bytes_read":`...)
	b = strconv.AppendUint(b, st.BytesRead, 10)
	b = append(b, `,"rows_returned":`...)
	b = strconv.AppendUint(b, st.Rows, 10)
	b = append(b, `,"elapsed_ms":`...)
	b = strconv.AppendFloat(b, float64(st.Elapsed.Microseconds())/1000, 'f', -1, 64)
	b = append(b, "}\n"...)
	_, _ = w.out.Write(b)
}

// end finishes a complete result.
func (w *writer) end(st Stats) error {
	if w.csv == nil {
		w.trailer(st, nil)
	} else {
		w.csv.Flush()
	}
	w.out.flush()
	if w.out.err != nil {
		return fmt.Errorf("write result: %w", w.out.err)
	}
	return nil
}

// fail ends the output after err. Before anything went out, the held-back
// output is dropped and err is returned alone; after, err is reported
// inside the output.
func (w *writer) fail(err error, st Stats) error {
	if !w.out.committed {
		w.out.pending = nil
		return err
	}
	if w.csv == nil {
		w.trailer(st, err)
	} else {
		w.csv.Flush()
		_, _ = io.WriteString(w.out, "#error: "+strings.ReplaceAll(err.Error(), "\n", " ")+"\n")
	}
	w.out.flush()
	return err
}
