package accesslog

import (
	"fmt"
	"strconv"
	"strings"
)

// fieldKind says which Entry field a format command fills.
type fieldKind uint8

const (
	kindLiteral fieldKind = iota
	kindStartTime
	kindMethod
	kindPath
	kindProtocol
	kindResponseCode
	kindResponseFlags
	kindDetails
	kindTerminationDetails
	kindTransportFailureReason
	kindBytesReceived
	kindBytesSent
	kindDuration
	kindUpstreamServiceTime
	kindForwardedFor
	kindUserAgent
	kindRequestID
	kindAuthority
	kindUpstreamHost
	kindUpstreamCluster // %UPSTREAM_CLUSTER%: a trailing ';' is dropped
	kindUpstreamClusterRaw
	kindUpstreamLocalAddress
	kindDownstreamLocalAddress
	kindDownstreamRemoteAddress
	kindRequestedServerName
	kindRouteName
	kindExtra
)

// token is one element of a compiled format: literal text, or a command
// with what the parser needs to find where its value ends.
type token struct {
	kind fieldKind
	// text is the literal, or the command as written ("%REQ(USER-AGENT):10%").
	text string
	// name is the command without '%' and length limit ("REQ(USER-AGENT)").
	name string
	// maxLen is the command's length limit, 0 for none.
	maxLen int
	// layout is the %START_TIME(...)% layout; nil for RFC 3339.
	layout *timeLayout

	// term is the literal after a command; "" when the command ends the line.
	term      string
	termBytes []byte
	// termAtEnd: term is the last token, so it must end the line.
	termAtEnd bool
	// spaceStop: term starts with ' ' and the command is not between
	// quotes, so its value ends at the first space.
	spaceStop bool
	// errField and errRel describe failures at this token for ParseError.
	errField string
	errRel   relation
}

// Parser parses lines written with one Envoy format string. It is
// immutable and safe for concurrent use.
type Parser struct {
	format string
	tokens []token
}

// Compile compiles an Envoy access log format string, such as
//
//	[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
//
// Commands are %NAME%, %NAME(ARG)%, %NAME:LEN% or %NAME(ARG):LEN%, and %%
// is a literal '%', as in Envoy. Commands with an [Entry] field fill it
// (%REQ(...)% headers are matched without regard to case, and
// X-ENVOY-ORIGINAL-PATH?:PATH, :PATH and X-ENVOY-ORIGINAL-PATH all fill
// Path); any other command is kept in Entry.Extra. %START_TIME% is read as
// RFC 3339; %START_TIME(layout)% with the strftime layout.
//
// Text between commands must appear as written. A command's value ends
// where the following text starts: at the first space when that text
// starts with a space and the command is not between double quotes, else
// at the first occurrence of the text; the value of a command that ends
// the line runs to the end of the line. Two commands with no text between
// them cannot be split and are an error, and so is a newline anywhere but
// at the end of the format.
func Compile(format string) (*Parser, error) {
	body := strings.TrimRight(format, "\r\n")
	if body == "" {
		return nil, fmt.Errorf("compile format %q: no commands or text", format)
	}
	if i := strings.IndexAny(body, "\r\n"); i >= 0 {
		return nil, fmt.Errorf("compile format: column %d: a newline before the end; entries spanning lines are not supported", i+1)
	}
	toks, err := lexFormat(body)
	if err != nil {
		return nil, fmt.Errorf("compile format: %w", err)
	}
	linkTokens(toks)
	return &Parser{format: format, tokens: toks}, nil
}

// MustCompile is like [Compile] but panics on error; for formats fixed in
// code.
func MustCompile(format string) *Parser {
	p, err := Compile(format)
	if err != nil {
		panic(err)
	}
	return p
}

// Format returns the format string p was compiled from.
func (p *Parser) Format() string { return p.format }

// lexFormat splits a format into literal and command tokens.
func lexFormat(f string) ([]token, error) {
	var toks []token
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, token{kind: kindLiteral, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(f); {
		c := f[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			lit.WriteByte('%')
			i += 2
			continue
		}
		t, n, err := lexCommand(f, i)
		if err != nil {
			return nil, err
		}
		flush()
		if len(toks) > 0 && toks[len(toks)-1].kind != kindLiteral {
			return nil, fmt.Errorf("column %d: %s follows %s with no text between them, so their values cannot be told apart",
				i+1, t.text, toks[len(toks)-1].text)
		}
		toks = append(toks, t)
		i += n
	}
	flush()
	return toks, nil
}

// lexCommand reads the command starting at f[start] == '%' and returns it
// with its length in bytes.
func lexCommand(f string, start int) (token, int, error) {
	i := start + 1
	for i < len(f) && (f[i] >= 'A' && f[i] <= 'Z' || f[i] >= '0' && f[i] <= '9' || f[i] == '_') {
		i++
	}
	if i == start+1 {
		return token{}, 0, fmt.Errorf("column %d: expected a command name (A-Z, 0-9, _) after '%%'", i+1)
	}
	cmd := f[start+1 : i]
	arg := ""
	if i < len(f) && f[i] == '(' {
		j := strings.IndexByte(f[i:], ')')
		if j < 0 {
			return token{}, 0, fmt.Errorf("column %d: %%%s( has no ')'", start+1, cmd)
		}
		arg = f[i+1 : i+j]
		i += j + 1
	}
	name := f[start+1 : i]
	maxLen := 0
	if i < len(f) && f[i] == ':' {
		j := i + 1
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(f[i+1 : j])
		if err != nil || n <= 0 {
			return token{}, 0, fmt.Errorf("column %d: %%%s: expected a positive length after ':'", i+1, name)
		}
		maxLen = n
		i = j
	}
	if i >= len(f) || f[i] != '%' {
		return token{}, 0, fmt.Errorf("column %d: expected '%%' to close %%%s", i+1, name)
	}
	i++
	t := token{text: f[start:i], name: name, maxLen: maxLen}
	t.kind = classify(cmd, arg)
	if t.kind == kindStartTime && arg != "" {
		l, err := compileTimeLayout(arg)
		if err != nil {
			return token{}, 0, fmt.Errorf("column %d: %%START_TIME%%: %w", start+1, err)
		}
		t.layout = l
	}
	return t, i - start, nil
}

// classify returns the Entry field a command fills.
func classify(cmd, arg string) fieldKind {
	switch cmd {
	case "START_TIME":
		return kindStartTime
	case "REQ":
		main, alt, _ := strings.Cut(arg, "?")
		if k := requestHeader(main); k != kindExtra {
			return k
		}
		return requestHeader(alt)
	case "RESP":
		if strings.EqualFold(arg, "X-ENVOY-UPSTREAM-SERVICE-TIME") {
			return kindUpstreamServiceTime
		}
		return kindExtra
	}
	if arg != "" {
		return kindExtra
	}
	switch cmd {
	case "PROTOCOL":
		return kindProtocol
	case "RESPONSE_CODE":
		return kindResponseCode
	case "RESPONSE_FLAGS":
		return kindResponseFlags
	case "RESPONSE_CODE_DETAILS":
		return kindDetails
	case "CONNECTION_TERMINATION_DETAILS":
		return kindTerminationDetails
	case "UPSTREAM_TRANSPORT_FAILURE_REASON":
		return kindTransportFailureReason
	case "BYTES_RECEIVED":
		return kindBytesReceived
	case "BYTES_SENT":
		return kindBytesSent
	case "DURATION":
		return kindDuration
	case "UPSTREAM_HOST":
		return kindUpstreamHost
	case "UPSTREAM_CLUSTER":
		return kindUpstreamCluster
	case "UPSTREAM_CLUSTER_RAW":
		return kindUpstreamClusterRaw
	case "UPSTREAM_LOCAL_ADDRESS":
		return kindUpstreamLocalAddress
	case "DOWNSTREAM_LOCAL_ADDRESS":
		return kindDownstreamLocalAddress
	case "DOWNSTREAM_REMOTE_ADDRESS":
		return kindDownstreamRemoteAddress
	case "REQUESTED_SERVER_NAME":
		return kindRequestedServerName
	case "ROUTE_NAME":
		return kindRouteName
	}
	return kindExtra
}

// requestHeader returns the Entry field of a %REQ(...)% header.
func requestHeader(h string) fieldKind {
	switch strings.ToUpper(h) {
	case ":METHOD":
		return kindMethod
	case ":PATH", "X-ENVOY-ORIGINAL-PATH":
		return kindPath
	case ":AUTHORITY", "HOST":
		return kindAuthority
	case "X-FORWARDED-FOR":
		return kindForwardedFor
	case "USER-AGENT":
		return kindUserAgent
	case "X-REQUEST-ID":
		return kindRequestID
	}
	return kindExtra
}

// linkTokens fills in what each token needs to know about its neighbours.
func linkTokens(toks []token) {
	for i := range toks {
		t := &toks[i]
		if t.kind == kindLiteral {
			// A literal is described by the command after it, or by
			// the one before it when it ends the format.
			switch {
			case i+1 < len(toks):
				t.errField, t.errRel = toks[i+1].text, relBefore
			case i > 0:
				t.errField, t.errRel = toks[i-1].text, relAfter
			}
			continue
		}
		t.errField, t.errRel = t.text, relIn
		if i+1 >= len(toks) {
			continue
		}
		t.term = toks[i+1].text
		t.termBytes = []byte(t.term)
		t.termAtEnd = i+2 == len(toks)
		quoted := i > 0 && strings.HasSuffix(toks[i-1].text, `"`) && t.term[0] == '"'
		t.spaceStop = !quoted && t.term[0] == ' '
	}
}
