// Command meshscope is the one meshscope binary: it wires the receivers,
// the write-ahead log, ClickHouse, the graph builder, the query API and the UI
// together. It holds no logic of its own beyond that wiring.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server: receivers, ClickHouse (managed or given), graph, API and UI", runServe},
		{"migrate", "apply the schema to ClickHouse and exit", runMigrate},
		{"backfill", "rebuild derived tables from stored data (trace-summaries, exception-groups, exceptions)", runBackfill},
		{"sql", "run a read-only SQL query against meshscope's ClickHouse", runSQL},
		{"import", "send Envoy access log files to a running server", runImport},
		{"slo", "check SLO spec files, or backtest them over stored data", runSLO},
		{"demo", "generate a realistic mesh's telemetry and send it to a running server", runDemo},
		{"version", "print the version", runVersion},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "meshscope: mesh observability and topology analytics\n\nUsage:\n  meshscope COMMAND [options]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun `meshscope COMMAND --help` for a command's options.\n")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands() {
		if c.name == name {
			err := c.run(ctx, os.Args[2:])
			if errors.Is(err, flag.ErrHelp) {
				return
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "meshscope %s: %v\n", name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "meshscope: unknown command %q\n\n", name)
	usage()
	os.Exit(2)
}
