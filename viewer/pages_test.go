package viewer

import "testing"

func TestPersonName(t *testing.T) {
	for in, want := range map[string]string{
		"Doe^Archibald":      "Doe, Archibald",
		"Doe":                "Doe",
		"Doe^John^Q^Dr^Jr":   "Doe, Dr John Q Jr",
		"":                   "",
		"Yamada^Tarou=山田^太郎": "Yamada, Tarou = 山田, 太郎",
	} {
		if got := personName(in); got != want {
			t.Errorf("personName(%q) = %q, want %q", in, got, want)
		}
	}
}
