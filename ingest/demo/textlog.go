package demo

import (
	"strconv"
	"time"
)

// Istio's default text access log format (1.24 and later), which the
// sidecars of Topology.TextNamespace write and post in batches to
// POST /api/v1/accesslogs?format=istio&emitter=NAMESPACE/WORKLOAD:
//
//	[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
//	%RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
//	"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
//	%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//	"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
//	%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
//	%REQUESTED_SERVER_NAME% %ROUTE_NAME%

// timeCache formats %START_TIME% (2006-01-02T15:04:05.000Z), formatting
// the part up to the second once per second.
type timeCache struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05."
}

func (c *timeCache) append(b []byte, ns int64) []byte {
	sec := ns / 1e9
	if sec != c.sec || c.prefix == nil {
		c.sec = sec
		c.prefix = time.Unix(sec, 0).UTC().AppendFormat(c.prefix[:0], "2006-01-02T15:04:05.")
	}
	b = append(b, c.prefix...)
	msec := ns / 1e6 % 1000
	b = append(b, byte('0'+msec/100), byte('0'+msec/10%10), byte('0'+msec%10))
	return append(b, 'Z')
}

// appendDash appends s, or "-" when empty.
func appendDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

// appendIstioLine appends e as a line of Istio's default text format.
func appendIstioLine(b []byte, e *logEntry, tc *timeCache) []byte {
	b = append(b, '[')
	b = tc.append(b, e.start)
	b = append(b, "] \""...)
	if e.tcp {
		b = append(b, "- - -"...)
	} else {
		b = append(b, e.method...)
		b = append(b, ' ')
		b = append(b, e.path...)
		if e.grpc {
			b = append(b, " HTTP/2"...)
		} else {
			b = append(b, " HTTP/1.1"...)
		}
	}
	b = append(b, "\" "...)
	if e.tcp {
		b = append(b, "0 - - - \"-\" "...)
	} else {
		b = append(b, e.st.codeStr...)
		b = append(b, ' ')
		b = append(b, e.st.flags...)
		b = append(b, ' ')
		b = append(b, e.st.details...)
		b = append(b, " - \""...)
		b = appendDash(b, e.st.failReason)
		b = append(b, "\" "...)
	}
	b = strconv.AppendInt(b, e.bytesIn, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.bytesOut, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.dur/1e6, 10)
	b = append(b, ' ')
	if e.upstreamTime >= 0 {
		b = strconv.AppendInt(b, e.upstreamTime/1e6, 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, " \""...)
	b = appendDash(b, e.forwardedFor)
	b = append(b, "\" \""...)
	if e.tcp {
		b = append(b, "-\" \"-\" \"-"...)
	} else {
		b = appendDash(b, e.userAgent)
		b = append(b, "\" \""...)
		b = append(b, e.reqID...)
		b = append(b, "\" \""...)
		b = appendDash(b, e.authority)
	}
	b = append(b, "\" \""...)
	b = appendAddr(b, e.usHost)
	b = append(b, "\" "...)
	b = appendDash(b, e.cluster)
	b = append(b, ' ')
	b = appendAddr(b, e.usLocal)
	b = append(b, ' ')
	b = appendAddr(b, e.dsLocal)
	b = append(b, ' ')
	b = appendAddr(b, e.dsRemote)
	b = append(b, ' ')
	b = appendDash(b, e.sni)
	b = append(b, ' ')
	b = appendDash(b, e.route)
	return append(b, '\n')
}
