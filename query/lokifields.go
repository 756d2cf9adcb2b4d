package query

// The labels of a LogQL pipeline beyond a record's stream: its attributes
// (Loki's structured metadata), its resource's, and the fields the json
// and logfmt parsers extract from its body. Label filters and sum by are
// SQL over them, so ClickHouse filters and counts; the fields of the lines
// a log query answers are extracted again in Go to label them as Loki
// does.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/go-logfmt/logfmt"

	"github.com/meshscope/meshscope/query/logql"
)

// lokiField is the SQL value of a label as a label filter or sum by reads
// it: a stream label; else the record's attribute or its resource's (Loki's
// structured metadata), by its key or by its key made a label name
// (http_status_code reads http.status_code: lokiLabelKeys); else the field the given
// parsers extract from the body, the first parser's that has it; else
// empty. The error labels (__error__) are always empty: a line that does
// not parse simply has no fields.
func lokiField(name string, parsers []logql.Parser) (string, []any) {
	switch name {
	case "service_name", "service_namespace", "namespace", "level", "detected_level", "trace_id", "traceID":
		return lokiLabelExpr(name)
	case "__error__", "__error_details__":
		return "''", nil
	}
	var parts []string
	var args []any
	for _, arr := range []string{"attr", "resource"} {
		has, value := lokiAttr(arr, name)
		parts, args = append(parts, has.sql, value.sql), slices.Concat(args, has.args, value.args)
	}
	parsed, pargs := lokiParsed(name, parsers)
	return "multiIf(" + strings.Join(parts, ", ") + ", " + parsed + ")", append(args, pargs...)
}

// lokiAttr is the SQL of the attribute of a record's key and value
// arrays (arr: attr or resource) that a label name reads: whether the
// record has one, and its value. The keys are lokiLabelKeys'; the value
// the last of them present, found by indexOf per key (no lambda over the
// record's keys).
func lokiAttr(arr, name string) (has, value sqlExpr) {
	keys := lokiLabelKeys(name)
	switch len(keys) {
	case 0: // too many to list: every key made a label name
		return sqlExpr{"arrayExists(" + lokiSanitizedKey + ", " + arr + "_keys)", []any{name}},
			sqlExpr{arr + "_values[arrayFirstIndex(" + lokiSanitizedKey + ", " + arr + "_keys)]", []any{name}}
	case 1:
		return sqlExpr{"has(" + arr + "_keys, ?)", []any{name}}, sqlExpr{arr + "_values[indexOf(" + arr + "_keys, ?)]", []any{name}}
	}
	// greatest two at a time: ClickHouse 18.16 has no arrayMax.
	idx := "indexOf(" + arr + "_keys, ?)"
	for range keys[1:] {
		idx = "greatest(indexOf(" + arr + "_keys, ?), " + idx + ")"
	}
	var args []any
	for _, k := range slices.Backward(keys) {
		args = append(args, k)
	}
	return sqlExpr{"hasAny(" + arr + "_keys, ?)", []any{keys}}, sqlExpr{arr + "_values[" + idx + "]", args}
}

// lokiLabelKeys are the attribute keys that, made label names, are name
// as OpenTelemetry's keys are written: the name itself, and each _ of it
// read as a dot too (http_status_code: http.status_code,
// http.status.code ...), the name first; nil past 256 of them (a name of
// more than eight _), which only every key made a label name (a regular
// expression per key) finds. A key with other characters a label name
// replaces (a dash, a slash) is not read back (BENCHMARKS.md: the dash
// and slash too made the lookup twice as slow).
func lokiLabelKeys(name string) []string {
	keys := []string{""}
	for i := 0; i < len(name); i++ {
		alts := []byte{name[i]}
		if name[i] == '_' {
			alts = []byte("_.")
		}
		next := make([]string, 0, len(keys)*len(alts))
		for _, k := range keys {
			for _, c := range alts {
				next = append(next, k+string(c))
			}
		}
		if len(next) > 256 {
			return nil
		}
		keys = next
	}
	return keys
}

// lokiJSONKeys are the keys the json parser's field name may have come
// from, the most likely first: the name, its _ dots (a key http.method),
// and each part after a _ (the key method of an object http, whose field
// Loki names http_method). ClickHouse 18.16 reads JSON without paths
// (visitParam*: the first key of the name at any depth), so a nested
// field is read by its own key.
func lokiJSONKeys(name string) []string {
	keys := []string{name}
	if dotted := strings.ReplaceAll(name, "_", "."); dotted != name {
		keys = append(keys, dotted)
	}
	for i := 1; i < len(name)-1; i++ {
		if name[i] == '_' && name[i-1] != '_' {
			keys = append(keys, name[i+1:])
		}
	}
	return keys
}

// sqlExpr is an SQL expression and the values of its placeholders.
type sqlExpr struct {
	sql  string
	args []any
}

// lokiParsed is the SQL of a field the parsers extract: the first
// non-empty of theirs, in order. logfmt reads the key that, made a label
// name, is the field's (each _ a _, a dot or a dash).
func lokiParsed(name string, parsers []logql.Parser) (string, []any) {
	var exprs []sqlExpr
	for _, p := range parsers {
		switch p.Name {
		case "pattern", "regexp":
			// The capture of the field, the only group: "" when the
			// expression names none.
			if re, err := logql.ParserRegexp(p, name); err == nil && re != "" {
				exprs = append(exprs, sqlExpr{"extract(body, ?)", []any{re}})
			}
		case "json":
			for _, n := range lokiJSONKeys(name) {
				// A string's value unquoted and unescaped; a number, a
				// boolean, an object as written.
				def, raw := sqlAlias(sqlExpr{"visitParamExtractRaw(body, ?)", []any{n}})
				exprs = append(exprs, sqlExpr{"if(substring(" + def.sql + ", 1, 1) = '\"', visitParamExtractString(body, ?), " + raw + ")", append(def.args, n)})
			}
		case "logfmt":
			key := strings.ReplaceAll(name, "_", `[_.\-]`)
			exprs = append(exprs, sqlExpr{"replaceRegexpOne(extract(body, ?), ?, ?)", []any{`(?:^|\s)` + key + `=("(?:[^"\\]|\\.)*"|\S*)`, `^"(.*)"$`, `\1`}})
		}
	}
	if len(exprs) == 0 {
		return "''", nil
	}
	out := exprs[len(exprs)-1]
	for i := len(exprs) - 2; i >= 0; i-- {
		e := exprs[i]
		out = sqlExpr{"if(" + e.sql + " != '', " + e.sql + ", " + out.sql + ")", slices.Concat(e.args, e.args, out.args)}
	}
	return out.sql, out.args
}

// The forms a label's value takes to pass a numeric comparison.
const (
	lokiNumberRe   = `^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$`
	lokiDurationRe = `^\s*([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|ms|s|m|h)\s*$`
	lokiBytesRe    = `(?i)^\s*([0-9]+\.?[0-9]*|\.[0-9]+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?\s*$`
)

// lokiLabelFilter is the SQL condition of a label filter. A numeric
// comparison holds only for a value of its kind (a number; a duration of
// one unit, 250ms; a size, 10KB or 2MiB): Loki keeps the lines whose
// value does not convert, with an __error__ label, and drops them only
// after | __error__="" (as Grafana adds); here they never match.
func lokiLabelFilter(f *logql.LabelFilter) (string, []any) {
	if f.Left != nil {
		l, la := lokiLabelFilter(f.Left)
		r, ra := lokiLabelFilter(f.Right)
		return "(" + l + " " + strings.ToUpper(f.Op) + " " + r + ")", append(la, ra...)
	}
	v, args := lokiField(f.Name, f.Parsers)
	if !f.Numeric {
		switch f.Op {
		case "=":
			return v + " = ?", append(args, f.Value)
		case "!=":
			return v + " != ?", append(args, f.Value)
		case "=~":
			return "match(" + v + ", ?)", append(args, "^(?:"+f.Value+")$")
		default: // !~
			return "NOT match(" + v + ", ?)", append(args, "^(?:"+f.Value+")$")
		}
	}
	op := f.Op
	if op == "==" {
		op = "="
	}
	valid, num := lokiNumeric(sqlExpr{v, args}, f.Unit)
	return "(" + valid.sql + " AND " + num.sql + " " + op + " ?)", append(slices.Concat(valid.args, num.args), f.Number)
}

// lokiNumeric reads a label's value v as a number of a kind (unit: "" a
// number, "duration" a duration of one unit in seconds, "bytes" a size in
// bytes): the condition that it is one (which names v), and the number
// (which refers to v by that name: it must be used in the same query).
func lokiNumeric(v sqlExpr, unit string) (valid, num sqlExpr) {
	def, ref := sqlAlias(v)
	switch unit {
	case "duration":
		u := "extract(" + ref + ", '([a-zµ]+)\\\\s*$')"
		return sqlExpr{"match(" + def.sql + ", ?)", append(def.args, lokiDurationRe)},
			sqlExpr{"toFloat64OrZero(extract(" + ref + ", '^\\\\s*([0-9.]+)')) * multiIf(" + u + " = 'ns', 1e-9, " +
				u + " IN ('us', 'µs'), 1e-6, " + u + " = 'ms', 1e-3, " + u + " = 'm', 60, " + u + " = 'h', 3600, 1)", nil}
	case "bytes":
		u := "lower(extract(" + ref + ", '([a-zA-Z]*)\\\\s*$'))"
		var mul []string
		var margs []any
		for _, name := range slices.Sorted(maps.Keys(logql.ByteUnits)) {
			mul = append(mul, u+" = ?", strconv.FormatFloat(logql.ByteUnits[name], 'g', -1, 64))
			margs = append(margs, name)
		}
		return sqlExpr{"match(" + def.sql + ", ?)", append(def.args, lokiBytesRe)},
			sqlExpr{"toFloat64OrZero(extract(" + ref + ", '^\\\\s*([0-9.]+)')) * multiIf(" + strings.Join(mul, ", ") + ", 1)", margs}
	}
	return sqlExpr{"match(" + def.sql + ", ?)", append(def.args, lokiNumberRe)}, sqlExpr{"toFloat64OrZero(" + ref + ")", nil}
}

// sqlAlias names an expression in ClickHouse's way (aliases are the
// query's, wherever defined): def defines it, (expr AS name), and ref
// refers to it, so that a long expression read several times is written
// and computed once. The name is the expression's (its text and values),
// so the same expression named twice is the same alias.
func sqlAlias(e sqlExpr) (def sqlExpr, ref string) {
	h := fnv.New64a()
	h.Write([]byte(e.sql))
	fmt.Fprintf(h, "%q", e.args)
	name := fmt.Sprintf("v_%x", h.Sum64())
	return sqlExpr{"(" + e.sql + " AS " + name + ")", e.args}, name
}

// lineFields are the fields a parser extracts from a line, named as Loki
// names them (nested JSON objects' keys joined with _, every character
// not allowed in a label name a _); nil when the line is not of its
// format.
func lineFields(parser, line string) map[string]string {
	switch parser {
	case "json":
		var obj map[string]any
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		if d.Decode(&obj) != nil || obj == nil {
			return nil
		}
		out := map[string]string{}
		flattenJSON(out, "", obj)
		return out
	case "logfmt":
		out := map[string]string{}
		d := logfmt.NewDecoder(strings.NewReader(line))
		for d.ScanRecord() {
			for d.ScanKeyval() {
				// A bare word (plain text read as logfmt) is no field.
				if k := labelName(string(d.Key())); k != "" && len(d.Value()) > 0 {
					if _, ok := out[k]; !ok {
						out[k] = string(d.Value())
					}
				}
			}
		}
		if d.Err() != nil || len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

func flattenJSON(out map[string]string, prefix string, obj map[string]any) {
	for k, v := range obj {
		name := labelName(k)
		if name == "" {
			continue
		}
		if prefix != "" {
			name = prefix + "_" + name
		}
		switch v := v.(type) {
		case map[string]any:
			flattenJSON(out, name, v)
		case string:
			out[name] = v
		case json.Number:
			out[name] = v.String()
		case bool:
			out[name] = strconv.FormatBool(v)
		case nil:
		default: // arrays, as written
			var b bytes.Buffer
			if json.NewEncoder(&b).Encode(v) == nil {
				out[name] = strings.TrimSpace(b.String())
			}
		}
	}
}

// labelName is s as a label name: every character outside [A-Za-z0-9_]
// a _, a leading digit prefixed with _.
func labelName(s string) string {
	if s == "" {
		return ""
	}
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if b[0] >= '0' && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// bodyFields are the fields of a log body and the parser that read them:
// a JSON object's, else logfmt's; nil for text.
func bodyFields(body string) (map[string]string, string) {
	if strings.HasPrefix(strings.TrimSpace(body), "{") {
		if f := lineFields("json", body); f != nil {
			return f, "json"
		}
	}
	return lineFields("logfmt", body), "logfmt"
}

// expressionFields are the named captures of a pattern or regexp parser
// in a line (none when it does not match; a capture that matched nothing
// left out).
func expressionFields(p logql.Parser, line string) map[string]string {
	expr, err := logql.ParserRegexp(p, "")
	if err != nil {
		return nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil
	}
	m := re.FindStringSubmatch(line)
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for i, n := range re.SubexpNames() {
		if n != "" && m[i] != "" {
			out[n] = m[i]
		}
	}
	return out
}

// parsedLabels adds to a line's labels the fields the parsers extract
// from it, the first parser's where two have one; a field named as a
// label it has already is added as NAME_extracted, as Loki does.
func parsedLabels(labels map[string]string, parsers []logql.Parser, line string) {
	seen := map[string]bool{}
	for _, p := range parsers {
		fields := lineFields(p.Name, line)
		if p.Name == "pattern" || p.Name == "regexp" {
			fields = expressionFields(p, line)
		}
		for k, v := range fields {
			if seen[k] {
				continue
			}
			seen[k] = true
			if _, ok := labels[k]; ok {
				k += "_extracted"
			}
			labels[k] = v
		}
	}
}

// formatLine is a line rewritten by a line_format template over its
// labels ({{.method}}; {{__line__}} the line, {{__timestamp__}} its time,
// RFC 3339); the line as it was when the template fails on it.
func formatLine(t *template.Template, labels map[string]string, line string, ns uint64) string {
	t.Funcs(template.FuncMap{
		"__line__":      func() string { return line },
		"__timestamp__": func() string { return time.Unix(0, int64(ns)).UTC().Format(time.RFC3339Nano) },
	})
	var b strings.Builder
	if t.Execute(&b, labels) != nil {
		return line
	}
	return b.String()
}
