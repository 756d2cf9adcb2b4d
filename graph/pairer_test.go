package graph

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshscope/meshscope/schema"
)

// randomSpans is n spans over few trace and span ids, so that keys meet
// often: pairs, a client or server twice, several consumers of a producer,
// sidecar spans covering the application's, links, roots.
func randomSpans(r *rand.Rand, n int) []schema.SpanRow {
	services := []string{"a", "b", "c"}
	spans := make([]schema.SpanRow, n)
	for i := range spans {
		s := schema.SpanRow{
			StartUnixNano: uint64(1e18 + r.IntN(1e9)),
			DurationNanos: uint64(r.IntN(1e6)),
			TraceID:       schema.TraceID{byte(r.IntN(3))},
			SpanID:        schema.SpanID{byte(1 + r.IntN(8))},
			Kind:          uint8(1 + r.IntN(5)),
			ServiceName:   services[r.IntN(len(services))],
			StatusCode:    uint8(r.IntN(3)),
		}
		if r.IntN(4) > 0 {
			s.ParentSpanID = schema.SpanID{byte(1 + r.IntN(8))}
		}
		if r.IntN(6) == 0 {
			s.AttrKeys, s.AttrValues = []string{"component"}, []string{"proxy"}
		}
		if s.Kind == schema.SpanKindConsumer && r.IntN(2) == 0 {
			s.ParentSpanID = schema.SpanID{}
			s.LinkTraceIDs = []schema.TraceID{s.TraceID, {byte(r.IntN(3))}}
			s.LinkSpanIDs = []schema.SpanID{{byte(1 + r.IntN(8))}, {byte(1 + r.IntN(8))}}
		}
		if s.Kind >= schema.SpanKindProducer {
			s.AttrKeys = append(s.AttrKeys, "messaging.system", "messaging.destination.name")
			s.AttrValues = append(s.AttrValues, "kafka", "orders")
		}
		spans[i] = s
	}
	return spans
}

// TestPairsWithinABatchAsOneByOne: a batch gives the calls, in the same
// order, and leaves the same entries waiting, as its spans added one at a
// time (which go through the store, as every span did before halves in
// one batch paired there), including when the store holds keys from
// earlier batches.
func TestPairsWithinABatchAsOneByOne(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	newP := func() *pairer { return newPairer(time.Second, 1<<20, newBuilderMetrics(prometheus.NewRegistry())) }
	calls := 0
	for range 500 {
		batched, single := newP(), newP()
		var gotB, gotS []Observation
		now := int64(1e18)
		for range 1 + r.IntN(3) {
			spans := randomSpans(r, r.IntN(40))
			gotB = batched.add(spans, now, gotB)
			for i := range spans {
				gotS = single.add(spans[i:i+1], now, gotS)
			}
			if batched.pending() != single.pending() {
				t.Fatalf("%d entries waiting after a batch, %d after its spans one by one", batched.pending(), single.pending())
			}
			now += int64(time.Millisecond)
		}
		gotB = batched.expire(now+int64(time.Hour), gotB)
		gotS = single.expire(now+int64(time.Hour), gotS)
		if !reflect.DeepEqual(gotB, gotS) {
			t.Fatalf("calls of batches:\n%+v\none by one:\n%+v", gotB, gotS)
		}
		calls += len(gotB)
	}
	if calls == 0 {
		t.Fatal("no calls at all: the spans do not exercise the pairer")
	}
}

// TestPairsWithinABatchWhenTheStoreIsFull: halves of a call in one batch
// pair even when the store has no room for more entries; halves that need
// the store are dropped and counted.
func TestPairsWithinABatchWhenTheStoreIsFull(t *testing.T) {
	p := newPairer(time.Second, 1, newBuilderMetrics(prometheus.NewRegistry()))
	client := func(trace, span byte) schema.SpanRow {
		return schema.SpanRow{TraceID: schema.TraceID{trace}, SpanID: schema.SpanID{span}, Kind: schema.SpanKindClient, ServiceName: "a"}
	}
	server := func(trace, parent byte) schema.SpanRow {
		return schema.SpanRow{TraceID: schema.TraceID{trace}, SpanID: schema.SpanID{99}, ParentSpanID: schema.SpanID{parent}, Kind: schema.SpanKindServer, ServiceName: "b"}
	}
	out := p.add([]schema.SpanRow{client(1, 1)}, 0, nil) // fills the store
	out = p.add([]schema.SpanRow{client(2, 1), server(3, 1), server(2, 1)}, 0, out)
	if len(out) != 1 || out[0].Source.Name != "a" || out[0].Destination.Name != "b" {
		t.Fatalf("calls %+v, want one from a to b", out)
	}
	if p.pending() != 1 {
		t.Fatalf("%d entries waiting, want the first client's", p.pending())
	}
	if n := testutil.ToFloat64(p.m.spanStoreFull); n != 1 {
		t.Fatalf("%v spans dropped for a full store, want the lone server's 1", n)
	}
}

// TestPartyCacheKeepsCopies: parties the cache remembers hold copies of
// the caller's strings, which the caller may reuse once the call returns.
func TestPartyCacheKeepsCopies(t *testing.T) {
	c := partyCache{seen: map[Party]Party{}}
	buf := []byte("payments.example.com")
	borrowed := Party{Kind: KindExternal, Name: unsafe.String(&buf[0], len(buf))}
	got := c.intern(borrowed)
	c.intern(Party{Kind: KindExternal, Name: "other"})
	copy(buf, "XXXXXXXX")
	want := Party{Kind: KindExternal, Name: "payments.example.com"}
	if got != want {
		t.Fatalf("interned party changed with the caller's bytes: %+v", got)
	}
	if again := c.intern(want); again != want {
		t.Fatalf("remembered party %+v, want %+v", again, want)
	}
	for k := range c.seen {
		if k.Name == "XXXXXXXX.example.com" {
			t.Fatal("a remembered party's key aliases the caller's bytes")
		}
	}
}

// TestMaybeBitsCoverEveryEntry: through many entries made and removed (and
// the bits rebuilt several times), every key a shard holds has its bit set,
// and most keys it does not hold are known absent.
func TestMaybeBitsCoverEveryEntry(t *testing.T) {
	sh := &pairShard{entries: map[pairKey]*pending{}}
	r := rand.New(rand.NewPCG(13, 14))
	key := func() pairKey {
		var k pairKey
		for i := range k {
			k[i] = byte(r.Uint32())
		}
		if r.IntN(4) == 0 { // sequential span ids in some traces
			k[16], k[17], k[18] = byte(r.IntN(4)), 0, 0
			copy(k[19:], []byte{0, 0, 0, 0, 0})
		}
		return k
	}
	var live []*pending
	for i := range 5 * rebuildMarks {
		live = append(live, sh.newEntry(key(), int64(i)))
		for len(live) > 2000 {
			j := r.IntN(len(live))
			sh.remove(live[j])
			live[j] = live[len(live)-1]
			live = live[:len(live)-1]
		}
	}
	for k := range sh.entries {
		if !sh.mayHold(&k) {
			t.Fatalf("key %x held but its bit is clear", k)
		}
	}
	absent := 0
	for range 10_000 {
		k := key()
		if _, held := sh.entries[k]; !held && !sh.mayHold(&k) {
			absent++
		}
	}
	if absent < 5_000 {
		t.Fatalf("only %d of 10,000 keys not held were known absent", absent)
	}
}

func TestPartyOfHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		want Party
	}{
		{"reviews.bookinfo.svc.cluster.local:9080", Party{Kind: KindService, Namespace: "bookinfo", Name: "reviews"}},
		{"reviews.bookinfo.svc", Party{Kind: KindService, Namespace: "bookinfo", Name: "reviews"}},
		{"reviews.bookinfo.svcx.local", Party{Kind: KindExternal, Name: "reviews.bookinfo.svcx.local"}},
		{"reviews.bookinfo", Party{Kind: KindExternal, Name: "reviews.bookinfo"}},
		{".bookinfo.svc", Party{Kind: KindExternal, Name: ".bookinfo.svc"}},
		{"reviews..svc", Party{Kind: KindExternal, Name: "reviews..svc"}},
		{"api.stripe.com:443", Party{Kind: KindExternal, Name: "api.stripe.com"}},
		{"db", Party{Kind: KindExternal, Name: "db"}},
	} {
		if got := partyOfHost(tc.host); got != tc.want {
			t.Errorf("partyOfHost(%q) = %+v, want %+v", tc.host, got, tc.want)
		}
	}
}
