package schema

import (
	"fmt"
	"strings"
)

// Requests seen by both sidecars. A call between two meshed workloads is
// logged twice in the requests table: by the caller's sidecar (reporter
// source, or gateway) and by the callee's (destination). The rule every
// count over the table uses (the SLIs, an edge's errors and paths), as the
// graph does per request: where a (source, destination) pair has
// destination-reported rows in the range counted, a row reported by another
// side counts only if its call never reached the destination (a response
// flag of RequestNotReachedFlags, or no response over HTTP), since the
// destination logged every other one. A pair without destination rows (a
// callee outside the mesh) counts all its rows.

// RequestNotReachedFlags are the Envoy response flags with which the
// caller's sidecar gave up before the destination saw the request (the
// ingest side's accesslog.NotReached; a test holds them equal).
var RequestNotReachedFlags = []string{"UH", "UF", "UO", "NR", "URX", "NC", "DF"}

// RequestFlagsAnySQL is true for a requests row with any of flags (upper
// case letters only: they are written into the SQL).
func RequestFlagsAnySQL(flags []string) string {
	quoted := make([]string, len(flags))
	for i, f := range flags {
		quoted[i] = "'" + f + "'"
	}
	return "hasAny(splitByChar(',', response_flags), [" + strings.Join(quoted, ", ") + "])"
}

// RequestDuplicateSQL is true for a requests row that, in a pair with
// destination-reported rows, the destination's row of the same call counts
// instead: not reported by the destination, and its call reached it.
func RequestDuplicateSQL() string {
	return fmt.Sprintf("reporter != 'destination' AND NOT (%s OR (lower(protocol) != 'tcp' AND response_code = 0))", RequestFlagsAnySQL(RequestNotReachedFlags))
}
