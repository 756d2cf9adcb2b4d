package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// Parsed is one SLO read from a file or a request.
type Parsed struct {
	// Spec is the SLO as written (OpenSLO documents converted to the short form).
	Spec SLO
	// Resolved is Spec validated, with node ids normalised and defaults filled.
	Resolved SLO
}

// Parse reads a spec file: the short form (`slos:` list, or a single SLO
// mapping with a name) or OpenSLO v1 documents (apiVersion openslo/v1, one
// or more separated by ---; kind SLO, with SLI documents for indicatorRef).
// JSON is read as the YAML it is. Every SLO is validated and resolved
// against d; the first invalid field fails the whole file with a
// *FieldError.
func Parse(data []byte, d Alerting) ([]Parsed, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, nil
	}
	if hasKey(docs[0], "apiVersion") {
		return parseOpenSLO(docs, d)
	}
	if len(docs) > 1 {
		return nil, &FieldError{Reason: "short form files hold one YAML document (use a slos: list)"}
	}
	root := docs[0]
	var written []SLO
	var paths []string
	switch {
	case hasKey(root, "slos"):
		var f File
		if err := decode(root, &f, ""); err != nil {
			return nil, err
		}
		written = f.SLOs
		for i := range f.SLOs {
			paths = append(paths, fmt.Sprintf("slos[%d]", i))
		}
	case hasKey(root, "name"):
		var s SLO
		if err := decode(root, &s, ""); err != nil {
			return nil, err
		}
		written, paths = []SLO{s}, []string{""}
	default:
		return nil, &FieldError{Reason: "want a slos: list, one SLO with a name, or OpenSLO documents (apiVersion: openslo/v1)"}
	}
	return resolveAll(written, paths, d)
}

func resolveAll(written []SLO, paths []string, d Alerting) ([]Parsed, error) {
	out := make([]Parsed, 0, len(written))
	seen := map[string]string{}
	for i, s := range written {
		r, err := s.Resolve(d, paths[i])
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[s.Name]; dup {
			return nil, &FieldError{Field: joinPath(paths[i], "name"), Reason: fmt.Sprintf("duplicate of %s (%q)", orTop(prev), s.Name)}
		}
		seen[s.Name] = paths[i]
		out = append(out, Parsed{Spec: s, Resolved: r})
	}
	return out, nil
}

func orTop(path string) string {
	if path == "" {
		return "the SLO above"
	}
	return path
}

// ParseOne reads a request body holding exactly one SLO (short form,
// `slos:` with one entry, or one OpenSLO SLO document).
func ParseOne(data []byte, d Alerting) (Parsed, error) {
	list, err := Parse(data, d)
	if err != nil {
		return Parsed{}, err
	}
	if len(list) != 1 {
		return Parsed{}, &FieldError{Reason: fmt.Sprintf("want exactly one SLO (got %d)", len(list))}
	}
	return list[0], nil
}

func splitDocuments(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, &FieldError{Reason: yamlReason(err)}
		}
		if len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if root.Kind != yaml.MappingNode {
			return nil, &FieldError{Reason: fmt.Sprintf("line %d: want a mapping at the top of the document", root.Line)}
		}
		docs = append(docs, root)
	}
}

func hasKey(n *yaml.Node, key string) bool { return valueOf(n, key) != nil }

func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Marshal writes SLOs as a short form file, with a comment line on top
// when comment is not empty.
func Marshal(comment string, slos ...SLO) ([]byte, error) {
	var b bytes.Buffer
	if comment != "" {
		b.WriteString("# " + comment + "\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(File{SLOs: slos}); err != nil {
		return nil, fmt.Errorf("marshal slos: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal slos: %w", err)
	}
	return b.Bytes(), nil
}

// ParseNamed is ParseOne for a request addressed to an SLO by name (PUT
// /slos/NAME): a short form body may leave the name out, and a name it
// gives must be the same.
func ParseNamed(data []byte, d Alerting, name string) (Parsed, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return Parsed{}, err
	}
	if len(docs) == 1 && !hasKey(docs[0], "apiVersion") && !hasKey(docs[0], "slos") && !hasKey(docs[0], "name") {
		docs[0].Content = append([]*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "name"},
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: name},
		}, docs[0].Content...)
		if data, err = yaml.Marshal(docs[0]); err != nil {
			return Parsed{}, &FieldError{Reason: err.Error()}
		}
	}
	p, err := ParseOne(data, d)
	if err != nil {
		return Parsed{}, err
	}
	if p.Spec.Name != name {
		return Parsed{}, &FieldError{Field: "name", Reason: fmt.Sprintf("must be %q, the name in the URL (got %q)", name, p.Spec.Name)}
	}
	return p, nil
}
