package adhoc

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// leaf says how the innermost values of a column are shown.
type leaf uint8

const (
	leafPlain leaf = iota
	leafHex        // FixedString: binary ids, shown as hex
	leafDate       // Date, Date32: 2006-01-02
)

// leafOf looks through Nullable, LowCardinality and Array to the element type.
func leafOf(chType string) leaf {
	t := chType
	for {
		inner, ok := unwrap(t, "Nullable", "LowCardinality", "Array")
		if !ok {
			break
		}
		t = inner
	}
	switch {
	case strings.HasPrefix(t, "FixedString("):
		return leafHex
	case t == "Date" || t == "Date32":
		return leafDate
	}
	return leafPlain
}

func unwrap(t string, wrappers ...string) (string, bool) {
	for _, w := range wrappers {
		if strings.HasPrefix(t, w+"(") && strings.HasSuffix(t, ")") {
			return t[len(w)+1 : len(t)-1], true
		}
	}
	return t, false
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	bigIntType   = reflect.TypeFor[big.Int]()
	stringerType = reflect.TypeFor[fmt.Stringer]()
	marshalType  = reflect.TypeFor[json.Marshaler]()
)

// appendJSON appends v as JSON. NaN and infinities become null, times RFC
// 3339 in UTC, 64-bit integers stay exact numbers.
func appendJSON(b []byte, v reflect.Value, lf leaf) []byte {
	if !v.IsValid() {
		return append(b, "null"...)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, "null"...)
		}
		if v.Kind() == reflect.Pointer && v.Type().Elem() == bigIntType {
			return v.Interface().(*big.Int).Append(b, 10)
		}
		return appendJSON(b, v.Elem(), lf)
	case reflect.String:
		if lf == leafHex {
			b = append(b, '"')
			b = hex.AppendEncode(b, []byte(v.String()))
			return append(b, '"')
		}
		return appendJSONString(b, v.String())
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, v.Type().Bits())
	}
	switch t := v.Type(); {
	case t == timeType:
		return appendJSONString(b, formatTime(v.Interface().(time.Time), lf))
	case t.Implements(marshalType):
		return appendMarshal(b, v)
	case t.Implements(stringerType):
		return appendJSONString(b, v.Interface().(fmt.Stringer).String())
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, v.Index(i), lf)
		}
		return append(b, ']')
	case reflect.Map:
		b = append(b, '{')
		iter := v.MapRange()
		first := true
		for iter.Next() {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, cellText(iter.Key(), leafPlain))
			b = append(b, ':')
			b = appendJSON(b, iter.Value(), leafPlain)
		}
		return append(b, '}')
	}
	return appendMarshal(b, v)
}

func appendMarshal(b []byte, v reflect.Value) []byte {
	j, err := json.Marshal(v.Interface())
	if err != nil {
		return appendJSONString(b, fmt.Sprint(v.Interface()))
	}
	return append(b, j...)
}

func formatTime(t time.Time, lf leaf) string {
	if lf == leafDate {
		return t.Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// cellText is v as one CSV cell: strings as they are (FixedString in hex),
// numbers in decimal, times in RFC 3339, composite values as JSON. null
// reports a NULL, written as an empty cell.
func cellText(v reflect.Value, lf leaf) string {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return ""
		}
		if v.Kind() == reflect.Pointer && v.Type().Elem() == bigIntType {
			return v.Interface().(*big.Int).String()
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return ""
	}
	switch v.Kind() {
	case reflect.String:
		if lf == leafHex {
			return hex.EncodeToString([]byte(v.String()))
		}
		return v.String()
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return string(appendJSON(nil, v, lf))
	}
	if v.Type() == timeType {
		return formatTime(v.Interface().(time.Time), lf)
	}
	if v.Type().Implements(stringerType) && !v.Type().Implements(marshalType) {
		return v.Interface().(fmt.Stringer).String()
	}
	return string(appendJSON(nil, v, lf))
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
