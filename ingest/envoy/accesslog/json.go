package accesslog

// JSONParser parses Istio's JSON access log lines (accessLogEncoding:
// JSON): one object per line with the keys of Istio's default JSON format.
// Numbers may be JSON numbers or strings; null, "" and "-" mean not set.
// Unknown keys are skipped, whatever their value. It is safe for concurrent
// use.
type JSONParser struct{}

// NewJSONParser returns a parser for Istio's JSON access log lines.
func NewJSONParser() *JSONParser { return &JSONParser{} }

// Parse parses one JSON line into e; see [LineParser] for the ownership of
// e's strings. Strings with escapes are unescaped into e's own buffer.
func (*JSONParser) Parse(line []byte, e *Entry) error {
	e.reset()
	s := jsonScanner{b: trimEOL(line), e: e}
	if !s.object() {
		return s.fail.err()
	}
	return nil
}

// maxJSONDepth bounds the nesting of skipped values.
const maxJSONDepth = 64

// jsonScanner reads one JSON object into an Entry.
type jsonScanner struct {
	b    []byte
	i    int
	e    *Entry
	key  string // the key being read, for errors
	next uint8  // index in jsonKeys of the key expected next
	fail failure
}

// object reads the top-level object and what follows it.
func (s *jsonScanner) object() bool {
	s.ws()
	if !s.expect('{', "'{'") {
		return false
	}
	s.ws()
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			if !s.member() {
				return false
			}
			s.ws()
			c := s.peek()
			s.i++
			if c == ',' {
				s.ws()
				continue
			}
			if c == '}' {
				break
			}
			s.i--
			return s.failAfterKey("',' or '}'")
		}
	}
	s.ws()
	if s.i != len(s.b) {
		s.key = ""
		return s.failf(s.i, "end of line", relNone)
	}
	return true
}

// member reads one "key": value pair.
func (s *jsonScanner) member() bool {
	if s.peek() != '"' {
		return s.failAfterKey(`'"'`)
	}
	kind, ok := s.keyKind()
	if !ok {
		return false
	}
	s.ws()
	if !s.expect(':', "':'") {
		return false
	}
	s.ws()
	e := s.e
	switch kind {
	case kindExtra:
		return s.skip(0)
	case kindStartTime:
		return s.timeValue(&e.StartTime)
	case kindResponseCode:
		var n int64
		if !s.intValue(&n) {
			return false
		}
		if n > 1<<31-1 {
			return s.failIn(s.i, "integer")
		}
		e.ResponseCode = int(n)
		return true
	case kindResponseFlags:
		if !s.strValue(&e.ResponseFlags) {
			return false
		}
		e.Flags = ParseFlags(e.ResponseFlags)
		return true
	case kindBytesReceived:
		return s.intValue(&e.BytesReceived)
	case kindBytesSent:
		return s.intValue(&e.BytesSent)
	case kindDuration:
		return s.millisValue(&e.Duration, false)
	case kindUpstreamServiceTime:
		return s.millisValue(&e.UpstreamServiceTime, true)
	case kindUpstreamCluster:
		if !s.strValue(&e.UpstreamCluster) {
			return false
		}
		e.UpstreamCluster = trimClusterSuffix(e.UpstreamCluster)
		return true
	}
	return s.strValue(e.stringField(kind))
}

// jsonKeys maps Istio's JSON keys to Entry fields, in the sorted order in
// which Envoy writes them.
var jsonKeys = [...]struct {
	name string
	kind fieldKind
}{
	{"authority", kindAuthority},
	{"bytes_received", kindBytesReceived},
	{"bytes_sent", kindBytesSent},
	{"connection_termination_details", kindTerminationDetails},
	{"downstream_local_address", kindDownstreamLocalAddress},
	{"downstream_remote_address", kindDownstreamRemoteAddress},
	{"duration", kindDuration},
	{"method", kindMethod},
	{"path", kindPath},
	{"protocol", kindProtocol},
	{"request_id", kindRequestID},
	{"requested_server_name", kindRequestedServerName},
	{"response_code", kindResponseCode},
	{"response_code_details", kindDetails},
	{"response_flags", kindResponseFlags},
	{"route_name", kindRouteName},
	{"start_time", kindStartTime},
	{"upstream_cluster", kindUpstreamCluster},
	{"upstream_host", kindUpstreamHost},
	{"upstream_local_address", kindUpstreamLocalAddress},
	{"upstream_service_time", kindUpstreamServiceTime},
	{"upstream_transport_failure_reason", kindTransportFailureReason},
	{"user_agent", kindUserAgent},
	{"x_forwarded_for", kindForwardedFor},
}

// jsonKeysByFirst lists the indexes of jsonKeys by the key's first byte.
var jsonKeysByFirst = func() (idx [128][]uint8) {
	for i, k := range jsonKeys {
		idx[k.name[0]] = append(idx[k.name[0]], uint8(i))
	}
	return idx
}()

// keyKind reads the key starting at s.b[s.i] == '"' and returns the field
// it fills, kindExtra for a key to skip. Known keys are recognised in
// place: first the key that follows the previous one in jsonKeys (Envoy
// sorts keys, so this is nearly always it), then the keys with the same
// first byte.
func (s *jsonScanner) keyKind() (fieldKind, bool) {
	start := s.i + 1
	if int(s.next) < len(jsonKeys) && s.keyAt(start, int(s.next)) {
		return jsonKeys[s.next-1].kind, true
	}
	if start < len(s.b) && s.b[start] < 128 {
		for _, i := range jsonKeysByFirst[s.b[start]] {
			if s.keyAt(start, int(i)) {
				return jsonKeys[i].kind, true
			}
		}
	}
	kb, ok := s.str()
	if !ok {
		return 0, false
	}
	s.key = bytesToString(kb)
	for i, k := range jsonKeys {
		if k.name == s.key {
			s.next = uint8(i + 1)
			return k.kind, true
		}
	}
	return kindExtra, true
}

// keyAt reports whether jsonKeys[i] and its closing quote are at
// s.b[start:], and if so consumes them.
func (s *jsonScanner) keyAt(start, i int) bool {
	name := jsonKeys[i].name
	end := start + len(name)
	if end >= len(s.b) || s.b[end] != '"' || string(s.b[start:end]) != name {
		return false
	}
	s.i = end + 1
	s.key = name
	s.next = uint8(i + 1)
	return true
}

// scalar reads a string, null or bare token (number, true, false) and
// returns its text; isNull is set for null.
func (s *jsonScanner) scalar(want string) (v []byte, at int, isNull, ok bool) {
	at = s.i
	switch c := s.peek(); {
	case c == '"':
		v, ok := s.str()
		return v, at, false, ok
	case c == 'n':
		if !s.literal("null") {
			return nil, at, false, false
		}
		return nil, at, true, true
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f':
		j := s.i
		for j < len(s.b) && isBareByte(s.b[j]) {
			j++
		}
		v = s.b[s.i:j]
		s.i = j
		if string(v) != "true" && string(v) != "false" && !validNumber(v) {
			return nil, at, false, s.failIn(at, want)
		}
		return v, at, false, true
	}
	return nil, at, false, s.failIn(at, want)
}

// strValue reads a value for a string field.
func (s *jsonScanner) strValue(dst *string) bool {
	v, _, _, ok := s.scalar("string")
	if !ok {
		return false
	}
	if len(v) == 1 && v[0] == '-' {
		v = nil
	}
	*dst = bytesToString(v)
	return true
}

// intValue reads a non-negative integer, as a number or a string.
func (s *jsonScanner) intValue(dst *int64) bool {
	v, at, isNull, ok := s.scalar("integer")
	if !ok {
		return false
	}
	if isNull || len(v) == 0 || len(v) == 1 && v[0] == '-' {
		return true
	}
	if s.b[at] == '"' {
		at++
	}
	n, bad, ok := parseUint(v)
	if !ok {
		return s.failIn(at+bad, "integer")
	}
	*dst = n
	return true
}

// millisValue reads milliseconds, as a number or a string, into
// nanoseconds. When lenient, a malformed value is read as unknown.
func (s *jsonScanner) millisValue(dst *int64, lenient bool) bool {
	v, at, isNull, ok := s.scalar("milliseconds")
	if !ok {
		return false
	}
	if isNull || len(v) == 0 || len(v) == 1 && v[0] == '-' {
		return true
	}
	if s.b[at] == '"' {
		at++
	}
	n, bad, ok := parseMillis(v)
	if !ok {
		if lenient {
			return true
		}
		return s.failIn(at+bad, "milliseconds")
	}
	*dst = n
	return true
}

// timeValue reads an RFC 3339 string.
func (s *jsonScanner) timeValue(dst *int64) bool {
	v, at, isNull, ok := s.scalar("timestamp")
	if !ok {
		return false
	}
	if isNull || len(v) == 0 || len(v) == 1 && v[0] == '-' {
		return true
	}
	if s.b[at] != '"' {
		return s.failIn(at, "timestamp")
	}
	ns, bad, ok := parseRFC3339(v)
	if !ok {
		return s.failIn(at+1+bad, "timestamp")
	}
	*dst = ns
	return true
}

// skip skips any JSON value.
func (s *jsonScanner) skip(depth int) bool {
	if depth > maxJSONDepth {
		return s.failIn(s.i, "less deeply nested value")
	}
	switch s.peek() {
	case '"':
		return s.skipString()
	case '{':
		s.i++
		s.ws()
		if s.peek() == '}' {
			s.i++
			return true
		}
		for {
			if s.peek() != '"' {
				return s.failIn(s.i, `'"'`)
			}
			if !s.skipString() {
				return false
			}
			s.ws()
			if s.peek() != ':' {
				return s.failIn(s.i, "':'")
			}
			s.i++
			s.ws()
			if !s.skip(depth + 1) {
				return false
			}
			s.ws()
			switch s.peek() {
			case ',':
				s.i++
				s.ws()
			case '}':
				s.i++
				return true
			default:
				return s.failIn(s.i, "',' or '}'")
			}
		}
	case '[':
		s.i++
		s.ws()
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			s.ws()
			switch s.peek() {
			case ',':
				s.i++
				s.ws()
			case ']':
				s.i++
				return true
			default:
				return s.failIn(s.i, "',' or ']'")
			}
		}
	}
	_, _, _, ok := s.scalar("value")
	return ok
}

// ws skips JSON white space.
func (s *jsonScanner) ws() {
	for s.i < len(s.b) && s.b[s.i] <= ' ' {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (s *jsonScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// expect consumes c or fails.
func (s *jsonScanner) expect(c byte, want string) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return s.failAfterKey(want)
}

func (s *jsonScanner) failAfterKey(want string) bool {
	return s.failf(s.i, want, relAfter)
}

func (s *jsonScanner) failIn(at int, want string) bool {
	return s.failf(at, want, relIn)
}

// failf records a failure at byte offset at and returns false.
func (s *jsonScanner) failf(at int, want string, rel relation) bool {
	field := ""
	if s.key != "" {
		field = `"` + s.key + `"`
	} else if rel != relNone {
		rel = relNone
	}
	s.fail = failure{col: at, want: want, field: field, rel: rel}
	return false
}
