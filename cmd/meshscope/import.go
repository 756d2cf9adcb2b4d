package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshscope/meshscope/ingest/envoy/lines"
)

// runImport sends Envoy access log files to a running `meshscope serve`:
//
//	meshscope import --format NAME --emitter NAMESPACE/WORKLOAD [--server URL] [--follow] [--batch-lines N] FILE...
func runImport(ctx context.Context, args []string) error {
	fs := newFlagSet("import", "Send Envoy access log files (FILE..., - for standard input) to a running `meshscope serve`, "+
		"in gzip batches, retrying while it is busy; with --follow keep sending what is appended to the file.")
	fs.String("config", "", "YAML file with options (keys are flag names)")
	format := fs.String("format", "", "line format: envoy, envoy-details, istio, istio-json, or an Envoy format string (required)")
	emitter := fs.String("emitter", "", "NAMESPACE/WORKLOAD of the proxy that wrote the lines, such as default/reviews-v2")
	gateway := fs.String("gateway", "", "true when that proxy is a gateway (default: when the workload's name contains \"gateway\")")
	server := fs.String("server", "http://127.0.0.1:8080", "base URL of the meshscope server")
	token := fs.String("token", "", "bearer token for the server (default $MESHSCOPE_AUTH_TOKEN)")
	caFile := fs.String("server-ca-file", "", "PEM certificates that sign the server's HTTPS listener (default: the system's roots)")
	follow := fs.Bool("follow", false, "after the end of the file, keep sending new lines (across truncation and rotation) until interrupted")
	batchLines := fs.Int("batch-lines", 5000, "lines per request")
	concurrency := fs.Int("concurrency", 2, "requests in flight")
	progress := fs.String("progress", "auto", "auto (a bar on a terminal, else a log line every 10s), bar, log or none")
	if err := parseOptions(fs, args); err != nil {
		return err
	}
	// Files may come before, between and after the options.
	var files []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		files = append(files, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
	}
	if *token == "" {
		*token = os.Getenv("MESHSCOPE_AUTH_TOKEN")
	}
	switch {
	case *format == "":
		return errors.New("--format is required: envoy, envoy-details, istio, istio-json or an Envoy format string")
	case len(files) == 0:
		return errors.New("no FILE given (use - for standard input)")
	case *follow && len(files) != 1:
		return errors.New("--follow takes exactly one FILE")
	case *batchLines <= 0:
		return fmt.Errorf("--batch-lines %d: want a positive number", *batchLines)
	case *concurrency <= 0:
		return fmt.Errorf("--concurrency %d: want a positive number", *concurrency)
	case *gateway != "" && *gateway != "true" && *gateway != "false":
		return fmt.Errorf("--gateway %q: want true or false", *gateway)
	}
	mode, err := importProgressMode(*progress)
	if err != nil {
		return err
	}

	trust, err := serverTrust(*caFile)
	if err != nil {
		return err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = trust
	im := &lines.Importer{
		Client: &lines.Client{
			Server: *server, Format: *format, Emitter: *emitter, Gateway: *gateway, Token: *token,
			UserAgent: "meshscope-import/" + version, HTTP: &http.Client{Transport: transport},
		},
		BatchLines: *batchLines, Concurrency: *concurrency, Follow: *follow,
	}
	p := newImportProgress(os.Stderr, mode, im)
	im.Client.OnRetry = p.retry
	start := time.Now()
	var failed error
	for _, file := range files {
		p.begin(file)
		err := im.Import(ctx, file, 10*time.Second)
		p.end()
		if errors.Is(err, lines.ErrNothingAccepted) {
			continue // judged on the whole import below
		}
		if err != nil {
			failed = fmt.Errorf("import %s: %w", file, err)
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	s := im.Stats()
	if failed == nil || s.Accepted+s.Rejected > 0 {
		printImportSummary(os.Stdout, s, time.Since(start))
	}
	switch {
	case failed != nil:
		return failed
	case s.Accepted == 0 && s.Rejected > 0:
		return fmt.Errorf("%w: check --format (first reason above)", lines.ErrNothingAccepted)
	}
	return nil
}

type importMode int

const (
	importNone importMode = iota
	importBar
	importLog
)

func importProgressMode(s string) (importMode, error) {
	switch s {
	case "none":
		return importNone, nil
	case "bar":
		return importBar, nil
	case "log":
		return importLog, nil
	case "auto":
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return importBar, nil
		}
		return importLog, nil
	}
	return importNone, fmt.Errorf("--progress %q: want auto, bar, log or none", s)
}

// importProgress shows an import's progress on w: a bar redrawn five
// times a second, or a log line every ten seconds.
type importProgress struct {
	w    io.Writer
	mode importMode
	im   *lines.Importer

	mu      sync.Mutex
	file    string
	started time.Time
	stop    chan struct{}
	done    chan struct{}
	lastMsg string
}

func newImportProgress(w io.Writer, mode importMode, im *lines.Importer) *importProgress {
	return &importProgress{w: w, mode: mode, im: im}
}

func (p *importProgress) begin(file string) {
	if p.mode == importNone {
		return
	}
	p.mu.Lock()
	p.file, p.started = file, time.Now()
	p.mu.Unlock()
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	every := 200 * time.Millisecond
	if p.mode == importLog {
		every = 10 * time.Second
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				p.draw(true)
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
}

func (p *importProgress) end() {
	if p.mode == importNone {
		return
	}
	close(p.stop)
	<-p.done
}

// retry remembers why the server made the import wait, for the next
// draw.
func (p *importProgress) retry(reason string, wait time.Duration) {
	p.mu.Lock()
	p.lastMsg = fmt.Sprintf("waiting %s: %s", wait.Round(100*time.Millisecond), reason)
	p.mu.Unlock()
}

func (p *importProgress) draw(final bool) {
	s := p.im.Stats()
	p.mu.Lock()
	file, started, msg := p.file, p.started, p.lastMsg
	p.lastMsg = ""
	p.mu.Unlock()
	elapsed := time.Since(started).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(s.Lines) / elapsed
	}
	pct := ""
	if s.Size > 0 {
		pct = fmt.Sprintf(" %3.0f%%", 100*float64(min(s.Bytes, s.Size))/float64(s.Size))
	}
	counts := fmt.Sprintf("%s lines%s, %s lines/s, %s, accepted %s, rejected %s", importCount(s.Lines), pct,
		importCount(int64(rate)), importBytes(s.Bytes), importCount(s.Accepted), importCount(s.Rejected))
	if p.mode == importLog {
		line := "import " + file + ": " + counts
		if msg != "" {
			line += " (" + msg + ")"
		}
		fmt.Fprintln(p.w, line)
		return
	}
	bar := ""
	if s.Size > 0 {
		const width = 24
		n := int(width * min(s.Bytes, s.Size) / s.Size)
		bar = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] "
	}
	line := "\r\033[K" + shortName(file) + " " + bar + counts
	if msg != "" {
		line += " | " + msg
	}
	if final {
		line += "\n"
	}
	fmt.Fprint(p.w, line)
}

func shortName(f string) string {
	if len(f) > 32 {
		return "…" + f[len(f)-31:]
	}
	return f
}

// printImportSummary tells what the server accepted and why it rejected
// lines.
func printImportSummary(w io.Writer, s lines.Stats, took time.Duration) {
	total := s.Accepted + s.Rejected
	rate := ""
	if secs := took.Seconds(); secs > 0 {
		rate = fmt.Sprintf(" (%s lines/s)", importCount(int64(float64(total)/secs)))
	}
	fmt.Fprintf(w, "imported %s lines in %s%s: %s accepted, %s rejected\n",
		importCount(total), took.Round(time.Millisecond), rate, importCount(s.Accepted), importCount(s.Rejected))
	if len(s.Errors) > 0 {
		fmt.Fprintf(w, "first rejected lines:\n")
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  %s\n", e.String())
		}
	}
}

// importCount prints n with thousands separators.
func importCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func importBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
