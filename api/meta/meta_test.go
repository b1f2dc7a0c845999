package meta

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeJSON(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 500_000_000, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"Time in UTC, seconds", NewTime(at), `"2024-05-06T06:08:09Z"`},
		{"zero Time is null", Time{}, `null`},
		{"MicroTime keeps microseconds", MicroTime{at}, `"2024-05-06T06:08:09.500000Z"`},
		{"zero MicroTime is null", MicroTime{}, `null`},
		{"Duration as Go string", Duration{90 * time.Second}, `"1m30s"`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.name, b, err, tc.want)
		}
	}
}

func TestTimeUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{`"2024-05-06T06:08:09Z"`, time.Date(2024, 5, 6, 6, 8, 9, 0, time.UTC), false},
		{`"2024-05-06T08:08:09+02:00"`, time.Date(2024, 5, 6, 6, 8, 9, 0, time.UTC), false},
		{`null`, time.Time{}, false},
		{`""`, time.Time{}, false},
		{`"yesterday"`, time.Time{}, true},
		{`42`, time.Time{}, true},
	}
	for _, tc := range tests {
		var got Time
		err := json.Unmarshal([]byte(tc.in), &got)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !got.Equal(tc.want)) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	var m MicroTime
	if err := json.Unmarshal([]byte(`"2024-05-06T06:08:09.123456Z"`), &m); err != nil || m.Nanosecond() != 123456000 {
		t.Errorf("MicroTime = %v, %v", m, err)
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"5m"`), &d); err != nil || d.Duration != 5*time.Minute {
		t.Errorf("Duration = %v, %v", d, err)
	}
	if err := json.Unmarshal([]byte(`"5 minutes"`), &d); err == nil {
		t.Error("Duration accepted 5 minutes")
	}
}

// A round trip keeps what the wire keeps: Time drops sub-second precision.
func TestTimeRoundTrip(t *testing.T) {
	in := NewTime(time.Date(2024, 1, 2, 3, 4, 5, 999, time.UTC))
	b, _ := json.Marshal(in)
	var out Time
	if err := json.Unmarshal(b, &out); err != nil || !out.Equal(in.Time) {
		t.Errorf("round trip %v -> %s -> %v (%v)", in, b, out, err)
	}
}
