package accesslog

import "math"

// parseUint parses b as a decimal integer without sign. It returns the
// offset of the first bad byte when b is not one (len(b) when b is empty or
// too large).
func parseUint(b []byte) (int64, int, bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	var n int64
	for i, c := range b {
		if c < '0' || c > '9' {
			return 0, i, false
		}
		if n > (math.MaxInt64-9)/10 {
			return 0, i, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, 0, true
}

// parseMillis parses a duration in milliseconds, "15" or "15.25", and
// returns it in nanoseconds. On failure it returns the offset of the first
// bad byte.
func parseMillis(b []byte) (int64, int, bool) {
	intPart := b
	var frac []byte
	for i, c := range b {
		if c == '.' {
			intPart, frac = b[:i], b[i+1:]
			if len(frac) == 0 {
				return 0, i + 1, false
			}
			break
		}
	}
	ms, bad, ok := parseUint(intPart)
	if !ok {
		return 0, bad, false
	}
	if ms > math.MaxInt64/1_000_000-1 {
		return 0, 0, false
	}
	ns := ms * 1e6
	scale := int64(1e5)
	for i, c := range frac {
		if c < '0' || c > '9' {
			return 0, len(intPart) + 1 + i, false
		}
		ns += int64(c-'0') * scale
		scale /= 10
	}
	return ns, 0, true
}
