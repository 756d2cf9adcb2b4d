package accesslog

import "sync/atomic"

// Built-in format strings.
const (
	// FormatEnvoy is Envoy's default access log format.
	FormatEnvoy = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"` + "\n"

	// FormatEnvoyDetails is FormatEnvoy with %RESPONSE_CODE_DETAILS% after
	// the flags.
	FormatEnvoyDetails = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"` + "\n"

	// FormatIstio is Istio's default text format since 1.24.
	FormatIstio = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ` +
		`"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% ` +
		`%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% ` +
		`%REQUESTED_SERVER_NAME% %ROUTE_NAME%` + "\n"

	// FormatIstio19 is Istio's default text format from 1.9 to 1.23: as
	// FormatIstio with %UPSTREAM_CLUSTER%.
	FormatIstio19 = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ` +
		`"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% ` +
		`%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% ` +
		`%REQUESTED_SERVER_NAME% %ROUTE_NAME%` + "\n"

	// FormatIstioMixer is Istio's default text format from 1.3 to 1.8,
	// with the Mixer policy status where the details fields are now.
	FormatIstioMixer = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" ` +
		`"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% ` +
		`%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% ` +
		`%REQUESTED_SERVER_NAME% %ROUTE_NAME%` + "\n"

	// FormatIstioNoDetails is the Istio format without the three details
	// fields (%RESPONSE_CODE_DETAILS%, %CONNECTION_TERMINATION_DETAILS%,
	// %UPSTREAM_TRANSPORT_FAILURE_REASON%): lines of proxies before 1.9
	// that log no Mixer status.
	FormatIstioNoDetails = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% ` +
		`%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% ` +
		`%REQUESTED_SERVER_NAME% %ROUTE_NAME%` + "\n"
)

// envoyPreset returns the Envoy default parser; details first when asked.
func envoyPreset(detailsFirst bool) *VariantParser {
	if detailsFirst {
		return NewVariantParser(MustCompile(FormatEnvoyDetails), MustCompile(FormatEnvoy))
	}
	return NewVariantParser(MustCompile(FormatEnvoy), MustCompile(FormatEnvoyDetails))
}

// istioPreset returns the Istio default parser. FormatIstio19 stands for
// FormatIstio too: their lines differ only in the ';' that 1.24 and later
// append to %UPSTREAM_CLUSTER%, which FormatIstio19 drops.
func istioPreset() *VariantParser {
	return NewVariantParser(
		MustCompile(FormatIstio19),
		MustCompile(FormatIstioMixer),
		MustCompile(FormatIstioNoDetails),
	)
}

// VariantParser tries several compiled formats on each line, starting with
// the one that matched last, and reports the failure that got furthest
// when none matches. It is safe for concurrent use.
type VariantParser struct {
	variants []*Parser
	last     atomic.Uint32
}

// NewVariantParser returns a parser that accepts lines of any of the given
// formats, tried in order.
func NewVariantParser(variants ...*Parser) *VariantParser {
	return &VariantParser{variants: variants}
}

// Parse parses line with the first variant that matches it; see
// [LineParser].
func (v *VariantParser) Parse(line []byte, e *Entry) error {
	line = trimEOL(line)
	if len(v.variants) == 0 {
		e.reset()
		return failure{want: "a format to parse with"}.err()
	}
	first := int(v.last.Load()) % len(v.variants)
	var best failure
	bestIdx := -1
	for k := range v.variants {
		i := (first + k) % len(v.variants)
		e.reset()
		f, ok := v.variants[i].parse(line, e)
		if ok {
			if i != first {
				v.last.Store(uint32(i))
			}
			return nil
		}
		// The failure that got furthest explains the line best; ties go to
		// the earlier variant so that the message does not depend on
		// which variant matched the previous line.
		if bestIdx < 0 || f.col > best.col || f.col == best.col && i < bestIdx {
			best, bestIdx = f, i
		}
	}
	return best.err()
}
