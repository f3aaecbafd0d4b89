package main

import (
	"fmt"
	"strings"
)

// count is n and the noun, singular or plural as n asks: "1 study",
// "2 studies", "3 series", "0 files".
func count(n int, noun string) string { return fmt.Sprintf("%d %s", n, pluralize(n, noun)) }

// pluralize is noun for n of it (English rules for the nouns the program
// uses; "series" and "data" do not change).
func pluralize(n int, noun string) string {
	if n == 1 {
		return noun
	}
	switch {
	case noun == "series" || noun == "data":
		return noun
	case strings.HasSuffix(noun, "y") && !strings.ContainsAny(noun[len(noun)-2:len(noun)-1], "aeiou"):
		return noun[:len(noun)-1] + "ies"
	case strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"), strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"):
		return noun + "es"
	}
	return noun + "s"
}

// allOf is "the file" for one, "all 3 files" for more.
func allOf(n int, noun string) string {
	if n == 1 {
		return "the " + noun
	}
	return "all " + count(n, noun)
}

// times is "once", "twice", "3 times".
func times(n int64) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}
