package query

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI is the machine-readable description of the API. A test checks that
// it documents every route the server registers.
//
//go:embed openapi.yaml
var openAPI []byte

// GET /api/v1/openapi.yaml
func (s *Server) getOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPI)
}
