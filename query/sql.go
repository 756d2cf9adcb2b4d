package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/labstack/echo/v4"

	"github.com/meshscope/meshscope/query/adhoc"
)

// sqlRequest is the body of POST /api/v1/sql.
type sqlRequest struct {
	Query  string `json:"query"`
	Format string `json:"format"`
}

// lazyResponse sends the status and headers with the first byte of the
// body, so that an error before it can still be answered with a 4xx.
type lazyResponse struct {
	c           echo.Context
	contentType string
	started     bool
}

func (l *lazyResponse) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		h := l.c.Response().Header()
		h.Set(echo.HeaderContentType, l.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		l.c.Response().WriteHeader(http.StatusOK)
	}
	return l.c.Response().Write(p)
}

func (l *lazyResponse) Flush() { l.c.Response().Flush() }

// POST /api/v1/sql
func (s *Server) postSQL(c echo.Context) error {
	if err := s.store(); err != nil {
		return err
	}
	body := http.MaxBytesReader(c.Response(), c.Request().Body, int64(s.cfg.SQL.MaxQueryBytes)+4096)
	var req sqlRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("the query is longer than the %d bytes allowed", s.cfg.SQL.MaxQueryBytes), Field: "query"}
		}
		return badParam("", "the body must be {\"query\": \"SELECT ...\", \"format\": \"json\" | \"csv\"}: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badParam("", "the body must hold one JSON object")
	}
	if req.Query == "" {
		return badParam("query", "query is required")
	}
	ct := echo.MIMEApplicationJSON
	if req.Format == adhoc.FormatCSV {
		ct = "text/csv; charset=utf-8"
	}
	w := &lazyResponse{c: c, contentType: ct}
	st, err := adhoc.Run(c.Request().Context(), s.deps.Store.Conn(), req.Query, s.cfg.SQL, w, req.Format)
	if err == nil {
		s.metrics.sql.WithLabelValues("ok").Inc()
		s.log.Info("sql query", "rows", st.Rows, "rows_read", st.RowsRead, "elapsed", st.Elapsed)
		return nil
	}
	var (
		refused *adhoc.RefusedError
		ex      *clickhouse.Exception
	)
	switch {
	case errors.As(err, &refused):
		s.metrics.sql.WithLabelValues("refused").Inc()
		field := "query"
		if refused.What == "format" {
			field = "format"
		}
		return badParam(field, "%s", refused.Error())
	case errors.As(err, &ex):
		s.metrics.sql.WithLabelValues("rejected").Inc()
		if st.Started {
			return nil // reported at the end of the output
		}
		return badParam("query", "clickhouse refused the query: code %d: %s", ex.Code, ex.Message)
	}
	s.metrics.sql.WithLabelValues("failed").Inc()
	if st.Started || c.Request().Context().Err() != nil {
		return nil
	}
	return &apiError{Status: http.StatusBadGateway, Message: "clickhouse: " + err.Error()}
}
