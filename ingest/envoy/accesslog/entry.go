package accesslog

import "unsafe"

// Entry is one parsed access log line.
//
// A value of "-" in the line (Envoy's mark for "not set") and JSON null are
// stored as the zero value, except where a field says otherwise. String
// fields filled by a parser alias the parsed line (see [LineParser]); use
// [Entry.Clone] to keep an entry.
type Entry struct {
	// StartTime is %START_TIME% in Unix nanoseconds; 0 when unknown.
	StartTime int64
	// Method is %REQ(:METHOD)%.
	Method string
	// Path is %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% or %REQ(:PATH)%.
	Path string
	// Protocol is %PROTOCOL%, such as "HTTP/1.1" or "HTTP/2".
	Protocol string
	// ResponseCode is %RESPONSE_CODE%; 0 means no response was sent.
	ResponseCode int
	// ResponseFlags is %RESPONSE_FLAGS% as written, such as "UF,URX".
	ResponseFlags string
	// Flags is ResponseFlags parsed.
	Flags Flags
	// Details is %RESPONSE_CODE_DETAILS%, such as "via_upstream".
	Details string
	// TerminationDetails is %CONNECTION_TERMINATION_DETAILS%.
	TerminationDetails string
	// TransportFailureReason is %UPSTREAM_TRANSPORT_FAILURE_REASON%.
	TransportFailureReason string
	// BytesReceived is %BYTES_RECEIVED% (request body bytes).
	BytesReceived int64
	// BytesSent is %BYTES_SENT% (response body bytes).
	BytesSent int64
	// Duration is %DURATION% in nanoseconds; -1 when unknown.
	Duration int64
	// UpstreamServiceTime is %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% in
	// nanoseconds; -1 when unknown.
	UpstreamServiceTime int64
	// ForwardedFor is %REQ(X-FORWARDED-FOR)%.
	ForwardedFor string
	// UserAgent is %REQ(USER-AGENT)%.
	UserAgent string
	// RequestID is %REQ(X-REQUEST-ID)%.
	RequestID string
	// Authority is %REQ(:AUTHORITY)%.
	Authority string
	// UpstreamHost is %UPSTREAM_HOST%, usually ip:port.
	UpstreamHost string
	// UpstreamCluster is %UPSTREAM_CLUSTER_RAW% or %UPSTREAM_CLUSTER%
	// without the ';' that Istio 1.24 and later may append; see
	// [DecodeCluster].
	UpstreamCluster string
	// UpstreamLocalAddress is %UPSTREAM_LOCAL_ADDRESS%.
	UpstreamLocalAddress string
	// DownstreamLocalAddress is %DOWNSTREAM_LOCAL_ADDRESS%.
	DownstreamLocalAddress string
	// DownstreamRemoteAddress is %DOWNSTREAM_REMOTE_ADDRESS%.
	DownstreamRemoteAddress string
	// RequestedServerName is %REQUESTED_SERVER_NAME% (TLS SNI).
	RequestedServerName string
	// RouteName is %ROUTE_NAME%.
	RouteName string
	// Extra holds the commands of a format string that have no field
	// above, in format order, named by the command without '%' and
	// without its length limit, such as "REQ(X-B3-TRACEID)". Its backing
	// array is reused by the next Parse.
	Extra []Field

	// buf holds unescaped JSON strings; string fields may point into it.
	buf []byte
}

// Field is one extra command of a format string and its value.
type Field struct {
	// Name is the command, such as "REQ(X-B3-TRACEID)".
	Name string
	// Value is the command's value; "" when the line had "-".
	Value string
}

// ExtraValue returns the value of the extra field name and whether the
// format has it.
func (e *Entry) ExtraValue(name string) (string, bool) {
	for _, f := range e.Extra {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// reset clears e for the next line, keeping its buffers.
func (e *Entry) reset() {
	extra, buf := e.Extra[:0], e.buf[:0]
	*e = Entry{Duration: -1, UpstreamServiceTime: -1, Extra: extra, buf: buf}
}

// Clone returns a copy of e that shares no memory with the parsed line or
// with e, for callers that keep the entry after the next Parse.
func (e *Entry) Clone() Entry {
	c := *e
	c.buf = nil
	c.Extra = nil
	strs := c.stringFields()
	n := 0
	for _, s := range strs {
		n += len(*s)
	}
	for _, f := range e.Extra {
		n += len(f.Name) + len(f.Value)
	}
	if n == 0 && len(e.Extra) == 0 {
		return c
	}
	b := make([]byte, 0, n)
	own := func(s string) string {
		if s == "" {
			return ""
		}
		start := len(b)
		b = append(b, s...)
		return unsafe.String(&b[start], len(s))
	}
	for _, s := range strs {
		*s = own(*s)
	}
	if len(e.Extra) > 0 {
		c.Extra = make([]Field, len(e.Extra))
		for i, f := range e.Extra {
			c.Extra[i] = Field{Name: own(f.Name), Value: own(f.Value)}
		}
	}
	return c
}

// stringFields lists pointers to every string field of e.
func (e *Entry) stringFields() [18]*string {
	return [18]*string{
		&e.Method, &e.Path, &e.Protocol, &e.ResponseFlags, &e.Details,
		&e.TerminationDetails, &e.TransportFailureReason, &e.ForwardedFor,
		&e.UserAgent, &e.RequestID, &e.Authority, &e.UpstreamHost,
		&e.UpstreamCluster, &e.UpstreamLocalAddress, &e.DownstreamLocalAddress,
		&e.DownstreamRemoteAddress, &e.RequestedServerName, &e.RouteName,
	}
}

// stringField returns the string field that kind fills, nil for kinds
// that are not strings.
func (e *Entry) stringField(kind fieldKind) *string {
	switch kind {
	case kindMethod:
		return &e.Method
	case kindPath:
		return &e.Path
	case kindProtocol:
		return &e.Protocol
	case kindResponseFlags:
		return &e.ResponseFlags
	case kindDetails:
		return &e.Details
	case kindTerminationDetails:
		return &e.TerminationDetails
	case kindTransportFailureReason:
		return &e.TransportFailureReason
	case kindForwardedFor:
		return &e.ForwardedFor
	case kindUserAgent:
		return &e.UserAgent
	case kindRequestID:
		return &e.RequestID
	case kindAuthority:
		return &e.Authority
	case kindUpstreamHost:
		return &e.UpstreamHost
	case kindUpstreamCluster, kindUpstreamClusterRaw:
		return &e.UpstreamCluster
	case kindUpstreamLocalAddress:
		return &e.UpstreamLocalAddress
	case kindDownstreamLocalAddress:
		return &e.DownstreamLocalAddress
	case kindDownstreamRemoteAddress:
		return &e.DownstreamRemoteAddress
	case kindRequestedServerName:
		return &e.RequestedServerName
	case kindRouteName:
		return &e.RouteName
	}
	return nil
}

// bytesToString returns a string that aliases b.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
