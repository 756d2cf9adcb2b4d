package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a time parameter of the API: RFC 3339
// ("2026-11-27T10:00:00Z", fractional seconds allowed), Unix seconds
// ("1795000000", "1795000000.250"), or a time relative to now: "now",
// "now-15m", "now-2h", "now-7d", "now+1h", with the units ms, s, m, h, d
// and w, and combinations such as "now-1h30m".
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if rest, ok := strings.CutPrefix(s, "now"); ok {
		if rest == "" {
			return now, nil
		}
		sign := rest[0]
		if sign != '-' && sign != '+' {
			return time.Time{}, fmt.Errorf("invalid relative time %q: use now, now-15m or now+1h", s)
		}
		d, err := ParseDuration(rest[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid relative time %q: %w", s, err)
		}
		if sign == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if isUnixSeconds(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f > 1e12 {
			return time.Time{}, fmt.Errorf("invalid Unix time %q: give seconds since 1970", s)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q: use RFC 3339 (2026-11-27T10:00:00Z), Unix seconds or now-15m", s)
	}
	return t.UTC(), nil
}

func isUnixSeconds(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return true
}

// ParseDuration is time.ParseDuration with days ("d", 24h) and weeks ("w")
// added, for parameters such as "7d" or "1d12h". Negative durations are
// refused.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		if num == "" || unit == "" {
			return 0, fmt.Errorf("invalid duration %q: use a number and a unit (ms, s, m, h, d, w)", s)
		}
		var d time.Duration
		switch unit {
		case "d", "w":
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			day := 24 * time.Hour
			if unit == "w" {
				day *= 7
			}
			d = time.Duration(n * float64(day))
		default:
			var err error
			if d, err = time.ParseDuration(num + unit); err != nil {
				return 0, fmt.Errorf("invalid duration %q: use a number and a unit (ms, s, m, h, d, w)", s)
			}
		}
		total += d
		rest = rest[j:]
	}
	return total, nil
}
