package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshscope/meshscope/schema/chlocal"
	"github.com/meshscope/meshscope/schema/chstore"
)

// clickhouseTarget resolves --clickhouse / --data-dir for the one-shot
// commands: a DSN, else the managed server that a running serve started.
func clickhouseTarget(dsn, dataDir string) (string, error) {
	if dsn != "" {
		return dsn, nil
	}
	st, err := chlocal.ReadState(filepath.Join(dataDir, "clickhouse"))
	if err != nil {
		return "", fmt.Errorf("%w; or give --clickhouse DSN", err)
	}
	return "clickhouse://default@" + st.Addr + "/meshscope", nil
}

// openTarget opens the ClickHouse of --clickhouse or --data-dir
// (clickhouseTarget) for a one-shot command.
func openTarget(ctx context.Context, dsn, dataDir, cluster string) (*chstore.Store, error) {
	target, err := clickhouseTarget(dsn, dataDir)
	if err != nil {
		return nil, err
	}
	return chstore.Open(ctx, chstore.Config{DSN: target, Cluster: cluster})
}

func runMigrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate", "Apply meshscope's schema to ClickHouse (idempotent) and print what was applied.")
	fs.String("config", "", "YAML file with options (keys are flag names)")
	dataDir := fs.String("data-dir", "./data", "data dir of a running `meshscope serve` whose managed ClickHouse to use")
	dsn := fs.String("clickhouse", "", "ClickHouse DSN (clickhouse://user:pass@host:9000/meshscope)")
	cluster := fs.String("clickhouse-cluster", "", "ClickHouse cluster name for ON CLUSTER DDL")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	st, err := openTarget(ctx, *dsn, *dataDir, *cluster)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Printf("schema is current (ClickHouse %s, database %s)\n", st.Version(), st.Database())
		return nil
	}
	fmt.Printf("applied migrations %v (ClickHouse %s, database %s)\n", applied, st.Version(), st.Database())
	return nil
}

func runBackfill(ctx context.Context, args []string) error {
	fs := newFlagSet("backfill", "Rebuild derived tables from stored data: meshscope backfill [options] trace-summaries|exception-groups|exceptions\n\n"+
		"trace-summaries: in a database upgraded to the trace summaries, summarise the spans stored before\n"+
		"they existed, day by day, newest first, so that trace searches over those days read the summaries\n"+
		"instead of grouping spans. Run it once the day of the upgrade is over (UTC); a stopped run resumes.\n"+
		"Single servers only.\n\n"+
		"exception-groups: in a database upgraded to the exception history, add the exceptions of the spans\n"+
		"and logs stored before it, day by day, oldest first, so that the exceptions list can tell which are\n"+
		"new at once rather than after retention has dropped those days.\n\n"+
		"exceptions: in a database upgraded to the exceptions table, copy the exceptions of the spans and logs\n"+
		"stored before it, day by day, newest first, so that the exceptions list and the trace search by\n"+
		"exception read the table for those days too. Run it once the day of the upgrade is over (UTC); a\n"+
		"stopped run resumes. Single servers only.")
	fs.String("config", "", "YAML file with options (keys are flag names)")
	dataDir := fs.String("data-dir", "./data", "data dir of a running `meshscope serve` whose managed ClickHouse to use")
	dsn := fs.String("clickhouse", "", "ClickHouse DSN (clickhouse://user:pass@host:9000/meshscope)")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	what := strings.Join(fs.Args(), " ")
	if what != "trace-summaries" && what != "exception-groups" && what != "exceptions" {
		return fmt.Errorf("what to backfill: trace-summaries, exception-groups or exceptions (got %q)", what)
	}
	st, err := openTarget(ctx, *dsn, *dataDir, "")
	if err != nil {
		return err
	}
	defer st.Close()
	if current, err := st.Current(ctx); err != nil || !current {
		if err != nil {
			return fmt.Errorf("the schema is not current (%w): run meshscope migrate (or meshscope serve) first", err)
		}
		return fmt.Errorf("the schema is not current: run meshscope migrate (or meshscope serve) first")
	}
	switch what {
	case "exception-groups":
		return backfillExceptionGroups(ctx, st)
	case "exceptions":
		return rebuildDays(ctx, st.BackfillExceptions, st.ExceptionsSince, "exceptions copied", "the exceptions table holds every exception")
	}
	return rebuildDays(ctx, st.BackfillTraceSummaries, st.TraceSummariesSince, "spans summarised", "the trace summaries hold every span")
}

// rebuildDays runs a day-by-day backfill (a derived table rebuilt from its
// sources), reporting each day on stderr (counted as did) and what holds
// after it on stdout.
func rebuildDays(ctx context.Context, backfill func(context.Context, time.Time, func(chstore.BackfillProgress)) (int, error),
	since func(context.Context) (time.Time, bool, error), did, holds string) error {
	n, err := backfill(ctx, time.Now(), func(p chstore.BackfillProgress) {
		fmt.Fprintf(os.Stderr, "%s: %d %s in %s (day %d of %d)\n", p.Day.Format(time.DateOnly), p.Spans, did, p.Took.Round(time.Millisecond), p.N, p.Days)
	})
	if err != nil {
		return err
	}
	at, _, err := since(ctx)
	if err != nil {
		return err
	}
	switch {
	case at.Equal(chstore.SummariesCoverAll):
		fmt.Printf("nothing to backfill: %s\n", holds)
	case n == 0:
		fmt.Printf("nothing to backfill: %s since %s\n", holds, at.Format(time.RFC3339))
	default:
		fmt.Printf("rebuilt %d days: %s since %s\n", n, holds, at.Format(time.RFC3339))
	}
	return nil
}

// backfillExceptionGroups runs `meshscope backfill exception-groups`.
func backfillExceptionGroups(ctx context.Context, st *chstore.Store) error {
	n, err := st.BackfillExceptionGroups(ctx, func(p chstore.BackfillProgress) {
		fmt.Fprintf(os.Stderr, "%s: exceptions grouped in %s (day %d of %d)\n", p.Day.Format(time.DateOnly), p.Took.Round(time.Millisecond), p.N, p.Days)
	})
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Println("nothing to backfill: the exception history holds every stored exception")
		return nil
	}
	fmt.Printf("added %d days: the exception history holds every stored exception\n", n)
	return nil
}
