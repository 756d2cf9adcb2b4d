package spec

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse feeds arbitrary bytes to the spec parser: it must never panic,
// and whatever it accepts must survive a write and a read unchanged.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/short.yaml", "testdata/openslo.yaml"} {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(valid))
	f.Add([]byte(`{"name":"a","target":{"edge":{"source":"a/b","destination":"external:x"}},"sli":{"latency":{"threshold":"1s"}},"objective":90,"window":"1d"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse(data, DefaultAlerting())
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		written := make([]SLO, len(got))
		for i, p := range got {
			written[i] = p.Spec
		}
		out, err := Marshal("", written...)
		require.NoError(t, err)
		again, err := Parse(out, DefaultAlerting())
		require.NoError(t, err, string(out))
		require.Len(t, again, len(got))
		for i := range got {
			require.Equal(t, got[i].Resolved.Name, again[i].Resolved.Name)
			require.Equal(t, got[i].Resolved.Target, again[i].Resolved.Target)
			require.Equal(t, got[i].Resolved.Objective, again[i].Resolved.Objective)
		}
	})
}
