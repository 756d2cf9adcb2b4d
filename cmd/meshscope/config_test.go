package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
)

// Flags beat MESHSCOPE_* variables, which beat the YAML file, which beats
// the defaults.
func TestOptionPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "meshscope.yaml")
	require.NoError(t, os.WriteFile(file, []byte("http-addr: 0.0.0.0:9000\notlp-grpc-addr: 0.0.0.0:9001\nretention: 3d\nwal-max-bytes: 2GiB\n"), 0o644))
	t.Setenv("MESHSCOPE_OTLP_GRPC_ADDR", "0.0.0.0:9101")
	t.Setenv("MESHSCOPE_WAL_MAX_BYTES", "512MiB")

	var o serveOptions
	fs := newFlagSet("serve", "")
	o.register(fs)
	require.NoError(t, parseOptions(fs, []string{"--config", file, "--wal-max-bytes", "256MiB"}))
	require.Equal(t, "0.0.0.0:9000", o.httpAddr, "from the file")
	require.Equal(t, "0.0.0.0:9101", o.otlpGRPCAddr, "environment over the file")
	require.EqualValues(t, 256<<20, o.walMaxBytes, "flag over environment and file")
	require.Equal(t, 3*24*time.Hour, time.Duration(o.retention), "from the file")
	require.Equal(t, "127.0.0.1:4318", o.otlpHTTPAddr, "default")
	require.NoError(t, o.validate())
}

func TestOptionErrorsNameTheOption(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(file, []byte("http-adr: 1\n"), 0o644))
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown yaml key", []string{"--config", file}, nil, `unknown key "http-adr"`},
		{"bad environment value", nil, map[string]string{"MESHSCOPE_RETENTION": "forever"}, "MESHSCOPE_RETENTION"},
		{"bad size", []string{"--wal-max-bytes", "lots"}, nil, "wal-max-bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var o serveOptions
			fs := newFlagSet("serve", "")
			fs.SetOutput(new(discard))
			o.register(fs)
			err := parseOptions(fs, tc.args)
			require.ErrorContains(t, err, tc.want)
		})
	}
	var o serveOptions
	fs := newFlagSet("serve", "")
	o.register(fs)
	require.NoError(t, parseOptions(fs, []string{"--clickhouse", "http://ch:8123"}))
	require.ErrorContains(t, o.validate(), "--clickhouse")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Options checked by validate name the option and why.
func TestValidateNamesTheOption(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--provenance-preference", "span,logs,metric"}, `--provenance-preference "span,logs,metric": provenance 2 "logs": want span, accesslog or metric`},
		{[]string{"--accesslog-wait", "40s"}, "--accesslog-wait 40s: want between 0 and --edge-flush-delay (30s)"},
		{[]string{"--slo-evaluator", "meshscope-0:8080"}, `--slo-evaluator "meshscope-0:8080": want the evaluating replica's base URL`},
		{[]string{"--wal-compression", "lz4"}, `--wal-compression "lz4": want s2, snappy, zstd or none`},
		{[]string{"--clickhouse-http", "http://ch:8123"}, `--clickhouse-http "http://ch:8123": only with --clickhouse`},
		{[]string{"--clickhouse", "clickhouse://ch:9000/m", "--clickhouse-http", "ch:8123"}, `--clickhouse-http "ch:8123": want a URL such as http://host:8123`},
	}
	for _, tc := range cases {
		var o serveOptions
		fs := newFlagSet("serve", "")
		o.register(fs)
		require.NoError(t, parseOptions(fs, tc.args))
		require.ErrorContains(t, o.validate(), tc.want)
	}
	var o serveOptions
	fs := newFlagSet("serve", "")
	o.register(fs)
	require.NoError(t, parseOptions(fs, []string{"--provenance-preference", "span, accesslog,metric"}))
	require.NoError(t, o.validate())
	require.Equal(t, []graph.Provenance{graph.FromSpan, graph.FromAccessLog, graph.FromMetric}, mustProvenanceList(o.provenancePref))
}
