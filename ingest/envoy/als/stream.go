package als

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	dataal "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	svcal "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/meshscope/meshscope/ingest/envoy"
)

// stream is the state of one StreamAccessLogs call: the identifier (sent
// only in the first message) and the buffers of the message at hand. It
// belongs to the call's goroutine.
type stream struct {
	s       *Service
	emitter *envoy.Emitter
	logName string
	peers   *envoy.PeerCache
	batch   *envoy.Batch
	rec     envoy.Record
	http    dataal.HTTPAccessLogEntry
	tcp     dataal.TCPAccessLogEntry
}

// identify remembers who sends the stream's entries.
func (st *stream) identify(id *svcal.StreamAccessLogsMessage_Identifier) {
	st.logName = strings.Clone(id.GetLogName())
	st.emitter = nodeEmitter(id.GetNode())
	st.s.res.LearnEmitter(st.emitter)
}

// nodeEmitter reads the emitter from an Envoy node: its id and cluster and
// Istio's metadata.
func nodeEmitter(n *corev3.Node) *envoy.Emitter {
	if n == nil {
		return nil
	}
	info := envoy.NodeInfo{ID: n.GetId(), Cluster: n.GetCluster()}
	f := n.GetMetadata().GetFields()
	info.Namespace = f["NAMESPACE"].GetStringValue()
	info.WorkloadName = f["WORKLOAD_NAME"].GetStringValue()
	info.InstanceIPs = f["INSTANCE_IPS"].GetStringValue()
	info.ClusterID = f["CLUSTER_ID"].GetStringValue()
	info.PodName = f["NAME"].GetStringValue()
	if labels := f["LABELS"].GetStructValue().GetFields(); len(labels) > 0 {
		info.Labels = make(map[string]string, len(labels))
		for k, v := range labels {
			info.Labels[k] = v.GetStringValue()
		}
	}
	return envoy.NodeEmitter(info)
}

func (st *stream) reject(reason string) {
	st.s.metrics.Rejected.WithLabelValues(receiver, reason).Inc()
}

func (st *stream) addHTTP(le *dataal.HTTPAccessLogEntry) {
	if reason := st.convertHTTP(le); reason != "" {
		st.reject(reason)
		return
	}
	st.s.res.Add(st.batch, &st.rec)
}

func (st *stream) addTCP(le *dataal.TCPAccessLogEntry) {
	if reason := st.convertTCP(le); reason != "" {
		st.reject(reason)
		return
	}
	st.s.res.Add(st.batch, &st.rec)
}

// Field numbers of StreamAccessLogsMessage and of its entry lists.
const (
	fieldIdentifier = 1
	fieldHTTPLogs   = 2
	fieldTCPLogs    = 3
	fieldLogEntry   = 1
)

// addMessage reads a StreamAccessLogsMessage from its wire bytes, entry by
// entry: an entry that does not decode is counted and skipped.
func (st *stream) addMessage(b []byte) {
	err := eachField(b, func(num protowire.Number, v []byte) {
		switch num {
		case fieldIdentifier:
			var id svcal.StreamAccessLogsMessage_Identifier
			if err := proto.Unmarshal(v, &id); err != nil {
				st.reject("bad_identifier")
				return
			}
			st.identify(&id)
		case fieldHTTPLogs, fieldTCPLogs:
			err := eachField(v, func(n protowire.Number, entry []byte) {
				if n != fieldLogEntry {
					return
				}
				if num == fieldHTTPLogs {
					if err := proto.Unmarshal(entry, &st.http); err != nil {
						st.reject("bad_entry")
						return
					}
					st.addHTTP(&st.http)
					return
				}
				if err := proto.Unmarshal(entry, &st.tcp); err != nil {
					st.reject("bad_entry")
					return
				}
				st.addTCP(&st.tcp)
			})
			if err != nil {
				st.reject("bad_message")
			}
		}
	})
	if err != nil {
		st.reject("bad_message")
	}
}

// eachField calls f with every length-delimited field of a message's wire
// bytes, skipping fields of other wire types.
func eachField(b []byte, f func(protowire.Number, []byte)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		f(num, v)
	}
	return nil
}
