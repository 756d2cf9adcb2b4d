package schema

import "sort"

var registry = map[int]Migration{}

// Register adds a migration to the schema's history. Packages that own tables
// (such as the edge aggregates) register theirs from a file in this package so
// that the whole history lives in one place; Register panics on a duplicate id
// because that is a programming error caught by every test run.
func Register(m Migration) {
	if _, dup := registry[m.ID]; dup {
		panic("schema: duplicate migration id")
	}
	registry[m.ID] = m
}

// Migrations returns every migration in id order.
func Migrations() []Migration {
	out := make([]Migration, 0, len(registry))
	for _, m := range registry {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func init() {
	Register(Migration{ID: 1, Name: "core tables", Objects: []Object{
		SpansTable, LogsTable, MetricSeriesTable, MetricSamplesTable, RequestsTable,
	}})
}
