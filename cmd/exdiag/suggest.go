package main

import (
	"fmt"
	"strings"
	"unicode"
)

// didYouMean returns " (did you mean X?)" for the candidate closest to
// got, when one is close enough to be a typo, else "".
func didYouMean(got string, candidates []string) string {
	if s := closest(got, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	return ""
}

// closest is the candidate within a typo's distance of got: at most one
// edit for short words, a third of the length for longer ones; a
// candidate that got is a prefix of (or that is a prefix of got) counts too.
func closest(got string, candidates []string) string {
	g := strings.ToLower(got)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := distance(g, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, len(g)/3)
	if best != "" && (bestD <= limit || len(g) >= 3 && strings.HasPrefix(strings.ToLower(best), g)) {
		return best
	}
	return ""
}

// distance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// powershellFlags are New-PSSession's parameters that exdiag takes under
// another name; the rest map by spelling (-SkipCACheck → --skip-ca-check).
var powershellFlags = map[string]string{
	"connectionuri":     "uri",
	"credential":        "user",
	"configurationname": "configuration-name",
	"computername":      "uri",
}

// powershellStyle finds arguments written as PowerShell parameters
// (-ConnectionUri URL) and returns the message that names exdiag's
// flags for them, or "" when there are none.
func powershellStyle(args []string, names []string) string {
	var hints []string
	for i, a := range args {
		if a == "--" {
			break
		}
		if len(a) < 3 || a[0] != '-' || a[1] == '-' || !unicode.IsUpper(rune(a[1])) {
			continue
		}
		name := a[1:]
		flag, ok := powershellFlags[strings.ToLower(name)]
		if !ok {
			flag = kebab(name)
		}
		if !contains(names, flag) {
			if flag = closest(flag, names); flag == "" {
				continue
			}
		}
		hint := "--" + flag
		if flag == "authentication" && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			mech := strings.ToLower(args[i+1])
			if mech == "default" { // New-PSSession's Default is Negotiate
				mech = "negotiate"
			}
			hint += " " + mech
		}
		hints = append(hints, hint)
	}
	if len(hints) == 0 {
		return ""
	}
	return "exdiag flags use two dashes: did you mean " + strings.Join(hints, " / ") + "?"
}

// kebab turns SkipCACheck into skip-ca-check.
func kebab(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
