// Package logql parses the part of Loki's LogQL that Grafana's Loki data
// source and Logs Drilldown send for logs kept outside Loki: a stream
// selector with its pipeline (line filters, parsers, label filters), the
// log volume's metric queries over it, and unwrapped aggregations of a
// field's values.
//
//	{service_name="cart", level=~"error|warn"} |= "timeout" != "retry" |~ "code=5\\d\\d"
//	sum by (level) (count_over_time({service_name="cart"} | drop __error__ [1m]))
//	rate({service_name="cart"}[5m])
//	vector(1)+vector(1)
//
//	{service_name="cart"} | json | status >= 500 and duration > 250ms or path=~"/api/.*"
//	sum by (path) (count_over_time({service_name="cart"} | logfmt | level="error" [5m]))
//	quantile_over_time(0.99, {service_name="cart"} | json | unwrap duration(latency) [5m]) by (path)
//	{service_name="nginx"} | pattern "<ip> - <_> \"<method> <path> <_>\" <status> <_>" | status >= 500
//
// Anything else (other parsers and formatting stages, other
// aggregations) is refused with an error that says what is not
// supported.
package logql

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshscope/meshscope/query/qlstring"
)

// MatchType is a label matcher's operator.
type MatchType string

// The matcher operators.
const (
	Equal     MatchType = "="
	NotEqual  MatchType = "!="
	Regexp    MatchType = "=~"
	NotRegexp MatchType = "!~"
)

// Matcher is one label matcher of the stream selector.
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
}

// LineFilter is one line filter: contains (|=), does not contain (!=),
// matches (|~) or does not match (!~) a regular expression, matches (|>)
// or does not match (!>) a pattern (the line whole, each <_> or <name>
// in it standing for any text: what /loki/api/v1/patterns lists, and
// Grafana's Logs Drilldown filters by).
type LineFilter struct {
	Op    string
	Value string
}

// LogQuery is a stream selector and its pipeline: line filters (all
// must hold; where they stand does not matter), parsers and label
// filters.
type LogQuery struct {
	Matchers []Matcher
	Filters  []LineFilter
	// Parsers are the parser stages, in order.
	Parsers []Parser
	// LabelFilters are the label filter stages, in order; all must hold.
	LabelFilters []*LabelFilter
	// Unwrap is the unwrap stage: the label whose values a range
	// aggregation reads.
	Unwrap *Unwrap
	// LineFormat is a line_format stage's template: the answer's lines
	// rewritten from their labels (no line filter or parser after it).
	LineFormat string
	// Drop and Keep are the labels the drop and keep stages name: the
	// answer's lines and series leave out the first, and keep only the
	// second when there are any.
	Drop, Keep []string
}

// Unwrap names the label an unwrapped range aggregation reads, and how
// its values read as numbers: Conv "" (a number), "duration" or
// "duration_seconds" (seconds), "bytes".
type Unwrap struct {
	Label   string
	Conv    string
	Parsers []Parser
}

// Parser is a parser stage: json, logfmt (every field), pattern (Expr's
// named captures: "<ip> - <_> \"<method> <path> <_>\""), or regexp (Expr's
// named groups: "(?P<method>\\w+) (?P<path>\\S+)").
type Parser struct {
	Name string
	Expr string
}

// MetricQuery aggregates a log query's lines over a range: Fn is
// count_over_time or rate (lines, or with an unwrap the values' sum per
// second), or one of the unwrapped aggregations (sum_over_time,
// avg_over_time, min_over_time, max_over_time, first_over_time,
// last_over_time, stddev_over_time, stdvar_over_time,
// quantile_over_time of Quantile), a series per stream or by RangeBy
// when RangeGrouped (avg_over_time(...) by (path); by () one series);
// summed by By when Sum is set. With Cmp (>, >=, <, <=, ==, !=), only the
// values that compare so with Threshold are kept, as PromQL filters (an
// alerting rule's condition).
type MetricQuery struct {
	Log          LogQuery
	Range        time.Duration
	Fn           string
	Quantile     float64
	Rate         bool
	RangeBy      []string
	RangeGrouped bool
	Sum          bool
	By           []string
	Cmp          string
	Threshold    float64
}

// Keeps reports whether v passes q's comparison (every value without one).
func (q MetricQuery) Keeps(v float64) bool {
	switch q.Cmp {
	case ">":
		return v > q.Threshold
	case ">=":
		return v >= q.Threshold
	case "<":
		return v < q.Threshold
	case "<=":
		return v <= q.Threshold
	case "==":
		return v == q.Threshold
	case "!=":
		return v != q.Threshold
	}
	return true
}

// Query is a parsed query: exactly one of Log, Metric and Vector is set.
// Vector is a constant: vector(N), or a sum of them (Grafana's health
// check asks vector(1)+vector(1)).
type Query struct {
	Log    *LogQuery
	Metric *MetricQuery
	Vector *float64
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// parser reads a query left to right.
type parser struct {
	s   string
	pos int
}

// Parse parses a LogQL query of the supported subset.
func Parse(q string) (Query, error) {
	p := &parser{s: q}
	var out Query
	var err error
	p.space()
	if p.peek("{") {
		var lq LogQuery
		if lq, err = p.logQuery(); err == nil {
			out.Log = &lq
			if lq.Unwrap != nil {
				err = fmt.Errorf("unwrap is for a range aggregation's values (avg_over_time({...} | unwrap %s [5m])), not a log query", lq.Unwrap.Label)
			}
		}
	} else if p.peek("vector") {
		var v float64
		if v, err = p.vectorSum(); err == nil {
			out.Vector = &v
		}
	} else {
		var mq MetricQuery
		if mq, err = p.metricQuery(); err == nil {
			err = p.comparison(&mq)
			out.Metric = &mq
		}
	}
	if err != nil {
		return Query{}, err
	}
	p.space()
	if p.pos < len(p.s) {
		return Query{}, p.errorf("unexpected %q", p.rest(12))
	}
	return out, nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("parse error at position %d: %s", p.pos+1, fmt.Sprintf(format, args...))
}

func (p *parser) rest(n int) string {
	r := p.s[p.pos:]
	if len(r) > n {
		r = r[:n] + "…"
	}
	return r
}

func (p *parser) space() {
	for p.pos < len(p.s) && strings.ContainsRune(" \t\r\n", rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *parser) peek(tok string) bool { return strings.HasPrefix(p.s[p.pos:], tok) }

// accept consumes tok (after spaces) when it is next.
func (p *parser) accept(tok string) bool {
	p.space()
	if p.peek(tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *parser) expect(tok string) error {
	if !p.accept(tok) {
		if p.pos >= len(p.s) {
			return p.errorf("expected %q, got the end of the query", tok)
		}
		return p.errorf("expected %q, got %q", tok, p.rest(12))
	}
	return nil
}

// ident reads a label or function name.
func (p *parser) ident() (string, error) {
	p.space()
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.pos > start && c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	if p.pos == start {
		if p.pos >= len(p.s) {
			return "", p.errorf("expected a name, got the end of the query")
		}
		return "", p.errorf("expected a name, got %q", p.rest(12))
	}
	return p.s[start:p.pos], nil
}

// str reads a double-quoted (Go escapes) or back-quoted string.
func (p *parser) str() (string, error) {
	p.space()
	if p.pos >= len(p.s) {
		return "", p.errorf("expected a string, got the end of the query")
	}
	if q := p.s[p.pos]; q != '"' && q != '`' {
		return "", p.errorf("expected a string, got %q", p.rest(12))
	}
	v, end, err := qlstring.Read(p.s, p.pos)
	if err != nil {
		return "", p.errorf("%v", err)
	}
	p.pos = end
	return v, nil
}

func (p *parser) logQuery() (LogQuery, error) {
	var q LogQuery
	if err := p.expect("{"); err != nil {
		return q, err
	}
	for !p.accept("}") {
		if len(q.Matchers) > 0 {
			if err := p.expect(","); err != nil {
				return q, err
			}
		}
		name, err := p.ident()
		if err != nil {
			return q, err
		}
		var typ MatchType
		p.space()
		for _, t := range []MatchType{Regexp, NotRegexp, NotEqual, Equal} {
			if p.accept(string(t)) {
				typ = t
				break
			}
		}
		if typ == "" {
			return q, p.errorf("expected one of = != =~ !~ after %s", name)
		}
		v, err := p.str()
		if err != nil {
			return q, err
		}
		if typ == Regexp || typ == NotRegexp {
			if _, err := regexp.Compile(v); err != nil {
				return q, fmt.Errorf("invalid regular expression %q for %s: %v", v, name, err)
			}
		}
		q.Matchers = append(q.Matchers, Matcher{Name: name, Type: typ, Value: v})
	}
	if len(q.Matchers) == 0 {
		return q, fmt.Errorf("the stream selector needs at least one label matcher")
	}
	for {
		p.space()
		var op string
		for _, o := range []string{"|=", "!=", "|~", "!~", "|>", "!>"} {
			if p.accept(o) {
				op = o
				break
			}
		}
		if op == "" {
			if p.accept("|") {
				if err := p.stage(&q); err != nil {
					return q, err
				}
				continue
			}
			return q, nil
		}
		if q.Unwrap != nil {
			return q, p.errorf("a line filter after unwrap: only label filters may follow it")
		}
		if q.LineFormat != "" {
			return q, p.errorf("a line filter after line_format: the formatted line is the answer's, not filtered again")
		}
		v, err := p.str()
		if err != nil {
			return q, err
		}
		if op == "|~" || op == "!~" {
			if _, err := regexp.Compile(v); err != nil {
				return q, fmt.Errorf("invalid regular expression %q in a line filter: %v", v, err)
			}
		}
		if (op == "|>" || op == "!>") && v == "" {
			return q, fmt.Errorf("a pattern line filter (%s) needs a pattern", op)
		}
		q.Filters = append(q.Filters, LineFilter{Op: op, Value: v})
	}
}

func (p *parser) metricQuery() (MetricQuery, error) {
	var q MetricQuery
	fn, err := p.ident()
	if err != nil {
		return q, err
	}
	if fn == "sum" {
		q.Sum = true
		by := func() error {
			if !p.keyword("by") {
				return nil
			}
			l, err := p.labelList()
			q.By = l
			return err
		}
		if err := by(); err != nil {
			return q, err
		}
		if err := p.expect("("); err != nil {
			return q, err
		}
		if fn, err = p.ident(); err != nil {
			return q, err
		}
		inner, err := p.rangeAggregation(fn)
		if err != nil {
			return q, err
		}
		inner.Sum, inner.By = true, q.By
		if err := p.expect(")"); err != nil {
			return q, err
		}
		if len(q.By) == 0 {
			if err := by(); err != nil {
				return q, err
			}
			inner.By = q.By
		}
		return inner, nil
	}
	return p.rangeAggregation(fn)
}

// comparison reads an optional comparison with a number after a metric
// query (count_over_time(...) > 10).
func (p *parser) comparison(q *MetricQuery) error {
	p.space()
	for _, op := range []string{">=", "<=", "==", "!=", ">", "<"} {
		if !p.accept(op) {
			continue
		}
		p.space()
		end := p.pos
		for end < len(p.s) && strings.ContainsRune("0123456789.eE+-", rune(p.s[end])) {
			end++
		}
		v, err := strconv.ParseFloat(p.s[p.pos:end], 64)
		if err != nil {
			return p.errorf("%s takes a number, got %q", op, p.rest(12))
		}
		p.pos = end
		q.Cmp, q.Threshold = op, v
		return nil
	}
	return nil
}

// vectorSum reads vector(N) [+ vector(M) ...].
func (p *parser) vectorSum() (float64, error) {
	var sum float64
	for {
		if fn, err := p.ident(); err != nil {
			return 0, err
		} else if fn != "vector" {
			return 0, fmt.Errorf("%s is not supported: only vector(N) adds to vector(N)", fn)
		}
		if err := p.expect("("); err != nil {
			return 0, err
		}
		p.space()
		end := strings.IndexByte(p.s[p.pos:], ')')
		if end < 0 {
			return 0, p.errorf("unterminated vector(")
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(p.s[p.pos:p.pos+end]), 64)
		if err != nil {
			return 0, p.errorf("vector takes a number: %v", err)
		}
		p.pos += end + 1
		sum += v
		if !p.accept("+") {
			return sum, nil
		}
	}
}

// unwrapped are the range aggregations of an unwrapped label's values.
var unwrapped = map[string]bool{"sum_over_time": true, "avg_over_time": true, "min_over_time": true, "max_over_time": true,
	"first_over_time": true, "last_over_time": true, "stddev_over_time": true, "stdvar_over_time": true, "quantile_over_time": true}

// rangeAggregation reads what follows a range aggregation's name.
func (p *parser) rangeAggregation(fn string) (MetricQuery, error) {
	q := MetricQuery{Fn: fn}
	switch {
	case fn == "count_over_time":
	case fn == "rate":
		q.Rate = true
	case unwrapped[fn]:
	default:
		return q, fmt.Errorf("%s is not supported: only count_over_time, rate and the unwrapped sum_over_time, avg_over_time, min_over_time, max_over_time, first_over_time, last_over_time, stddev_over_time, stdvar_over_time and quantile_over_time, optionally in sum [by (...)]", fn)
	}
	if err := p.expect("("); err != nil {
		return q, err
	}
	if fn == "quantile_over_time" {
		p.space()
		end := p.pos
		for end < len(p.s) && strings.ContainsRune("0123456789.eE+-", rune(p.s[end])) {
			end++
		}
		v, err := strconv.ParseFloat(p.s[p.pos:end], 64)
		if err != nil || v < 0 || v > 1 {
			return q, p.errorf("quantile_over_time takes a quantile from 0 to 1 first, got %q", p.rest(12))
		}
		p.pos = end
		q.Quantile = v
		if err := p.expect(","); err != nil {
			return q, err
		}
	}
	lq, err := p.logQuery()
	if err != nil {
		return q, err
	}
	q.Log = lq
	if unwrapped[fn] && lq.Unwrap == nil {
		return q, fmt.Errorf("%s aggregates a label's values: add | unwrap LABEL before the range", fn)
	}
	if err := p.expect("["); err != nil {
		return q, err
	}
	end := strings.IndexByte(p.s[p.pos:], ']')
	if end < 0 {
		return q, p.errorf("unterminated range")
	}
	d, err := parseDuration(strings.TrimSpace(p.s[p.pos : p.pos+end]))
	if err != nil {
		return q, p.errorf("invalid range %q: %v", p.s[p.pos:p.pos+end], err)
	}
	p.pos += end + 1
	if d < time.Second {
		return q, fmt.Errorf("the range must be at least 1s, got %s", d)
	}
	q.Range = d
	if err := p.expect(")"); err != nil {
		return q, err
	}
	if p.keyword("by") {
		if lq.Unwrap == nil {
			return q, fmt.Errorf("%s takes no by: group its lines with sum by (...) (%s(...))", fn, fn)
		}
		q.RangeGrouped = true
		if q.RangeBy, err = p.labelList(); err != nil {
			return q, err
		}
		q.RangeBy = slices.Compact(q.RangeBy)
	} else if p.keyword("without") {
		return q, fmt.Errorf("without is not supported: name the labels with by")
	}
	return q, nil
}

// labelList reads (name, ...), perhaps empty.
func (p *parser) labelList() ([]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	out := []string{}
	for !p.accept(")") {
		if len(out) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		l, err := p.ident()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// parseDuration reads a range: Go durations and days (d), weeks (w).
func parseDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok && n != "" && !strings.ContainsAny(n, "hmsuµn") {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("not a duration")
			}
			return time.Duration(v) * u.d, nil
		}
	}
	return time.ParseDuration(s)
}

// Labels are the stream labels this API knows, besides resource attributes.
var Labels = []string{"level", "service_name", "service_namespace", "trace_id"}

// IsLabelName says whether s is a valid label name.
func IsLabelName(s string) bool { return labelName.MatchString(s) }
