package otlp

import (
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// pdata can decode into objects taken from pools instead of new ones
// (its feature gate pdata.useProtoPooling, alpha in pdata 1.71), which
// spares the receiver most of its allocations: a request's objects go back
// to the pools once its rows are made. The rows keep nothing of them: pdata
// allocates every string it decodes, ids are arrays, and slices of numbers
// are copied (AsRaw).

// poolingGate is pdata's feature gate for pooled decoding.
const poolingGate = "pdata.useProtoPooling"

// PoolDecoding turns pdata's pooled decoding on or off for the process.
// Without it the receivers still release what they decoded, which then
// only resets the objects.
func PoolDecoding(on bool) error {
	return featuregate.GlobalRegistry().Set(poolingGate, on)
}

// The release functions give a request's objects back to pdata's pools:
// moving an empty request into one deletes what it held. The request must
// not be used after.

func releaseTraces(td ptrace.Traces)    { ptrace.NewTraces().MoveTo(td) }
func releaseMetrics(md pmetric.Metrics) { pmetric.NewMetrics().MoveTo(md) }
func releaseLogs(ld plog.Logs)          { plog.NewLogs().MoveTo(ld) }
