package accesslog

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseError reports where a line stopped matching its format.
type ParseError struct {
	// Column is the 1-based byte column of the line (without its line end)
	// where parsing failed; len(line)+1 means the end of the line. In JSON
	// strings with escapes it is approximate.
	Column int
	// Expected names what the parser wanted there: a literal in single
	// quotes such as `'"'`, or a kind of value such as "integer".
	Expected string
	// Field is the format command, such as "%REQ(USER-AGENT)%", or the JSON
	// key in double quotes, such as `"response_code"`, next to the failure;
	// "" when there is none.
	Field string

	// rel says how Field relates to the failure.
	rel relation
}

// relation is how ParseError.Field relates to the failure.
type relation uint8

const (
	relNone   relation = iota
	relBefore          // the expected literal comes before Field
	relAfter           // the expected literal comes after Field
	relIn              // the value of Field is malformed
)

// Error returns a message such as
// `column 34: expected '"' before %REQ(USER-AGENT)%`.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("column ")
	b.WriteString(strconv.Itoa(e.Column))
	b.WriteString(": expected ")
	b.WriteString(e.Expected)
	if e.Field != "" {
		switch e.rel {
		case relBefore:
			b.WriteString(" before ")
		case relAfter:
			b.WriteString(" after ")
		default:
			b.WriteString(" in ")
		}
		b.WriteString(e.Field)
	}
	return b.String()
}

// failure is a parse failure before it becomes a *ParseError; building it
// does not allocate, so that a preset can try several formats cheaply.
type failure struct {
	col   int    // 0-based byte offset in the line
	want  string // literal wanted, or a kind of value
	quote bool   // want is a literal to show quoted
	field string
	rel   relation
}

// err converts f into a *ParseError.
func (f failure) err() *ParseError {
	want := f.want
	if f.quote {
		want = quoteLiteral(want)
	}
	return &ParseError{Column: f.col + 1, Expected: want, Field: f.field, rel: f.rel}
}

// quoteLiteral shows a literal in single quotes, or Go-quoted when it holds
// bytes that would not print plainly.
func quoteLiteral(s string) string {
	for _, r := range s {
		if r < ' ' || r == utf8.RuneError || r == 0x7f {
			return strconv.Quote(s)
		}
	}
	return "'" + s + "'"
}
