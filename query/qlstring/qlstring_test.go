package qlstring

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		s    string
		pos  int
		want string
		end  int
	}{
		{`"a\"b" rest`, 0, `a"b`, 6},
		{"x `raw\\d` y", 2, `raw\d`, 9},
		{`= "\u00e9"`, 2, "é", 10},
	} {
		v, end, err := Read(tc.s, tc.pos)
		require.NoError(t, err, tc.s)
		require.Equal(t, tc.want, v, tc.s)
		require.Equal(t, tc.end, end, tc.s)
	}
	for _, bad := range []string{`"open`, `"\q"`, `x`, ``} {
		_, _, err := Read(bad, 0)
		require.Error(t, err, bad)
	}
}
