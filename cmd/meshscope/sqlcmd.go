package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meshscope/meshscope/query/adhoc"
)

func runSQL(ctx context.Context, args []string) error {
	fs := newFlagSet("sql", "Run a read-only query against meshscope's ClickHouse: meshscope sql [options] QUERY\n"+
		"Tables: spans, logs, metric_series, metric_samples, requests, edges_10s, edges_1m, edges_1h, trace_summaries, exception_groups (docs/schema.md).")
	fs.String("config", "", "YAML file with options (keys are flag names)")
	dataDir := fs.String("data-dir", "./data", "data dir of a running `meshscope serve` whose managed ClickHouse to query")
	dsn := fs.String("clickhouse", "", "ClickHouse DSN (clickhouse://user:pass@host:9000/meshscope)")
	format := fs.String("format", "table", "table, csv or json")
	timeout := fs.Duration("max-execution-time", 30*time.Second, "server-enforced time limit")
	maxRows := fs.Uint64("max-result-rows", 100_000, "server-enforced limit on result rows")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	q := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if q == "" || q == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		q = strings.TrimSpace(string(b))
	}
	if q == "" {
		return fmt.Errorf("no query: give it as an argument or on standard input")
	}
	if *format != "table" && *format != adhoc.FormatCSV && *format != adhoc.FormatJSON {
		return fmt.Errorf("--format %q: want table, csv or json", *format)
	}
	st, err := openTarget(ctx, *dsn, *dataDir, "")
	if err != nil {
		return err
	}
	defer st.Close()
	lim := adhoc.Limits{MaxExecutionTime: *timeout, MaxResultRows: *maxRows}
	if *format != "table" {
		_, err := adhoc.Run(ctx, st.Conn(), q, lim, os.Stdout, *format)
		if err == nil && *format == adhoc.FormatJSON {
			fmt.Println()
		}
		return err
	}
	var buf bytes.Buffer
	stats, err := adhoc.Run(ctx, st.Conn(), q, lim, &buf, adhoc.FormatJSON)
	if err != nil {
		return err
	}
	if err := printTable(os.Stdout, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d rows in %s\n", stats.Rows, stats.Elapsed.Round(time.Millisecond))
	return nil
}

// printTable renders the JSON result of adhoc.Run as aligned columns.
func printTable(w io.Writer, result []byte) error {
	var res struct {
		Columns []struct{ Name, Type string } `json:"columns"`
		Rows    [][]json.RawMessage           `json:"rows"`
		Error   string                        `json:"error"`
	}
	if err := json.Unmarshal(result, &res); err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	if res.Error != "" {
		return fmt.Errorf("%s", res.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	names := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		names[i] = c.Name
	}
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	for _, row := range res.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			var s string
			if json.Unmarshal(v, &s) == nil {
				cells[i] = s
			} else {
				cells[i] = string(v)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
