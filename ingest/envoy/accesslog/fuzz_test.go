package accesslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// Seed corpora are in testdata/fuzz/<FuzzName>/, built from the fixture
// lines, the preset formats and the custom formats of the tests.

// checkParse checks what must hold after any Parse call.
func checkParse(t *testing.T, line []byte, e *Entry, err error, textOnly bool) {
	t.Helper()
	trimmed := trimEOL(line)
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v is not a *ParseError", err)
		}
		if pe.Column < 1 || pe.Column > len(trimmed)+1 {
			t.Fatalf("column %d outside 1..%d: %v", pe.Column, len(trimmed)+1, err)
		}
		if pe.Error() == "" {
			t.Fatal("empty message")
		}
		return
	}
	if e.Flags != ParseFlags(e.ResponseFlags) {
		t.Fatalf("flags %v do not match %q", e.Flags, e.ResponseFlags)
	}
	if e.Duration < -1 || e.UpstreamServiceTime < -1 || e.BytesReceived < 0 || e.BytesSent < 0 || e.ResponseCode < 0 {
		t.Fatalf("negative value: %+v", e)
	}
	if textOnly {
		// The text parser only slices the line.
		for _, s := range e.stringFields() {
			if !bytes.Contains(trimmed, []byte(*s)) {
				t.Fatalf("field %q is not part of the line", *s)
			}
		}
		for _, f := range e.Extra {
			if !bytes.Contains(trimmed, []byte(f.Value)) {
				t.Fatalf("extra %s=%q is not part of the line", f.Name, f.Value)
			}
		}
	}
	c := e.Clone()
	if !equalEntries(c, *e) {
		t.Fatalf("clone differs:\n%+v\n%+v", c, *e)
	}
}

// equalEntries compares entries field by field.
func equalEntries(a, b Entry) bool {
	as, bs := a.stringFields(), b.stringFields()
	for i := range as {
		if *as[i] != *bs[i] {
			return false
		}
	}
	if len(a.Extra) != len(b.Extra) {
		return false
	}
	for i := range a.Extra {
		if a.Extra[i] != b.Extra[i] {
			return false
		}
	}
	return a.StartTime == b.StartTime && a.ResponseCode == b.ResponseCode && a.Flags == b.Flags &&
		a.BytesReceived == b.BytesReceived && a.BytesSent == b.BytesSent &&
		a.Duration == b.Duration && a.UpstreamServiceTime == b.UpstreamServiceTime
}

func FuzzCompile(f *testing.F) {
	f.Fuzz(func(t *testing.T, format string, line []byte) {
		p, err := Compile(format)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty compile error")
			}
			return
		}
		var e Entry
		err = p.Parse(line, &e)
		checkParse(t, line, &e, err, true)
		_ = DecodeCluster(e.UpstreamCluster)
	})
}

func FuzzParseText(f *testing.F) {
	istio, envoy := istioPreset(), envoyPreset(false)
	istio124 := MustCompile(FormatIstio)
	f.Fuzz(func(t *testing.T, line []byte) {
		var e Entry
		err := istio.Parse(line, &e)
		checkParse(t, line, &e, err, true)
		c := DecodeCluster(e.UpstreamCluster)
		if c.Kind != KindNone && !bytes.Contains(line, []byte(c.Service)) {
			t.Fatalf("service %q is not part of the line", c.Service)
		}
		_, _ = SplitWorkload(e.UpstreamCluster)
		_ = PodWorkload(e.UpstreamCluster)

		// The preset accepts whatever its newest variant accepts.
		var e2 Entry
		if istio124.Parse(line, &e2) == nil && err != nil {
			t.Fatalf("preset rejects a line of its newest format: %v", err)
		}

		err = envoy.Parse(line, &e)
		checkParse(t, line, &e, err, true)
	})
}

func FuzzParseJSON(f *testing.F) {
	p := NewJSONParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		var e Entry
		err := p.Parse(line, &e)
		checkParse(t, line, &e, err, false)

		trimmed := trimEOL(line)
		if !json.Valid(trimmed) || !bytes.HasPrefix(bytes.TrimLeft(trimmed, " \t\r\n"), []byte("{")) {
			return
		}
		if err != nil {
			// Valid JSON may only fail on the type or range of a value.
			var pe *ParseError
			errors.As(err, &pe)
			if pe.rel != relIn {
				t.Fatalf("valid JSON object rejected: %v", err)
			}
			return
		}
		// Strings must read as encoding/json reads them.
		var m map[string]any
		if err := json.Unmarshal(trimmed, &m); err != nil {
			t.Fatal(err)
		}
		for key, v := range m {
			s, ok := v.(string)
			dst := jsonStringField(&e, key)
			// encoding/json replaces invalid UTF-8; this parser keeps it.
			if !ok || dst == nil || !utf8.ValidString(*dst) {
				continue
			}
			if s == "-" {
				s = ""
			}
			if key == "upstream_cluster" {
				s = trimClusterSuffix(s)
			}
			if *dst != s {
				t.Fatalf("%s: got %q, encoding/json reads %q", key, *dst, s)
			}
		}
	})
}

// jsonStringField returns the string field of e that a JSON key fills.
func jsonStringField(e *Entry, key string) *string {
	switch key {
	case "method":
		return &e.Method
	case "path":
		return &e.Path
	case "protocol":
		return &e.Protocol
	case "response_flags":
		return &e.ResponseFlags
	case "response_code_details":
		return &e.Details
	case "connection_termination_details":
		return &e.TerminationDetails
	case "upstream_transport_failure_reason":
		return &e.TransportFailureReason
	case "x_forwarded_for":
		return &e.ForwardedFor
	case "user_agent":
		return &e.UserAgent
	case "request_id":
		return &e.RequestID
	case "authority":
		return &e.Authority
	case "upstream_host":
		return &e.UpstreamHost
	case "upstream_cluster":
		return &e.UpstreamCluster
	case "upstream_local_address":
		return &e.UpstreamLocalAddress
	case "downstream_local_address":
		return &e.DownstreamLocalAddress
	case "downstream_remote_address":
		return &e.DownstreamRemoteAddress
	case "requested_server_name":
		return &e.RequestedServerName
	case "route_name":
		return &e.RouteName
	}
	return nil
}
