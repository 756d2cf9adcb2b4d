package logql

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// The pipeline stages after a stream selector besides line filters:
// parsers (| json, | logfmt), label filters (| status >= 500 and
// method="GET"), unwrap (| unwrap duration(latency): the values a range
// aggregation reads; only label filters may follow it), and drop (of the
// error labels Grafana drops; this API sets none).

// LabelFilter is a label filter stage's expression: a comparison of a
// label with a value, or two expressions joined by and or or.
type LabelFilter struct {
	// Op is "and" or "or" (Left and Right set), else the comparison: =,
	// !=, =~, !~ with Value (strings), or ==, !=, >, >=, <, <= with
	// Number when Numeric.
	Op          string
	Left, Right *LabelFilter
	Name        string
	Value       string
	Numeric     bool
	Number      float64
	// Unit says how a label's value is read for a numeric comparison: ""
	// a number, "duration" a Go duration of one unit (250ms; Number in
	// seconds), "bytes" a size (10KB, 2MiB; Number in bytes).
	Unit string
	// Parsers are the parser stages before this filter: the labels they
	// extract are what it can read besides the record's own.
	Parsers []Parser
}

// Parsers this API runs.
var parsers = map[string]bool{"json": true, "logfmt": true}

// stage reads the stage after a | that is not a line filter.
func (p *parser) stage(q *LogQuery) error {
	p.space()
	at := p.pos
	if p.peek("(") {
		return p.labelStage(q)
	}
	name, err := p.ident()
	if err != nil {
		return err
	}
	switch {
	case q.Unwrap != nil && (parsers[name] || name == "pattern" || name == "regexp" || name == "unwrap"):
		p.pos = at
		return p.errorf("%s after unwrap: only label filters may follow it", name)
	case q.LineFormat != "" && (parsers[name] || name == "pattern" || name == "regexp" || name == "line_format"):
		p.pos = at
		return p.errorf("%s after line_format: the formatted line is the answer's, not read again", name)
	case name == "unwrap":
		u := &Unwrap{Parsers: append([]Parser{}, q.Parsers...)}
		if u.Label, err = p.ident(); err != nil {
			return err
		}
		if conv := u.Label; (conv == "duration" || conv == "duration_seconds" || conv == "bytes") && p.accept("(") {
			if u.Label, err = p.ident(); err != nil {
				return err
			}
			if err := p.expect(")"); err != nil {
				return err
			}
			u.Conv = conv
		}
		q.Unwrap = u
		return nil
	case parsers[name]:
		p.space()
		if p.pos < len(p.s) && !strings.ContainsRune("|[)", rune(p.s[p.pos])) && !p.peek("!=") && !p.peek("!~") && !p.peek("!>") {
			return p.errorf("the %s parser takes no parameters here, got %q: it extracts every field", name, p.rest(12))
		}
		q.Parsers = append(q.Parsers, Parser{Name: name})
		return nil
	case name == "pattern" || name == "regexp":
		expr, err := p.str()
		if err != nil {
			return err
		}
		if _, err := ParserRegexp(Parser{Name: name, Expr: expr}, ""); err != nil {
			return fmt.Errorf("the %s parser's expression %q: %v", name, expr, err)
		}
		q.Parsers = append(q.Parsers, Parser{Name: name, Expr: expr})
		return nil
	case name == "line_format":
		tmpl, err := p.str()
		if err != nil {
			return err
		}
		if _, err := LineTemplate(tmpl); err != nil {
			return fmt.Errorf("line_format %q: %v", tmpl, err)
		}
		q.LineFormat = tmpl
		return nil
	case name == "drop" || name == "keep":
		for {
			l, err := p.ident()
			if err != nil {
				return err
			}
			p.space()
			if p.peek("=") || p.peek("!=") || p.peek("=~") || p.peek("!~") {
				return p.errorf("%s takes label names; a %s of matching values is not supported", name, name)
			}
			if name == "drop" {
				q.Drop = append(q.Drop, l)
			} else {
				q.Keep = append(q.Keep, l)
			}
			if !p.accept(",") {
				return nil
			}
		}
	case unsupportedStages[name]:
		return fmt.Errorf("the %q stage is not supported: line filters (|= != |~ !~ |> !>), the json, logfmt, pattern and regexp parsers, label filters, line_format, unwrap, drop and keep are", name)
	}
	p.pos = at
	return p.labelStage(q)
}

// labelStage reads a label filter stage.
func (p *parser) labelStage(q *LogQuery) error {
	f, err := p.labelOr(q.Parsers)
	if err != nil {
		return err
	}
	q.LabelFilters = append(q.LabelFilters, f)
	return nil
}

// unsupportedStages are LogQL's other stages, refused by name.
var unsupportedStages = map[string]bool{"unpack": true, "label_format": true,
	"decolorize": true, "distinct": true}

// labelOr reads label filters joined by or (and binds tighter).
func (p *parser) labelOr(ps []Parser) (*LabelFilter, error) {
	left, err := p.labelAnd(ps)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.labelAnd(ps)
		if err != nil {
			return nil, err
		}
		left = &LabelFilter{Op: "or", Left: left, Right: right}
	}
	return left, nil
}

// labelAnd reads label filters joined by and, a comma or a space.
func (p *parser) labelAnd(ps []Parser) (*LabelFilter, error) {
	left, err := p.labelAtom(ps)
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.keyword("and"), p.accept(","):
		case p.startsLabel():
		default:
			return left, nil
		}
		right, err := p.labelAtom(ps)
		if err != nil {
			return nil, err
		}
		left = &LabelFilter{Op: "and", Left: left, Right: right}
	}
}

// keyword consumes word when it is next as a whole word.
func (p *parser) keyword(word string) bool {
	p.space()
	if !p.peek(word) {
		return false
	}
	if end := p.pos + len(word); end < len(p.s) && isNameByte(p.s[end]) {
		return false
	}
	p.pos += len(word)
	return true
}

// startsLabel says whether a label comparison (or a parenthesis) comes
// next, not or: the space that joins two comparisons as and.
func (p *parser) startsLabel() bool {
	p.space()
	if p.pos >= len(p.s) {
		return false
	}
	c := p.s[p.pos]
	if c == '(' {
		return true
	}
	if !isNameByte(c) || c >= '0' && c <= '9' {
		return false
	}
	save := p.pos
	defer func() { p.pos = save }()
	return !p.keyword("or")
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// labelAtom reads one comparison, or an expression in parentheses.
func (p *parser) labelAtom(ps []Parser) (*LabelFilter, error) {
	if p.accept("(") {
		f, err := p.labelOr(ps)
		if err != nil {
			return nil, err
		}
		return f, p.expect(")")
	}
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	p.space()
	var op string
	for _, o := range []string{"=~", "!~", "!=", "==", ">=", "<=", "=", ">", "<"} {
		if p.accept(o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, p.errorf("expected a comparison (= != =~ !~ == > >= < <=) after the label %s, got %q", name, p.rest(12))
	}
	f := &LabelFilter{Op: op, Name: name, Parsers: append([]Parser{}, ps...)}
	p.space()
	if p.pos < len(p.s) && (p.s[p.pos] == '"' || p.s[p.pos] == '`') {
		switch op {
		case "=~", "!~":
		case "=", "!=":
		default:
			return nil, p.errorf("%s %s compares numbers, durations or sizes, not a string", name, op)
		}
		if f.Value, err = p.str(); err != nil {
			return nil, err
		}
		if op == "=~" || op == "!~" {
			if _, err := regexp.Compile(f.Value); err != nil {
				return nil, fmt.Errorf("invalid regular expression %q for the label %s: %v", f.Value, name, err)
			}
		}
		return f, nil
	}
	if op == "=~" || op == "!~" {
		return nil, p.errorf("%s %s takes a string", name, op)
	}
	if op == "=" {
		f.Op = "=="
	}
	start := p.pos
	for p.pos < len(p.s) && (isNameByte(p.s[p.pos]) || strings.ContainsRune(".+-µ", rune(p.s[p.pos])) || p.s[p.pos] >= 0x80) {
		p.pos++
	}
	lit := p.s[start:p.pos]
	f.Numeric = true
	if f.Number, f.Unit, err = numberLiteral(lit); err != nil {
		p.pos = start
		return nil, p.errorf("%s %s takes a string, a number, a duration (250ms) or a size (10KB), got %q", name, op, p.rest(12))
	}
	return f, nil
}

// numberLiteral reads a number, a duration (in seconds) or a size (in
// bytes).
func numberLiteral(s string) (float64, string, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return v, "", nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d.Seconds(), "duration", nil
	}
	if v, ok := ParseBytes(s); ok {
		return v, "bytes", nil
	}
	return 0, "", fmt.Errorf("not a number")
}

// ByteUnits are the sizes' units, lower case: SI and binary.
var ByteUnits = map[string]float64{
	"b": 1, "k": 1e3, "kb": 1e3, "kib": 1 << 10, "m": 1e6, "mb": 1e6, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gib": 1 << 30, "t": 1e12, "tb": 1e12, "tib": 1 << 40,
}

// ParseBytes reads a size: a number and a unit (B, KB, KiB, MB, MiB ...,
// any case).
func ParseBytes(s string) (float64, bool) {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
	if i <= 0 {
		return 0, false
	}
	mul, ok := ByteUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	v, err := strconv.ParseFloat(strings.TrimSpace(s[:i]), 64)
	if !ok || err != nil || v < 0 || math.IsInf(v, 0) {
		return 0, false
	}
	return v * mul, true
}

// Labels lists the labels a filter reads.
func (f *LabelFilter) Labels() []string {
	if f.Left != nil {
		return append(f.Left.Labels(), f.Right.Labels()...)
	}
	return []string{f.Name}
}

// ParseLabelFilter parses a label filter expression alone (status >= 500
// and method="GET"), as one that follows the given parsers.
func ParseLabelFilter(s string, parsers []Parser) (*LabelFilter, error) {
	p := &parser{s: s}
	f, err := p.labelOr(parsers)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.s) {
		return nil, p.errorf("unexpected %q", p.rest(12))
	}
	return f, nil
}

// patternCapture is a capture of a pattern parser's expression.
var patternCapture = regexp.MustCompile(`<(_|[a-zA-Z_][a-zA-Z0-9_]*)>`)

// ParserRegexp is the regular expression (RE2: Go's and ClickHouse's) that
// a pattern or regexp parser reads a line with. With field "", every named
// capture is a group named so (for Go); with a field, only that field's is
// a group, the only one (ClickHouse's extract answers the first group), and
// the expression has no such field when the parser names none ("" and no
// error).
func ParserRegexp(pr Parser, field string) (string, error) {
	switch pr.Name {
	case "pattern":
		locs := patternCapture.FindAllStringSubmatchIndex(pr.Expr, -1)
		if len(locs) == 0 {
			return "", fmt.Errorf("no capture (<name> or <_>)")
		}
		var b strings.Builder
		b.WriteString("^")
		last, found, names := 0, false, map[string]bool{}
		for i, m := range locs {
			if m[0] == last && i > 0 {
				return "", fmt.Errorf("two captures side by side: a literal must part them")
			}
			b.WriteString(regexp.QuoteMeta(pr.Expr[last:m[0]]))
			name := pr.Expr[m[2]:m[3]]
			lazy := "*?"
			if i == len(locs)-1 && m[1] == len(pr.Expr) {
				lazy = "*" // a capture that ends the pattern takes the rest
			}
			switch {
			case name == "_":
				b.WriteString("(?:.")
			case names[name]:
				return "", fmt.Errorf("the capture <%s> twice", name)
			case field == "":
				b.WriteString("(?P<" + name + ">.")
			case name == field:
				b.WriteString("(.")
				found = true
			default:
				b.WriteString("(?:.")
			}
			names[name] = true
			b.WriteString(lazy + ")")
			last = m[1]
		}
		b.WriteString(regexp.QuoteMeta(pr.Expr[last:]))
		if field != "" && !found {
			return "", nil
		}
		return b.String(), nil
	case "regexp":
		re, err := regexp.Compile(pr.Expr)
		if err != nil {
			return "", err
		}
		named := false
		for _, n := range re.SubexpNames() {
			named = named || n != ""
		}
		if !named {
			return "", fmt.Errorf("no named group ((?P<name>...))")
		}
		if field == "" {
			return pr.Expr, nil
		}
		if !slices.Contains(re.SubexpNames(), field) {
			return "", nil
		}
		return onlyGroup(pr.Expr, field), nil
	}
	return "", fmt.Errorf("%s is not a parser with an expression", pr.Name)
}

// onlyGroup rewrites a regular expression so that the group named field
// is its only capturing group (every other group made non-capturing).
func onlyGroup(expr, field string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\\' && i+1 < len(expr): // an escaped character, as it is
			b.WriteString(expr[i : i+2])
			i++
		case inClass:
			inClass = c != ']'
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == '(':
			open, skip := groupOpening(expr[i+1:], field)
			b.WriteString(open)
			i += skip
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// groupOpening is what a group's "(" (rest follows it) becomes: "(" for
// the group named field, "(?:" for any other capturing group, "(" for a
// group that captures nothing already ((?:, (?i) ...); and how much of rest
// its name took.
func groupOpening(rest, field string) (string, int) {
	for _, pre := range []string{"?P<", "?<"} {
		if strings.HasPrefix(rest, pre) {
			end := strings.IndexByte(rest, '>')
			if rest[len(pre):end] == field {
				return "(", end + 1
			}
			return "(?:", end + 1
		}
	}
	if strings.HasPrefix(rest, "?") {
		return "(", 0
	}
	return "(?:", 0
}

// lineFuncs are the functions a line_format template may call besides
// text/template's own: Loki's most used.
var lineFuncs = template.FuncMap{
	"ToUpper": strings.ToUpper, "ToLower": strings.ToLower, "upper": strings.ToUpper, "lower": strings.ToLower,
	"trim": strings.TrimSpace, "TrimSpace": strings.TrimSpace, "replace": func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"default": func(def string, v any) any {
		if v == nil || v == "" {
			return def
		}
		return v
	},
}

// LineTemplate parses a line_format template ({{.method}} {{.path}}; the
// line itself is {{__line__}}).
func LineTemplate(s string) (*template.Template, error) {
	lineFn := template.FuncMap{"__line__": func() string { return "" }, "__timestamp__": func() string { return "" }}
	return template.New("line").Option("missingkey=zero").Funcs(lineFuncs).Funcs(lineFn).Parse(s)
}

// Answers says whether a log query's answer keeps a label: not dropped,
// and kept when the query keeps some.
func (q LogQuery) Answers(label string) bool {
	return !slices.Contains(q.Drop, label) && (len(q.Keep) == 0 || slices.Contains(q.Keep, label))
}
