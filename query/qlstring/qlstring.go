// Package qlstring reads the string literals LogQL, TraceQL and PromQL
// share: double-quoted with Go's escapes, or back-quoted and raw.
package qlstring

import (
	"errors"
	"fmt"
	"strconv"
)

// Read reads the literal that starts at s[pos] (a " or a `): its value
// and the position after it.
func Read(s string, pos int) (string, int, error) {
	if pos >= len(s) || s[pos] != '"' && s[pos] != '`' {
		return "", pos, errors.New("not a string")
	}
	q := s[pos]
	for end := pos + 1; end < len(s); end++ {
		switch {
		case q == '"' && s[end] == '\\':
			end++ // the escaped character
		case s[end] == q:
			v, err := strconv.Unquote(s[pos : end+1])
			if err != nil {
				return "", pos, fmt.Errorf("invalid string %s: %v", s[pos:end+1], err)
			}
			return v, end + 1, nil
		}
	}
	return "", pos, errors.New("unterminated string")
}
