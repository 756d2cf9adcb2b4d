package scrape

import (
	"testing"
	"time"

	"github.com/meshscope/meshscope/ingest/meshmetrics"
)

// FuzzParse feeds arbitrary exposition text, as two scrapes of one target,
// through parsing and the Deriver: neither may panic. The seed corpus in
// testdata/fuzz/FuzzParse holds Istio, Linkerd and Envoy excerpts.
func FuzzParse(f *testing.F) {
	target := Target{URL: "http://10.0.0.7:15090/stats/prometheus", Labels: map[string]string{"namespace": "default"}}
	at := time.Unix(1795773600, 0)
	f.Fuzz(func(t *testing.T, first, second []byte) {
		d, err := meshmetrics.New(meshmetrics.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for i, body := range [][]byte{first, second} {
			series, samples, err := Parse(body, "text/plain; version=0.0.4", at.Add(time.Duration(i)*15*time.Second), target)
			if err != nil {
				continue
			}
			for _, o := range d.Flush(d.Derive(series, samples, nil)) {
				if o.Latency != nil && o.Latency.Total() != o.Count {
					t.Fatalf("latency of %d calls for a count of %d", o.Latency.Total(), o.Count)
				}
				if o.Errors > o.Count {
					t.Fatalf("%d errors of %d calls", o.Errors, o.Count)
				}
			}
		}
	})
}
