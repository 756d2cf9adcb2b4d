package query

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// apiError is an error answered as {"error": ..., "field": ...}.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	Field   string `json:"field"`
}

func (e *apiError) Error() string { return e.Message }

// badParam is a 400 naming the parameter at fault.
func badParam(field, format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), Field: field}
}

// notFound is a 404 naming the parameter that named nothing.
func notFound(field, format string, args ...any) error {
	return &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...), Field: field}
}

// unavailable is a 503: a part of meshscope this server was started without.
func unavailable(what string) error {
	return &apiError{Status: http.StatusServiceUnavailable, Message: what + " is not available on this server"}
}

// handleError is the echo error handler: every error becomes the API's JSON
// error shape. Faults are logged; their details are not sent.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var (
		ae *apiError
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		ae = &apiError{Status: he.Code, Message: fmt.Sprint(he.Message)}
		if he.Code == http.StatusRequestEntityTooLarge {
			ae.Message = "request body too large"
		}
	case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
		return // the client went away
	case errors.Is(err, context.DeadlineExceeded):
		ae = &apiError{Status: http.StatusGatewayTimeout, Message: "the request took longer than the server allows"}
	default:
		s.log.Error("api request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		ae = &apiError{Status: http.StatusInternalServerError, Message: "internal error: " + err.Error()}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(ae.Status)
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, lokiPrefix+"/") || strings.HasPrefix(c.Request().URL.Path, tempoPrefix+"/") {
		// Loki's and Tempo's errors are plain text.
		lokiError(c, ae.Status, ae.Message)
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, promPrefix+"/") {
		// Prometheus' clients read errors from its envelope.
		_ = c.JSON(ae.Status, promResponse{Status: "error", ErrorType: promErrorType(ae.Status), Error: ae.Message})
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, jaegerPrefix+"/") {
		// Jaeger's clients read errors from its envelope.
		_ = c.JSON(ae.Status, jaegerResponse{Errors: []jaegerError{{Code: ae.Status, Msg: ae.Message}}})
		return
	}
	_ = c.JSON(ae.Status, ae)
}
