// Package traceql parses the part of Tempo's TraceQL that Grafana's Tempo
// data source sends for traces kept outside Tempo: spanset filters over a
// span's intrinsics and attributes, joined within a spanset by && and ||,
// and spansets joined by && (a trace with spans of each) or || (of
// either).
//
//	{ resource.service.name = "cart" && span.http.status_code >= 500 }
//	{ name =~ "GET /api/.*" && duration > 250ms } && { status = error }
//	{ .db.system = "postgresql" || kind = client }
//	{ resource.service.name = "frontend" } >> { status = error }
//	{}
//
//	{ resource.service.name = "cart" } | count() > 3 | avg(duration) > 1s | select(span.http.route)
//	{ status = error } | rate() by (resource.service.name)
//	{ kind = server } | quantile_over_time(duration, 0.5, 0.99) by (span.http.route)
//
// Anything else (negated and union structural operators, chains of them,
// other pipeline stages, trace-level intrinsics, metrics comparisons) is
// refused with an error that says
// what is not supported.
package traceql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/meshscope/meshscope/query/qlstring"
)

// Structural says whether an operator between spansets relates their
// spans in the trace's tree: >> (the right's spans descend from the
// left's), > (children), << (ancestors), < (parents), ~ (siblings).
func Structural(op string) bool {
	return op == ">>" || op == ">" || op == "<<" || op == "<" || op == "~"
}

// Query is a parsed query: spanset filters joined by Op (&& or ||, or a
// structural operator between two; empty with one filter). A nil filter
// ({}) matches every span. A single spanset may be followed by a
// pipeline: aggregate filters (the trace's matching spans counted, or a
// field of theirs averaged, summed ..., compared) and select (fields the
// answer shows).
type Query struct {
	Sets       []*Expr
	Op         string
	Aggregates []Aggregate
	Select     []Field
	// Metrics makes the query a metrics query (its last stage, after a
	// single spanset alone): a series of the matching spans' rate,
	// count or durations over time.
	Metrics *Metrics
}

// Metrics is a metrics query's function: rate, count_over_time, of the
// matching spans; avg_over_time, min_over_time, max_over_time,
// sum_over_time, histogram_over_time of Field (duration, or a numeric
// attribute but for histograms); quantile_over_time of Field at
// Quantiles. By are the fields the series are grouped by.
type Metrics struct {
	Fn        string
	Field     Field
	Quantiles []float64
	By        []Field
}

// metricsFns are the metrics functions, with whether they read a field.
var metricsFns = map[string]bool{"rate": false, "count_over_time": false, "avg_over_time": true, "min_over_time": true,
	"max_over_time": true, "sum_over_time": true, "quantile_over_time": true, "histogram_over_time": true}

// Aggregate is a pipeline's aggregate filter: Fn (count, avg, min, max,
// sum) of Field (none for count) over a trace's matching spans, compared
// by Op (= != > >= < <=) with Value.
type Aggregate struct {
	Fn    string
	Field Field
	Op    string
	Value Value
}

// Expr is a spanset filter's expression: two joined by && or || (Left and
// Right), or a comparison of a field with a value.
type Expr struct {
	Op          string // "&&", "||", or the comparison: = != > >= < <= =~ !~
	Left, Right *Expr
	Field       Field
	Value       Value
}

// Field is what a comparison reads: an intrinsic of the span (Scope
// "intrinsic": name, status, kind, duration, statusMessage) or an
// attribute (Scope "span", "resource", or "" for either, the span's
// first).
type Field struct {
	Scope string
	Name  string
}

// Value is a comparison's literal: Kind "string" (Str), "number" (Num),
// "duration" (Num, nanoseconds), "bool" (Str "true" or "false"), "nil"
// (an attribute absent, = nil, or present, != nil),
// "status" (Str error, ok, unset) or "kind" (Str server, client,
// producer, consumer, internal, unspecified).
type Value struct {
	Kind string
	Str  string
	Num  float64
}

// Intrinsics are the span intrinsics a filter may read.
var Intrinsics = []string{"duration", "kind", "name", "status", "statusMessage"}

var statuses = map[string]bool{"error": true, "ok": true, "unset": true}

var kinds = map[string]bool{"server": true, "client": true, "producer": true, "consumer": true, "internal": true, "unspecified": true}

type parser struct {
	s   string
	pos int
}

// Parse parses a TraceQL query of the supported subset.
func Parse(q string) (*Query, error) {
	p := &parser{s: q}
	out := &Query{}
	for {
		set, err := p.spanset()
		if err != nil {
			return nil, err
		}
		out.Sets = append(out.Sets, set)
		p.space()
		if p.pos >= len(p.s) {
			return out, nil
		}
		if len(out.Sets) == 1 && !strings.HasPrefix(p.s[p.pos:], "||") && p.accept("|") {
			if err := p.pipeline(out); err != nil {
				return nil, err
			}
			p.space()
			if p.pos < len(p.s) {
				return nil, p.errorf("unexpected %q after the pipeline: a pipeline ends the query", p.rest())
			}
			return out, nil
		}
		var op string
		for _, o := range []string{"&&", "||", ">>", "<<", ">", "<", "~"} {
			if p.accept(o) {
				op = o
				break
			}
		}
		switch {
		case op == "":
			for _, o := range []string{"!>>", "!<<", "!>", "!<", "!~", "&>>", "&>", "|"} {
				if strings.HasPrefix(p.s[p.pos:], o) {
					return nil, p.errorf("%q is not supported: spansets join with &&, ||, >>, >, <<, < or ~ (a pipeline follows a single spanset)", o)
				}
			}
			return nil, p.errorf("unexpected %q", p.rest())
		case Structural(op) && len(out.Sets) != 1:
			return nil, p.errorf("%s joins two spansets: a structural operator takes no chain", op)
		case out.Op != "" && out.Op != op:
			return nil, p.errorf("spansets joined by both %s and %s: use one of them", out.Op, op)
		}
		out.Op = op
	}
}

// pipeline reads the stages after a spanset's |: aggregate filters and
// select.
func (p *parser) pipeline(q *Query) error {
	for {
		p.space()
		fn := p.word()
		switch fn {
		case "select":
			if err := p.expect("("); err != nil {
				return err
			}
			for {
				f, err := p.field()
				if err != nil {
					return err
				}
				q.Select = append(q.Select, f)
				if !p.accept(",") {
					break
				}
			}
			if err := p.expect(")"); err != nil {
				return err
			}
		case "count", "avg", "min", "max", "sum":
			a := Aggregate{Fn: fn}
			if err := p.expect("("); err != nil {
				return err
			}
			if fn != "count" {
				f, err := p.field()
				if err != nil {
					return err
				}
				if f.Scope == "intrinsic" && f.Name != "duration" {
					return fmt.Errorf("%s(%s): only duration and numeric attributes aggregate", fn, f)
				}
				a.Field = f
			}
			if err := p.expect(")"); err != nil {
				return err
			}
			p.space()
			for _, o := range []string{"!=", ">=", "<=", "=", ">", "<"} {
				if p.accept(o) {
					a.Op = o
					break
				}
			}
			if a.Op == "" {
				return p.errorf("expected a comparison after %s(...), got %q", fn, p.rest())
			}
			v, err := p.value()
			if err != nil {
				return err
			}
			if v.Kind != "number" && v.Kind != "duration" || fn == "count" && v.Kind != "number" {
				return fmt.Errorf("%s(...) %s compares with a number%s, got a %s", fn, a.Op, map[bool]string{true: "", false: " or a duration"}[fn == "count"], v.Kind)
			}
			a.Value = v
			q.Aggregates = append(q.Aggregates, a)
		case "rate", "count_over_time", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "quantile_over_time", "histogram_over_time":
			if len(q.Aggregates)+len(q.Select) > 0 {
				return fmt.Errorf("%s: a metrics function follows the spanset alone", fn)
			}
			m, err := p.metrics(fn)
			if err != nil {
				return err
			}
			q.Metrics = m
			p.space()
			if p.pos < len(p.s) {
				return p.errorf("unexpected %q after %s: a metrics function ends the query", p.rest(), fn)
			}
			return nil
		case "":
			return p.errorf("expected a pipeline stage (count(), avg(...), min, max, sum, select(...)), got %q", p.rest())
		default:
			return fmt.Errorf("the %s stage is not supported: count(), avg, min, max, sum (compared with a value) and select(...) are", fn)
		}
		if !p.accept("|") {
			return nil
		}
	}
}

// metrics reads a metrics function's arguments and its by (...).
func (p *parser) metrics(fn string) (*Metrics, error) {
	m := &Metrics{Fn: fn}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if metricsFns[fn] {
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		if f.Scope == "intrinsic" && f.Name != "duration" || fn == "histogram_over_time" && f.Scope != "intrinsic" {
			return nil, fmt.Errorf("%s(%s): it reads duration%s", fn, f, map[bool]string{true: "", false: " or a numeric attribute"}[fn == "histogram_over_time"])
		}
		m.Field = f
		for fn == "quantile_over_time" && p.accept(",") {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			if v.Kind != "number" || v.Num < 0 || v.Num > 1 {
				return nil, fmt.Errorf("quantile_over_time takes quantiles from 0 to 1")
			}
			m.Quantiles = append(m.Quantiles, v.Num)
		}
		if fn == "quantile_over_time" && len(m.Quantiles) == 0 {
			return nil, fmt.Errorf("quantile_over_time(%s, ...) needs at least one quantile (0.99)", f)
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	p.space()
	if strings.HasPrefix(p.s[p.pos:], "by") {
		p.pos += 2
		if err := p.expect("("); err != nil {
			return nil, err
		}
		for {
			f, err := p.field()
			if err != nil {
				return nil, err
			}
			m.By = append(m.By, f)
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("parse error at position %d: %s", p.pos+1, fmt.Sprintf(format, args...))
}

func (p *parser) rest() string {
	r := p.s[p.pos:]
	if len(r) > 12 {
		r = r[:12] + "…"
	}
	return r
}

func (p *parser) space() {
	for p.pos < len(p.s) && strings.ContainsRune(" \t\r\n", rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *parser) accept(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.pos:], tok) {
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
		return p.errorf("expected %q, got %q", tok, p.rest())
	}
	return nil
}

func (p *parser) spanset() (*Expr, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	if p.accept("}") {
		return nil, nil
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	return e, p.expect("}")
}

func (p *parser) or() (*Expr, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.accept("||") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = &Expr{Op: "||", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) and() (*Expr, error) {
	left, err := p.atom()
	if err != nil {
		return nil, err
	}
	for p.accept("&&") {
		right, err := p.atom()
		if err != nil {
			return nil, err
		}
		left = &Expr{Op: "&&", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) atom() (*Expr, error) {
	if p.accept("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		return e, p.expect(")")
	}
	f, err := p.field()
	if err != nil {
		return nil, err
	}
	p.space()
	var op string
	for _, o := range []string{"=~", "!~", "!=", ">=", "<=", "=", ">", "<"} {
		if p.accept(o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, p.errorf("expected a comparison (= != > >= < <= =~ !~) after %s, got %q", f, p.rest())
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := check(f, op, v); err != nil {
		return nil, err
	}
	return &Expr{Op: op, Field: f, Value: v}, nil
}

// String is a field as TraceQL writes it.
func (f Field) String() string {
	switch f.Scope {
	case "intrinsic":
		return f.Name
	case "":
		return "." + f.Name
	}
	return f.Scope + "." + f.Name
}

// field reads an intrinsic (name, span:name) or an attribute
// (span.http.route, resource.service.name, .db.system, span."a b").
func (p *parser) field() (Field, error) {
	p.space()
	start := p.pos
	scope := ""
	switch {
	case p.accept("span:"), p.accept("event:"), p.accept("link:"), p.accept("instrumentation:"):
		if strings.HasPrefix(p.s[start:], "span:") {
			name := p.word()
			for _, n := range Intrinsics {
				if n == name {
					return Field{Scope: "intrinsic", Name: name}, nil
				}
			}
			return Field{}, p.errorf("span:%s is not a span intrinsic (%s)", name, strings.Join(Intrinsics, ", "))
		}
		p.pos = start
		return Field{}, p.errorf("%q: only span intrinsics and span and resource attributes are supported", p.rest())
	case p.accept("trace:"):
		p.pos = start
		return Field{}, p.errorf("trace-level intrinsics (%q) are not supported", p.rest())
	case p.accept("resource."):
		scope = "resource"
	case p.accept("span."):
		scope = "span"
	case p.accept("."):
	default:
		name := p.word()
		for _, n := range Intrinsics {
			if n == name {
				return Field{Scope: "intrinsic", Name: name}, nil
			}
		}
		switch name {
		case "":
			return Field{}, p.errorf("expected a field (an intrinsic, span.NAME, resource.NAME or .NAME), got %q", p.rest())
		case "rootName", "rootServiceName", "traceDuration", "nestedSetParent", "parent", "childCount":
			return Field{}, p.errorf("%s is not supported: only span intrinsics (%s) and attributes", name, strings.Join(Intrinsics, ", "))
		}
		return Field{}, p.errorf("unknown intrinsic %q: an attribute is span.%s, resource.%s or .%s", name, name, name, name)
	}
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		name, err := p.str()
		if err != nil {
			return Field{}, err
		}
		return Field{Scope: scope, Name: name}, nil
	}
	name := p.attrName()
	if name == "" {
		return Field{}, p.errorf("expected an attribute name, got %q", p.rest())
	}
	return Field{Scope: scope, Name: name}, nil
}

// word reads letters, digits and _.
func (p *parser) word() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.pos > start && c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

// attrName reads an attribute name: up to a space, a comparison or a
// closing brace or parenthesis.
func (p *parser) attrName() string {
	start := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune(" \t\r\n=!<>~&|(){}\",", rune(p.s[p.pos])) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// str reads a double-quoted (Go escapes) or back-quoted string.
func (p *parser) str() (string, error) {
	v, end, err := qlstring.Read(p.s, p.pos)
	if err != nil {
		return "", p.errorf("%v", err)
	}
	p.pos = end
	return v, nil
}

// value reads a literal.
func (p *parser) value() (Value, error) {
	p.space()
	if p.pos >= len(p.s) {
		return Value{}, p.errorf("expected a value, got the end of the query")
	}
	if c := p.s[p.pos]; c == '"' || c == '`' {
		s, err := p.str()
		return Value{Kind: "string", Str: s}, err
	}
	start := p.pos
	for p.pos < len(p.s) && (strings.ContainsRune(".+-_µ", rune(p.s[p.pos])) || p.s[p.pos] >= 0x80 ||
		p.s[p.pos] >= '0' && p.s[p.pos] <= '9' || p.s[p.pos] >= 'a' && p.s[p.pos] <= 'z' || p.s[p.pos] >= 'A' && p.s[p.pos] <= 'Z') {
		p.pos++
	}
	lit := p.s[start:p.pos]
	switch {
	case lit == "true" || lit == "false":
		return Value{Kind: "bool", Str: lit}, nil
	case lit == "nil":
		return Value{Kind: "nil"}, nil
	case statuses[lit]:
		return Value{Kind: "status", Str: lit}, nil
	case kinds[lit]:
		return Value{Kind: "kind", Str: lit}, nil
	}
	if v, err := strconv.ParseFloat(lit, 64); err == nil && !strings.ContainsAny(lit, "xXpP_") && v == v && v < 1e300 && v > -1e300 {
		return Value{Kind: "number", Num: v}, nil
	}
	if d, err := time.ParseDuration(lit); err == nil {
		return Value{Kind: "duration", Num: float64(d)}, nil
	}
	p.pos = start
	return Value{}, p.errorf("expected a value (a string, a number, a duration, true, false, a status or a kind), got %q", p.rest())
}

// check refuses comparisons that cannot hold: an intrinsic with a value
// of another kind, an order or a regular expression on what has none.
func check(f Field, op string, v Value) error {
	order := op == ">" || op == ">=" || op == "<" || op == "<="
	regex := op == "=~" || op == "!~"
	if regex {
		if v.Kind != "string" {
			return fmt.Errorf("%s %s takes a regular expression in a string", f, op)
		}
		if _, err := regexp.Compile(v.Str); err != nil {
			return fmt.Errorf("invalid regular expression %q for %s: %v", v.Str, f, err)
		}
	}
	if order && (v.Kind == "string" || v.Kind == "bool" || v.Kind == "status" || v.Kind == "kind" || v.Kind == "nil") {
		return fmt.Errorf("%s %s compares numbers or durations, not a %s", f, op, v.Kind)
	}
	if v.Kind == "nil" && (f.Scope == "intrinsic" || op != "=" && op != "!=") {
		return fmt.Errorf("%s %s nil: an attribute is = nil (absent) or != nil (present)", f, op)
	}
	if f.Scope != "intrinsic" {
		if v.Kind == "status" || v.Kind == "kind" {
			return fmt.Errorf("%s: %s is a value of the intrinsic %s, not of an attribute: quote it", f, v.Str, v.Kind)
		}
		return nil
	}
	want := map[string]string{"duration": "duration", "kind": "kind", "name": "string", "status": "status", "statusMessage": "string"}[f.Name]
	if v.Kind != want && !(want == "duration" && v.Kind == "number" && v.Num == 0) {
		return fmt.Errorf("%s compares with a %s, got a %s", f, want, v.Kind)
	}
	if (want == "kind" || want == "status") && op != "=" && op != "!=" {
		return fmt.Errorf("%s takes = or !=", f)
	}
	return nil
}

// Fields lists the fields an expression reads.
func (e *Expr) Fields() []Field {
	if e == nil {
		return nil
	}
	if e.Left != nil {
		return append(e.Left.Fields(), e.Right.Fields()...)
	}
	return []Field{e.Field}
}
