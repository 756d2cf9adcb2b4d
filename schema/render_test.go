package schema_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
)

var update = flag.Bool("update", false, "rewrite the golden DDL snapshots")

// The DDL for each supported server family is kept as a snapshot, since only
// 18.16 runs on the test machines: a change to the rendered schema shows up in
// review as a diff of these files.
func TestRenderedDDLSnapshots(t *testing.T) {
	cases := []struct {
		name    string
		version string
		cluster string
	}{
		{"clickhouse-18.16", "18.16.1", ""},
		{"clickhouse-22.8", "22.8.21", ""},
		{"clickhouse-23.8", "23.8.16", ""},
		{"clickhouse-24.8", "24.8.4", ""},
		{"clickhouse-25.8", "25.8.1", ""},
		{"clickhouse-18.16-cluster", "18.16.1", "meshscope"},
		{"clickhouse-24.8-cluster", "24.8.4", "meshscope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := schema.ParseVersion(tc.version)
			require.NoError(t, err)
			o := schema.RenderOptions{Version: v, Database: "meshscope", Cluster: tc.cluster}
			var b strings.Builder
			for _, m := range schema.Migrations() {
				fmt.Fprintf(&b, "-- migration %d: %s\n", m.ID, m.Name)
				for _, stmt := range m.Statements(o) {
					b.WriteString(stmt + ";\n\n")
				}
			}
			path := filepath.Join("testdata", "ddl", tc.name+".sql")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./schema -update to create the snapshot")
			require.Equal(t, string(want), b.String())
		})
	}
}

func TestVersionFeatures(t *testing.T) {
	old, err := schema.ParseVersion("18.16.1")
	require.NoError(t, err)
	require.False(t, old.HasLowCardinality())
	require.False(t, old.HasCodecs())
	require.False(t, old.HasSkipIndexes())
	modern, err := schema.ParseVersion("24.8.4.13-lts")
	require.NoError(t, err)
	require.True(t, modern.HasLowCardinality() && modern.HasCodecs() && modern.HasSkipIndexes() && modern.HasMap())
	_, err = schema.ParseVersion("banana")
	require.Error(t, err)
}

func TestModernDDLUsesFeaturesOldDoesNot(t *testing.T) {
	v18, _ := schema.ParseVersion("18.16.1")
	v24, _ := schema.ParseVersion("24.8.1")
	old := strings.Join(schema.SpansTable.Statements(schema.RenderOptions{Version: v18, Database: "m"}), "\n")
	modern := strings.Join(schema.SpansTable.Statements(schema.RenderOptions{Version: v24, Database: "m"}), "\n")
	for _, feature := range []string{"LowCardinality(", "CODEC(", "INDEX idx_trace_id"} {
		require.NotContains(t, old, feature)
		require.Contains(t, modern, feature)
	}
}
