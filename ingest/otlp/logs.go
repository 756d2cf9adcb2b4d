package otlp

import (
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/meshscope/meshscope/graph"
	"github.com/meshscope/meshscope/schema"
)

// LogsToRows converts log records into rows appended to b; Envoy access log
// records become request rows and observations (when AccessLog is set).
func (c *Converter) LogsToRows(ld plog.Logs, b *schema.Batch, obs *[]graph.Observation) rejections {
	var rej rejections
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		ri, bad := readResource(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			records := sl.LogRecords()
			for k := 0; k < records.Len(); k++ {
				lr := records.At(k)
				if bad != "" {
					rej.add("invalid_utf8", "resource "+bad+": invalid UTF-8")
					continue
				}
				if c.AccessLog != nil {
					handled, err := c.AccessLog(rl.Resource(), sl.Scope(), lr, b, obs)
					if err != nil {
						rej.add("bad_access_log", "log record "+strconv.Itoa(k)+": "+err.Error())
						continue
					}
					if handled {
						continue
					}
				}
				t := uint64(lr.Timestamp())
				if t == 0 {
					t = uint64(lr.ObservedTimestamp())
				}
				if reason, msg := c.checkTime(t, "time_unix_nano"); reason != "" {
					rej.add(reason, "log record "+strconv.Itoa(k)+": "+msg)
					continue
				}
				body := lr.Body().AsString()
				if !utf8.ValidString(body) {
					rej.add("invalid_utf8", "log record "+strconv.Itoa(k)+": body: invalid UTF-8")
					continue
				}
				row := schema.LogRow{
					TimeUnixNano:         uint64(lr.Timestamp()),
					ObservedTimeUnixNano: uint64(lr.ObservedTimestamp()),
					TraceID:              schema.TraceID(lr.TraceID()),
					SpanID:               schema.SpanID(lr.SpanID()),
					Flags:                uint32(lr.Flags()),
					SeverityNumber:       uint8(lr.SeverityNumber()),
					SeverityText:         lr.SeverityText(),
					ServiceName:          ri.service,
					ServiceNamespace:     ri.namespace,
					ScopeName:            sl.Scope().Name(),
					EventName:            lr.EventName(),
					Body:                 body,
					ResourceKeys:         ri.keys,
					ResourceValues:       ri.values,
				}
				row.AttrKeys, row.AttrValues = attrs(lr.Attributes(), nil)
				if f := badUTF8(row.AttrKeys, row.AttrValues); f != "" {
					rej.add("invalid_utf8", "log record "+strconv.Itoa(k)+": "+f+": invalid UTF-8")
					continue
				}
				b.Logs = append(b.Logs, row)
			}
		}
	}
	return rej
}
