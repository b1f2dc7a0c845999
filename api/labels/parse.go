package labels

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Parse reads a selector in Kubernetes' syntax: comma-separated requirements of the forms
// "k=v", "k==v", "k!=v", "k in (v1,v2)", "k notin (v1)", "k", "!k", "k>1", "k<1".
// The grammar, the error messages and the key ordering are Kubernetes', so ?labelSelector=
// behaves as on a real API server.
func Parse(selector string) (Selector, error) {
	reqs, err := parse(selector)
	if err != nil {
		return nil, err
	}
	return reqs, nil
}

func parse(selector string) (internalSelector, error) {
	p := &parser{items: lex(selector)}
	reqs, err := p.parse()
	if err != nil {
		return nil, err
	}
	sortByKey(reqs)
	return reqs, nil
}

type token int

const (
	endOfString token = iota
	closedPar
	comma
	doesNotExist
	doubleEquals
	equals
	greaterThan
	identifier
	in
	lessThan
	notEquals
	notIn
	openPar
)

var keywords = map[string]token{
	")": closedPar, ",": comma, "!": doesNotExist, "==": doubleEquals, "=": equals, ">": greaterThan,
	"in": in, "<": lessThan, "!=": notEquals, "notin": notIn, "(": openPar,
}

type item struct {
	tok token
	lit string
}

func isWhitespace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isSpecial(c byte) bool { return strings.IndexByte("=!(),><", c) >= 0 }

// lex splits a selector into tokens, ending with endOfString. Identifiers run up to
// whitespace or a special character; "==" and "!=" are the only two-character symbols.
func lex(s string) []item {
	var items []item
	for i := 0; ; {
		for i < len(s) && isWhitespace(s[i]) {
			i++
		}
		if i == len(s) {
			return append(items, item{endOfString, ""})
		}
		j := i + 1
		if isSpecial(s[i]) {
			if j < len(s) && s[j] == '=' && (s[i] == '=' || s[i] == '!') {
				j++
			}
		} else {
			for j < len(s) && !isSpecial(s[j]) && !isWhitespace(s[j]) {
				j++
			}
		}
		lit := s[i:j]
		tok, ok := keywords[lit]
		if !ok {
			tok = identifier
		}
		items = append(items, item{tok, lit})
		i = j
	}
}

type parser struct {
	items []item
	pos   int
}

// In value position "in" and "notin" are ordinary words, so "a in (in)" works.
func asValue(it item) item {
	if it.tok == in || it.tok == notIn {
		it.tok = identifier
	}
	return it
}

func (p *parser) peek() item { return asValue(p.items[p.pos]) }

// next consumes a token; operator position is the one place keywords stay keywords.
func (p *parser) next(operator bool) item {
	it := p.items[p.pos]
	p.pos++
	if operator {
		return it
	}
	return asValue(it)
}

func (p *parser) parse() (internalSelector, error) {
	var reqs internalSelector
	for {
		switch it := p.peek(); it.tok {
		case identifier, doesNotExist:
			r, err := p.parseRequirement()
			if err != nil {
				return nil, fmt.Errorf("unable to parse requirement: %v", err)
			}
			reqs = append(reqs, *r)
			switch it := p.next(false); it.tok {
			case endOfString:
				return reqs, nil
			case comma:
				if it2 := p.peek(); it2.tok != identifier && it2.tok != doesNotExist {
					return nil, fmt.Errorf("found '%s', expected: identifier after ','", it2.lit)
				}
			default:
				return nil, fmt.Errorf("found '%s', expected: ',' or 'end of string'", it.lit)
			}
		case endOfString:
			return reqs, nil
		default:
			return nil, fmt.Errorf("found '%s', expected: !, identifier, or 'end of string'", it.lit)
		}
	}
}

func (p *parser) parseRequirement() (*Requirement, error) {
	var op Operator
	it := p.next(false)
	if it.tok == doesNotExist {
		op = DoesNotExist
		it = p.next(false)
	}
	if it.tok != identifier {
		return nil, fmt.Errorf("found '%s', expected: identifier", it.lit)
	}
	key := it.lit
	if msgs := ValidateKey(key); len(msgs) != 0 {
		// Kubernetes' parser has no field path here, hence its "<nil>".
		return nil, invalid("<nil>", key, strings.Join(msgs, "; "))
	}
	if op == DoesNotExist {
		return NewRequirement(key, op, []string{})
	}
	if t := p.peek().tok; t == endOfString || t == comma {
		return NewRequirement(key, Exists, []string{})
	}

	switch it := p.next(true); it.tok {
	case in:
		op = In
	case notIn:
		op = NotIn
	case equals:
		op = Equals
	case doubleEquals:
		op = DoubleEquals
	case notEquals:
		op = NotEquals
	case greaterThan:
		op = GreaterThan
	case lessThan:
		op = LessThan
	default:
		names := make([]string, len(binaryOperators))
		for i, o := range binaryOperators {
			names[i] = string(o)
		}
		return nil, fmt.Errorf("found '%s', expected: %v", it.lit, strings.Join(names, ", "))
	}

	var values map[string]bool
	var err error
	if op == In || op == NotIn {
		values, err = p.parseValues()
	} else {
		values, err = p.parseExactValue()
	}
	if err != nil {
		return nil, err
	}
	return NewRequirement(key, op, slices.Sorted(maps.Keys(values)))
}

// parseValues reads "(v1,v2,...)". Empty entries are the value "": "()" and "(,)" both
// mean {""}, as in Kubernetes.
func (p *parser) parseValues() (map[string]bool, error) {
	if it := p.next(false); it.tok != openPar {
		return nil, fmt.Errorf("found '%s' expected: '('", it.lit)
	}
	switch it := p.peek(); it.tok {
	case identifier, comma:
		values, err := p.parseIdentifiers()
		if err != nil {
			return nil, err
		}
		p.next(false) // the ')' parseIdentifiers stopped at
		return values, nil
	case closedPar:
		p.next(false)
		return map[string]bool{"": true}, nil
	default:
		return nil, fmt.Errorf("found '%s', expected: ',', ')' or identifier", it.lit)
	}
}

func (p *parser) parseIdentifiers() (map[string]bool, error) {
	values := map[string]bool{}
	for {
		switch it := p.next(false); it.tok {
		case identifier:
			values[it.lit] = true
			switch it2 := p.peek(); it2.tok {
			case comma:
				continue
			case closedPar:
				return values, nil
			default:
				return nil, fmt.Errorf("found '%s', expected: ',' or ')'", it2.lit)
			}
		case comma:
			if len(values) == 0 {
				values[""] = true // "(,"
			}
			switch p.peek().tok {
			case closedPar:
				values[""] = true // ",)"
				return values, nil
			case comma:
				p.next(false)
				values[""] = true // ",,"
			}
		default:
			return nil, fmt.Errorf("found '%s', expected: ',', or identifier", it.lit)
		}
	}
}

// parseExactValue reads the value after =, ==, !=, > or <; nothing there means "".
func (p *parser) parseExactValue() (map[string]bool, error) {
	if t := p.peek().tok; t == endOfString || t == comma {
		return map[string]bool{"": true}, nil
	}
	it := p.next(false)
	if it.tok != identifier {
		return nil, fmt.Errorf("found '%s', expected: identifier", it.lit)
	}
	return map[string]bool{it.lit: true}, nil
}
