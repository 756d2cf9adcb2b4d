package accesslog

// Envoy writes %START_TIME% as RFC 3339 in UTC with milliseconds
// ("2016-04-15T20:17:00.310Z"); %START_TIME(layout)% uses a strftime layout
// with absl's and Envoy's extensions, compiled by compileTimeLayout.

const (
	// minUnixSec and maxUnixSec bound what fits in int64 nanoseconds.
	minUnixSec = -9223372036
	maxUnixSec = 9223372035
)

// parseRFC3339 parses "YYYY-MM-DDTHH:MM:SS[.fraction][Z|±hh:mm|±hhmm]"
// ('T' may be a space; no zone means UTC) into Unix nanoseconds. On failure
// it returns the offset of the first bad byte.
func parseRFC3339(b []byte) (int64, int, bool) {
	if len(b) < 19 {
		return 0, len(b), false
	}
	year, ok := digitsAt(b, 0, 4)
	if !ok {
		return 0, 0, false
	}
	if b[4] != '-' {
		return 0, 4, false
	}
	month, ok := digitsAt(b, 5, 2)
	if !ok || month < 1 || month > 12 {
		return 0, 5, false
	}
	if b[7] != '-' {
		return 0, 7, false
	}
	day, ok := digitsAt(b, 8, 2)
	if !ok || day < 1 || day > daysIn(year, month) {
		return 0, 8, false
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return 0, 10, false
	}
	hour, ok := digitsAt(b, 11, 2)
	if !ok || hour > 23 {
		return 0, 11, false
	}
	if b[13] != ':' {
		return 0, 13, false
	}
	minute, ok := digitsAt(b, 14, 2)
	if !ok || minute > 59 {
		return 0, 14, false
	}
	if b[16] != ':' {
		return 0, 16, false
	}
	sec, ok := digitsAt(b, 17, 2)
	if !ok || sec > 60 {
		return 0, 17, false
	}
	i := 19
	var nsec int64
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		scale := int64(1e8)
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start < 9 {
				nsec += int64(b[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		if i == start {
			return 0, i, false
		}
	}
	var offset int
	if i < len(b) {
		var n int
		offset, n, ok = parseZone(b[i:])
		if !ok {
			return 0, i + n, false
		}
		i += n
	}
	if i != len(b) {
		return 0, i, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	if secs < minUnixSec || secs > maxUnixSec {
		return 0, 0, false
	}
	return secs*1e9 + nsec, 0, true
}

// parseZone parses "Z", "±hh:mm" or "±hhmm" at the start of b and returns
// the offset east of UTC in seconds and the bytes used (or the offset of
// the bad byte).
func parseZone(b []byte) (int, int, bool) {
	if b[0] == 'Z' || b[0] == 'z' {
		return 0, 1, true
	}
	sign := 1
	switch b[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return 0, 0, false
	}
	h, ok := digitsAt(b, 1, 2)
	if !ok || h > 23 {
		return 0, 1, false
	}
	i := 3
	if i < len(b) && b[i] == ':' {
		i++
	}
	m, ok := digitsAt(b, i, 2)
	if !ok || m > 59 {
		return 0, i, false
	}
	return sign * (h*3600 + m*60), i + 2, true
}

// digitsAt reads exactly n decimal digits at b[i:].
func digitsAt(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// daysFromCivil returns the days from 1970-01-01 to the proleptic
// Gregorian date y-m-d (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// daysIn returns the number of days of month m of year y.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
