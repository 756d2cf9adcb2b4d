package chstore

import (
	"context"
	"strings"
	"time"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// InstancesQuery asks for the calls services took by the instance that
// served them, from the access log entries of their own (inbound)
// sidecars: each entry names its pod (schema.RequestPodAttr) when its
// sidecar's pod is known, else its local address.
type InstancesQuery struct {
	From, To time.Time
	// Destination is one callee's node id (service:NS/NAME); empty: every
	// node's.
	Destination string
	// Failed is the SQL condition that an entry failed.
	Failed string
	// Limit bounds the instances read (default 10,000).
	Limit int
}

// DestinationInstance is one instance's calls, with the node it served.
type DestinationInstance struct {
	Destination string
	graph.Instance
}

// Instance keys of access log entries: their sidecar's pod, or its
// address.
const (
	InstanceKeyPod     = schema.RequestPodAttr
	InstanceKeyAddress = "address"
)

// InstanceHost is the SQL of an Envoy address column without its port
// (10.1.0.7:9080, [::1]:80).
func InstanceHost(col string) string {
	return "replaceRegexpOne(" + col + ", ':[0-9]+$', '')"
}

// InstanceCalls reads the instances q asks for, the busiest of each
// destination first (their rates and outliers not filled:
// graph.FinishInstances).
func (s *Store) InstanceCalls(ctx context.Context, q InstancesQuery) ([]DestinationInstance, error) {
	where, args := "timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND reporter = 'destination'", []any{q.From.Unix(), q.To.Unix()}
	if q.Destination != "" {
		where, args = where+" AND destination = ?", append(args, q.Destination)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10_000
	}
	pod := "'" + InstanceKeyPod + "'"
	var out []DestinationInstance
	err := s.scan(ctx, func(scan func(...any) error) error {
		var (
			d DestinationInstance
			p []float32
		)
		if err := scan(&d.Destination, &d.Key, &d.Instance.Instance, &d.Version, &d.Workload, &d.Requests, &d.Errors, &p,
			&d.FirstSeen, &d.LastSeen); err != nil {
			return err
		}
		if len(p) == 2 {
			d.P50Ms, d.P99Ms = float64(p[0])/1e6, float64(p[1])/1e6
		}
		d.FirstSeen, d.LastSeen = d.FirstSeen.UTC(), d.LastSeen.UTC()
		out = append(out, d)
		return nil
	}, `
SELECT destination, if(has(attr_keys, `+pod+`), `+pod+`, '`+InstanceKeyAddress+`') AS ikey,
       if(ikey = `+pod+`, attr_values[indexOf(attr_keys, `+pod+`)], `+InstanceHost("downstream_local_address")+`) AS inst,
       any(destination_version), any(destination_workload), count(), sum(toUInt64(`+q.Failed+`)),
       quantilesTDigest(0.5, 0.99)(duration_ns), min(timestamp), max(timestamp)
FROM requests
WHERE `+where+`
GROUP BY destination, ikey, inst
ORDER BY destination, count() DESC, inst
LIMIT ?`, append(args, limit)...)
	return out, err
}

// RequestFailed is graph.IsError over a row of the requests table, as a
// ClickHouse expression (1 failed, 0 not): a 5xx or no response over HTTP,
// a gRPC status other than OK, or an Envoy response flag that fails a
// request. An access log entry has no span status; TCP entries have no
// HTTP code.
var RequestFailed = func() string {
	flags := graph.EnvoyFailureFlags()
	quoted := make([]string, len(flags))
	for i, f := range flags {
		quoted[i] = "'" + f + "'"
	}
	return "toUInt8((lower(protocol) != 'tcp' AND (response_code >= 500 OR response_code = 0))" +
		" OR grpc_status > 0" +
		" OR hasAny(splitByChar(',', replaceAll(response_flags, ' ', '')), [" + strings.Join(quoted, ", ") + "]))"
}()
