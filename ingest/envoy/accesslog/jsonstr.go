package accesslog

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// str reads the string starting at s.b[s.i] == '"' and returns its
// contents unescaped: a slice of the line when it has no escapes, else of
// the entry's buffer.
func (s *jsonScanner) str() ([]byte, bool) {
	start := s.i + 1
	k := indexQuoteOrBackslash(s.b[start:])
	if k < 0 {
		return nil, s.failIn(len(s.b), `'"'`)
	}
	if s.b[start+k] == '"' {
		s.i = start + k + 1
		return s.b[start : start+k], true
	}
	return s.unescape(start)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// indexQuoteOrBackslash returns the index of the first '"' or '\\' in b,
// or -1. It reads 8 bytes at a time without a function call, which beats
// bytes.IndexByte on the short strings of access logs.
func indexQuoteOrBackslash(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(lsb*'"'), x^(lsb*'\\')
		// A byte of q or bs is zero where b has '"' or '\\'; the lowest
		// flagged byte is exact.
		if m := ((q-lsb)&^q | (bs-lsb)&^bs) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return -1
}

// unescape reads the string from s.b[start:] into the entry's buffer,
// replacing escapes the way encoding/json does (a lone surrogate becomes
// U+FFFD).
func (s *jsonScanner) unescape(start int) ([]byte, bool) {
	buf := s.e.buf
	off := len(buf)
	i := start
	for {
		k := bytes.IndexAny(s.b[i:], "\"\\")
		if k < 0 {
			return nil, s.failIn(len(s.b), `'"'`)
		}
		buf = append(buf, s.b[i:i+k]...)
		i += k
		if s.b[i] == '"' {
			s.i = i + 1
			s.e.buf = buf
			return buf[off:], true
		}
		if i+1 >= len(s.b) {
			return nil, s.failIn(len(s.b), "escape")
		}
		switch c := s.b[i+1]; c {
		case '"', '\\', '/':
			buf = append(buf, c)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(s.b, i+2)
			if !ok {
				return nil, s.failIn(i, `\u and 4 hex digits`)
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if i+2+6 <= len(s.b) && s.b[i+2] == '\\' && s.b[i+3] == 'u' {
					r2, ok = hex4(s.b, i+4)
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, s.failIn(i, "escape")
		}
		i += 2
	}
}

// hex4 reads 4 hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// validNumber reports whether b is a JSON number.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(b)
}

// skipString skips the string starting at s.b[s.i] == '"'.
func (s *jsonScanner) skipString() bool {
	start := s.i
	s.i++
	for {
		k := bytes.IndexAny(s.b[s.i:], "\"\\")
		if k < 0 {
			s.i = len(s.b)
			return s.failIn(start, "closed string")
		}
		s.i += k
		if s.b[s.i] == '"' {
			s.i++
			return true
		}
		s.i += 2
		if s.i > len(s.b) {
			s.i = len(s.b)
		}
	}
}

// literal consumes the bare word w.
func (s *jsonScanner) literal(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return s.failIn(s.i, "value")
}

// isBareByte reports whether c may be part of a number, true or false.
func isBareByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' ||
		c == 'e' || c == 'E' || c >= 'a' && c <= 'z'
}
