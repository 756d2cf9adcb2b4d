package query

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

var (
	pathParam    = regexp.MustCompile(`:([A-Za-z]+)`)
	docPathParam = regexp.MustCompile(`\{([A-Za-z]+)\}`)
)

// TestOpenAPIDocumentsEveryRoute checks that openapi.yaml documents every
// route the server registers under /api/v1, with its path parameters, and
// nothing that does not exist. Operations marked x-served-by are served on
// the same listener by handlers cmd/meshscope mounts beside this server
// (the SLO engine, the ingest receivers): the server must not register
// them, and cmd/meshscope's TestOpenAPIServedByRoutesExist checks that
// they are served.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string `yaml:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string `yaml:"operationId"`
			ServedBy    string `yaml:"x-served-by"`
			Parameters  []struct {
				Ref  string `yaml:"$ref"`
				Name string `yaml:"name"`
				In   string `yaml:"in"`
			} `yaml:"parameters"`
			Responses map[string]any `yaml:"responses"`
		} `yaml:"paths"`
		Components struct {
			Parameters map[string]struct {
				Name string `yaml:"name"`
				In   string `yaml:"in"`
			} `yaml:"parameters"`
		} `yaml:"components"`
	}
	require.NoError(t, yaml.Unmarshal(openAPI, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))

	s, err := NewServer(Config{}, Deps{})
	require.NoError(t, err)
	registered := map[string]bool{}
	for _, r := range s.Echo().Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1") && !strings.HasPrefix(r.Path, jaegerPrefix) && !strings.HasPrefix(r.Path, promPrefix) && !strings.HasPrefix(r.Path, lokiPrefix) && !strings.HasPrefix(r.Path, tempoPrefix) {
			continue
		}
		path := pathParam.ReplaceAllString(r.Path, "{$1}")
		method := strings.ToLower(r.Method)
		registered[method+" "+path] = true
		op, ok := doc.Paths[path][method]
		require.True(t, ok, "%s %s is not documented in openapi.yaml", r.Method, path)
		require.Empty(t, op.ServedBy, "%s %s is served by this server, not by %s", r.Method, path, op.ServedBy)
	}
	operationIDs := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			switch op.ServedBy {
			case "":
				require.True(t, registered[method+" "+path], "openapi.yaml documents %s %s, which the server does not serve", method, path)
			case "slo", "ingest":
			default:
				require.Fail(t, "unknown x-served-by", "%s %s: x-served-by %q, want slo or ingest", method, path, op.ServedBy)
			}
			require.NotEmpty(t, op.OperationID, "%s %s", method, path)
			require.False(t, operationIDs[op.OperationID], "%s %s: operationId %s used twice", method, path, op.OperationID)
			operationIDs[op.OperationID] = true
			require.NotEmpty(t, op.Responses, "%s %s", method, path)
			for _, m := range docPathParam.FindAllStringSubmatch(path, -1) {
				found := false
				for _, p := range op.Parameters {
					if p.Ref != "" {
						ref, ok := doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
						require.True(t, ok, "%s %s: parameter %s undefined", method, path, p.Ref)
						p.Name, p.In = ref.Name, ref.In
					}
					found = found || p.In == "path" && p.Name == m[1]
				}
				require.True(t, found, "%s %s: path parameter %s undocumented", method, path, m[1])
			}
		}
	}

	api := newServerClient(t, s)
	status, h, body := api.do(http.MethodGet, "/api/v1/openapi.yaml", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "application/yaml", h.Get("Content-Type"))
	require.Equal(t, openAPI, body)
}
