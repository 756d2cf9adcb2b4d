package graph

// Surviving a crash.
//
// The builder writes a 10 second bucket to edges_10s FlushDelay after it
// ends; until then its calls live only in memory. A process killed without
// a clean stop (kill -9, out of memory, a lost node) would lose them: up to
// FlushDelay plus 10 seconds of the graph's history.
//
// So every tick that flushes a bucket also copies the cells still open
// (each second's counters per provenance and reporter, as observe keeps
// them) into a snapshot, which the writer goroutine writes to SnapshotPath
// before it inserts that tick's rows. A process that starts after a crash
// restores the snapshot (Restore) before it takes new input, and writes
// those buckets when they are due. Writing the snapshot first means a
// crash between the two loses the rows in flight, as it would without
// snapshots, but never counts them twice: the snapshot's NextFlush already
// excludes them. What a crash still loses is the calls observed after the
// last snapshot (at most 10 seconds) and spans waiting for their other
// half. A clean stop writes everything and removes the snapshot.
//
// Partial rows for open buckets would not do instead: a cell's numbers can
// go down when a more trusted input's calls arrive for it later (the
// per-second choice of provenance.go), and edges_10s rows only add.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/prometheus/prometheus/tsdb/fileutil"
)

// snapshot is the builder's cells from nextFlush on, taken at takenUnix,
// encoded as it is taken (a snapshot of a large graph is millions of cells:
// one buffer, no value per cell). The layout, all integers uvarints:
// snapshotMagic, takenUnix, nextFlush, then per edge a 1, its key (the six
// strings of each party, each after its length, then the protocol), its
// cell count and per cell the second, the slot count and per slot the
// slot, the seven counters of slotStats, the histogram's bucket count and
// (bucket, count) pairs; a 0 ends the edges.
type snapshot struct {
	takenUnix, nextFlush int64
	buf                  []byte
}

const snapshotMagic = 0x6d73_6701 // "msg", version 1

// newSnapshot starts a snapshot with room for size bytes (the last one's).
func newSnapshot(takenUnix, nextFlush int64, size int) *snapshot {
	s := &snapshot{takenUnix: takenUnix, nextFlush: nextFlush, buf: make([]byte, 0, size+size/8)}
	s.u(snapshotMagic)
	s.u(uint64(takenUnix))
	s.u(uint64(nextFlush))
	return s
}

func (s *snapshot) u(v uint64) { s.buf = binary.AppendUvarint(s.buf, v) }

func (s *snapshot) str(v string) {
	s.u(uint64(len(v)))
	s.buf = append(s.buf, v...)
}

func (s *snapshot) party(p *Party) {
	for _, v := range [...]string{string(p.Kind), p.Cluster, p.Namespace, p.Name, p.Workload, p.Version} {
		s.str(v)
	}
}

// add appends e's cells from second nextFlush on. The shard's lock is held.
func (s *snapshot) add(e *edgeState) {
	n := 0
	for _, c := range e.cells {
		if c.sec >= s.nextFlush {
			n++
		}
	}
	if n == 0 {
		return
	}
	s.u(1)
	s.party(&e.key.Source)
	s.party(&e.key.Destination)
	s.u(uint64(e.key.Protocol))
	s.u(uint64(n))
	for _, c := range e.cells {
		if c.sec < s.nextFlush {
			continue
		}
		s.u(uint64(c.sec))
		slots := 0
		for _, sl := range c.slots {
			if sl != nil {
				slots++
			}
		}
		s.u(uint64(slots))
		for i, sl := range c.slots {
			if sl == nil {
				continue
			}
			s.u(uint64(i))
			for _, v := range [...]uint64{sl.requests, sl.errors, sl.latSum, sl.bytesSent, sl.bytesRecv, sl.mtls, sl.plain} {
				s.u(v)
			}
			if sl.lat.full != nil {
				lo, hi := latencyRange(sl.lat.full)
				nz := 0
				for b := lo; b <= hi; b++ {
					if sl.lat.full[b] != 0 {
						nz++
					}
				}
				s.u(uint64(nz))
				for b, cnt := range sl.lat.full {
					if cnt != 0 {
						s.u(uint64(b))
						s.u(cnt)
					}
				}
				continue
			}
			s.u(uint64(len(sl.lat.idx)))
			for j, b := range sl.lat.idx {
				s.u(uint64(b))
				s.u(sl.lat.cnt[j])
			}
		}
	}
}

// end closes the list of edges.
func (s *snapshot) end() { s.u(0) }

// writeSnapshot replaces the snapshot file with s (written aside, synced,
// then renamed over it). A failure is logged and counted, and the previous
// snapshot is removed: it holds cells of the bucket about to be written,
// which a restart would count a second time.
func (b *Builder) writeSnapshot(s *snapshot) {
	err := func() error {
		path := b.cfg.SnapshotPath
		tmp := path + ".tmp"
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		_, err = f.Write(s.buf)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		return fileutil.Rename(tmp, path) // and syncs the directory
	}()
	if err != nil {
		b.m.snapshots.WithLabelValues("failed").Inc()
		b.cfg.Logger.Warn("graph: snapshot of open buckets not written", "err", err)
		if rerr := os.Remove(b.cfg.SnapshotPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			b.cfg.Logger.Error("graph: stale snapshot not removed; a restart after a crash may count its calls twice", "err", rerr)
		}
		return
	}
	b.m.snapshots.WithLabelValues("written").Inc()
	b.m.snapshotTaken.Set(float64(s.takenUnix))
}

// snapReader reads a snapshot; the first error sticks and reads return 0.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) u() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated or damaged")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// n reads a count of items that take at least one byte each.
func (r *snapReader) n() int {
	v := r.u()
	if v > uint64(len(r.b)) {
		r.err = fmt.Errorf("count %d exceeds the file", v)
		return 0
	}
	return int(v)
}

func (r *snapReader) str() string {
	l := r.n()
	if r.err != nil {
		return ""
	}
	v := string(r.b[:l])
	r.b = r.b[l:]
	return v
}

func (r *snapReader) party(p *Party) {
	p.Kind = NodeKind(r.str())
	p.Cluster, p.Namespace, p.Name, p.Workload, p.Version = r.str(), r.str(), r.str(), r.str(), r.str()
}

// Restore takes back the open buckets of a process that stopped without
// writing them (see the top of this file) and returns how many edge-seconds
// it restored. Call it once, before Run and before any input. A missing
// snapshot restores nothing; cells older than the horizon are left out; a
// damaged one is an error and restores nothing.
func (b *Builder) Restore() (cells int, err error) {
	if b.cfg.SnapshotPath == "" || b.cfg.Writer == nil {
		return 0, nil
	}
	raw, err := os.ReadFile(b.cfg.SnapshotPath)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read graph snapshot: %w", err)
	}
	// Decode everything first, so that a damaged file changes nothing.
	type slotRec struct {
		sec  int64
		slot int
		d    obsDelta
		hist *Histogram
	}
	type edgeRec struct {
		key   EdgeKey
		slots []slotRec
	}
	r := &snapReader{b: raw}
	if r.u() != snapshotMagic {
		return 0, fmt.Errorf("read graph snapshot %s: not a snapshot", b.cfg.SnapshotPath)
	}
	_ = r.u() // taken
	nextFlush := int64(r.u())
	var edges []edgeRec
	for r.u() == 1 && r.err == nil {
		var e edgeRec
		r.party(&e.key.Source)
		r.party(&e.key.Destination)
		e.key.Protocol = Protocol(r.u())
		for range r.n() {
			sec := int64(r.u())
			for range r.n() {
				sr := slotRec{sec: sec, slot: int(r.u())}
				c := [7]uint64{}
				for i := range c {
					c[i] = r.u()
				}
				sr.d = obsDelta{requests: c[0], errors: c[1], latSum: c[2], bytesSent: c[3], bytesRecv: c[4], mtls: c[5], plain: c[6], bucket: -1}
				if pairs := r.n(); pairs > 0 {
					sr.hist = new(Histogram)
					for range pairs {
						bk, cnt := r.u(), r.u()
						if bk >= HistogramSize {
							r.err = fmt.Errorf("latency bucket %d", bk)
						} else {
							sr.hist[bk] += cnt
						}
					}
				}
				if sr.slot >= numSlots {
					r.err = fmt.Errorf("slot %d", sr.slot)
				}
				e.slots = append(e.slots, sr)
			}
		}
		edges = append(edges, e)
	}
	if r.err != nil {
		return 0, fmt.Errorf("read graph snapshot %s: %w", b.cfg.SnapshotPath, r.err)
	}

	b.tickMu.Lock()
	defer b.tickMu.Unlock()
	if nextFlush > b.nextFlush {
		// The previous process wrote the buckets before it: a call for
		// them now is late, as it would have been there.
		b.nextFlush, b.restoredNext = nextFlush, nextFlush
		for i := range b.shards {
			b.shards[i].flushedThrough = max(b.shards[i].flushedThrough, nextFlush)
		}
	}
	winStart := b.winStart.Load()
	oldest := b.cfg.Now().Unix() - b.horiz + 1
	for i := range edges {
		er := &edges[i]
		h := hashKey(b.seed, &er.key)
		sh := &b.shards[h&b.mask]
		sh.mu.Lock()
		e := sh.find(h, &er.key)
		if e == nil && sh.count < b.shardEdges {
			e = newEdgeState(&er.key, h, winStart)
			sh.insert(e)
		}
		last := int64(-1)
		for j := range er.slots {
			sr := &er.slots[j]
			if e == nil || sr.sec < sh.flushedThrough || sr.sec < oldest {
				continue
			}
			if sr.sec != last {
				cells++
				last = sr.sec
			}
			sr.d.hist = sr.hist
			e.observe(sr.sec, sr.slot, &sr.d, &b.pref, &sh.pool)
		}
		sh.mu.Unlock()
	}
	return cells, nil
}
