package lines

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Importer reads access log files and sends their lines in batches through
// a Client, several batches in flight; with Follow it keeps reading a file
// as it grows, across truncation and rotation. Its Stats can be read at any
// time, from any goroutine, to show progress.
type Importer struct {
	// Client sends the batches.
	Client *Client
	// BatchLines is the most lines a batch holds. Default 5,000.
	BatchLines int
	// BatchBytes is the most bytes a batch holds. Default 8 MiB.
	BatchBytes int
	// Concurrency is the number of batches in flight. Default 2.
	Concurrency int
	// Follow keeps reading the file after its end, as `tail -F` does.
	Follow bool
	// Poll is how often a followed file is checked for growth, truncation
	// and rotation. Default 250ms.
	Poll time.Duration
	// MaxErrors is how many rejected lines Stats details. Default 20.
	MaxErrors int

	mu    sync.Mutex
	stats Stats
	read  atomic.Int64 // lines read
	bytes atomic.Int64 // bytes read
	size  atomic.Int64 // size of the file being read; 0 unknown
}

// Stats is an import's progress.
type Stats struct {
	// File is the file being read.
	File string
	// Lines and Bytes are what was read; Size is the file's size (0 when
	// unknown, such as standard input).
	Lines, Bytes, Size int64
	// Accepted and Rejected count the lines the server answered for.
	Accepted, Rejected int64
	// Batches counts the batches answered; Retries the waits before a new
	// attempt.
	Batches, Retries int64
	// Errors are the first rejected lines.
	Errors []FileLineError
}

// FileLineError is a rejected line of a file.
type FileLineError struct {
	File string
	LineError
}

func (e FileLineError) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Error)
}

// Stats returns the progress so far.
func (im *Importer) Stats() Stats {
	im.mu.Lock()
	s := im.stats
	s.Errors = append([]FileLineError(nil), im.stats.Errors...)
	im.mu.Unlock()
	s.Lines, s.Bytes, s.Size = im.read.Load(), im.bytes.Load(), im.size.Load()
	return s
}

// batch is a run of whole lines of one file.
type batch struct {
	file      string
	firstLine int64
	data      []byte
	lines     int
}

func (im *Importer) defaults() {
	if im.BatchLines <= 0 {
		im.BatchLines = 5000
	}
	if im.BatchBytes <= 0 {
		im.BatchBytes = 8 << 20
	}
	if im.Concurrency <= 0 {
		im.Concurrency = 2
	}
	if im.Poll <= 0 {
		im.Poll = 250 * time.Millisecond
	}
	if im.MaxErrors <= 0 {
		im.MaxErrors = 20
	}
}

// Import sends the lines of the file at path ("-" for standard input), and,
// with Follow, those written to it later, until ctx ends. Batches read
// before ctx ended are still sent, for up to grace. It returns the first
// error that stops the import; ErrNothingAccepted when every line was
// rejected.
func (im *Importer) Import(ctx context.Context, path string, grace time.Duration) error {
	im.defaults()
	im.mu.Lock()
	im.stats = Stats{File: path, Batches: im.stats.Batches, Retries: im.stats.Retries,
		Accepted: im.stats.Accepted, Rejected: im.stats.Rejected, Errors: im.stats.Errors}
	im.mu.Unlock()
	im.read.Store(0)
	im.bytes.Store(0)
	im.size.Store(0)

	// Sending outlives ctx by grace, so that what was read gets sent.
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancelSend)
		<-sendCtx.Done()
		t.Stop()
	})
	defer stopGrace()

	batches := make(chan *batch, im.Concurrency)
	// Sent batches' buffers go back to the reader: a buffer per batch in
	// flight, not one per batch read.
	free := make(chan []byte, 2*im.Concurrency+1)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancelSend() })
	}
	client := *im.Client
	onRetry := client.OnRetry
	client.OnRetry = func(reason string, wait time.Duration) {
		im.mu.Lock()
		im.stats.Retries++
		im.mu.Unlock()
		if onRetry != nil {
			onRetry(reason, wait)
		}
	}
	for range im.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if sendCtx.Err() != nil {
					continue // drain
				}
				resp, err := client.Send(sendCtx, b.data)
				select {
				case free <- b.data[:0]:
				default:
				}
				if err != nil {
					fail(err)
					continue
				}
				im.record(b, resp)
			}
		}()
	}
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	stop := context.AfterFunc(sendCtx, cancelRead) // a failed send stops the reading
	defer stop()
	err := im.readFile(readCtx, path, batches, free)
	close(batches)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	s := im.Stats()
	if s.Accepted == 0 && s.Rejected > 0 {
		return ErrNothingAccepted
	}
	return nil
}

func (im *Importer) record(b *batch, resp Response) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.stats.Batches++
	im.stats.Accepted += int64(resp.Accepted)
	im.stats.Rejected += int64(resp.Rejected)
	for _, e := range resp.Errors {
		if len(im.stats.Errors) >= im.MaxErrors {
			break
		}
		e.Line += int(b.firstLine) - 1
		im.stats.Errors = append(im.stats.Errors, FileLineError{File: b.file, LineError: e})
	}
}

// reader reads one file into batches.
type reader struct {
	im      *Importer
	file    string
	out     chan<- *batch
	free    chan []byte // buffers of sent batches, for reuse
	cur     *batch
	line    int64  // lines read so far
	partial []byte // a line without its end yet (following)
}

func (r *reader) add(line []byte) {
	if r.cur == nil {
		var data []byte
		select {
		case data = <-r.free:
		default:
			data = make([]byte, 0, 1<<20)
		}
		r.cur = &batch{file: r.file, firstLine: r.line + 1, data: data}
	}
	r.cur.data = append(r.cur.data, line...)
	if n := len(line); n == 0 || line[n-1] != '\n' {
		r.cur.data = append(r.cur.data, '\n')
	}
	r.cur.lines++
	r.line++
	r.im.read.Add(1)
	if r.cur.lines >= r.im.BatchLines || len(r.cur.data) >= r.im.BatchBytes {
		r.flush()
	}
}

// flush hands the batch being filled to the senders, which take every
// batch until the channel closes.
func (r *reader) flush() {
	if r.cur != nil {
		r.out <- r.cur
		r.cur = nil
	}
}

// drain reads what br holds up to its end; a last line without its end
// is kept in r.partial.
func (r *reader) drain(br *bufio.Reader) error { return r.drainUntil(context.Background(), br) }

// endPartial sends a last line that has no line end.
func (r *reader) endPartial() {
	if len(r.partial) > 0 {
		r.add(r.partial)
		r.partial = r.partial[:0]
	}
}

func (im *Importer) readFile(ctx context.Context, path string, out chan<- *batch, free chan []byte) error {
	r := &reader{im: im, file: path, out: out, free: free}
	if path == "-" {
		br := bufio.NewReaderSize(os.Stdin, 256<<10)
		err := r.drainUntil(ctx, br)
		r.endPartial()
		r.flush()
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer func() { f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	im.size.Store(fi.Size())
	br := bufio.NewReaderSize(f, 256<<10)
	if !im.Follow {
		err := r.drainUntil(ctx, br)
		r.endPartial()
		r.flush()
		return err
	}
	var off int64 // bytes consumed from f
	tick := time.NewTicker(im.Poll)
	defer tick.Stop()
	for {
		before := im.bytes.Load()
		if err := r.drain(br); err != nil {
			return err
		}
		off += im.bytes.Load() - before
		r.flush() // caught up: send what there is
		select {
		case <-ctx.Done():
			r.endPartial()
			r.flush()
			return ctx.Err()
		case <-tick.C:
		}
		cur, err := f.Stat()
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		if now, err := os.Stat(path); err == nil && !os.SameFile(now, cur) {
			// Rotated: finish the old file, then read the new one from
			// its start.
			if err := r.drain(br); err != nil {
				return err
			}
			r.endPartial()
			nf, err := os.Open(path)
			if err != nil {
				continue // renamed but not yet recreated
			}
			f.Close()
			f, off = nf, 0
			br.Reset(f)
			im.size.Store(now.Size())
			im.bytes.Store(0)
			continue
		}
		im.size.Store(cur.Size())
		if cur.Size() < off {
			// Truncated (copytruncate): start over.
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("seek %s: %w", path, err)
			}
			br.Reset(f)
			off = 0
			r.partial = r.partial[:0]
			im.bytes.Store(0)
		}
	}
}

// drainUntil reads br to its end, stopping early when ctx ends; a last
// line without its end is kept in r.partial.
func (r *reader) drainUntil(ctx context.Context, br *bufio.Reader) error {
	for ctx.Err() == nil {
		chunk, err := br.ReadSlice('\n')
		r.im.bytes.Add(int64(len(chunk)))
		switch {
		case err == nil:
			if len(r.partial) > 0 {
				r.partial = append(r.partial, chunk...)
				r.add(r.partial)
				r.partial = r.partial[:0]
			} else {
				r.add(chunk)
			}
		case errors.Is(err, bufio.ErrBufferFull):
			r.partial = append(r.partial, chunk...)
		case errors.Is(err, io.EOF):
			r.partial = append(r.partial, chunk...)
			return nil
		default:
			return fmt.Errorf("read %s: %w", r.file, err)
		}
	}
	return ctx.Err()
}
