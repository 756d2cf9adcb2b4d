package accesslog

import "bytes"

// Parse parses one line written with p's format into e; see [LineParser]
// for the ownership of e's strings.
func (p *Parser) Parse(line []byte, e *Entry) error {
	e.reset()
	if f, ok := p.parse(trimEOL(line), e); !ok {
		return f.err()
	}
	return nil
}

// parse walks the tokens over line. It does not allocate, also when it
// fails.
func (p *Parser) parse(line []byte, e *Entry) (failure, bool) {
	pos := 0
	for i := range p.tokens {
		t := &p.tokens[i]
		if t.kind == kindLiteral {
			lit := t.text
			if len(line)-pos >= len(lit) && string(line[pos:pos+len(lit)]) == lit {
				pos += len(lit)
				continue
			}
			j := 0
			for j < len(lit) && pos+j < len(line) && line[pos+j] == lit[j] {
				j++
			}
			return failure{col: pos + j, want: lit[j:], quote: true, field: t.errField, rel: t.errRel}, false
		}
		rest := line[pos:]
		end := len(line)
		switch {
		case t.term == "":
		case t.termAtEnd:
			if !bytes.HasSuffix(rest, t.termBytes) {
				col := max(pos, len(line)-len(t.term))
				return failure{col: col, want: t.term, quote: true, field: t.text, rel: relAfter}, false
			}
			end = len(line) - len(t.term)
		case t.spaceStop:
			if k := bytes.IndexByte(rest, ' '); k >= 0 {
				end = pos + k
			}
		default:
			k := bytes.Index(rest, t.termBytes)
			if k < 0 {
				// The text after the value is missing: end the value
				// where that text would start, so that matching it
				// reports the exact column.
				k = bytes.IndexByte(rest, t.term[0])
			}
			if k >= 0 {
				end = pos + k
			}
		}
		if f, ok := setField(t, line, pos, end, e); !ok {
			return f, false
		}
		pos = end
	}
	if pos != len(line) {
		// Only a format of text alone gets here: a command before the
		// last text ends where that text must end the line.
		return failure{col: pos, want: "end of line"}, false
	}
	return failure{}, true
}

// setField stores line[start:end] as the value of command t.
func setField(t *token, line []byte, start, end int, e *Entry) (failure, bool) {
	v := line[start:end]
	unset := len(v) == 1 && v[0] == '-'
	s := ""
	if !unset {
		s = bytesToString(v)
	}
	bad := func(at int, want string) (failure, bool) {
		return failure{col: start + at, want: want, field: t.text, rel: relIn}, false
	}
	switch t.kind {
	case kindStartTime:
		if unset {
			break
		}
		var ns int64
		var at int
		var ok bool
		if t.layout != nil {
			ns, at, ok = t.layout.parse(v)
		} else {
			ns, at, ok = parseRFC3339(v)
		}
		if !ok {
			return bad(at, "timestamp")
		}
		e.StartTime = ns
	case kindMethod:
		e.Method = s
	case kindPath:
		e.Path = s
	case kindProtocol:
		e.Protocol = s
	case kindResponseCode:
		if !unset {
			n, at, ok := parseUint(v)
			if !ok || n > 1<<31-1 {
				return bad(at, "integer")
			}
			e.ResponseCode = int(n)
		}
	case kindResponseFlags:
		e.ResponseFlags = s
		e.Flags = ParseFlags(s)
	case kindDetails:
		e.Details = s
	case kindTerminationDetails:
		e.TerminationDetails = s
	case kindTransportFailureReason:
		e.TransportFailureReason = s
	case kindBytesReceived, kindBytesSent:
		if unset {
			break
		}
		n, at, ok := parseUint(v)
		if !ok {
			return bad(at, "integer")
		}
		if t.kind == kindBytesReceived {
			e.BytesReceived = n
		} else {
			e.BytesSent = n
		}
	case kindDuration:
		if unset {
			break
		}
		n, at, ok := parseMillis(v)
		if !ok {
			return bad(at, "milliseconds")
		}
		e.Duration = n
	case kindUpstreamServiceTime:
		// A response header: a malformed value means unknown, not a
		// malformed line.
		if n, _, ok := parseMillis(v); ok && !unset {
			e.UpstreamServiceTime = n
		}
	case kindForwardedFor:
		e.ForwardedFor = s
	case kindUserAgent:
		e.UserAgent = s
	case kindRequestID:
		e.RequestID = s
	case kindAuthority:
		e.Authority = s
	case kindUpstreamHost:
		e.UpstreamHost = s
	case kindUpstreamCluster:
		e.UpstreamCluster = trimClusterSuffix(s)
	case kindUpstreamClusterRaw:
		e.UpstreamCluster = s
	case kindUpstreamLocalAddress:
		e.UpstreamLocalAddress = s
	case kindDownstreamLocalAddress:
		e.DownstreamLocalAddress = s
	case kindDownstreamRemoteAddress:
		e.DownstreamRemoteAddress = s
	case kindRequestedServerName:
		e.RequestedServerName = s
	case kindRouteName:
		e.RouteName = s
	case kindExtra:
		e.Extra = append(e.Extra, Field{Name: t.name, Value: s})
	}
	return failure{}, true
}

// trimClusterSuffix drops the ';' that Istio 1.24 and later append to
// %UPSTREAM_CLUSTER% (the cluster's alt stat name).
func trimClusterSuffix(s string) string {
	if n := len(s); n > 0 && s[n-1] == ';' {
		s = s[:n-1]
	}
	if s == "-" {
		return ""
	}
	return s
}
