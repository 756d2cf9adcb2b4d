package query

import (
	"errors"
	"fmt"
	"time"

	"github.com/meshscope/meshscope/query/adhoc"
	"github.com/meshscope/meshscope/query/stream"
)

// Config configures the API server. Zero fields take the defaults of
// WithDefaults; YAML keys are given in the tags.
type Config struct {
	// Tokens are the bearer tokens accepted (cmd loads them from
	// --auth-token-file). Empty: no authentication. When set, every route
	// needs one except /healthz, /readyz and routes mounted with MountPublic
	// (the UI's static files); the stream also accepts ?token=.
	Tokens []string `yaml:"-"`
	// RequestTimeout bounds the ClickHouse work of one REST request (not
	// SQL, which has SQL.MaxExecutionTime, nor the stream). Default 30s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// DefaultLimit is the number of rows /traces and /requests answer when
	// the request gives no limit. Default 100.
	DefaultLimit int `yaml:"default_limit"`
	// MaxLimit caps the limit parameter of /traces and /requests. Default 10000.
	MaxLimit int `yaml:"max_limit"`
	// DefaultRange is the range of series, traces and requests when the
	// request gives no from. Default 1h.
	DefaultRange time.Duration `yaml:"default_range"`
	// MaxPoints caps the points of a series: a step giving more is
	// refused, and without a step one is chosen to give at most this many.
	// Default 1000.
	MaxPoints int `yaml:"max_points"`
	// LogPatternSample is how many records at most GET
	// /api/v1/logs/patterns and /loki/api/v1/patterns make their patterns
	// of; a search matching more is sampled. Default 100000.
	LogPatternSample int `yaml:"log_pattern_sample"`
	// SQL are the limits of POST /api/v1/sql.
	SQL adhoc.Limits `yaml:"sql"`
	// Stream configures GET /api/v1/graph/stream.
	Stream stream.Config `yaml:"stream"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.DefaultLimit == 0 {
		c.DefaultLimit = 100
	}
	if c.MaxLimit == 0 {
		c.MaxLimit = 10000
	}
	if c.DefaultRange == 0 {
		c.DefaultRange = time.Hour
	}
	if c.MaxPoints == 0 {
		c.MaxPoints = 1000
	}
	if c.LogPatternSample == 0 {
		c.LogPatternSample = 100_000
	}
	c.SQL = c.SQL.WithDefaults()
	c.Stream = c.Stream.WithDefaults()
	return c
}

// Validate checks c after WithDefaults.
func (c Config) Validate() error {
	var errs []error
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request_timeout must be positive, got %s", c.RequestTimeout))
	}
	if c.DefaultLimit < 1 {
		errs = append(errs, fmt.Errorf("default_limit must be at least 1, got %d", c.DefaultLimit))
	}
	if c.MaxLimit < c.DefaultLimit {
		errs = append(errs, fmt.Errorf("max_limit (%d) must be at least default_limit (%d)", c.MaxLimit, c.DefaultLimit))
	}
	if c.DefaultRange <= 0 {
		errs = append(errs, fmt.Errorf("default_range must be positive, got %s", c.DefaultRange))
	}
	if c.LogPatternSample < 1 {
		errs = append(errs, fmt.Errorf("log_pattern_sample must be at least 1, got %d", c.LogPatternSample))
	}
	if c.MaxPoints < 2 {
		errs = append(errs, fmt.Errorf("max_points must be at least 2, got %d", c.MaxPoints))
	}
	if err := c.SQL.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Stream.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
