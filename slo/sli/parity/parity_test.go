// Package parity checks that the SQL form of meshscope's error rule, used by
// availability SLIs, classifies every kind of request and span exactly as
// graph.IsError does. It holds tests only.
package parity

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/ingest/envoy/accesslog"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chtest"
	"github.com/meshscope/meshscope/slo/sli"
	"github.com/meshscope/meshscope/slo/spec"
)

// The SLIs drop a source-side row as a duplicate unless its flags say the
// request never reached its destination: the flags ingest uses for that.
func TestNotReachedFlagsMatchIngest(t *testing.T) {
	require.Equal(t, accesslog.NotReached, accesslog.ParseFlags(strings.Join(sli.NotReachedFlags, ",")))
}

func TestErrorRuleMatchesGraph(t *testing.T) {
	st, _ := chtest.Store(t, "meshscope")
	ctx := context.Background()
	p, err := spec.ParseOne([]byte("{name: a, target: {service: shop/a}, sli: availability, objective: 99, window: 28d}"), spec.DefaultAlerting())
	require.NoError(t, err)

	var b schema.Batch
	want := map[string]bool{}
	flagsCases := []string{"", "-", "UH", "DC", "URX,UF", "RL", "UAEX", "DO", "DI", "NR,DC", "UMSDR"}
	for _, proto := range []string{"HTTP/1.1", "grpc", "tcp"} {
		for _, code := range []int{0, 200, 404, 429, 499, 500, 503, 599, 600} {
			for _, grpc := range []int{-1, 0, 2, 14} {
				for _, flags := range flagsCases {
					id := strconv.Itoa(len(want))
					b.Requests = append(b.Requests, schema.RequestRow{
						StartUnixNano: 1_700_000_000e9, Protocol: proto, ResponseCode: uint16(code), GRPCStatus: int16(grpc),
						ResponseFlags: flags, RequestID: id, Destination: "service:shop/a",
					})
					want[id] = graph.IsError(graph.Status{HTTPCode: code, HTTPKnown: proto != "tcp", GRPCCode: grpc, EnvoyFlags: flags})
				}
			}
		}
	}
	wantSpans := map[string]bool{}
	for _, status := range []uint8{schema.StatusUnset, schema.StatusOK, schema.StatusError} {
		for _, code := range []int{0, 200, 404, 500, 503} {
			for _, grpc := range []int{-1, 0, 4, 14} {
				name := fmt.Sprintf("s%d", len(wantSpans))
				b.Spans = append(b.Spans, schema.SpanRow{
					StartUnixNano: 1_700_000_000e9, Kind: schema.SpanKindServer, StatusCode: status, Name: name,
					HTTPStatusCode: uint16(code), GRPCStatusCode: int16(grpc), ServiceName: "a", ServiceNamespace: "shop",
				})
				wantSpans[name] = graph.IsError(graph.Status{HTTPCode: code, HTTPKnown: code != 0, GRPCCode: grpc, SpanError: status == schema.StatusError})
			}
		}
	}
	require.NoError(t, st.Write(ctx, &b))

	check := func(query string, want map[string]bool) {
		rows, err := st.Conn().Query(ctx, query)
		require.NoError(t, err)
		defer rows.Close()
		n := 0
		for rows.Next() {
			var (
				id  string
				bad uint8
			)
			require.NoError(t, rows.Scan(&id, &bad))
			require.Equal(t, want[id], bad == 1, "row %s", id)
			n++
		}
		require.NoError(t, rows.Err())
		require.Equal(t, len(want), n)
	}
	check("SELECT request_id, toUInt8("+sli.RequestsBadSQL(&p.Resolved)+") FROM requests", want)
	check("SELECT name, toUInt8("+sli.SpansBadSQL(&p.Resolved)+") FROM spans", wantSpans)
}
