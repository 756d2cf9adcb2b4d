package adhoc

import (
	"fmt"
	"strings"
)

// tokenKind classifies the tokens the guard looks at. The lexer is not a SQL
// parser: it only knows where ClickHouse's comments, string literals and
// quoted identifiers begin and end, so that the guard never mistakes their
// contents for code, and never mistakes code for their contents.
type tokenKind uint8

const (
	tokWord   tokenKind = iota // bare word: keyword, identifier, number
	tokQuoted                  // `identifier` or "identifier", unquoted
	tokString                  // 'literal'
	tokSymbol                  // one punctuation character
)

type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the query
}

// lexError is a query the lexer cannot split safely.
type lexError struct {
	pos  int
	what string
	msg  string
}

func (e *lexError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.pos) }

// lex splits q into tokens, dropping whitespace and comments. It refuses what
// different ClickHouse versions read differently: nested block comments
// (newer servers nest them, 18.16 does not), # comments and $$ heredoc
// strings (newer servers only). Unterminated strings and comments are refused
// too. Refusing these keeps the guard's reading of the query identical to the
// server's on every version.
func lex(q string) ([]token, error) {
	var out []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				i = len(q)
			} else {
				i += end + 1
			}
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			body := q[i+2:]
			end := strings.Index(body, "*/")
			if end < 0 {
				return nil, &lexError{i, "unterminated comment", "unterminated /* comment"}
			}
			if strings.Contains(body[:end], "/*") {
				return nil, &lexError{i, "nested comment", "nested comment (/* inside /* */) is refused"}
			}
			i += 2 + end + 2
		case c == 0:
			return nil, &lexError{i, "NUL byte", "NUL bytes are refused"}
		case c == '#':
			return nil, &lexError{i, "#", "# is refused outside string literals (newer servers read it as a comment)"}
		case c == '$':
			return nil, &lexError{i, "$", "$ is refused outside string literals (newer servers read $$ as a string)"}
		case c == '\'' || c == '"' || c == '`':
			text, n, err := quoted(q, i)
			if err != nil {
				return nil, err
			}
			kind := tokQuoted
			if c == '\'' {
				kind = tokString
			}
			out = append(out, token{kind: kind, text: text, pos: i})
			i += n
		case isWordByte(c):
			j := i + 1
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			out = append(out, token{kind: tokWord, text: q[i:j], pos: i})
			i = j
		default:
			out = append(out, token{kind: tokSymbol, text: q[i : i+1], pos: i})
			i++
		}
	}
	return out, nil
}

// quoted reads the quoted token starting at q[start] and returns its content
// and length. ClickHouse escapes a quote by doubling it or with a backslash,
// and a backslash escapes any character.
func quoted(q string, start int) (string, int, error) {
	quote := q[start]
	var b strings.Builder
	for i := start + 1; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\\':
			if i+1 >= len(q) {
				return "", 0, &lexError{start, "unterminated quote", "unterminated quoted text"}
			}
			b.WriteByte(q[i+1])
			i++
		case c == quote:
			if i+1 < len(q) && q[i+1] == quote {
				b.WriteByte(quote)
				i++
				continue
			}
			return b.String(), i + 1 - start, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, &lexError{start, "unterminated quote", "unterminated quoted text"}
}

// isWordByte reports bytes that ClickHouse allows in bare identifiers and
// numbers; bytes >= 0x80 (UTF-8) count as word bytes, as the server does.
func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
