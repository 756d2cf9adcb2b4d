package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meshscope/meshscope/slo"
	"github.com/meshscope/meshscope/slo/spec"
)

const sloUsage = `Usage:
  meshscope slo check FILE|DIR...                   validate SLO spec files
  meshscope slo rules [--logs] FILE|GLOB...         validate rule files as serve --rule-files (--log-rule-files) loads them
  meshscope slo backtest FILE [options]             list when the SLOs of FILE would have paged and ticketed

Run ` + "`meshscope slo backtest --help`" + ` for the backtest options.`

// runSLO implements `meshscope slo check` and `meshscope slo backtest`.
func runSLO(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, sloUsage)
		return fmt.Errorf("want a subcommand: check, rules or backtest")
	}
	switch args[0] {
	case "check":
		return runSLOCheck(os.Stdout, args[1:])
	case "rules":
		return runSLORules(os.Stdout, args[1:])
	case "backtest":
		return runSLOBacktest(ctx, os.Stdout, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(os.Stderr, sloUsage)
		return nil
	}
	fmt.Fprintln(os.Stderr, sloUsage)
	return fmt.Errorf("unknown subcommand %q: want check, rules or backtest", args[0])
}

// runSLORules validates Prometheus rule files as serve --rule-files loads
// them (recording rules refused) and lists their groups and alerts.
func runSLORules(w io.Writer, args []string) error {
	fs := newFlagSet("slo rules", "Validate Prometheus rule files as `serve --rule-files` loads them: meshscope slo rules FILE|GLOB...\n"+
		"Every error names its file, group and rule; the exit status is 1 if any file is invalid.")
	interval := fs.Duration("interval", 30*time.Second, "the interval of groups that set none (serve's --slo-interval)")
	logs := fs.Bool("logs", false, "the files' expressions are LogQL, as serve --log-rule-files reads them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("want at least one rule file")
	}
	groups, err := slo.CheckRules(fs.Args(), *interval, *logs)
	for _, g := range groups {
		fmt.Fprintf(w, "%s: group %s, every %s: %d alerting rules\n", g.File, g.Name, g.Interval, len(g.Alerts))
		for _, a := range g.Alerts {
			fmt.Fprintf(w, "  %s\n", a)
		}
	}
	return err
}

// sloSpecFiles expands directories into their spec files, as the engine reads them.
func sloSpecFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, de := range ents {
			switch filepath.Ext(de.Name()) {
			case ".yaml", ".yml", ".json":
				if !de.IsDir() && !strings.HasPrefix(de.Name(), ".") {
					out = append(out, filepath.Join(p, de.Name()))
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func runSLOCheck(w io.Writer, args []string) error {
	fs := newFlagSet("slo check", "Validate SLO spec files (short form or OpenSLO): meshscope slo check FILE|DIR...\n"+
		"Every invalid field is reported with its path; the exit status is 1 if any file is invalid.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("want at least one spec file or directory")
	}
	files, err := sloSpecFiles(fs.Args())
	if err != nil {
		return err
	}
	bad := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		parsed, err := spec.Parse(data, spec.DefaultAlerting())
		if err != nil {
			bad++
			fmt.Fprintf(w, "%s: %v\n", f, err)
			continue
		}
		fmt.Fprintf(w, "%s: %d SLOs\n", f, len(parsed))
		for _, p := range parsed {
			s := p.Resolved
			fmt.Fprintf(w, "  %-32s %s, objective %g%% over %s\n", s.Name, describeSLI(&s), s.Objective, s.Window)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d spec files are invalid", bad, len(files))
	}
	return nil
}

func describeSLI(s *spec.SLO) string {
	what := "availability"
	if s.SLI.Kind == spec.Latency {
		what = "latency <= " + s.SLI.Threshold.String()
	}
	switch t := s.Target; {
	case t.Service != "":
		return what + " of " + t.Service
	case t.Edge != nil:
		return what + " of " + t.Edge.Source + " -> " + t.Edge.Destination
	}
	return what + " of a filter"
}

// parseWhen reads an instant: RFC 3339, "now", "now-7d", or a duration ago ("7d", "36h").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	ago := strings.TrimPrefix(strings.TrimPrefix(s, "now"), "-")
	if d, err := spec.ParseDuration(ago); err == nil && d > 0 {
		return now.Add(-d.D()), nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time, now, now-7d or a duration ago such as 7d (got %q)", s)
}

func runSLOBacktest(ctx context.Context, w io.Writer, args []string) error {
	fs := newFlagSet("slo backtest", "Replay the SLOs of a spec file over the data in ClickHouse and list when they would have\n"+
		"paged and ticketed: meshscope slo backtest FILE [options]. Alerting defaults are the built-in ones (SRE Workbook).")
	fs.String("config", "", "YAML file with options (keys are flag names)")
	dataDir := fs.String("data-dir", "./data", "data dir of a running `meshscope serve` whose managed ClickHouse to read")
	dsn := fs.String("clickhouse", "", "ClickHouse DSN (clickhouse://user:pass@host:9000/meshscope)")
	from := fs.String("from", "now-7d", "start of the replay: RFC 3339, now-DURATION (now-7d, now-36h)")
	to := fs.String("to", "now", "end of the replay: RFC 3339, now or now-DURATION")
	step := fs.Duration("step", 30*time.Second, "evaluation interval replayed; every alerting window must be a multiple of it")
	only := fs.String("slo", "", "backtest only the SLO of this name")
	format := fs.String("format", "text", "text or json")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	// The file may come before, between or after the options.
	var files []string
	for fs.NArg() > 0 {
		files = append(files, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if len(files) != 1 {
		return fmt.Errorf("want one spec file: meshscope slo backtest FILE --from now-7d --to now (got %d)", len(files))
	}
	file := files[0]
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	now := time.Now().UTC().Truncate(time.Second)
	q := slo.BacktestQuery{Step: *step}
	var err error
	if q.From, err = parseWhen(*from, now); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if q.To, err = parseWhen(*to, now); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	parsed, err := spec.Parse(data, spec.DefaultAlerting())
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if *only != "" {
		kept := parsed[:0]
		for _, p := range parsed {
			if p.Spec.Name == *only {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			return fmt.Errorf("--slo %q: no SLO of that name in %s", *only, file)
		}
		parsed = kept
	}
	st, err := openTarget(ctx, *dsn, *dataDir, "")
	if err != nil {
		return err
	}
	defer st.Close()
	var results []*slo.BacktestResult
	for _, p := range parsed {
		s := p.Resolved
		res, err := slo.Backtest(ctx, st.Conn(), &s, q)
		if err != nil {
			var ie *slo.InputError
			if errors.As(err, &ie) {
				return fmt.Errorf("slo %s: --%s: %s", s.Name, ie.Field, ie.Reason)
			}
			return err
		}
		results = append(results, res)
	}
	if *format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printBacktest(w, results)
	return nil
}

func printBacktest(w io.Writer, results []*slo.BacktestResult) {
	for _, r := range results {
		sli := "no requests"
		if r.SLI != nil {
			sli = fmt.Sprintf("SLI %.4f%% of %d requests", *r.SLI*100, r.Counts.Total)
		}
		fmt.Fprintf(w, "%s: %d firings (%s; %d evaluations every %s from %s, counted from %s)\n",
			r.SLO, len(r.Firings), sli, r.Evaluations, r.Step, r.From.Format(time.RFC3339), r.Source)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range r.Firings {
			end, took := "still firing", r.To.Sub(f.Start)
			if f.End != nil {
				end, took = f.End.Format(time.RFC3339), f.End.Sub(f.Start)
			}
			note := ""
			if f.NoData {
				note = "\tno data"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\tpeak burn %.3g%s\n", f.Severity, f.Start.Format(time.RFC3339), end, spec.Duration(took), f.PeakBurn, note)
		}
		tw.Flush()
	}
}
