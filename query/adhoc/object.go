package adhoc

import (
	"fmt"
	"reflect"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ObjectEncoder encodes rows of any query as JSON objects keyed by column
// name, with Run's rules for values (FixedString in hex, times in RFC 3339,
// NaN as null). The API uses it to return table rows as they are.
type ObjectEncoder struct {
	keys   [][]byte
	dest   []any
	leaves []leaf
}

// NewObjectEncoder prepares an encoder for the columns of rows.
func NewObjectEncoder(rows driver.Rows) *ObjectEncoder {
	types := rows.ColumnTypes()
	e := &ObjectEncoder{keys: make([][]byte, len(types)), dest: make([]any, len(types)), leaves: make([]leaf, len(types))}
	for i, t := range types {
		e.keys[i] = append(appendJSONString(nil, t.Name()), ':')
		e.dest[i] = reflect.New(t.ScanType()).Interface()
		e.leaves[i] = leafOf(t.DatabaseTypeName())
	}
	return e
}

// Append scans the current row of rows and appends it to dst as an object.
func (e *ObjectEncoder) Append(dst []byte, rows driver.Rows) ([]byte, error) {
	if err := rows.Scan(e.dest...); err != nil {
		return dst, fmt.Errorf("read row: %w", err)
	}
	dst = append(dst, '{')
	for i, d := range e.dest {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, e.keys[i]...)
		dst = appendJSON(dst, reflect.ValueOf(d), e.leaves[i])
	}
	return append(dst, '}'), nil
}
