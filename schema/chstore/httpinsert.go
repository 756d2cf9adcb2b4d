package chstore

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/meshscope/meshscope/schema"
)

// httpInserter inserts tables of native columns through ClickHouse's HTTP
// interface as one block of the Native format, whose columns are encoded as
// the native protocol's: the request body is the columns' own encoding.
// clickhouse-go's batch instead decodes every column into its own columns
// (String lengths one byte at a time) and encodes them again for the wire,
// which cost meshscope more CPU than any other step of ingest
// (BENCHMARKS.md). Every other query stays on the native protocol.
type httpInserter struct {
	endpoint string // base URL, without query
	user     string
	password string
	params   url.Values // database and the DSN's settings
	client   *http.Client
	conn     driver.Conn // for the tables' column types

	mu    sync.Mutex
	types map[string][]string // table -> the server's type of each column, in table order
}

// newHTTPInserter inserts through the HTTP interface at base
// (http[s]://host:8123), as the user of opts into database db.
func newHTTPInserter(base string, opts *clickhouse.Options, db string, conn driver.Conn) (*httpInserter, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("clickhouse HTTP URL %q: %w", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("clickhouse HTTP URL %q: want http://host:8123 or https://host:8443", base)
	}
	h := &httpInserter{user: opts.Auth.Username, password: opts.Auth.Password, conn: conn, types: map[string][]string{}}
	if u.User != nil {
		h.user = u.User.Username()
		h.password, _ = u.User.Password()
		u.User = nil
	}
	u.RawQuery, u.Fragment = "", ""
	h.endpoint = strings.TrimSuffix(u.String(), "/") + "/"
	// wait_end_of_query: the server answers once the insert has finished,
	// so that its status is the insert's (never a 200 sent before an
	// exception).
	h.params = url.Values{"database": {db}, "wait_end_of_query": {"1"}}
	for k, v := range opts.Settings {
		h.params.Set(k, fmt.Sprint(v))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	tr.IdleConnTimeout = 2 * time.Second // before ClickHouse's keep_alive_timeout
	if u.Scheme == "https" && opts.TLS != nil {
		tr.TLSClientConfig = opts.TLS.Clone()
	} else if u.Scheme == "https" {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if opts.DialTimeout > 0 {
		tr.DialContext = (&net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	}
	// An insert that takes longer than the DSN's read timeout (clickhouse-go's
	// default, 5 minutes, without one) fails and is retried, as over the
	// native protocol.
	timeout := opts.ReadTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	h.client = &http.Client{Transport: tr, Timeout: timeout}
	return h, nil
}

// columnTypes returns the server's type of each column of t, in t's order,
// read from system.columns on first use.
func (h *httpInserter) columnTypes(ctx context.Context, t schema.Table) ([]string, error) {
	h.mu.Lock()
	types, ok := h.types[t.Name]
	h.mu.Unlock()
	if ok {
		return types, nil
	}
	rows, err := h.conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", h.params.Get("database"), t.Name)
	if err != nil {
		return nil, fmt.Errorf("column types of %s: %w", t.Name, err)
	}
	defer rows.Close()
	byName := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("column types of %s: %w", t.Name, err)
		}
		byName[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("column types of %s: %w", t.Name, err)
	}
	types = make([]string, len(t.Columns))
	for i, c := range t.Columns {
		if types[i] = byName[c.Name]; types[i] == "" {
			return nil, fmt.Errorf("insert %s: %w: it has no column %s (schema migrations pending?)", t.Name, ErrRejected, c.Name)
		}
	}
	h.mu.Lock()
	h.types[t.Name] = types
	h.mu.Unlock()
	return types, nil
}

// forget drops what is known of t's columns, after a failed insert (the
// table may have changed).
func (h *httpInserter) forget(t schema.Table) {
	h.mu.Lock()
	delete(h.types, t.Name)
	h.mu.Unlock()
}

// insert sends cols, the columns of t in order, as one block. It returns
// false, having sent nothing, when a column's server type is neither the
// type built nor LowCardinality of it: the caller then inserts the values
// through clickhouse-go, which converts them.
func (h *httpInserter) insert(ctx context.Context, t schema.Table, cols tableCols, sc *insertScratch) (bool, error) {
	if len(cols) != len(t.Columns) {
		return true, fmt.Errorf("insert %s: %d columns built for %d in the table", t.Name, len(cols), len(t.Columns))
	}
	types, err := h.columnTypes(ctx, t)
	if err != nil {
		return true, err
	}
	// The body is a chain of pieces, most of them the columns' own memory
	// (ch-go's columns chain theirs in WriteColumn), the rest encoded into
	// sc.buf: nothing is copied before the connection's writes.
	sc.buf.Reset()
	sc.body.reset()
	w := proto.NewWriter(&sc.body, &sc.buf)
	rows := cols.rows()
	w.ChainBuffer(func(b *proto.Buffer) {
		b.PutInt(len(cols))
		b.PutInt(rows)
	})
	for i, c := range cols {
		nc := c.(nativeColumn)
		s, isStr := nc.(*strColumn)
		lowCard := isStr && types[i] == string(lowCardString)
		if types[i] != string(nc.Type()) && !lowCard {
			return false, nil
		}
		w.ChainBuffer(func(b *proto.Buffer) {
			b.PutString(t.Columns[i].Name)
			b.PutString(types[i])
			if lowCard {
				// The state prefix (keys' serialization version 1:
				// shared dictionaries with additional keys), then the
				// column.
				b.PutUInt64(1)
				sc.lc.encode(b, s)
			}
		})
		if !lowCard {
			nc.WriteColumn(w)
		}
	}
	if _, err := w.Flush(); err != nil {
		return true, fmt.Errorf("insert %s: %w", t.Name, err)
	}
	err = h.post(ctx, InsertSQL(t)+" FORMAT Native", sc.body)
	sc.body.reset() // holds no column memory between inserts
	if err != nil {
		h.forget(t)
		return true, fmt.Errorf("insert %s: %w", t.Name, err)
	}
	return true, nil
}

// pieces collects a request body's pieces as a proto.Writer flushes them,
// without copying them: they stay valid until the memory they are is
// changed.
type pieces struct {
	bufs net.Buffers
}

func (p *pieces) Write(b []byte) (int, error) {
	p.bufs = append(p.bufs, b)
	return len(b), nil
}

func (p *pieces) reset() {
	clear(p.bufs)
	p.bufs = p.bufs[:0]
}

// reader reads the pieces (and writes them, as io.Copy prefers, each with
// one call), leaving p as it is.
func (p *pieces) reader() io.ReadCloser {
	bufs := slices.Clone(p.bufs)
	return io.NopCloser(&bufs)
}

// ping checks that the HTTP interface answers (its /ping handler).
func (h *httpInserter) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.endpoint+"ping", nil)
	if err != nil {
		return err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("clickhouse HTTP interface: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "Ok." {
		return fmt.Errorf("clickhouse HTTP interface at %s: %s %q, want 200 \"Ok.\"", h.endpoint, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// post sends query with body. A server's refusal is a *clickhouse.Exception,
// as over the native protocol; anything else (no connection, a proxy's
// error page) is a plain error.
func (h *httpInserter) post(ctx context.Context, query string, body pieces) error {
	params := make(url.Values, len(h.params)+1)
	for k, v := range h.params {
		params[k] = v
	}
	params.Set("query", query)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.endpoint+"?"+params.Encode(), body.reader())
	if err != nil {
		return err
	}
	// Sent chunked, with no length: a body of known length reaches the
	// connection through an io.LimitReader, and so through io.Copy's 32 KB
	// buffer, copied and written 32 KB at a time; chunked, each piece is
	// written from its own memory (BENCHMARKS.md).
	req.ContentLength = -1
	// The transport may send the body again on a fresh connection when a
	// kept-alive one turns out closed by the server before it read
	// anything (ClickHouse closes idle ones after keep_alive_timeout, 3 s by
	// default); the header, present without a value, allows it and is not
	// sent.
	req.GetBody = func() (io.ReadCloser, error) { return body.reader(), nil }
	req.Header["Idempotency-Key"] = nil
	req.Header.Set("Content-Type", "application/octet-stream")
	if h.user != "" || h.password != "" {
		req.SetBasicAuth(h.user, h.password)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return httpError(resp, msg)
}

// exceptionCode finds the code in a ClickHouse exception's text: "Code: 60,
// e.displayText() = DB::Exception: ..." (18.16) or "Code: 60. DB::Exception:
// ..." (later versions).
var exceptionCode = regexp.MustCompile(`^Code: (\d+)[.,]`)

func httpError(resp *http.Response, msg []byte) error {
	text := strings.TrimSpace(string(msg))
	code := resp.Header.Get("X-ClickHouse-Exception-Code") // 19.x on
	if code == "" {
		if m := exceptionCode.FindStringSubmatch(text); m != nil {
			code = m[1]
		}
	}
	if n, err := strconv.ParseInt(code, 10, 32); err == nil {
		return &clickhouse.Exception{Code: int32(n), Message: text}
	}
	if len(text) > 512 {
		text = text[:512] + "..."
	}
	return fmt.Errorf("clickhouse HTTP %s: %s", resp.Status, text)
}
