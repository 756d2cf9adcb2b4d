package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a ClickHouse server version, as reported by SELECT version().
type Version struct {
	Major, Minor int
}

// ParseVersion parses "18.16.1", "24.3.2.23" or "25.8.1.1-lts".
func ParseVersion(s string) (Version, error) {
	parts := strings.SplitN(strings.TrimSpace(s), ".", 3)
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("parse clickhouse version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return Version{}, fmt.Errorf("parse clickhouse version %q: major: %w", s, err)
	}
	minorText := parts[1]
	if i := strings.IndexFunc(minorText, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorText = minorText[:i]
	}
	minor, err := strconv.Atoi(minorText)
	if err != nil {
		return Version{}, fmt.Errorf("parse clickhouse version %q: minor: %w", s, err)
	}
	return Version{Major: major, Minor: minor}, nil
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Features the renderer switches on by server version. Each names the release
// that introduced it, so a reader can check the claim in the ClickHouse changelog.

// HasLowCardinality: LowCardinality(T) without experimental settings, 19.3.
func (v Version) HasLowCardinality() bool { return v.AtLeast(19, 3) }

// HasCodecs: per-column compression codecs (CODEC(Delta, ZSTD)), 19.1.
func (v Version) HasCodecs() bool { return v.AtLeast(19, 1) }

// HasSkipIndexes: data skipping indexes without the experimental setting, 20.1.
func (v Version) HasSkipIndexes() bool { return v.AtLeast(20, 1) }

// HasTTL: table and column TTL expressions, 19.6.
func (v Version) HasTTL() bool { return v.AtLeast(19, 6) }

// HasDateTime64: DateTime64(precision), 20.1.
func (v Version) HasDateTime64() bool { return v.AtLeast(20, 1) }

// HasMap: Map(K, V), 21.1.
func (v Version) HasMap() bool { return v.AtLeast(21, 1) }

// HasAsyncInsert: server-side async_insert, 21.11.
func (v Version) HasAsyncInsert() bool { return v.AtLeast(21, 11) }

// HasNonReplicatedDedup: insert deduplication on tables without
// replication (the non_replicated_deduplication_window table setting), 21.5
// (ClickHouse pull request 22514).
func (v Version) HasNonReplicatedDedup() bool { return v.AtLeast(21, 5) }

// HasToStartOfInterval: toStartOfInterval(t, INTERVAL n unit), 19.1 (18.16 lacks it).
func (v Version) HasToStartOfInterval() bool { return v.AtLeast(19, 1) }
