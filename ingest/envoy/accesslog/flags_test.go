package accesslog

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		in   string
		want Flags
		str  string
	}{
		{"", 0, "-"},
		{"-", 0, "-"},
		{"UH", FlagUH, "UH"},
		{"UF,URX", FlagUF | FlagURX, "UF,URX"},
		{"URX,UF", FlagUF | FlagURX, "UF,URX"},
		{"DC,", FlagDC, "DC"},
		{"UAEX,RLSE,UMSDR", FlagUAEX | FlagRLSE | FlagUMSDR, "UAEX,RLSE,UMSDR"},
		{"XX", FlagUnknown, "?"},
		{"uh", FlagUnknown, "?"},
		{"NR,XX", FlagNR | FlagUnknown, "NR,?"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := ParseFlags(tc.in)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.str, got.String())
		})
	}
}

func TestEveryFlagCode(t *testing.T) {
	codes := "UH UF UO NR URX NC DT DC LH UT LR UR UC DI FI RL UAEX RLSE IH SI DPE UPE UMSDR OM DF RFCF NFCF DO DR"
	var all Flags
	for i, code := range strings.Fields(codes) {
		f := ParseFlags(code)
		require.Equal(t, Flags(1)<<i, f, code)
		require.Equal(t, code, f.String())
		all |= f
	}
	require.Equal(t, all, ParseFlags(strings.ReplaceAll(codes, " ", ",")))
	require.Equal(t, strings.ReplaceAll(codes, " ", ","), all.String())
	require.True(t, all.Has(FlagUH|FlagDR))
	require.False(t, all.Has(FlagUnknown))
}
