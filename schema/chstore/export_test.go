package chstore

import (
	"context"
	"net/http"

	"github.com/meshscope/meshscope/schema"
)

// TestBatch is testBatch for the package's external tests.
var TestBatch = testBatch

// InsertOverHTTP inserts b's rows through the store's HTTP interface only
// and returns the tables that could not go that way (nothing is sent for
// them).
func InsertOverHTTP(ctx context.Context, s *Store, b *schema.Batch) (notSent []string, err error) {
	c := NewColumns()
	c.Add(b)
	for _, t := range c.tables() {
		sent, err := s.http.insert(ctx, t.table, t.cols, &c.scratch)
		if err != nil {
			return notSent, err
		}
		if !sent {
			notSent = append(notSent, t.table.Name)
		}
	}
	return notSent, nil
}

// HTTPError is the error of a refused HTTP insert.
var HTTPError = httpError

// PostPieces posts a body of pieces to endpoint as an insert does.
func PostPieces(ctx context.Context, endpoint string, bufs [][]byte) error {
	h := &httpInserter{endpoint: endpoint, client: http.DefaultClient}
	var body pieces
	for _, b := range bufs {
		_, _ = body.Write(b)
	}
	return h.post(ctx, "INSERT INTO t FORMAT Native", body)
}
