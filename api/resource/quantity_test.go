package resource

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// Expected strings were checked against k8s.io/apimachinery v0.33.0.
func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in          string
		want        string
		format      Format
		value, mill int64
	}{
		{"0", "0", DecimalSI, 0, 0},
		{"-0", "0", DecimalSI, 0, 0},
		{"1", "1", DecimalSI, 1, 1000},
		{"500m", "500m", DecimalSI, 1, 500},
		{"1000m", "1", DecimalSI, 1, 1000},
		{"100m", "100m", DecimalSI, 1, 100},
		{"1.5", "1500m", DecimalSI, 2, 1500},
		{"0.1", "100m", DecimalSI, 1, 100},
		{".5", "500m", DecimalSI, 1, 500},
		{"0.1m", "100u", DecimalSI, 1, 1},
		{"1n", "1n", DecimalSI, 1, 1},
		{"0.5n", "1n", DecimalSI, 1, 1}, // below a nano rounds up, never to zero
		{"1k", "1k", DecimalSI, 1000, 1000000},
		{"1.5k", "1500", DecimalSI, 1500, 1500000},
		{"2M", "2M", DecimalSI, 2000000, 2000000000},
		{"1000k", "1M", DecimalSI, 1000000, 1000000000},
		{"1E", "1E", DecimalSI, 1e18, math.MaxInt64},
		{"-1.5", "-1500m", DecimalSI, -2, -1500},
		{"1Ki", "1Ki", BinarySI, 1024, 1024000},
		{"128Mi", "128Mi", BinarySI, 128 << 20, 128 << 20 * 1000},
		{"1024Mi", "1Gi", BinarySI, 1 << 30, 1 << 30 * 1000},
		{"0.5Gi", "512Mi", BinarySI, 1 << 29, 1 << 29 * 1000},
		{"1.5Gi", "1536Mi", BinarySI, 3 << 29, 3 << 29 * 1000},
		{"1.1Ki", "1126400m", BinarySI, 1127, 1126400},                         // fractional binary prints in decimal
		{"-0.5Ki", "-512", BinarySI, -512, -512000},                            // under 1024 prints in decimal
		{"0.0001Ki", "102400u", DecimalSI, 1, 103},                             // under 1 becomes DecimalSI
		{"8Ei", "9223372036854775807", BinarySI, math.MaxInt64, math.MaxInt64}, // binary is capped
		{"2e3", "2e3", DecimalExponent, 2000, 2000000},
		{"15e2", "1500", DecimalExponent, 1500, 1500000},
		{"1.5e3", "1500", DecimalExponent, 1500, 1500000},
		{"1e-3", "1e-3", DecimalExponent, 1, 1},
		{"1e-10", "1e-9", DecimalExponent, 1, 1},
		{"1e100", "10e99", DecimalExponent, math.MaxInt64, math.MaxInt64},
		// Kubernetes keeps the text of inputs its fast path judges canonical.
		{"1E6", "1E6", DecimalExponent, 1000000, 1000000000},
		{"+1", "+1", DecimalSI, 1, 1000},
		{"1.G", "1.G", DecimalSI, 1e9, 1e12},
		{"1.500k", "1.500k", DecimalSI, 1500, 1500000},
		{"01Ki", "01Ki", BinarySI, 1024, 1024000},
		// Beyond Kubernetes' suffix table we print an exponent rather than drop the suffix.
		{"1000E", "1e21", DecimalSI, math.MaxInt64, math.MaxInt64},
		// More than 19 significant digits are rounded away from zero.
		{"12345678901234567891", "12345678901234567900", DecimalSI, math.MaxInt64, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := ParseQuantity(tt.in)
			if err != nil {
				t.Fatalf("ParseQuantity(%q): %v", tt.in, err)
			}
			if got := q.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if q.Format != tt.format {
				t.Errorf("Format = %q, want %q", q.Format, tt.format)
			}
			if got := q.Value(); got != tt.value {
				t.Errorf("Value() = %d, want %d", got, tt.value)
			}
			if got := q.MilliValue(); got != tt.mill {
				t.Errorf("MilliValue() = %d, want %d", got, tt.mill)
			}
			// The canonical form parses back to the same number.
			if back := MustParse(q.String()); back.Cmp(q) != 0 {
				t.Errorf("reparse of %q = %v, not equal", q.String(), back)
			}
		})
	}
}

func TestParseQuantityErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrFormatWrong},
		{"1.5.5", ErrFormatWrong},
		{"Mi", ErrFormatWrong},
		{"-", ErrFormatWrong},
		{"+", ErrFormatWrong},
		{".", ErrFormatWrong},
		{" 1", ErrFormatWrong},
		{"1 ", ErrFormatWrong},
		{"0x1", ErrFormatWrong},
		{"1Zi", ErrFormatWrong},
		{"1e3.5", ErrFormatWrong},
		{"1ki", ErrSuffix},
		{"1e", ErrSuffix},
		{"1e+", ErrSuffix},
		{"1ee3", ErrSuffix},
		{"1Mi3", ErrSuffix},
		{"1iK", ErrSuffix},
		{"1e2147483648", ErrSuffix},
	}
	for _, tt := range tests {
		if _, err := ParseQuantity(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("ParseQuantity(%q) error = %v, want %v", tt.in, err, tt.want)
		}
	}
	if got := ErrFormatWrong.Error(); got != "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" {
		t.Errorf("ErrFormatWrong = %q", got)
	}
}

func TestConstructors(t *testing.T) {
	tests := []struct {
		q    *Quantity
		want string
	}{
		{NewQuantity(0, DecimalSI), "0"},
		{NewQuantity(1000, DecimalSI), "1k"},
		{NewQuantity(1500, DecimalSI), "1500"},
		{NewQuantity(2048, BinarySI), "2Ki"},
		{NewQuantity(1000, BinarySI), "1k"}, // under 1024: decimal
		{NewQuantity(1<<20+1, BinarySI), "1048577"},
		{NewQuantity(3000, DecimalExponent), "3e3"},
		{NewQuantity(5, ""), "5"},
		{NewMilliQuantity(1500, DecimalSI), "1500m"},
		{NewMilliQuantity(2000, DecimalSI), "2"},
		{NewMilliQuantity(100, DecimalExponent), "100e-3"},
		{NewScaledQuantity(5, Mega), "5M"},
		{NewScaledQuantity(15, -10), "2n"}, // 1.5n rounds up to a nano
	}
	for _, tt := range tests {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestCmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "1000m", 0},
		{"1Ki", "1024", 0},
		{"1k", "1Ki", -1},
		{"1Gi", "1G", 1},
		{"-1", "1n", -1},
		{"0", "-1n", 1},
		{"1e100", "8Ei", 1},
		{"-1e100", "-8Ei", -1},
		{"1n", "1e100", -1},
		{"1.5", "1500m", 0},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if got := a.Cmp(b); got != tt.want {
			t.Errorf("%s.Cmp(%s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.Cmp(a); got != -tt.want {
			t.Errorf("%s.Cmp(%s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
		if got := a.Equal(b); got != (tt.want == 0) {
			t.Errorf("%s.Equal(%s) = %v", tt.a, tt.b, got)
		}
	}
	if q := MustParse("1500m"); q.CmpInt64(1) != 1 || q.CmpInt64(2) != -1 {
		t.Error("CmpInt64")
	}
}

func TestAddSub(t *testing.T) {
	tests := []struct {
		a, b     string
		add, sub string
	}{
		{"1", "500m", "1500m", "500m"},
		{"1Gi", "512Mi", "1536Mi", "512Mi"},
		{"100m", "100m", "200m", "0"},
		{"0", "1Ki", "1Ki", "-1Ki"}, // a zero receiver takes the other's format
		{"1k", "1Ki", "2024", "-24"},
		{"2e3", "1", "2001", "1999"},
		{"9223372036854775807", "1", "9223372036854775810", "9223372036854775806"}, // past int64: rounded up
		{"1e100", "1n", "10000000000000000010e81", "10e99"},                        // rounded away from zero
	}
	for _, tt := range tests {
		q := MustParse(tt.a)
		q.Add(MustParse(tt.b))
		if got := q.String(); got != tt.add {
			t.Errorf("%s + %s = %s, want %s", tt.a, tt.b, got, tt.add)
		}
		q = MustParse(tt.a)
		q.Sub(MustParse(tt.b))
		if got := q.String(); got != tt.sub {
			t.Errorf("%s - %s = %s, want %s", tt.a, tt.b, got, tt.sub)
		}
	}

	// A copy is independent: Quantity is a value type.
	a := MustParse("1")
	b := a
	b.Add(MustParse("1"))
	if a.String() != "1" || b.String() != "2" {
		t.Errorf("copy shares state: a=%s b=%s", a.String(), b.String())
	}

	q := MustParse("+1")
	q.Neg()
	if q.String() != "-1" || q.Sign() != -1 {
		t.Errorf("Neg = %s", q.String())
	}
}

func TestScaledValue(t *testing.T) {
	tests := []struct {
		q     string
		scale Scale
		want  int64
	}{
		{"1", Milli, 1000},
		{"1500m", 0, 2},
		{"-1500m", 0, -2}, // away from zero
		{"1.1k", Kilo, 2},
		{"1Mi", Kilo, 1049},
		{"1n", Giga, 1},
		{"-1n", Exa, -1},
		{"1e30", 0, math.MaxInt64},
		{"-1e30", Milli, -math.MaxInt64},
	}
	for _, tt := range tests {
		if got := MustParse(tt.q).ScaledValue(tt.scale); got != tt.want {
			t.Errorf("%s.ScaledValue(%d) = %d, want %d", tt.q, tt.scale, got, tt.want)
		}
	}
}

func TestAsApproximateFloat64(t *testing.T) {
	tests := map[string]float64{"0": 0, "1500m": 1.5, "1Ki": 1024, "-2e3": -2000, "1n": 1e-9}
	for in, want := range tests {
		if got := MustParse(in).AsApproximateFloat64(); got != want {
			t.Errorf("%s = %v, want %v", in, got, want)
		}
	}
}

func TestJSON(t *testing.T) {
	type holder struct {
		Q Quantity  `json:"q"`
		P *Quantity `json:"p,omitempty"`
	}
	tests := []struct {
		in, out string
	}{
		{`{"q":"1.5"}`, `{"q":"1500m"}`},
		{`{"q":1.5}`, `{"q":"1500m"}`},
		{`{"q":1024}`, `{"q":"1024"}`},
		{`{"q":"1024Mi"}`, `{"q":"1Gi"}`},
		{`{"q":"2e3"}`, `{"q":"2e3"}`},
		{`{"q":" 100m "}`, `{"q":"100m"}`},
		{`{"q":null}`, `{"q":"0"}`},
		{`{"q":"1","p":"2Ki"}`, `{"q":"1","p":"2Ki"}`},
	}
	for _, tt := range tests {
		var h holder
		if err := json.Unmarshal([]byte(tt.in), &h); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.in, err)
			continue
		}
		out, err := json.Marshal(h)
		if err != nil || string(out) != tt.out {
			t.Errorf("round trip %s = %s, %v; want %s", tt.in, out, err, tt.out)
		}
	}
	var h holder
	if err := json.Unmarshal([]byte(`{"q":"1.5.5"}`), &h); !errors.Is(err, ErrFormatWrong) {
		t.Errorf("bad quantity error = %v", err)
	}
	// A map of quantities, as in a ResourceList.
	var rl map[string]Quantity
	if err := json.Unmarshal([]byte(`{"cpu":"0.5","memory":"1048576Ki"}`), &rl); err != nil {
		t.Fatal(err)
	}
	if out, _ := json.Marshal(rl); string(out) != `{"cpu":"500m","memory":"1Gi"}` {
		t.Errorf("ResourceList = %s", out)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse(\"x\") did not panic")
		}
	}()
	MustParse("x")
}
