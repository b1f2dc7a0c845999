package tables

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/unstructured"
)

// Custom is the printer of a custom resource: NAME, then the definition's
// additionalPrinterColumns, each cell the value at the column's JSONPath (dates rendered as
// ages, as Kubernetes' CRD table convertor does); NAME and AGE without columns.
func Custom(columns []apiextensions.CustomResourceColumnDefinition) Printer {
	if len(columns) == 0 {
		return defaultPrinter
	}
	defs := []meta.TableColumnDefinition{nameColumn}
	for _, c := range columns {
		defs = append(defs, meta.TableColumnDefinition{Name: c.Name, Type: c.Type, Format: c.Format, Description: c.Description, Priority: c.Priority})
	}
	return Printer{Columns: defs, Row: func(obj meta.Object, now time.Time) meta.TableRow {
		cells := []any{obj.GetObjectMeta().Name}
		var whole map[string]any
		if u, ok := obj.(*unstructured.Unstructured); ok {
			whole = u.Object()
		}
		for _, c := range columns {
			cells = append(cells, customCell(c, JSONPath(whole, c.JSONPath), now))
		}
		return meta.TableRow{Cells: cells}
	}}
}

func customCell(c apiextensions.CustomResourceColumnDefinition, vals []any, now time.Time) any {
	if len(vals) == 0 || vals[0] == nil {
		return nil
	}
	if len(vals) == 1 {
		v := vals[0]
		switch c.Type {
		case "date":
			s, _ := v.(string)
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return "<invalid>"
			}
			return HumanDuration(now.Sub(t))
		case "integer":
			if f, ok := v.(float64); ok {
				return int64(f)
			}
			return v
		case "number", "boolean":
			return v
		}
		return cellString(v)
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = cellString(v)
	}
	return strings.Join(parts, ",")
}

func cellString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any, []any:
		b, _ := json.Marshal(t)
		return string(b)
	}
	return fmt.Sprint(v)
}

// JSONPath evaluates the subset of kubectl's JSONPath that printer columns use: fields
// (.spec.replicas, with or without the braces), indices ([0]), wildcards ([*]) and equality
// filters ([?(@.type=="Ready")]). It returns every value found.
func JSONPath(obj map[string]any, path string) []any {
	path = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(path), "{"), "}")
	cur := []any{obj}
	for path != "" {
		switch {
		case strings.HasPrefix(path, "."):
			path = path[1:]
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			name := path[:end]
			path = path[end:]
			if name == "" {
				continue
			}
			var next []any
			for _, c := range cur {
				if m, ok := c.(map[string]any); ok {
					if v, ok := m[name]; ok {
						next = append(next, v)
					}
				}
			}
			cur = next
		case strings.HasPrefix(path, "["):
			end := strings.Index(path, "]")
			if strings.HasPrefix(path, "[?(") {
				end = strings.Index(path, ")]") + 1
			}
			if end <= 0 {
				return nil
			}
			sel := path[1:end]
			path = path[end+1:]
			var next []any
			for _, c := range cur {
				list, ok := c.([]any)
				if !ok {
					continue
				}
				switch {
				case sel == "*":
					next = append(next, list...)
				case strings.HasPrefix(sel, "?(@.") && strings.HasSuffix(sel, ")"):
					field, want, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(sel, "?(@."), ")"), "==")
					if !ok {
						return nil
					}
					want = strings.Trim(strings.TrimSpace(want), `"'`)
					for _, e := range list {
						got := JSONPath(asMap(e), "."+strings.TrimSpace(field))
						if len(got) == 1 && cellString(got[0]) == want {
							next = append(next, e)
						}
					}
				default:
					i, err := strconv.Atoi(sel)
					if err != nil {
						return nil
					}
					if i < 0 {
						i += len(list)
					}
					if i >= 0 && i < len(list) {
						next = append(next, list[i])
					}
				}
			}
			cur = next
		default:
			return nil
		}
	}
	return cur
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
