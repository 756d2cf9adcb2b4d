package scrape

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/meshscope/meshscope/ingest"
	"github.com/meshscope/meshscope/ingest/promrw"
	"github.com/meshscope/meshscope/schema"
)

// fallbackContentType is assumed for targets that send none (or one the
// parser does not know), as Envoy's admin endpoint does on old versions.
const fallbackContentType = "text/plain"

// parser reads exposition bodies into a RowBuilder.
type parser struct {
	lim    promrw.Limits
	target []labels.Label // job, instance and the target's labels, sorted
	ls     []labels.Label
	// rejected counts refused series by reason.
	rejected map[string]int
	// first is the first refused series.
	first error
}

// parse reads body, of the given Content-Type, into rb; samples without a
// timestamp get tsMs. It returns the number of samples added.
func (p *parser) parse(body []byte, contentType string, tsMs int64, rb *promrw.RowBuilder) (int, error) {
	tp, err := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{FallbackContentType: fallbackContentType, OpenMetricsSkipSTSeries: true})
	if tp == nil {
		return 0, fmt.Errorf("content type: %w", err)
	}
	var (
		n       int
		family  string
		md      promrw.Metadata
		setMeta = func(name []byte) {
			if string(name) != family {
				family, md = string(name), promrw.Metadata{}
			}
		}
	)
	for {
		entry, err := tp.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("parse: %w", err)
		}
		switch entry {
		case textparse.EntryType:
			name, t := tp.Type()
			setMeta(name)
			md.Type = t
		case textparse.EntryHelp:
			name, help := tp.Help()
			setMeta(name)
			md.Help = string(help)
		case textparse.EntryUnit:
			name, unit := tp.Unit()
			setMeta(name)
			md.Unit = string(unit)
		case textparse.EntrySeries:
			_, ts, v := tp.Series()
			var lset labels.Labels
			tp.Labels(&lset)
			// The parser reuses the memory of lset: copy it, rows keep its strings.
			lset = lset.Copy()
			ls := p.merge(lset)
			if e := promrw.CheckLabels(ls, p.lim); e != nil {
				p.reject(e)
				continue
			}
			name := lset.Get(labels.MetricName)
			at := tsMs
			if ts != nil && promrw.CheckTimestamp(*ts) {
				at = *ts
			}
			var m promrw.Metadata
			if inFamily(name, family) {
				m = md
			}
			id := rb.AddSeries(ls, m)
			rb.AddSample(id, name, at, 0, v)
			n++
		}
	}
}

// merge returns the scraped labels with the target's: a scraped label
// that a target label overrides is kept as exported_<name>.
func (p *parser) merge(lset labels.Labels) []labels.Label {
	ls := p.ls[:0]
	lset.Range(func(l labels.Label) {
		for _, t := range p.target {
			if t.Name == l.Name {
				l.Name = "exported_" + l.Name
				break
			}
		}
		ls = append(ls, l)
	})
	ls = append(ls, p.target...)
	ls = promrw.NormalizeLabels(ls)
	p.ls = ls
	return ls
}

// reject counts a refused series.
func (p *parser) reject(e *ingest.InputError) {
	if p.rejected == nil {
		p.rejected = make(map[string]int)
	}
	p.rejected[e.Reason]++
	if p.first == nil {
		p.first = e
	}
}

// targetLabels are the labels a target adds to its series.
func targetLabels(t Target, instance string) []labels.Label {
	ls := []labels.Label{{Name: "job", Value: t.Job}, {Name: "instance", Value: instance}}
	for k, v := range t.Labels {
		ls = append(ls, labels.Label{Name: k, Value: v})
	}
	return promrw.NormalizeLabels(ls)
}

// Parse reads an exposition body (Prometheus text or OpenMetrics, by
// contentType; Prometheus text when empty) as one scrape of target taken
// at the given time, and returns a row for every series and every sample,
// labelled as Run labels them. It serves tests and tools; Run writes each
// series row once per process.
func Parse(body []byte, contentType string, at time.Time, target Target) ([]schema.MetricSeriesRow, []schema.MetricSampleRow, error) {
	c := Config{Targets: []Target{target}}.withDefaults()
	t := c.Targets[0]
	p := parser{lim: c.limits(), target: targetLabels(t, instanceOf(t.URL))}
	rb := promrw.NewRowBuilder(promrw.SourceScrape, promrw.NewSeenSet(1<<20), nil)
	rb.Reset(at)
	if _, err := p.parse(body, contentType, at.UnixMilli(), rb); err != nil {
		return nil, nil, err
	}
	if p.first != nil {
		return nil, nil, p.first
	}
	return rb.Batch.MetricSeries, rb.Batch.MetricSamples, nil
}

// inFamily reports whether a series name belongs to the metric family
// named by the last # TYPE, # HELP or # UNIT line.
func inFamily(name, family string) bool {
	rest, ok := strings.CutPrefix(name, family)
	if !ok || family == "" {
		return false
	}
	switch rest {
	case "", "_bucket", "_count", "_sum", "_total", "_created":
		return true
	}
	return false
}
