package meshmetrics

import (
	"github.com/cespare/xxhash/v2"

	"github.com/meshscope/meshscope/schema"
)

// lbls reads the labels and resource attributes of one series row.
type lbls struct {
	row *schema.MetricSeriesRow
}

// get returns the value of label name, or "".
func (l lbls) get(name string) string {
	for i, k := range l.row.LabelKeys {
		if k == name && i < len(l.row.LabelValues) {
			return l.row.LabelValues[i]
		}
	}
	return ""
}

// res returns the value of resource attribute name, or "".
func (l lbls) res(name string) string {
	for i, k := range l.row.ResourceKeys {
		if k == name && i < len(l.row.ResourceValues) {
			return l.row.ResourceValues[i]
		}
	}
	return ""
}

// known returns s, or "" when s is a placeholder for an unknown value.
func known(s string) string {
	switch s {
	case "unknown", "-":
		return ""
	}
	return s
}

// first returns the first of ss that is known.
func first(ss ...string) string {
	for _, s := range ss {
		if s = known(s); s != "" {
			return s
		}
	}
	return ""
}

// groupKey hashes what identifies a call group: the family, the resource
// and every label except those the family leaves out (and the metric name,
// which is not among the row's labels).
func groupKey(f family, row *schema.MetricSeriesRow) uint64 {
	var d xxhash.Digest
	d.Reset()
	sep := []byte{0xff}
	_, _ = d.Write([]byte{byte(f)})
	for i, k := range row.ResourceKeys {
		_, _ = d.WriteString(k)
		_, _ = d.Write(sep)
		if i < len(row.ResourceValues) {
			_, _ = d.WriteString(row.ResourceValues[i])
		}
		_, _ = d.Write(sep)
	}
	_, _ = d.Write(sep)
	for i, k := range row.LabelKeys {
		if k == "__name__" || f.groupIgnores(k) {
			continue
		}
		_, _ = d.WriteString(k)
		_, _ = d.Write(sep)
		if i < len(row.LabelValues) {
			_, _ = d.WriteString(row.LabelValues[i])
		}
		_, _ = d.Write(sep)
	}
	return d.Sum64()
}

// hashStrings hashes a few strings into one key.
func hashStrings(ss ...string) uint64 {
	var d xxhash.Digest
	d.Reset()
	for _, s := range ss {
		_, _ = d.WriteString(s)
		_, _ = d.Write([]byte{0xff})
	}
	return d.Sum64()
}

// hostOf drops a trailing ":port" from an authority.
func hostOf(authority string) string {
	for i := len(authority) - 1; i >= 0; i-- {
		c := authority[i]
		if c == ':' {
			if i < len(authority)-1 {
				return authority[:i]
			}
			return authority
		}
		if c < '0' || c > '9' {
			return authority
		}
	}
	return authority
}
