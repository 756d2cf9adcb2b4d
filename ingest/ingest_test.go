package ingest

import "testing"

func TestAtoi(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "7": 7, "200": 200, "503": 503, "999999999": 999999999} {
		if n, ok := Atoi(s); !ok || n != want {
			t.Errorf("Atoi(%q) = %d, %v; want %d", s, n, ok, want)
		}
	}
	for _, s := range []string{"", "-1", "+1", "1.5", " 1", "1 ", "x", "1000000000"} {
		if n, ok := Atoi(s); ok {
			t.Errorf("Atoi(%q) = %d; want a refusal", s, n)
		}
	}
}
