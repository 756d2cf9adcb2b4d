package adhoc

import (
	"fmt"
	"strings"
)

// RefusedError is a query the guard will not send. What names the refused
// construct ("INSERT", "SETTINGS", "url()", "multiple statements"...).
type RefusedError struct {
	What   string
	Reason string
	Pos    int
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("query refused: %s (at offset %d)", e.Reason, e.Pos)
}

func refuse(t token, what, reason string) error {
	return &RefusedError{What: what, Reason: reason, Pos: t.pos}
}

// leading are the statements a query may start with.
var leading = map[string]bool{
	"SELECT": true, "WITH": true, "SHOW": true, "DESC": true, "DESCRIBE": true, "EXISTS": true, "EXPLAIN": true,
}

// statements are keywords that start a statement that writes, changes
// settings or state, or leaves the database; refused wherever they appear as
// a bare word.
var statements = map[string]bool{
	"INSERT": true, "ALTER": true, "CREATE": true, "DROP": true, "TRUNCATE": true, "RENAME": true,
	"OPTIMIZE": true, "GRANT": true, "REVOKE": true, "SYSTEM": true, "KILL": true, "ATTACH": true,
	"DETACH": true, "SET": true, "USE": true, "DELETE": true, "UPDATE": true, "EXCHANGE": true,
	"UNDROP": true, "BACKUP": true, "RESTORE": true, "MOVE": true, "WATCH": true, "CHECK": true,
}

// deniedFunctions read or write outside the database (files, URLs, other
// servers, external databases, programs). Named so that the refusal says which.
var deniedFunctions = map[string]bool{
	"url": true, "urlcluster": true, "file": true, "filecluster": true, "remote": true, "remotesecure": true,
	"cluster": true, "clusterallreplicas": true, "s3": true, "s3cluster": true, "gcs": true, "oss": true, "cosn": true,
	"hdfs": true, "hdfscluster": true, "mysql": true, "postgresql": true, "jdbc": true, "odbc": true,
	"input": true, "executable": true, "sqlite": true, "mongodb": true, "redis": true,
	"azureblobstorage": true, "azureblobstoragecluster": true, "iceberg": true, "icebergs3": true,
	"icebergazure": true, "iceberghdfs": true, "deltalake": true, "hudi": true, "catboostpool": true,
	"arrowflight": true, "ytsaurus": true,
}

// tableFunctions are the table functions accepted where a table is expected:
// they produce data from their arguments or from this server's own tables.
var tableFunctions = map[string]bool{
	"numbers": true, "numbers_mt": true, "zeros": true, "zeros_mt": true, "generaterandom": true,
	"generate_series": true, "generateseries": true, "values": true, "null": true, "merge": true,
	"view": true, "dictionary": true, "format": true,
}

// fromEnds are the keywords that end a FROM clause's list of tables.
var fromEnds = map[string]bool{
	"WHERE": true, "PREWHERE": true, "GROUP": true, "ORDER": true, "LIMIT": true, "HAVING": true,
	"UNION": true, "INTERSECT": true, "EXCEPT": true, "ON": true, "USING": true, "ARRAY": true,
	"SAMPLE": true, "FINAL": true, "WINDOW": true, "QUALIFY": true, "OFFSET": true,
}

// Check is the lexical guard run before a query is sent. It is not a parser
// and not the security boundary (the server's readonly=1 is): it refuses,
// with a message naming what, the queries meshscope never sends, so that
// they fail early and clearly, and so that what readonly=1 allows but a
// shared observability store should not (table functions reaching files,
// URLs and other servers) is stopped. Refused: multiple statements,
// statements other than SELECT/WITH/SHOW/DESCRIBE/EXISTS/EXPLAIN, the
// keywords of writing or administrative statements anywhere, SETTINGS and
// FORMAT clauses, INTO OUTFILE, and table functions other than local ones.
func Check(q string) error {
	toks, err := lex(q)
	if err != nil {
		le := err.(*lexError)
		return &RefusedError{What: le.what, Reason: le.msg, Pos: le.pos}
	}
	// Trailing semicolons end the one statement; any other is a second one.
	for len(toks) > 0 && toks[len(toks)-1].text == ";" && toks[len(toks)-1].kind == tokSymbol {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return &RefusedError{What: "empty query", Reason: "empty query"}
	}
	for _, t := range toks {
		if t.kind == tokSymbol && t.text == ";" {
			return refuse(t, "multiple statements", "multiple statements: send one query at a time")
		}
	}
	if err := checkLeading(toks); err != nil {
		return err
	}
	for i := range toks {
		if err := checkToken(toks, i); err != nil {
			return err
		}
	}
	return checkTables(toks)
}

func checkLeading(toks []token) error {
	first := toks[0]
	for _, t := range toks {
		if !(t.kind == tokSymbol && t.text == "(") {
			first = t
			break
		}
	}
	kw := strings.ToUpper(first.text)
	if first.kind == tokWord && leading[kw] {
		return nil
	}
	if first.kind == tokWord && statements[kw] {
		return refuse(first, kw, kw+" statements are refused: only read-only queries (SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN) are accepted")
	}
	return refuse(first, first.text, fmt.Sprintf("a query must start with SELECT, WITH, SHOW, DESCRIBE, EXISTS or EXPLAIN, not %q", first.text))
}

func next(toks []token, i int) (token, bool) {
	if i+1 < len(toks) {
		return toks[i+1], true
	}
	return token{}, false
}

func isSymbol(t token, ok bool, s string) bool { return ok && t.kind == tokSymbol && t.text == s }

func checkToken(toks []token, i int) error {
	t := toks[i]
	nt, hasNext := next(toks, i)
	if (t.kind == tokWord || t.kind == tokQuoted) && isSymbol(nt, hasNext, "(") {
		if name := strings.ToLower(t.text); deniedFunctions[name] {
			return refuse(t, name+"()", fmt.Sprintf("table function %s() is refused: it reads outside the database", name))
		}
	}
	if t.kind != tokWord {
		return nil
	}
	kw := strings.ToUpper(t.text)
	switch {
	case kw == "SETTINGS":
		return refuse(t, "SETTINGS", "SETTINGS clause is refused: the server sets this query's limits")
	case kw == "INTO":
		if nt.kind == tokWord && strings.EqualFold(nt.text, "OUTFILE") {
			return refuse(t, "INTO OUTFILE", "INTO OUTFILE is refused: results are returned, never written to files")
		}
		return refuse(t, "INTO", "INTO is refused: only read-only queries are accepted")
	case kw == "OUTFILE" || kw == "INFILE":
		return refuse(t, kw, kw+" is refused: results are returned, never written to files")
	case kw == "FORMAT" && hasNext && (nt.kind == tokWord || nt.kind == tokQuoted):
		return refuse(t, "FORMAT", "FORMAT clause is refused: ask for json or csv with the format field")
	case kw == "SYSTEM" && isSymbol(nt, hasNext, "."):
		return nil // the system database
	case kw == "CREATE" && i == 1 && strings.EqualFold(toks[0].text, "SHOW"):
		return nil // SHOW CREATE TABLE
	case statements[kw]:
		return refuse(t, kw, kw+" is refused: only read-only queries are accepted")
	}
	return nil
}

// checkTables refuses table functions outside tableFunctions where a table
// is expected: after FROM or JOIN (not ARRAY JOIN), after a comma in a FROM
// list, and after DESCRIBE [TABLE]. FROM counts only in parentheses that hold
// a query, so that EXTRACT(DAY FROM d) and trim(BOTH ' ' FROM s) are not
// mistaken for a FROM clause.
func checkTables(toks []token) error {
	type level struct{ query, inFrom bool }
	stack := []level{{query: true}}
	tableAt := func(i int) error {
		if i >= len(toks) {
			return nil
		}
		t := toks[i]
		if t.kind != tokWord && t.kind != tokQuoted {
			return nil
		}
		if nt, ok := next(toks, i); !isSymbol(nt, ok, "(") {
			return nil
		}
		if name := strings.ToLower(t.text); !tableFunctions[name] {
			return refuse(t, name+"()", fmt.Sprintf("table function %s() is refused: accepted table functions are numbers, zeros, generateRandom, values, null, merge, view, dictionary and format", name))
		}
		return nil
	}
	for i, t := range toks {
		top := &stack[len(stack)-1]
		switch {
		case t.kind == tokSymbol && t.text == "(":
			nt, _ := next(toks, i)
			kw := strings.ToUpper(nt.text)
			stack = append(stack, level{query: nt.kind == tokWord && (kw == "SELECT" || kw == "WITH")})
		case t.kind == tokSymbol && t.text == ")":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case t.kind == tokSymbol && t.text == "," && top.inFrom:
			if err := tableAt(i + 1); err != nil {
				return err
			}
		case t.kind == tokWord:
			kw := strings.ToUpper(t.text)
			switch {
			case i == 0 && (kw == "DESC" || kw == "DESCRIBE"):
				j := 1
				if j < len(toks) && strings.EqualFold(toks[j].text, "TABLE") {
					j++
				}
				if err := tableAt(j); err != nil {
					return err
				}
			case !top.query:
			case kw == "FROM" || kw == "JOIN" && !(i > 0 && strings.EqualFold(toks[i-1].text, "ARRAY")):
				top.inFrom = true
				if err := tableAt(i + 1); err != nil {
					return err
				}
			case fromEnds[kw] || kw == "SELECT":
				top.inFrom = false
			}
		}
	}
	return nil
}
