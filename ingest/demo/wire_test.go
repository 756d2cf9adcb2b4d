package demo

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestOpenCloseField(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		content := bytes.Repeat([]byte{'x'}, n)
		b := []byte("prefix")
		b, m := openField(b, 7)
		b = append(b, content...)
		b = closeField(b, m)
		b = append(b, "suffix"...)

		rest := b[len("prefix"):]
		num, typ, k := protowire.ConsumeTag(rest)
		require.Equal(t, protowire.Number(7), num)
		require.Equal(t, protowire.BytesType, typ)
		v, l := protowire.ConsumeBytes(rest[k:])
		require.Equal(t, content, v, "content of %d bytes", n)
		require.Equal(t, "suffix", string(rest[k+l:]))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	} {
		require.Equal(t, tc.want, retryAfter(tc.in, now), tc.in)
	}
}

func TestHTTPRetry(t *testing.T) {
	for _, tc := range []struct {
		code  int
		retry bool
	}{
		{200, false}, {400, false}, {413, false}, {429, true}, {500, true}, {503, true},
	} {
		resp := &http.Response{StatusCode: tc.code, Header: http.Header{"Retry-After": {"2"}}}
		retry, floor := httpRetry(resp)
		require.Equal(t, tc.retry, retry, tc.code)
		if retry {
			require.Equal(t, 2*time.Second, floor)
		}
	}
}

func TestGRPCRetry(t *testing.T) {
	// google.rpc.RetryInfo{retry_delay: 3s}, encoded by hand.
	delay, err := proto.Marshal(durationpb.New(3 * time.Second))
	require.NoError(t, err)
	sp := status.New(codes.Unavailable, "wal full").Proto()
	sp.Details = append(sp.Details, &anypb.Any{TypeUrl: retryInfoType, Value: protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), delay)})
	withInfo := status.FromProto(sp)
	for _, tc := range []struct {
		name  string
		err   error
		retry bool
		floor time.Duration
	}{
		{"unavailable", status.Error(codes.Unavailable, "down"), true, 0},
		{"retry info", withInfo.Err(), true, 3 * time.Second},
		{"exhausted", status.Error(codes.ResourceExhausted, "full"), true, time.Second},
		{"invalid", status.Error(codes.InvalidArgument, "bad"), false, 0},
		{"unauthenticated", status.Error(codes.Unauthenticated, "token"), false, 0},
		{"transport", errors.New("connection refused"), true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retry, floor := grpcRetry(tc.err)
			require.Equal(t, tc.retry, retry)
			require.Equal(t, tc.floor, floor)
		})
	}
}

func TestBackoff(t *testing.T) {
	for n := range 12 {
		d := backoff(n, 0)
		require.Positive(t, d)
		require.LessOrEqual(t, d, backoffMax)
	}
	require.Equal(t, 20*time.Second, backoff(0, 20*time.Second))
	require.Equal(t, retryAfterUp, backoff(0, time.Hour))
}

func TestRejectedLines(t *testing.T) {
	require.NoError(t, rejectedLines([]byte(`{"accepted":10,"rejected":0}`)))
	require.NoError(t, rejectedLines(nil))
	err := rejectedLines([]byte(`{"accepted":8,"rejected":2,"errors":[{"line":3,"column":7,"error":"want a quote"}]}`))
	var pe *partialError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 2, pe.rejected)
	require.ErrorContains(t, err, "line 3: want a quote")
}
