package main

import (
	"context"
	"fmt"
	"path/filepath"

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

func runMigrate(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate", "Apply meshscope's schema to ClickHouse (idempotent) and print what was applied.")
	fs.String("config", "", "YAML file with options (keys are flag names)")
	dataDir := fs.String("data-dir", "./data", "data dir of a running `meshscope serve` whose managed ClickHouse to use")
	dsn := fs.String("clickhouse", "", "ClickHouse DSN (clickhouse://user:pass@host:9000/meshscope)")
	cluster := fs.String("clickhouse-cluster", "", "ClickHouse cluster name for ON CLUSTER DDL")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	target, err := clickhouseTarget(*dsn, *dataDir)
	if err != nil {
		return err
	}
	st, err := chstore.Open(ctx, chstore.Config{DSN: target, Cluster: *cluster})
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
