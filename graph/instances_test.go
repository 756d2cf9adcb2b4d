package graph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The outlier rules: a replica is marked only when it stands out from the
// others by enough requests.
func TestMarkOutliers(t *testing.T) {
	mk := func(name string, n, e uint64, p50 float64) Instance {
		in := Instance{Instance: name, Requests: n, Errors: e, P50Ms: p50}
		return in
	}
	for _, tc := range []struct {
		name string
		list []Instance
		want map[string][]string
	}{
		{"one instance is no outlier", []Instance{mk("a", 1000, 900, 900)}, nil},
		{"every replica fails alike", []Instance{mk("a", 1000, 300, 10), mk("b", 1000, 310, 10), mk("c", 1000, 290, 10)}, nil},
		{"too few errors", []Instance{mk("a", 4, 4, 10), mk("b", 1000, 0, 10)}, nil},
		{"not significant", []Instance{mk("a", 60, 6, 10), mk("b", 100, 5, 10)}, nil},
		{"one bad of three", []Instance{mk("a", 1000, 10, 10), mk("b", 1000, 12, 10), mk("c", 1000, 80, 10)}, map[string][]string{"c": {"errors"}}},
		{"a small but clear difference", []Instance{mk("a", 100000, 100, 10), mk("b", 100000, 300, 10)}, map[string][]string{"b": {"errors"}}},
		{"slow and failing", []Instance{mk("a", 500, 0, 10), mk("b", 500, 1, 12), mk("c", 500, 100, 40)}, map[string][]string{"c": {"errors", "latency"}}},
		{"a canary's one pod", []Instance{mk("a", 1000, 10, 10), mk("b", 1000, 12, 10), func() Instance { c := mk("c", 1000, 800, 90); c.Version = "v2"; return c }()}, nil},
		{"slow over too few requests", []Instance{mk("a", 500, 0, 10), mk("b", 19, 0, 40)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := tc.list
			FinishInstances(list, time.Minute)
			got := map[string][]string{}
			for _, in := range list {
				if len(in.Outlier) > 0 {
					got[in.Instance] = in.Outlier
				}
			}
			if tc.want == nil {
				tc.want = map[string][]string{}
			}
			require.Equal(t, tc.want, got)
			if len(tc.want) > 0 {
				require.NotEmpty(t, list[0].Outlier, "outliers come first")
			}
		})
	}
}
