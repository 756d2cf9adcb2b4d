package query

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

var pathParam = regexp.MustCompile(`:([A-Za-z]+)`)

// TestOpenAPIDocumentsEveryRoute checks that openapi.yaml documents every
// route the server registers under /api/v1, with its path parameters, and
// nothing that does not exist.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string `yaml:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string `yaml:"operationId"`
			Parameters  []struct {
				Ref  string `yaml:"$ref"`
				Name string `yaml:"name"`
				In   string `yaml:"in"`
			} `yaml:"parameters"`
			Responses map[string]any `yaml:"responses"`
		} `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(openAPI, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))

	s, err := NewServer(Config{}, Deps{})
	require.NoError(t, err)
	registered := map[string]bool{}
	for _, r := range s.Echo().Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1") {
			continue
		}
		path := pathParam.ReplaceAllString(r.Path, "{$1}")
		method := strings.ToLower(r.Method)
		registered[method+" "+path] = true
		op, ok := doc.Paths[path][method]
		require.True(t, ok, "%s %s is not documented in openapi.yaml", r.Method, path)
		require.NotEmpty(t, op.OperationID, "%s %s", r.Method, path)
		require.NotEmpty(t, op.Responses, "%s %s", r.Method, path)
		for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
			found := false
			for _, p := range op.Parameters {
				found = found || p.In == "path" && p.Name == m[1]
			}
			require.True(t, found, "%s %s: path parameter %s undocumented", r.Method, path, m[1])
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			require.True(t, registered[method+" "+path], "openapi.yaml documents %s %s, which the server does not serve", method, path)
		}
	}

	api := newServerClient(t, s)
	status, h, body := api.do(http.MethodGet, "/api/v1/openapi.yaml", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "application/yaml", h.Get("Content-Type"))
	require.Equal(t, openAPI, body)
}
