package envoy

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
)

// runRecordOps feeds the resolver access log records made from ops, four
// bytes each: both sidecars of a few services (and a gateway) logging
// requests with a few shared request ids, inbound and outbound clusters,
// failures, TCP, addresses it learns, out of order and late; settled in
// batches, with time passing so that held source sides are released. No
// panic, every observation one call, and never more observations than
// records.
func runRecordOps(t *testing.T, ops []byte) {
	clk := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	r, err := NewResolver(Config{Wait: 2 * time.Second, MaxPending: 8, Now: func() time.Time { return clk }})
	if err != nil {
		t.Fatal(err)
	}
	emitters := []string{"shop/web", "shop/cart", "shop/pay", "istio-system/istio-ingressgateway"}
	clusters := []string{"outbound|80||cart.shop.svc.cluster.local", "inbound|80||", "outbound|443||api.stripe.com",
		"PassthroughCluster", "BlackHoleCluster", "outbound|80||pay.shop.svc.cluster.local", ""}
	addrs := []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:5432", "", "[::1]:80"}
	var b Batch
	records, observations := 0, 0
	count := func() {
		for _, o := range b.Obs {
			if o.Count != 1 || o.Errors > 1 {
				t.Fatalf("observation %+v", o)
			}
		}
		observations += len(b.Obs)
		b.Reset()
	}
	for len(ops) >= 4 {
		op, x, y, z := ops[0], ops[1], ops[2], ops[3]
		ops = ops[4:]
		switch op % 5 {
		case 0, 1, 2:
			em, err := ParseEmitter(emitters[x%4])
			if err != nil {
				t.Fatal(err)
			}
			flags := []string{"-", "UF,URX", "NR", "DC"}[z%4]
			rec := Record{TCP: y%7 == 0, Emitter: em, Entry: accesslog.Entry{
				StartTime: clk.Add(-time.Duration(z%5) * time.Second).UnixNano(),
				Method:    "GET", Protocol: "HTTP/1.1", UpstreamCluster: clusters[y%7], Authority: "cart",
				UpstreamHost: addrs[x/4%5], DownstreamRemoteAddress: addrs[y/7%5], DownstreamLocalAddress: addrs[z/4%5],
				RequestID: []string{"a", "b", "c", ""}[op/5%4], ResponseCode: []int{200, 503, 0, 404}[x/20%4],
				ResponseFlags: flags, Flags: accesslog.ParseFlags(flags), Duration: int64(z) * int64(time.Millisecond), UpstreamServiceTime: -1,
			}}
			r.Add(&b, &rec)
			records++
		case 3:
			r.Settle(&b)
			count()
		case 4:
			clk = clk.Add(time.Duration(x%4) * time.Second)
			b.Obs = r.releaseDue(b.Obs, clk.UnixNano())
			count()
		}
	}
	r.Settle(&b)
	b.Obs = r.Flush(b.Obs)
	count()
	if observations > records {
		t.Fatalf("%d observations from %d records", observations, records)
	}
}

func FuzzRecordSequences(f *testing.F) {
	r := rand.New(rand.NewPCG(12, 13))
	for range 8 {
		f.Add(randomRecordOps(r))
	}
	f.Fuzz(runRecordOps)
}

// TestRecordSequencesRandom runs random record sequences through
// runRecordOps on every test run.
func TestRecordSequencesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	for range 300 {
		runRecordOps(t, randomRecordOps(r))
	}
}

func randomRecordOps(r *rand.Rand) []byte {
	ops := make([]byte, 4*(10+r.IntN(150)))
	for i := range ops {
		ops[i] = byte(r.UintN(256))
	}
	return ops
}
