package demo

// outcome is how a call ended, as the sidecars, the spans and the metrics
// tell it.
type outcome uint8

const (
	outOK          outcome = iota // 200, gRPC OK, or a TCP connection closed normally
	outNotFound                   // 404, gRPC NOT_FOUND
	outAppError                   // 500 from the service, gRPC INTERNAL
	outUnavailable                // 503 from the service, gRPC UNAVAILABLE
	outConnFailure                // the caller's sidecar could not connect: 503 UF, never reached
	numOutcomes
)

// reached reports whether the destination's sidecar saw the call.
func (o outcome) reached() bool { return o != outConnFailure }

// failed reports whether the call counts as failed for its caller.
func (o outcome) failed() bool { return o >= outAppError }

// respStatus is what an outcome looks like on one protocol.
type respStatus struct {
	code       int    // HTTP response code (200 for gRPC)
	codeStr    string // code as text, "-" for none
	grpc       int    // gRPC status; -1 for none
	grpcStr    string // grpc_response_status label value
	flags      string // Envoy response flags, "-" for none
	details    string // %RESPONSE_CODE_DETAILS%
	failReason string // %UPSTREAM_TRANSPORT_FAILURE_REASON%, "" for none
	spanError  bool
}

var httpStatus = [numOutcomes]respStatus{
	outOK:          {200, "200", -1, "", "-", "via_upstream", "", false},
	outNotFound:    {404, "404", -1, "", "-", "via_upstream", "", false},
	outAppError:    {500, "500", -1, "", "-", "via_upstream", "", true},
	outUnavailable: {503, "503", -1, "", "-", "via_upstream", "", true},
	outConnFailure: {503, "503", -1, "", "UF", "upstream_reset_before_response_started{connection_failure}", "delayed_connect_error:_111", true},
}

var grpcStatus = [numOutcomes]respStatus{
	outOK:          {200, "200", 0, "0", "-", "via_upstream", "", false},
	outNotFound:    {200, "200", 5, "5", "-", "via_upstream", "", false},
	outAppError:    {200, "200", 13, "13", "-", "via_upstream", "", true},
	outUnavailable: {200, "200", 14, "14", "-", "via_upstream", "", true},
	outConnFailure: {200, "200", 14, "14", "UF", "upstream_reset_before_response_started{connection_failure}", "delayed_connect_error:_111", true},
}

// statusOf returns the look of outcome o on protocol p.
func statusOf(p Protocol, o outcome) *respStatus {
	if p == ProtocolGRPC {
		return &grpcStatus[o]
	}
	return &httpStatus[o]
}
