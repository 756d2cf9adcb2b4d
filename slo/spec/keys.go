package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// keyChecker is implemented by types with their own YAML shape, so that
// checkKeys can name unknown keys inside them.
type keyChecker interface {
	checkKeys(n *yaml.Node, path string) *FieldError
}

// checkKeys reports the first mapping key of n that type t does not have,
// with its field path. Type mismatches are left to yaml.Node.Decode.
func checkKeys(n *yaml.Node, t reflect.Type, path string) *FieldError {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[yaml.Node]() {
		return nil
	}
	if kc, ok := reflect.New(t).Interface().(keyChecker); ok {
		return kc.checkKeys(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			if !ok {
				names := make([]string, 0, len(fields))
				for k := range fields {
					names = append(names, k)
				}
				sort.Strings(names)
				return &FieldError{Field: joinPath(path, key), Reason: "unknown field (known: " + strings.Join(names, ", ") + ")"}
			}
			if err := checkKeys(n.Content[i+1], ft, joinPath(path, key)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

// yamlFields maps the YAML keys of struct type t to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decode checks n's keys against v's type, then decodes n into v.
func decode(n *yaml.Node, v any, path string) *FieldError {
	if err := checkKeys(n, reflect.TypeOf(v), path); err != nil {
		return err
	}
	if err := n.Decode(v); err != nil {
		reason := yamlReason(err)
		if p, ok := pathAtLine(n, reason, path); ok {
			path = p
		}
		return &FieldError{Field: path, Reason: reason}
	}
	return nil
}

// pathAtLine finds the field a decode error is about from the line number
// (and the offending value, between backticks) yaml.v3 puts in its message.
func pathAtLine(n *yaml.Node, reason, path string) (string, bool) {
	var line int
	if _, err := fmt.Sscanf(reason, "line %d:", &line); err != nil || line == 0 {
		return "", false
	}
	value := ""
	if i := strings.IndexByte(reason, '`'); i >= 0 {
		if j := strings.IndexByte(reason[i+1:], '`'); j >= 0 {
			value = reason[i+1 : i+1+j]
		}
	}
	var first string
	var walk func(n *yaml.Node, path string) (string, bool)
	walk = func(n *yaml.Node, path string) (string, bool) {
		check := func(v *yaml.Node, p string) (string, bool) {
			if v.Line == line && v.Kind != yaml.MappingNode && v.Kind != yaml.SequenceNode {
				if value == "" || v.Value == value {
					return p, true
				}
				if first == "" {
					first = p
				}
			}
			return walk(v, p)
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if p, ok := check(n.Content[i+1], joinPath(path, n.Content[i].Value)); ok {
					return p, true
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if p, ok := check(c, fmt.Sprintf("%s[%d]", path, i)); ok {
					return p, true
				}
			}
		}
		return "", false
	}
	if p, ok := walk(n, path); ok {
		return p, true
	}
	return first, first != ""
}

// yamlReason shortens yaml.v3's messages ("yaml: unmarshal errors:\n  line
// 3: cannot unmarshal ...") to one line.
func yamlReason(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n")
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// unmarshalJSONViaYAML decodes JSON (a subset of YAML) with a YAML unmarshaler.
func unmarshalJSONViaYAML(b []byte, u yaml.Unmarshaler) error {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	if len(n.Content) == 0 {
		return fmt.Errorf("empty JSON value")
	}
	return u.UnmarshalYAML(n.Content[0])
}
