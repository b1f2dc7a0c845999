package patch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// JSONPatch applies an RFC 6902 JSON patch — an array of add, remove, replace, move,
// copy and test operations addressed by RFC 6901 JSON pointers — to original. The
// operations apply in order and the patch is all or nothing: the first failing
// operation fails the whole patch.
func JSONPatch(original, patch []byte) ([]byte, error) {
	doc, err := decodeOriginal(original)
	if err != nil {
		return nil, err
	}
	p, err := decodePatch(patch)
	if err != nil {
		return nil, err
	}
	ops, err := parseOperations(p)
	if err != nil {
		return nil, err
	}
	budget := maxCopiedSize
	for i, op := range ops {
		doc, err = op.apply(doc, &budget)
		if err != nil {
			return nil, cannotApply("operation %d (%s): %v", i, op, err)
		}
	}
	return encode(doc)
}

// maxCopiedSize bounds what the "copy" operations of one patch may copy (in bytes of
// JSON, roughly). Each copy can double the document, so without a bound a few dozen
// operations would exhaust the server's memory.
const maxCopiedSize = 16 << 20

type operation struct {
	op         string
	path, from []string // parsed pointers
	rawPath    string
	rawFrom    string
	value      any
}

func (o operation) String() string {
	if o.op == "move" || o.op == "copy" {
		return fmt.Sprintf("%s from %q to %q", o.op, o.rawFrom, o.rawPath)
	}
	return fmt.Sprintf("%s %q", o.op, o.rawPath)
}

// parseOperations checks the whole patch before any of it is applied, so a malformed
// patch is a 400 however far into the array the mistake is.
func parseOperations(p any) ([]operation, error) {
	list, ok := p.([]any)
	if !ok {
		return nil, badPatch("a JSON patch must be an array of operations")
	}
	ops := make([]operation, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, badPatch("operation %d is not an object", i)
		}
		var op operation
		var err error
		if op.op, err = stringMember(m, "op"); err != nil {
			return nil, badPatch("operation %d: %v", i, err)
		}
		if op.rawPath, err = stringMember(m, "path"); err != nil {
			return nil, badPatch("operation %d: %v", i, err)
		}
		if op.path, err = parsePointer(op.rawPath); err != nil {
			return nil, badPatch("operation %d: %v", i, err)
		}
		switch op.op {
		case "add", "replace", "test":
			v, ok := m["value"]
			if !ok {
				return nil, badPatch("operation %d (%s): missing \"value\"", i, op.op)
			}
			op.value = v
		case "move", "copy":
			if op.rawFrom, err = stringMember(m, "from"); err != nil {
				return nil, badPatch("operation %d: %v", i, err)
			}
			if op.from, err = parsePointer(op.rawFrom); err != nil {
				return nil, badPatch("operation %d: %v", i, err)
			}
			if op.op == "move" && isProperPrefix(op.from, op.path) {
				return nil, badPatch("operation %d: cannot move %q into its own child %q", i, op.rawFrom, op.rawPath)
			}
		case "remove":
		default:
			return nil, badPatch("operation %d: unknown op %q", i, op.op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func stringMember(m map[string]any, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("missing %q", name)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%q must be a string", name)
	}
	return s, nil
}

// parsePointer splits an RFC 6901 JSON pointer into unescaped reference tokens; the
// empty pointer (the whole document) is no tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("JSON pointer %q must be empty or start with /", p)
	}
	tokens := strings.Split(p[1:], "/")
	for i, t := range tokens {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("JSON pointer %q: ~ must be followed by 0 or 1", p)
			}
		}
		// ~1 first: "~01" must become "~1", not "/".
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

func isProperPrefix(prefix, path []string) bool {
	return len(prefix) < len(path) && slices.Equal(prefix, path[:len(prefix)])
}

// arrayIndex parses an array reference token. end allows "-" and len(a), the positions
// "add" may insert at.
func arrayIndex(tok string, n int, end bool) (int, error) {
	if tok == "-" {
		if end {
			return n, nil
		}
		return 0, fmt.Errorf(`"-" names no existing array element`)
	}
	// RFC 6901: "0" or digits without a leading zero.
	if tok == "" || (len(tok) > 1 && tok[0] == '0') || strings.TrimLeft(tok, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an array index", tok)
	}
	i, err := strconv.Atoi(tok)
	last := n - 1
	if end {
		last = n
	}
	if err != nil || i > last {
		return 0, fmt.Errorf("index %s is out of range for an array of length %d", tok, n)
	}
	return i, nil
}

func (o operation) apply(doc any, copyBudget *int) (any, error) {
	switch o.op {
	case "add":
		return add(doc, o.path, o.value)
	case "remove":
		doc, _, err := remove(doc, o.path)
		return doc, err
	case "replace":
		if len(o.path) == 0 {
			return o.value, nil
		}
		return mutate(doc, o.path, func(c any, key string) (any, error) {
			switch c := c.(type) {
			case map[string]any:
				if _, ok := c[key]; !ok {
					return nil, fmt.Errorf("no member %q to replace", key)
				}
				c[key] = o.value
				return c, nil
			case []any:
				i, err := arrayIndex(key, len(c), false)
				if err != nil {
					return nil, err
				}
				c[i] = o.value
				return c, nil
			}
			return nil, notContainer(c)
		})
	case "move":
		if slices.Equal(o.from, o.path) {
			_, err := get(doc, o.from)
			return doc, err
		}
		doc, v, err := remove(doc, o.from)
		if err != nil {
			return nil, err
		}
		return add(doc, o.path, v)
	case "copy":
		v, err := get(doc, o.from)
		if err != nil {
			return nil, err
		}
		if *copyBudget -= jsonSize(v); *copyBudget < 0 {
			return nil, fmt.Errorf("the patch copies more than %d bytes", maxCopiedSize)
		}
		return add(doc, o.path, deepCopy(v))
	case "test":
		v, err := get(doc, o.path)
		if err != nil {
			return nil, err
		}
		if !jsonEqual(v, o.value) {
			return nil, fmt.Errorf("test failed: the value is %s, not %s", brief(v), brief(o.value))
		}
		return doc, nil
	}
	return nil, fmt.Errorf("unknown op %q", o.op)
}

func add(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	return mutate(doc, path, func(c any, key string) (any, error) {
		switch c := c.(type) {
		case map[string]any:
			c[key] = v
			return c, nil
		case []any:
			i, err := arrayIndex(key, len(c), true)
			if err != nil {
				return nil, err
			}
			return slices.Insert(c, i, v), nil
		}
		return nil, notContainer(c)
	})
}

// remove deletes the value at path and returns it, for "move".
func remove(doc any, path []string) (any, any, error) {
	if len(path) == 0 {
		return nil, nil, fmt.Errorf("cannot remove the whole document")
	}
	var removed any
	doc, err := mutate(doc, path, func(c any, key string) (any, error) {
		switch c := c.(type) {
		case map[string]any:
			v, ok := c[key]
			if !ok {
				return nil, fmt.Errorf("no member %q to remove", key)
			}
			removed = v
			delete(c, key)
			return c, nil
		case []any:
			i, err := arrayIndex(key, len(c), false)
			if err != nil {
				return nil, err
			}
			removed = c[i]
			return slices.Delete(c, i, i+1), nil
		}
		return nil, notContainer(c)
	})
	return doc, removed, err
}

func get(doc any, path []string) (any, error) {
	cur := doc
	for _, tok := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("no member %q", tok)
			}
			cur = v
		case []any:
			i, err := arrayIndex(tok, len(c), false)
			if err != nil {
				return nil, err
			}
			cur = c[i]
		default:
			return nil, notContainer(c)
		}
	}
	return cur, nil
}

// mutate walks to the container that holds the last token of path and lets fn change
// it. Containers are stored back on the way up because inserting into or deleting from
// an array yields a new slice.
func mutate(node any, path []string, fn func(container any, key string) (any, error)) (any, error) {
	if len(path) == 1 {
		return fn(node, path[0])
	}
	switch c := node.(type) {
	case map[string]any:
		child, ok := c[path[0]]
		if !ok {
			return nil, fmt.Errorf("no member %q", path[0])
		}
		nc, err := mutate(child, path[1:], fn)
		if err != nil {
			return nil, err
		}
		c[path[0]] = nc
		return c, nil
	case []any:
		i, err := arrayIndex(path[0], len(c), false)
		if err != nil {
			return nil, err
		}
		nc, err := mutate(c[i], path[1:], fn)
		if err != nil {
			return nil, err
		}
		c[i] = nc
		return c, nil
	}
	return nil, notContainer(node)
}

func notContainer(v any) error {
	return fmt.Errorf("%s is not an object or array", brief(v))
}

// jsonSize approximates the encoded size of v.
func jsonSize(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := 2
		for k, e := range x {
			n += len(k) + 4 + jsonSize(e)
		}
		return n
	case []any:
		n := 2
		for _, e := range x {
			n += 1 + jsonSize(e)
		}
		return n
	case string:
		return len(x) + 2
	case json.Number:
		return len(x)
	}
	return 4 // true, false, null
}
