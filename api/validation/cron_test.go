package validation

import "testing"

func TestParseCronSchedule(t *testing.T) {
	tests := []struct {
		schedule string
		err      string // "" for valid
	}{
		{"*/5 * * * *", ""},
		{"0 0 * * *", ""},
		{"0 9-17/2 * * mon-fri", ""},
		{"30 2 1,15 JAN,jul ?", ""},
		{"5/15 * * * *", ""},
		{"@daily", ""},
		{"@every 1h30m", ""},
		{"TZ=UTC 0 0 * * *", ""},
		{"", "empty spec string"},
		{"* * *", "expected exactly 5 fields, found 3: [* * *]"},
		{"* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"},
		{"60 * * * *", "end of range (60) above maximum (59): 60"},
		{"* 24 * * *", "end of range (24) above maximum (23): 24"},
		{"* * 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"* * * * 7", "end of range (7) above maximum (6): 7"},
		{"5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
		{"*/0 * * * *", "step of range should be a positive number: */0"},
		{"1-2-3 * * * *", "too many hyphens: 1-2-3"},
		{"*/2/3 * * * *", "too many slashes: */2/3"},
		{"x * * * *", `failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`},
		{"@fortnightly", "unrecognized descriptor: @fortnightly"},
		{"@every soon", `failed to parse duration @every soon: time: invalid duration "soon"`},
		{"TZ=Nowhere/City 0 0 * * *", "provided bad location Nowhere/City: unknown time zone Nowhere/City"},
	}
	for _, tt := range tests {
		err := ParseCronSchedule(tt.schedule)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err {
			t.Errorf("%q: got %q, want %q", tt.schedule, got, tt.err)
		}
	}
}
