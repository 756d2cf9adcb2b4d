package query

// GET /api/v1/services/{namespace}/{name}/instances: the calls a service
// took, by the instance (pod) that served them, with the instances that
// fail or answer slower than their siblings marked as outliers: the one bad
// replica (a node with a failing disk, a pod with a poisoned cache) that a
// service's own numbers average away.
//
// Three inputs name an instance. Server and consumer spans carry their
// pod's resource (k8s.pod.name, else service.instance.id, else
// host.name); Envoy access log entries carry its pod (the inbound
// sidecar's, when its ALS node or OpenTelemetry resource names it) or its
// address (the inbound sidecar's local address, or the upstream host its
// callers' sidecars picked); the OpenTelemetry SDKs' server duration
// histograms carry the resource as spans do, and count every call, sampled
// or not (chstore.InstanceCallsFromMetrics). Spans are preferred because
// they always name pods; a service without server spans in the range is
// read from its access log entries, and one without either from its SDK
// histograms. The outlier rule is graph.MarkOutliers, which the SLO
// engine's instance alerts apply too.

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
	"github.com/meshscope/meshscope/schema/chstore"
)

// instancesAnswer is GET /api/v1/services/{ns}/{name}/instances.
type instancesAnswer struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Source is the input the instances were read from: spans, requests
	// or metrics (empty when none has the service's calls in the range).
	Source    string           `json:"source"`
	Instances []graph.Instance `json:"instances"`
}

// Instance sources.
const (
	instancesFromSpans    = "spans"
	instancesFromRequests = "requests"
	instancesFromMetrics  = "metrics"
)

// maxInstances bounds the instances listed (the busiest first).
const maxInstances = 500

// instanceKey is the SQL naming the resource attribute that names a
// span's instance, and instanceName its value.
const (
	instanceKey = "multiIf(" +
		"resource_values[indexOf(resource_keys, 'k8s.pod.name')] != '', 'k8s.pod.name', " +
		"resource_values[indexOf(resource_keys, 'service.instance.id')] != '', 'service.instance.id', " +
		"resource_values[indexOf(resource_keys, 'host.name')] != '', 'host.name', '')"
	instanceName = "resource_values[indexOf(resource_keys, ikey)]"
)

func (s *Server) getInstances(c echo.Context) error {
	ns, name := c.Param("namespace"), c.Param("name")
	if ns == "_" {
		ns = ""
	}
	from, to, _, err := s.rangeOrDefault(c)
	if err != nil {
		return err
	}
	source := c.QueryParam("source")
	switch source {
	case "", instancesFromSpans, instancesFromRequests, instancesFromMetrics:
	default:
		return badParam("source", "source %q is not spans, requests or metrics", source)
	}
	ctx, cancel, err := s.storeContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	out := instancesAnswer{From: from, To: to, Instances: []graph.Instance{}}
	if source == "" || source == instancesFromSpans {
		list, err := s.instancesFromSpans(ctx, ns, name, from, to)
		if err != nil {
			return err
		}
		if len(list) > 0 || source == instancesFromSpans {
			out.Source, out.Instances = instancesFromSpans, list
		}
	}
	if out.Source == "" && (source == "" || source == instancesFromRequests) {
		list, err := s.instancesFromRequests(ctx, ns, name, from, to)
		if err != nil {
			return err
		}
		if len(list) > 0 || source == instancesFromRequests {
			out.Source, out.Instances = instancesFromRequests, list
		}
	}
	if out.Source == "" {
		found, err := s.deps.Store.InstanceCallsFromMetrics(ctx, chstore.InstancesQuery{From: from, To: to, Destination: "service:" + ns + "/" + name, Limit: maxInstances})
		if err != nil {
			return err
		}
		if len(found) > 0 || source == instancesFromMetrics {
			out.Source, out.Instances = instancesFromMetrics, instancesOf(found)
		}
	}
	graph.FinishInstances(out.Instances, to.Sub(from))
	return c.JSON(http.StatusOK, out)
}

// instancesFromSpans reads a service's instances from its server and
// consumer spans.
func (s *Server) instancesFromSpans(ctx context.Context, ns, name string, from, to time.Time) ([]graph.Instance, error) {
	return s.scanInstances(ctx, fmt.Sprintf(`
SELECT `+instanceKey+` AS ikey, `+instanceName+` AS inst, any(service_version), any(workload), count(), countIf(status_code = %d),
       quantilesTDigest(0.5, 0.99)(duration_ns), min(timestamp), max(timestamp)
FROM spans
WHERE service_name = ? AND service_namespace = ? AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
  AND kind IN (%d, %d)
GROUP BY ikey, inst
ORDER BY count() DESC, inst
LIMIT %d`, schema.StatusError, schema.SpanKindServer, schema.SpanKindConsumer, maxInstances), name, ns, from.Unix(), to.Unix())
}

// instancesFromRequests reads a service's instances from the access log
// entries of the calls it took: the entries of its own (inbound) sidecars
// by their pod or local address where it has any, else its callers'
// sidecars' entries by the upstream host they picked. Each call counts
// once.
func (s *Server) instancesFromRequests(ctx context.Context, ns, name string, from, to time.Time) ([]graph.Instance, error) {
	dst := "service:" + ns + "/" + name
	found, err := s.deps.Store.InstanceCalls(ctx, chstore.InstancesQuery{From: from, To: to, Destination: dst, Failed: requestFailed, Limit: maxInstances})
	if err != nil {
		return nil, err
	}
	if len(found) > 0 {
		return instancesOf(found), nil
	}
	return s.scanInstances(ctx, `
SELECT '`+chstore.InstanceKeyAddress+`' AS ikey, `+chstore.InstanceHost("upstream_host")+` AS inst, any(destination_version), any(destination_workload), count(), sum(`+requestFailed+`),
       quantilesTDigest(0.5, 0.99)(duration_ns), min(timestamp), max(timestamp)
FROM requests
WHERE destination = ? AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND reporter != 'destination' AND upstream_host != ''
GROUP BY ikey, inst
ORDER BY count() DESC, inst
LIMIT `+fmt.Sprint(maxInstances), dst, from.Unix(), to.Unix())
}

// scanInstances runs an instances query (key, instance, version,
// workload, requests, errors, [p50, p99] in ns, first and last second).
func (s *Server) scanInstances(ctx context.Context, query string, args ...any) ([]graph.Instance, error) {
	out := []graph.Instance{}
	err := s.scanAll(ctx, func(scan func(...any) error) error {
		var (
			in     graph.Instance
			q      []float32
			errors uint64
		)
		if err := scan(&in.Key, &in.Instance, &in.Version, &in.Workload, &in.Requests, &errors, &q, &in.FirstSeen, &in.LastSeen); err != nil {
			return err
		}
		in.Errors = errors
		if len(q) == 2 {
			in.P50Ms, in.P99Ms = float64(q[0])/1e6, float64(q[1])/1e6
		}
		in.FirstSeen, in.LastSeen = in.FirstSeen.UTC(), in.LastSeen.UTC()
		out = append(out, in)
		return nil
	}, query, args...)
	return out, err
}

// instancesOf are the instances of one destination's calls.
func instancesOf(found []chstore.DestinationInstance) []graph.Instance {
	out := make([]graph.Instance, len(found))
	for i, f := range found {
		out[i] = f.Instance
	}
	return out
}
