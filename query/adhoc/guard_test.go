package adhoc

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckAccepts(t *testing.T) {
	for _, q := range []string{
		"SELECT 1",
		"select 1;",
		"SELECT 1 ;  -- trailing comment",
		"  /* leading comment */ SELECT count() FROM spans",
		"SELECT 'DROP TABLE spans; --' AS s",
		`SELECT "name", ` + "`kind`" + ` FROM spans`,
		"SELECT 'it''s', 'back\\'slash' FROM system.one",
		"SELECT * FROM system.tables WHERE database = currentDatabase()",
		"SELECT name FROM system.columns WHERE table = 'spans'",
		"SHOW TABLES",
		"SHOW CREATE TABLE spans",
		"DESCRIBE TABLE spans",
		"DESC requests",
		"EXISTS TABLE spans",
		"WITH 10 AS n SELECT number FROM system.numbers LIMIT n",
		"WITH top AS (SELECT service_name FROM spans LIMIT 5) SELECT * FROM top",
		"(SELECT 1) UNION ALL (SELECT 2)",
		"SELECT EXTRACT(YEAR FROM timestamp), trim(BOTH ' ' FROM name) FROM spans",
		"SELECT substring(path FROM 2) FROM requests",
		"SELECT format('{} {}', service_name, name) FROM spans",
		"SELECT k FROM spans ARRAY JOIN attr_keys AS k",
		"SELECT r.path FROM requests AS r JOIN spans AS s ON r.trace_id = s.trace_id",
		"SELECT * FROM spans AS a, requests AS b WHERE a.trace_id = b.trace_id",
		"SELECT * FROM numbers(10)",
		"SELECT * FROM merge(currentDatabase(), '^edges_')",
		"SELECT arrayMap(x -> x * 2, [1, 2, 3])",
		"SELECT hex(trace_id) FROM spans WHERE trace_id = unhex('0102')",
		"SELECT `settings` FROM (SELECT 1 AS `settings`)",
		"SELECT intDiv(toUnixTimestamp(timestamp), 60) * 60 AS t, count() FROM requests GROUP BY t ORDER BY t",
		"SELECT 'héllo wörld' AS ünïcode",
		"SELECT format, name FROM (SELECT 'csv' AS format, 'x' AS name)",
	} {
		t.Run(q, func(t *testing.T) {
			require.NoError(t, Check(q))
		})
	}
}

func TestCheckRefusesWithName(t *testing.T) {
	for _, tc := range []struct{ q, what string }{
		{"", "empty query"},
		{"  -- only a comment\n", "empty query"},
		{"SELECT 1; SELECT 2", "multiple statements"},
		{"SELECT 'a'' ; DROP TABLE spans", "unterminated quote"},
		{"SELECT 1 /* unterminated", "unterminated comment"},
		{"SELECT format('x') FROM t FORMAT JSON", "FORMAT"},
		{"SELECT 1 INTO OUTFILE 'x'", "INTO OUTFILE"},
		{"SELECT * FROM t SETTINGS max_threads = 1", "SETTINGS"},
		{"SELECT * FROM unknownTableFunction(1)", "unknowntablefunction()"},
		{"SELECT * FROM spans, generateSomething(1)", "generatesomething()"},
		{"DESCRIBE TABLE url('http://x', CSV)", "url()"},
		{"UPDATE spans SET name = ''", "UPDATE"},
		{"SELECT 1 AS insert", "INSERT"},
	} {
		t.Run(tc.q, func(t *testing.T) {
			err := Check(tc.q)
			var refused *RefusedError
			require.True(t, errors.As(err, &refused), "got %v", err)
			require.Equal(t, tc.what, refused.What)
			require.Contains(t, err.Error(), "query refused")
		})
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"SELECT 1", "SELECT 'a''b' -- c\n", "/* x */ SELECT `a`(1) FROM url('x')", "SELECT \"a\\\"b\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		err := Check(q)
		if err == nil {
			return
		}
		var refused *RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("Check returned %T, want *RefusedError", err)
		}
	})
}
