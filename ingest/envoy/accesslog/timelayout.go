package accesslog

import (
	"fmt"
	"strings"
)

// timeOp is one strftime directive of a compiled layout.
type timeOp uint8

const (
	opLit        timeOp = iota // literal text
	opYear                     // %Y, %E4Y: 4 digits
	opYear2                    // %y: 2 digits, 69-99 are 19xx
	opMonth                    // %m
	opDay                      // %d
	opDaySpace                 // %e: day padded with a space
	opYearDay                  // %j: 3 digits
	opHour                     // %H
	opHourSpace                // %k: hour padded with a space
	opHour12                   // %I
	opAMPM                     // %p
	opMinute                   // %M
	opSecond                   // %S
	opSecFrac                  // %E#S, %E*S: seconds with a fraction
	opFrac                     // %f, %#f, %E#f, %E*f: fraction digits
	opEpoch                    // %s: seconds since the epoch
	opMonthAbbr                // %b, %h
	opMonthName                // %B
	opWeekday                  // %a, %A: a weekday name, ignored
	opWeekdayNum               // %u, %w: a weekday digit, ignored
	opZone                     // %z, %Ez, %E*z: numeric offset
	opZoneName                 // %Z: zone abbreviation, read as UTC
)

// timeStep is one step of a compiled layout.
type timeStep struct {
	op  timeOp
	lit string // for opLit
	n   int    // fraction digits for opFrac and opSecFrac (0 means 0 to 9); 1 for opZone with seconds
}

// timeLayout is a compiled %START_TIME(...)% layout.
type timeLayout struct {
	steps []timeStep
}

// compileTimeLayout compiles a strftime layout with the absl and Envoy
// extensions Envoy accepts: %E#S, %E*S, %E#f, %E*f, %#f, %f (nanoseconds),
// %Ez, %E*z, %E4Y and %s. Directives that print text this package cannot
// read back (%c, %x, %U...) are errors.
func compileTimeLayout(layout string) (*timeLayout, error) {
	l := &timeLayout{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			l.steps = append(l.steps, timeStep{op: opLit, lit: lit.String()})
			lit.Reset()
		}
	}
	add := func(ops ...timeOp) {
		flush()
		for _, op := range ops {
			l.steps = append(l.steps, timeStep{op: op})
		}
	}
	for i := 0; i < len(layout); i++ {
		c := layout[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		i++
		if i >= len(layout) {
			return nil, fmt.Errorf("time layout %q: '%%' at the end", layout)
		}
		d := layout[i]
		switch d {
		case '%':
			lit.WriteByte('%')
		case 'n':
			lit.WriteByte('\n')
		case 't':
			lit.WriteByte('\t')
		case 'Y':
			add(opYear)
		case 'y':
			add(opYear2)
		case 'm':
			add(opMonth)
		case 'd':
			add(opDay)
		case 'e':
			add(opDaySpace)
		case 'j':
			add(opYearDay)
		case 'H':
			add(opHour)
		case 'k':
			add(opHourSpace)
		case 'I':
			add(opHour12)
		case 'p':
			add(opAMPM)
		case 'M':
			add(opMinute)
		case 'S':
			add(opSecond)
		case 's':
			add(opEpoch)
		case 'b', 'h':
			add(opMonthAbbr)
		case 'B':
			add(opMonthName)
		case 'a', 'A':
			add(opWeekday)
		case 'u', 'w':
			add(opWeekdayNum)
		case 'z':
			add(opZone)
		case 'Z':
			add(opZoneName)
		case 'F':
			add(opYear)
			lit.WriteByte('-')
			add(opMonth)
			lit.WriteByte('-')
			add(opDay)
		case 'T':
			add(opHour)
			lit.WriteByte(':')
			add(opMinute)
			lit.WriteByte(':')
			add(opSecond)
		case 'R':
			add(opHour)
			lit.WriteByte(':')
			add(opMinute)
		case 'D':
			add(opMonth)
			lit.WriteByte('/')
			add(opDay)
			lit.WriteByte('/')
			add(opYear2)
		case 'f':
			flush()
			l.steps = append(l.steps, timeStep{op: opFrac, n: 9})
		case '1', '2', '3', '4', '5', '6', '7', '8', '9':
			if i+1 >= len(layout) || layout[i+1] != 'f' {
				return nil, fmt.Errorf("time layout %q: unsupported directive %%%c", layout, d)
			}
			i++
			flush()
			l.steps = append(l.steps, timeStep{op: opFrac, n: int(d - '0')})
		case 'E':
			if err := l.compileE(layout, &i, flush); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("time layout %q: unsupported directive %%%c", layout, d)
		}
	}
	flush()
	return l, nil
}

// compileE compiles the absl %E directives; *i is at the 'E'.
func (l *timeLayout) compileE(layout string, i *int, flush func()) error {
	rest := layout[*i+1:]
	bad := func() error {
		return fmt.Errorf("time layout %q: unsupported directive %%E%s", layout, rest[:min(2, len(rest))])
	}
	if len(rest) == 0 {
		return bad()
	}
	n := -1
	switch c := rest[0]; {
	case c == '*':
		n = 0
	case c >= '0' && c <= '9':
		n = int(c - '0')
	case c == 'z':
		flush()
		l.steps = append(l.steps, timeStep{op: opZone})
		*i++
		return nil
	default:
		return bad()
	}
	if len(rest) < 2 {
		return bad()
	}
	flush()
	switch rest[1] {
	case 'S':
		if n == 0 && rest[0] != '*' {
			l.steps = append(l.steps, timeStep{op: opSecond})
		} else {
			l.steps = append(l.steps, timeStep{op: opSecFrac, n: n})
		}
	case 'f':
		if n == 0 && rest[0] != '*' {
			return bad()
		}
		l.steps = append(l.steps, timeStep{op: opFrac, n: n})
	case 'z':
		if rest[0] != '*' {
			return bad()
		}
		l.steps = append(l.steps, timeStep{op: opZone, n: 1})
	case 'Y':
		if rest[0] != '4' {
			return bad()
		}
		l.steps = append(l.steps, timeStep{op: opYear})
	default:
		return bad()
	}
	*i += 2
	return nil
}

// clock collects the parts of a time as a layout reads them.
type clock struct {
	year, month, day, yday int
	hour, minute, sec      int
	nsec                   int64
	offset                 int // seconds east of UTC
	epoch                  int64
	hasEpoch, pm, hour12   bool
	hasDate                bool
}

// parse reads b with the layout and returns Unix nanoseconds, or the offset
// of the first bad byte.
func (l *timeLayout) parse(b []byte) (int64, int, bool) {
	c := clock{year: 1970, month: 1, day: 1}
	i := 0
	for _, st := range l.steps {
		n, ok := c.step(st, b, i)
		if !ok {
			return 0, n, false
		}
		i = n
	}
	if i != len(b) {
		return 0, i, false
	}
	return c.unixNano()
}

// step applies one layout step at b[i:] and returns the new offset, or the
// offset of the bad byte.
func (c *clock) step(st timeStep, b []byte, i int) (int, bool) {
	var v int
	var ok bool
	two := func(lo, hi int) (int, bool) {
		v, ok = digitsAt(b, i, 2)
		return v, ok && v >= lo && v <= hi
	}
	switch st.op {
	case opLit:
		if len(b)-i < len(st.lit) || string(b[i:i+len(st.lit)]) != st.lit {
			return i, false
		}
		return i + len(st.lit), true
	case opYear:
		if v, ok = digitsAt(b, i, 4); !ok {
			return i, false
		}
		c.year, c.hasDate = v, true
		return i + 4, true
	case opYear2:
		if v, ok = two(0, 99); !ok {
			return i, false
		}
		if v < 69 {
			v += 2000
		} else {
			v += 1900
		}
		c.year, c.hasDate = v, true
		return i + 2, true
	case opMonth:
		if c.month, ok = two(1, 12); !ok {
			return i, false
		}
		c.hasDate = true
		return i + 2, true
	case opDay:
		if c.day, ok = two(1, 31); !ok {
			return i, false
		}
		c.hasDate = true
		return i + 2, true
	case opDaySpace, opHourSpace:
		if i+2 > len(b) {
			return i, false
		}
		d := b[i : i+2]
		if d[0] == ' ' {
			d = d[1:]
		}
		n, _, ok := parseUint(d)
		if !ok {
			return i, false
		}
		if st.op == opDaySpace {
			if n < 1 || n > 31 {
				return i, false
			}
			c.day, c.hasDate = int(n), true
		} else {
			if n > 23 {
				return i, false
			}
			c.hour = int(n)
		}
		return i + 2, true
	case opYearDay:
		if v, ok = digitsAt(b, i, 3); !ok || v < 1 || v > 366 {
			return i, false
		}
		c.yday = v
		return i + 3, true
	case opHour:
		if c.hour, ok = two(0, 23); !ok {
			return i, false
		}
		return i + 2, true
	case opHour12:
		if c.hour, ok = two(1, 12); !ok {
			return i, false
		}
		c.hour12 = true
		return i + 2, true
	case opAMPM:
		if i+2 > len(b) {
			return i, false
		}
		switch string(b[i : i+2]) {
		case "AM", "am":
		case "PM", "pm":
			c.pm = true
		default:
			return i, false
		}
		return i + 2, true
	case opMinute:
		if c.minute, ok = two(0, 59); !ok {
			return i, false
		}
		return i + 2, true
	case opSecond:
		if c.sec, ok = two(0, 60); !ok {
			return i, false
		}
		return i + 2, true
	case opSecFrac:
		if c.sec, ok = two(0, 60); !ok {
			return i, false
		}
		i += 2
		if st.n == 0 && (i >= len(b) || b[i] != '.') {
			return i, true
		}
		if i >= len(b) || b[i] != '.' {
			return i, false
		}
		return c.fraction(b, i+1, st.n)
	case opFrac:
		return c.fraction(b, i, st.n)
	case opEpoch:
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		n, _, ok := parseUint(b[i:j])
		if !ok || n > maxUnixSec {
			return i, false
		}
		c.epoch, c.hasEpoch = n, true
		return j, true
	case opMonthAbbr, opMonthName:
		for m, name := range monthNames {
			if st.op == opMonthAbbr {
				name = name[:3]
			}
			if len(b)-i >= len(name) && string(b[i:i+len(name)]) == name {
				c.month, c.hasDate = m+1, true
				return i + len(name), true
			}
		}
		return i, false
	case opWeekday, opZoneName:
		j := i
		for j < len(b) && (b[j]|0x20 >= 'a' && b[j]|0x20 <= 'z') {
			j++
		}
		if j == i {
			return i, false
		}
		return j, true
	case opWeekdayNum:
		if i >= len(b) || b[i] < '0' || b[i] > '7' {
			return i, false
		}
		return i + 1, true
	case opZone:
		if i >= len(b) {
			return i, false
		}
		off, n, ok := parseZone(b[i:])
		if !ok {
			return i + n, false
		}
		c.offset = off
		j := i + n
		if st.n == 1 && b[i] != 'Z' && b[i] != 'z' { // %E*z: "+hh:mm:ss"
			s, ok := digitsAt(b, j+1, 2)
			if j >= len(b) || b[j] != ':' || !ok || s > 59 {
				return j, false
			}
			if b[i] == '-' {
				s = -s
			}
			c.offset += s
			j += 3
		}
		return j, true
	}
	return i, false
}

// fraction reads fraction digits at b[i:]: exactly n, or 0 to 9 when n is 0.
func (c *clock) fraction(b []byte, i, n int) (int, bool) {
	j := i
	scale := int64(1e8)
	c.nsec = 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' && (n == 0 || j-i < n) && j-i < 9 {
		c.nsec += int64(b[j]-'0') * scale
		scale /= 10
		j++
	}
	if n > 0 && j-i != n {
		return j, false
	}
	return j, true
}

// unixNano combines the parts read.
func (c *clock) unixNano() (int64, int, bool) {
	if c.hasEpoch {
		return c.epoch*1e9 + c.nsec, 0, true
	}
	hour := c.hour
	if c.hour12 {
		hour %= 12
		if c.pm {
			hour += 12
		}
	}
	var days int64
	if c.yday > 0 && !(c.hasDate && (c.month != 1 || c.day != 1)) {
		days = daysFromCivil(c.year, 1, 1) + int64(c.yday-1)
	} else {
		if c.day > daysIn(c.year, c.month) {
			return 0, 0, false
		}
		days = daysFromCivil(c.year, c.month, c.day)
	}
	secs := days*86400 + int64(hour*3600+c.minute*60+c.sec-c.offset)
	if secs < minUnixSec || secs > maxUnixSec {
		return 0, 0, false
	}
	return secs*1e9 + c.nsec, 0, true
}

var monthNames = [12]string{
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
}
