package query

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// structMatched over a tree: a root r with children a and b; a with
// children c and d; d with child e. Left marks, right marks, and what
// each operator answers (by span id).
func TestStructMatched(t *testing.T) {
	tree := func(left, right string) []structSpan {
		parents := map[string]string{"r": "", "a": "r", "b": "r", "c": "a", "d": "a", "e": "d"}
		var out []structSpan
		for _, id := range []string{"r", "a", "b", "c", "d", "e"} {
			out = append(out, structSpan{id: id, parent: parents[id], left: strings.Contains(left, id), right: strings.Contains(right, id)})
		}
		return out
	}
	ids := func(spans []structSpan, idx []int) string {
		out := ""
		for _, i := range idx {
			out += spans[i].id
		}
		return out
	}
	for _, tc := range []struct {
		op, left, right, want string
	}{
		{">", "a", "rabcde", "cd"},
		{">>", "a", "rabcde", "cde"},
		{">>", "r", "e", "e"},
		{">>", "b", "cde", ""},
		{"<", "e", "rabcde", "d"},
		{"<<", "e", "rabcde", "rad"},
		{"<<", "c", "b", ""},
		{"~", "c", "rabcde", "d"},
		{"~", "a", "b", "b"},
		{"~", "r", "rabcde", ""},
	} {
		spans := tree(tc.left, tc.right)
		require.Equal(t, tc.want, ids(spans, structMatched(tc.op, spans)), "%s %s %s", tc.left, tc.op, tc.right)
	}
	// A span whose parent was not stored ends its walk; a cycle ends too.
	broken := []structSpan{{id: "x", parent: "gone", right: true}, {id: "p", parent: "q", left: true}, {id: "q", parent: "p", right: true}}
	require.Equal(t, "q", ids(broken, structMatched(">>", broken)))
}
