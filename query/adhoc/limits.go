package adhoc

import (
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// Limits are the server-enforced bounds of an ad hoc query. They are sent
// with every query as settings, next to readonly=1, which makes the server
// refuse anything but reading.
type Limits struct {
	// MaxExecutionTime is ClickHouse's max_execution_time, rounded up to
	// whole seconds. Default 30s.
	MaxExecutionTime time.Duration `yaml:"max_execution_time"`
	// MaxResultRows is max_result_rows: a query whose result has more rows
	// fails (result_overflow_mode=throw). Default 100000.
	MaxResultRows uint64 `yaml:"max_result_rows"`
	// MaxResultBytes is max_result_bytes (uncompressed); 0 leaves it to the
	// server. Default 256 MiB.
	MaxResultBytes uint64 `yaml:"max_result_bytes"`
	// MaxMemoryUsage is max_memory_usage in bytes for one query. Default 2 GiB.
	MaxMemoryUsage uint64 `yaml:"max_memory_usage"`
	// MaxRowsToRead is max_rows_to_read; 0 leaves it to the server.
	MaxRowsToRead uint64 `yaml:"max_rows_to_read"`
	// MaxQueryBytes bounds the length of the query text. Default 64 KiB.
	MaxQueryBytes int `yaml:"max_query_bytes"`
}

// DefaultLimits are the limits used for zero fields.
var DefaultLimits = Limits{
	MaxExecutionTime: 30 * time.Second,
	MaxResultRows:    100_000,
	MaxResultBytes:   256 << 20,
	MaxMemoryUsage:   2 << 30,
	MaxQueryBytes:    64 << 10,
}

// WithDefaults returns l with zero fields set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.MaxExecutionTime == 0 {
		l.MaxExecutionTime = d.MaxExecutionTime
	}
	if l.MaxResultRows == 0 {
		l.MaxResultRows = d.MaxResultRows
	}
	if l.MaxResultBytes == 0 {
		l.MaxResultBytes = d.MaxResultBytes
	}
	if l.MaxMemoryUsage == 0 {
		l.MaxMemoryUsage = d.MaxMemoryUsage
	}
	if l.MaxQueryBytes == 0 {
		l.MaxQueryBytes = d.MaxQueryBytes
	}
	return l
}

// Validate checks limits after WithDefaults.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxExecutionTime < time.Second {
		errs = append(errs, fmt.Errorf("sql.max_execution_time must be at least 1s, got %s", l.MaxExecutionTime))
	}
	if l.MaxResultRows == 0 {
		errs = append(errs, errors.New("sql.max_result_rows must be positive"))
	}
	if l.MaxMemoryUsage == 0 {
		errs = append(errs, errors.New("sql.max_memory_usage must be positive"))
	}
	if l.MaxQueryBytes <= 0 {
		errs = append(errs, errors.New("sql.max_query_bytes must be positive"))
	}
	return errors.Join(errs...)
}

// Settings are the ClickHouse settings that enforce l. serverRevision is the
// native protocol revision of the server (driver.Conn.ServerVersion): servers
// older than 19.11 take only numeric settings over the native protocol, so
// the overflow modes, which are strings, are left at their default (throw)
// there.
func (l Limits) Settings(serverRevision uint64) clickhouse.Settings {
	s := clickhouse.Settings{
		"readonly":           1,
		"max_execution_time": int((l.MaxExecutionTime + time.Second - 1) / time.Second),
		"max_result_rows":    int(l.MaxResultRows),
		"max_memory_usage":   int(l.MaxMemoryUsage),
	}
	if l.MaxResultBytes > 0 {
		s["max_result_bytes"] = int(l.MaxResultBytes)
	}
	if l.MaxRowsToRead > 0 {
		s["max_rows_to_read"] = int(l.MaxRowsToRead)
	}
	if serverRevision > proto.DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS {
		s["result_overflow_mode"] = "throw"
		s["timeout_overflow_mode"] = "throw"
		s["read_overflow_mode"] = "throw"
	}
	return s
}
