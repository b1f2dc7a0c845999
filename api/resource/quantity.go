// Package resource is Kubernetes' resource.Quantity: "500m", "128Mi", "1.5", "2e3".
//
// A Quantity is an exact decimal m·10^e with an int64 mantissa and no fractional part
// smaller than a nano (10^-9), plus the Format it was written in. It holds no pointers,
// so it is copied by assignment and is comparable; use Cmp or Equal for numeric equality,
// since == also compares the format and the remembered text.
//
// Where it differs from k8s.io/apimachinery (all outside any realistic range):
//   - a number needing more than 19 significant digits is rounded away from zero to
//     fit the int64 mantissa (Kubernetes falls back to arbitrary precision);
//   - Value, MilliValue and ScaledValue saturate at ±MaxInt64 instead of overflowing;
//   - decimal exponents beyond int32 are rejected (Kubernetes truncates them);
//   - DecimalSI values of 10^21 and more print as "1e21" (Kubernetes drops the suffix);
//   - a number part without any digit ("-", "Mi", ".") is ErrFormatWrong, as the
//     documented grammar says (Kubernetes' scanner reads it as zero).
package resource

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Format is how a quantity is written: its suffix family.
type Format string

const (
	DecimalExponent = Format("DecimalExponent") // e.g. 12e6
	BinarySI        = Format("BinarySI")        // e.g. 12Mi (12 * 2^20)
	DecimalSI       = Format("DecimalSI")       // e.g. 12M  (12 * 10^6)
)

// Scale is a power of ten, the unit ScaledValue counts in.
type Scale int32

const (
	Nano  Scale = -9
	Micro Scale = -6
	Milli Scale = -3
	Kilo  Scale = 3
	Mega  Scale = 6
	Giga  Scale = 9
	Tera  Scale = 12
	Peta  Scale = 15
	Exa   Scale = 18
)

const splitREString = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

// Parse errors, with Kubernetes' wording.
var (
	ErrFormatWrong = errors.New("quantities must match the regular expression '" + splitREString + "'")
	ErrNumeric     = errors.New("unable to parse numeric part of quantity")
	ErrSuffix      = errors.New("unable to parse quantity's suffix")
)

// Quantity is a fixed-point number with a suffix format, serialized as its canonical string.
type Quantity struct {
	m int64 // mantissa: no trailing zeros, |m| <= MaxInt64 so negation is always safe
	e int64 // decimal exponent, >= -9; 0 when m is 0
	// s is the text the quantity was parsed from when Kubernetes would print that text
	// back verbatim (see keepsText); it makes values round-trip byte for byte.
	s string

	Format
}

// MustParse parses s or panics; for constants in code and tests.
func MustParse(s string) Quantity {
	q, err := ParseQuantity(s)
	if err != nil {
		panic(fmt.Errorf("cannot parse '%v': %v", s, err))
	}
	return q
}

// ParseQuantity parses a quantity: a signed decimal number followed by an SI suffix
// (n u m "" k M G T P E), a binary suffix (Ki Mi Gi Ti Pi Ei) or an exponent (e3, E-2).
// Precision below a nano is rounded up, away from zero, so a request never becomes 0.
func ParseQuantity(str string) (Quantity, error) {
	neg, num, denom, suf, err := scan(str)
	if err != nil {
		return Quantity{}, err
	}
	base, exp, format, ok := interpret(suf)
	if !ok {
		return Quantity{}, ErrSuffix
	}

	var q Quantity
	if base == 10 {
		q = fromDigits(neg, num+denom, int64(exp)-int64(len(denom)), format)
	} else if v, err := strconv.ParseInt("0"+num, 10, 64); err == nil && denom == "" && v <= math.MaxInt64>>exp {
		// The common "128Mi": a whole number that fits once shifted.
		if neg {
			v = -v
		}
		q = fromInt(v<<exp, 0, format)
	} else {
		u, _ := new(big.Int).SetString("0"+num+denom, 10)
		u.Lsh(u, uint(exp))
		q = fromDigits(neg, u.String(), -int64(len(denom)), format)
		// As Kubernetes: binary quantities are capped at MaxInt64, and one between 0 and
		// 1 becomes DecimalSI because no binary suffix can show it without rounding.
		if q.cmpAbs(maxInt64) > 0 {
			q = Quantity{m: int64(q.Sign()) * math.MaxInt64, Format: BinarySI}
		}
		if !q.IsZero() && q.cmpAbs(one) < 0 {
			q.Format = DecimalSI
		}
	}
	if keepsText(format, exp, num, denom) {
		q.s = str
	}
	return q, nil
}

var (
	one      = Quantity{m: 1}
	maxInt64 = Quantity{m: math.MaxInt64}
)

// scan splits str into sign, integer digits, fraction digits and suffix, following the
// grammar  [+-] digits [. digits] [suffix letters] [+-] [digits].
func scan(str string) (neg bool, num, denom, suffix string, err error) {
	rest := str
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		neg, rest = rest[0] == '-', rest[1:]
	}
	num, rest = leadingDigits(rest)
	if strings.HasPrefix(rest, ".") {
		denom, rest = leadingDigits(rest[1:])
	}
	if num == "" && denom == "" {
		return false, "", "", "", ErrFormatWrong
	}
	suffix = rest
	rest = strings.TrimLeft(rest, "eEinumkKMGTP")
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		rest = rest[1:]
	}
	if _, rest = leadingDigits(rest); rest != "" {
		return false, "", "", "", ErrFormatWrong
	}
	return neg, num, denom, suffix, nil
}

func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

// decimalSuffixes[i] means 10^(3i-9); binarySuffixes[i] means 2^(10i).
var (
	decimalSuffixes = []string{"n", "u", "m", "", "k", "M", "G", "T", "P", "E"}
	binarySuffixes  = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
)

// interpret maps a suffix to a power: 10^exp or 2^exp.
func interpret(suffix string) (base, exp int, f Format, ok bool) {
	if i := slices.Index(decimalSuffixes, suffix); i >= 0 {
		return 10, 3*i - 9, DecimalSI, true
	}
	if i := slices.Index(binarySuffixes, suffix); i > 0 {
		return 2, 10 * i, BinarySI, true
	}
	if len(suffix) > 1 && (suffix[0] == 'e' || suffix[0] == 'E') {
		e, err := strconv.ParseInt(suffix[1:], 10, 32)
		return 10, int(e), DecimalExponent, err == nil
	}
	return 0, 0, "", false
}

// keepsText reports whether Kubernetes' parser would keep the input text as the printed
// form. Its fast path caches text it judges already canonical, so a real API server
// returns "1E6", "+1" or "1.500k" unchanged; we do the same to be byte-compatible.
func keepsText(f Format, exp int, num, denom string) bool {
	num = strings.TrimLeft(num, "0")
	if num == "" {
		num = "0"
	}
	shifted := num + denom
	if f == BinarySI {
		precision := 15 - len(num) - int(float32(exp)*3/10) - 1
		if denom != "" || precision < 0 {
			return false
		}
		v, _ := strconv.ParseInt(shifted, 10, 64)
		return v&7 != 0
	}
	scale := exp - len(denom)
	return len(shifted) <= 18 && scale >= int(Nano) && scale%3 == 0 &&
		!strings.HasSuffix(shifted, "000") && shifted[0] != '0'
}

// fromDigits builds the quantity ±digits·10^exp: rounded up (away from zero) to a nano,
// then to 19 significant digits if the mantissa would not fit an int64.
func fromDigits(neg bool, digits string, exp int64, f Format) Quantity {
	digits, exp = trimZeros(strings.TrimLeft(digits, "0"), exp)
	if digits == "" {
		return Quantity{Format: f}
	}
	if exp < int64(Nano) {
		cut := int64(Nano) - exp
		if cut >= int64(len(digits)) {
			digits = "" // less than a nano: increment makes it exactly 1n
		} else {
			digits = digits[:int64(len(digits))-cut]
		}
		digits, exp = trimZeros(increment(digits), int64(Nano))
	}
	for {
		if m, err := strconv.ParseInt(digits, 10, 64); err == nil {
			if neg {
				m = -m
			}
			return Quantity{m: m, e: exp, Format: f}
		}
		// The dropped digits end in a non-zero digit (zeros were trimmed): round up.
		keep := min(len(digits)-1, 19)
		digits, exp = trimZeros(increment(digits[:keep]), exp+int64(len(digits)-keep))
	}
}

func trimZeros(digits string, exp int64) (string, int64) {
	t := strings.TrimRight(digits, "0")
	if t == "" {
		return "", 0
	}
	return t, exp + int64(len(digits)-len(t))
}

// increment adds one to a decimal digit string ("" is 0).
func increment(digits string) string {
	b := []byte(digits)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// fromInt builds v·10^exp without going through text in the common case.
func fromInt(v int64, exp int64, f Format) Quantity {
	if v == math.MinInt64 || exp < int64(Nano) {
		neg := v < 0
		return fromDigits(neg, strings.TrimPrefix(strconv.FormatInt(v, 10), "-"), exp, f)
	}
	if v == 0 {
		return Quantity{Format: f}
	}
	for v%10 == 0 {
		v, exp = v/10, exp+1
	}
	return Quantity{m: v, e: exp, Format: f}
}

// NewQuantity returns value in the given format.
func NewQuantity(value int64, format Format) *Quantity {
	q := fromInt(value, 0, format)
	return &q
}

// NewMilliQuantity returns value/1000 in the given format.
func NewMilliQuantity(value int64, format Format) *Quantity {
	q := fromInt(value, int64(Milli), format)
	return &q
}

// NewScaledQuantity returns value·10^scale in DecimalSI.
func NewScaledQuantity(value int64, scale Scale) *Quantity {
	q := fromInt(value, int64(scale), DecimalSI)
	return &q
}

// DeepCopy returns q: a Quantity holds no references, so a copy is a deep copy.
// It exists so code written against Kubernetes' API compiles unchanged.
func (q Quantity) DeepCopy() Quantity { return q }

// IsZero reports whether q is 0.
func (q Quantity) IsZero() bool { return q.m == 0 }

// Sign returns -1, 0 or 1.
func (q Quantity) Sign() int { return cmp.Compare(q.m, 0) }

// Cmp returns -1, 0 or 1 as q is less than, equal to or greater than y.
func (q Quantity) Cmp(y Quantity) int {
	a, b := q.m, y.m
	switch {
	case q.e > y.e:
		var ok bool
		if a, ok = scale10(a, q.e-y.e); !ok {
			// |q| > MaxInt64·10^y.e >= |y|, so q's sign decides.
			return q.Sign()
		}
	case q.e < y.e:
		var ok bool
		if b, ok = scale10(b, y.e-q.e); !ok {
			return -y.Sign()
		}
	}
	return cmp.Compare(a, b)
}

// CmpInt64 compares q with the integer y.
func (q Quantity) CmpInt64(y int64) int { return q.Cmp(fromInt(y, 0, "")) }

// Equal reports whether q and v are the same number, whatever their formats;
// go-cmp uses it.
func (q Quantity) Equal(v Quantity) bool { return q.Cmp(v) == 0 }

func (q Quantity) cmpAbs(y Quantity) int {
	if q.m < 0 {
		q.m = -q.m
	}
	return q.Cmp(y)
}

// scale10 returns m·10^n, or false if it overflows an int64.
func scale10(m int64, n int64) (int64, bool) {
	for ; n > 0; n-- {
		if m > math.MaxInt64/10 || m < math.MinInt64/10 {
			return 0, false
		}
		m *= 10
	}
	return m, true
}

// Add sets q to q+y. A zero q takes y's format, as in Kubernetes.
func (q *Quantity) Add(y Quantity) {
	if q.IsZero() {
		q.Format = y.Format
	}
	*q = add(*q, y, q.Format)
}

// Sub sets q to q-y. A zero q takes y's format, as in Kubernetes.
func (q *Quantity) Sub(y Quantity) {
	y.m = -y.m
	q.Add(y)
}

// Neg sets q to -q.
func (q *Quantity) Neg() {
	q.m, q.s = -q.m, ""
}

func add(x, y Quantity, f Format) Quantity {
	if x.e < y.e {
		x, y = y, x
	}
	// Fast path: align x to y's exponent in int64.
	if xm, ok := scale10(x.m, x.e-y.e); ok {
		if sum := xm + y.m; (sum > xm) == (y.m > 0) || y.m == 0 {
			return fromInt(sum, y.e, f)
		}
	}
	// Slow path: exact in big.Int, then rounded to fit. When y sits more than 40
	// digits below x it only decides the rounding direction, so a 1 of the same sign
	// 40 digits down rounds identically and keeps the numbers small.
	gap, ym := x.e-y.e, big.NewInt(y.m)
	if gap > 40 {
		gap, ym = 40, big.NewInt(int64(y.Sign()))
	}
	sum := new(big.Int).Exp(big.NewInt(10), big.NewInt(gap), nil)
	sum.Mul(sum, big.NewInt(x.m)).Add(sum, ym)
	return fromDigits(sum.Sign() < 0, new(big.Int).Abs(sum).String(), x.e-gap, f)
}

// Value returns q rounded up (away from zero) to an integer.
func (q Quantity) Value() int64 { return q.ScaledValue(0) }

// MilliValue returns q·1000 rounded up (away from zero).
func (q Quantity) MilliValue() int64 { return q.ScaledValue(Milli) }

// ScaledValue returns q/10^scale rounded up (away from zero), saturated at ±MaxInt64.
func (q Quantity) ScaledValue(scale Scale) int64 {
	n := q.e - int64(scale)
	if n >= 0 {
		if v, ok := scale10(q.m, n); ok {
			return v
		}
		return int64(q.Sign()) * math.MaxInt64
	}
	if n < -18 { // |m| < 10^19, so this is a non-zero fraction below one
		return int64(q.Sign())
	}
	d := int64(math.Pow10(int(-n)))
	v := q.m / d
	if q.m%d != 0 {
		v += int64(q.Sign())
	}
	return v
}

// AsApproximateFloat64 returns q as a float64, possibly losing precision.
func (q Quantity) AsApproximateFloat64() float64 {
	return float64(q.m) * math.Pow10(int(q.e))
}

// String returns the canonical form: the largest suffix of q's format that keeps the
// number an integer ("1.5" is "1500m", "1024Mi" is "1Gi", "2e3" stays "2e3").
func (q Quantity) String() string {
	if q.s != "" {
		return q.s
	}
	if q.m == 0 {
		return "0"
	}
	switch q.Format {
	case DecimalSI:
		return q.decimal(true)
	case BinarySI:
		if s, ok := q.binary(); ok {
			return s
		}
		// Small or fractional binary values would round; Kubernetes shows them in decimal.
		return q.decimal(true)
	default:
		return q.decimal(false)
	}
}

// decimal writes q with an exponent that is a multiple of three, as an SI suffix or
// as "e<exp>".
func (q Quantity) decimal(si bool) string {
	digits, exp := strconv.FormatInt(q.m, 10), q.e
	if pad := ((exp % 3) + 3) % 3; pad != 0 {
		digits += strings.Repeat("0", int(pad))
		exp -= pad
	}
	if i := (exp + 9) / 3; si && i >= 0 && i < int64(len(decimalSuffixes)) {
		return digits + decimalSuffixes[i]
	}
	if exp == 0 {
		return digits
	}
	return digits + "e" + strconv.FormatInt(exp, 10)
}

// binary writes q as an integer times a power of 1024, if q is an integer of at least 1024.
func (q Quantity) binary() (string, bool) {
	// Fractions (e < 0 with no trailing zeros) and absurdly large values stay decimal.
	if q.e < 0 || q.e > 40 || q.cmpAbs(Quantity{m: 1024}) < 0 {
		return "", false
	}
	v := new(big.Int).Exp(big.NewInt(10), big.NewInt(q.e), nil)
	v.Mul(v, big.NewInt(q.m))
	i, r, k := 0, new(big.Int), big.NewInt(1024)
	for i < len(binarySuffixes)-1 {
		d, m := new(big.Int).QuoRem(v, k, r)
		if m.Sign() != 0 {
			break
		}
		v = d
		i++
	}
	return v.String() + binarySuffixes[i], true
}

// MarshalJSON writes the canonical string.
func (q Quantity) MarshalJSON() ([]byte, error) {
	return []byte(`"` + q.String() + `"`), nil
}

// UnmarshalJSON reads a string ("500m") or a bare number (0.5); null is zero.
func (q *Quantity) UnmarshalJSON(value []byte) error {
	if bytes.Equal(value, []byte("null")) {
		*q = Quantity{}
		return nil
	}
	if l := len(value); l >= 2 && value[0] == '"' && value[l-1] == '"' {
		value = value[1 : l-1]
	}
	parsed, err := ParseQuantity(strings.TrimSpace(string(value)))
	if err != nil {
		return err
	}
	*q = parsed
	return nil
}
