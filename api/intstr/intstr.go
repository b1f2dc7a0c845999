// Package intstr is the IntOrString type: a field that holds either a number or a string
// ("25%", a named port), serialized as the bare JSON value.
package intstr

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Type says which of the two an IntOrString holds.
type Type int64

const (
	Int Type = iota
	String
)

// IntOrString holds an int32 or a string.
type IntOrString struct {
	Type   Type
	IntVal int32
	StrVal string
}

// FromInt returns an IntOrString holding i.
func FromInt(i int) IntOrString { return IntOrString{Type: Int, IntVal: int32(i)} }

// FromString returns an IntOrString holding s.
func FromString(s string) IntOrString { return IntOrString{Type: String, StrVal: s} }

// Parse returns an int if s is one, else a string.
func Parse(s string) IntOrString {
	if i, err := strconv.Atoi(s); err == nil {
		return FromInt(i)
	}
	return FromString(s)
}

func (v IntOrString) String() string {
	if v.Type == String {
		return v.StrVal
	}
	return strconv.Itoa(int(v.IntVal))
}

// IntValue returns the int, or the string parsed as an int (0 if it is not one).
func (v IntOrString) IntValue() int {
	if v.Type == String {
		i, _ := strconv.Atoi(v.StrVal)
		return i
	}
	return int(v.IntVal)
}

func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.Type == String {
		return json.Marshal(v.StrVal)
	}
	return json.Marshal(v.IntVal)
}

func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.Type = String
		v.IntVal = 0
		return json.Unmarshal(b, &v.StrVal)
	}
	v.Type = Int
	v.StrVal = ""
	return json.Unmarshal(b, &v.IntVal)
}

// ScaledValue resolves a number or percentage against total, rounding up or down as asked
// (Kubernetes' GetScaledValueFromIntOrPercent).
func ScaledValue(v *IntOrString, total int, roundUp bool) (int, error) {
	if v == nil {
		return 0, fmt.Errorf("nil value for IntOrString")
	}
	if v.Type == Int {
		return int(v.IntVal), nil
	}
	s := v.StrVal
	if !strings.HasSuffix(s, "%") {
		return 0, fmt.Errorf("invalid value for IntOrString: invalid type: string is not a percentage")
	}
	p, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil {
		return 0, fmt.Errorf("invalid value %q: %w", s, err)
	}
	f := float64(p) * float64(total) / 100
	if roundUp {
		return int(math.Ceil(f)), nil
	}
	return int(math.Floor(f)), nil
}
