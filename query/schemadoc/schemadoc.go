// Package schemadoc renders the table reference of docs/schema.md from the
// schema's registered migrations (Table.Doc and Column.Doc), so that the
// documentation lists every table and column the server creates. A test
// keeps docs/schema.md in step (go test ./query/schemadoc -update rewrites
// it) and runs every example query of the document against ClickHouse. It
// imports schema only.
package schemadoc

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/meshscope/meshscope/schema"
)

// Markers delimit the generated part of docs/schema.md.
const (
	BeginMarker = "<!-- BEGIN GENERATED TABLES: go test ./query/schemadoc -update; do not edit by hand -->"
	EndMarker   = "<!-- END GENERATED TABLES -->"
)

// Document renders the table reference of docs/schema.md: every object of
// the registered migrations, then the bookkeeping table schema_migrations.
func Document() string {
	var b strings.Builder
	b.WriteString(Tables(schema.Migrations()))
	t := schema.MigrationsTable
	fmt.Fprintf(&b, "### `%s`\n\n%s Created before the first migration; meshscope's own bookkeeping.\n\n", t.Name, t.Doc)
	columns(&b, t)
	return b.String()
}

// Tables renders every table (and, briefly, every other object) created by
// migs, in migration order, as markdown.
func Tables(migs []schema.Migration) string {
	var b strings.Builder
	for _, m := range migs {
		for _, obj := range m.Objects {
			switch o := obj.(type) {
			case schema.Table:
				table(&b, o, m)
			case schema.View:
				fmt.Fprintf(&b, "### `%s` (materialized view)\n\n%s Writes into `%s`. (migration %d, %s)\n\n", o.Name, o.Doc, o.To, m.ID, m.Name)
			default:
				other(&b, obj, m)
			}
		}
	}
	return b.String()
}

func table(b *strings.Builder, t schema.Table, m schema.Migration) {
	fmt.Fprintf(b, "### `%s`\n\n%s\n\n", t.Name, t.Doc)
	fmt.Fprintf(b, "Engine %s", engine(t.Engine))
	if t.PartitionBy != "" {
		fmt.Fprintf(b, ", partitioned by `%s`", t.PartitionBy)
	}
	fmt.Fprintf(b, ", ordered by `%s`. Created by migration %d (%s).\n\n", t.OrderBy, m.ID, m.Name)
	columns(b, t)
}

func columns(b *strings.Builder, t schema.Table) {
	b.WriteString("| column | type | description |\n|---|---|---|\n")
	for _, c := range t.Columns {
		typ := c.Type
		if c.LowCard {
			typ = "LowCardinality(" + typ + ")¹"
		}
		fmt.Fprintf(b, "| `%s` | `%s` | %s |\n", c.Name, typ, cell(c.Doc))
	}
	b.WriteString("\n")
}

func engine(e string) string {
	if strings.Contains(e, "(") {
		return "`" + e + "`"
	}
	return "`" + e + "()`"
}

// other describes objects of types schema does not export (such as the
// edge rollup views) by their Name and To fields.
func other(b *strings.Builder, obj schema.Object, m schema.Migration) {
	v := reflect.Indirect(reflect.ValueOf(obj))
	if v.Kind() != reflect.Struct {
		return
	}
	name := v.FieldByName("Name")
	if !name.IsValid() || name.Kind() != reflect.String {
		return
	}
	fmt.Fprintf(b, "### `%s` (materialized view)\n\n", name.String())
	if to := v.FieldByName("To"); to.IsValid() {
		if t, ok := to.Interface().(schema.Table); ok {
			fmt.Fprintf(b, "Rolls rows up into `%s` as they are inserted. ", t.Name)
		}
	}
	fmt.Fprintf(b, "Created by migration %d (%s).\n\n", m.ID, m.Name)
}

// cell escapes text for a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// Splice replaces the generated part of doc (between the markers) with
// tables; ok is false when the markers are missing.
func Splice(doc, tables string) (string, bool) {
	i := strings.Index(doc, BeginMarker)
	j := strings.Index(doc, EndMarker)
	if i < 0 || j < i {
		return doc, false
	}
	return doc[:i+len(BeginMarker)] + "\n\n" + tables + doc[j:], true
}
