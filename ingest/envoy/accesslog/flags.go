package accesslog

import "strings"

// Flags is a set of Envoy response flags (%RESPONSE_FLAGS% short codes).
type Flags uint64

// The Envoy response flags, in Envoy's order.
const (
	FlagUH    Flags = 1 << iota // UH: no healthy upstream hosts
	FlagUF                      // UF: upstream connection failure
	FlagUO                      // UO: upstream overflow (circuit breaking)
	FlagNR                      // NR: no route configured
	FlagURX                     // URX: upstream retry or connect attempt limit reached
	FlagNC                      // NC: upstream cluster not found
	FlagDT                      // DT: request or connection exceeded max duration
	FlagDC                      // DC: downstream connection termination
	FlagLH                      // LH: local service failed health check
	FlagUT                      // UT: upstream request timeout
	FlagLR                      // LR: connection local reset
	FlagUR                      // UR: upstream remote reset
	FlagUC                      // UC: upstream connection termination
	FlagDI                      // DI: request delayed by fault injection
	FlagFI                      // FI: request aborted by fault injection
	FlagRL                      // RL: rate limited locally
	FlagUAEX                    // UAEX: denied by the external authorization service
	FlagRLSE                    // RLSE: rate limit service error
	FlagIH                      // IH: invalid value in a strictly checked header
	FlagSI                      // SI: stream idle timeout
	FlagDPE                     // DPE: downstream protocol error
	FlagUPE                     // UPE: upstream protocol error
	FlagUMSDR                   // UMSDR: upstream max stream duration reached
	FlagOM                      // OM: overload manager terminated the request
	FlagDF                      // DF: DNS resolution failed
	FlagRFCF                    // RFCF: response served from the cache filter
	FlagNFCF                    // NFCF: no filter config found
	FlagDO                      // DO: dropped by overload (drop_overload)
	FlagDR                      // DR: downstream remote reset
	// FlagUnknown is set when the text holds a code this package does not
	// know; the code itself stays in Entry.ResponseFlags.
	FlagUnknown
)

// NotReached are the flags with which the caller's sidecar gave up before
// the request reached the destination, so that only the caller's side logs
// it.
const NotReached = FlagUH | FlagUF | FlagUO | FlagNR | FlagURX | FlagNC | FlagDF

// flagCodes lists the short codes in bit order.
var flagCodes = [...]string{
	"UH", "UF", "UO", "NR", "URX", "NC", "DT", "DC", "LH", "UT", "LR", "UR",
	"UC", "DI", "FI", "RL", "UAEX", "RLSE", "IH", "SI", "DPE", "UPE", "UMSDR",
	"OM", "DF", "RFCF", "NFCF", "DO", "DR",
}

// ParseFlags parses a %RESPONSE_FLAGS% value: short codes joined by ','
// ("-" or "" for none). Codes it does not know set [FlagUnknown].
func ParseFlags(s string) Flags {
	var f Flags
	for len(s) > 0 {
		code := s
		if i := strings.IndexByte(s, ','); i >= 0 {
			code, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		f |= flagOf(code)
	}
	return f
}

// flagOf returns the flag of one short code.
func flagOf(code string) Flags {
	switch code {
	case "", "-":
		return 0
	case "UH":
		return FlagUH
	case "UF":
		return FlagUF
	case "UO":
		return FlagUO
	case "NR":
		return FlagNR
	case "URX":
		return FlagURX
	case "NC":
		return FlagNC
	case "DT":
		return FlagDT
	case "DC":
		return FlagDC
	case "LH":
		return FlagLH
	case "UT":
		return FlagUT
	case "LR":
		return FlagLR
	case "UR":
		return FlagUR
	case "UC":
		return FlagUC
	case "DI":
		return FlagDI
	case "FI":
		return FlagFI
	case "RL":
		return FlagRL
	case "UAEX":
		return FlagUAEX
	case "RLSE":
		return FlagRLSE
	case "IH":
		return FlagIH
	case "SI":
		return FlagSI
	case "DPE":
		return FlagDPE
	case "UPE":
		return FlagUPE
	case "UMSDR":
		return FlagUMSDR
	case "OM":
		return FlagOM
	case "DF":
		return FlagDF
	case "RFCF":
		return FlagRFCF
	case "NFCF":
		return FlagNFCF
	case "DO":
		return FlagDO
	case "DR":
		return FlagDR
	}
	return FlagUnknown
}

// Has reports whether every flag of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String returns the short codes of f joined by ',' in Envoy's order, "?"
// for FlagUnknown, and "-" for none.
func (f Flags) String() string {
	if f == 0 {
		return "-"
	}
	var b strings.Builder
	for i, code := range flagCodes {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(code)
		}
	}
	if f&FlagUnknown != 0 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('?')
	}
	return b.String()
}
