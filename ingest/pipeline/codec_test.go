package pipeline

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/schema"
)

// fill sets every field of v (a pointer to a row struct) to a random value,
// so that a field forgotten by the codec fails the round trip.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		fill(r, v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(r, v.Field(i))
		}
	case reflect.String:
		b := make([]byte, 1+r.IntN(12))
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		v.SetString(string(b))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1 + r.Uint64N(1<<(8*v.Type().Size()-1)))
	case reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-1 - r.Int64N(1<<(8*v.Type().Size()-2)))
	case reflect.Float64:
		v.SetFloat(r.Float64() * 1e6)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			v.Index(i).SetUint(uint64(1 + r.IntN(255)))
		}
	case reflect.Slice:
		n := 1 + r.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(r, s.Index(i))
		}
		v.Set(s)
	default:
		panic("unhandled kind " + v.Kind().String())
	}
}

func randomBatch(seed uint64) *schema.Batch {
	r := rand.New(rand.NewPCG(seed, seed))
	b := &schema.Batch{
		Spans: make([]schema.SpanRow, 3), Logs: make([]schema.LogRow, 2), MetricSeries: make([]schema.MetricSeriesRow, 2),
		MetricSamples: make([]schema.MetricSampleRow, 2), Requests: make([]schema.RequestRow, 3),
	}
	fill(r, reflect.ValueOf(b))
	return b
}

func TestCodecRoundTripsEveryField(t *testing.T) {
	for seed := range uint64(20) {
		in := randomBatch(seed)
		var out schema.Batch
		require.NoError(t, DecodeBatch(EncodeBatch(nil, in), &out))
		require.Equal(t, *in, out)
	}
	var out schema.Batch
	require.NoError(t, DecodeBatch(EncodeBatch(nil, &schema.Batch{}), &out))
	require.Zero(t, out.Len())
}

// TestViewDecoderMatchesDecodeBatch: rows decoded by a reused view decoder
// equal DecodeBatch's, record after record, and it rejects what
// DecodeBatch rejects.
func TestViewDecoderMatchesDecodeBatch(t *testing.T) {
	var v viewDecoder
	for seed := range uint64(20) {
		rec := EncodeBatch(nil, randomBatch(seed))
		var want, got schema.Batch
		require.NoError(t, DecodeBatch(rec, &want))
		require.NoError(t, v.decode(rec, &got))
		require.Equal(t, want, got)
	}
	rec := EncodeBatch(nil, randomBatch(1))
	var b schema.Batch
	require.ErrorContains(t, v.decode(rec[:len(rec)/2], &b), "decode wal record")
	require.ErrorContains(t, v.decode([]byte{99}, &b), "unknown version")
	require.ErrorContains(t, v.decode([]byte{recordVersion}, &b), "decode wal record")
	require.ErrorContains(t, v.decode(nil, &b), "unknown version")
}

func TestDecodeRejectsDamage(t *testing.T) {
	rec := EncodeBatch(nil, randomBatch(1))
	var b schema.Batch
	require.ErrorContains(t, DecodeBatch(rec[:len(rec)/2], &b), "decode wal record")
	require.ErrorContains(t, DecodeBatch(append([]byte{}, append(rec, 7)...), &b), "trailing bytes")
	require.ErrorContains(t, DecodeBatch([]byte{99}, &b), "unknown version")
}

// FuzzDecodeBatch: damaged records must fail cleanly, never panic or
// allocate without bound.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(EncodeBatch(nil, randomBatch(3)))
	f.Add([]byte{1, 0, 0, 0, 0, 0})
	var view viewDecoder
	f.Fuzz(func(t *testing.T, rec []byte) {
		var b schema.Batch
		err := DecodeBatch(rec, &b)
		// The flusher's decoder, whose rows borrow the record, agrees.
		var viewed schema.Batch
		verr := view.decode(rec, &viewed)
		require.Equal(t, err == nil, verr == nil, "DecodeBatch: %v, view: %v", err, verr)
		if err == nil {
			require.Equal(t, b, viewed)
			// What decodes survives a round trip unchanged.
			var again schema.Batch
			require.NoError(t, DecodeBatch(EncodeBatch(nil, &b), &again))
			require.Equal(t, b, again)
		}
	})
}
