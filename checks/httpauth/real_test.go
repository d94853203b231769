package httpauth

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRealAnswers classifies what Exchange and real reverse proxies send,
// collected from public sources into testdata/real (INDEX.tsv says where
// each text comes from), as the unauthenticated POST would meet them.
func TestRealAnswers(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "real", "INDEX.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		col := strings.Split(line, "\t")
		if len(col) != 6 {
			t.Fatalf("INDEX.tsv: %d columns in %q, want 6", len(col), line)
		}
		file, want, source := col[0], col[4], col[5]
		if !strings.Contains(source, "https://") && !strings.Contains(source, "Q&A") {
			t.Errorf("%s: the source names no public document: %q", file, source)
		}
		status, err := strconv.Atoi(col[1])
		if err != nil {
			t.Fatalf("%s: status %q", file, col[1])
		}
		h := http.Header{}
		for _, kv := range strings.Split(col[2], ";") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				h.Add(k, v)
			}
		}
		n++
		t.Run(file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "real", file))
			if err != nil {
				t.Fatal(err)
			}
			cs, _ := ParseChallenges(h.Values("WWW-Authenticate"))
			pg := ParsePage(status, h, body)
			r := Response{Status: status, Challenges: cs, ContentType: col[3], Page: pg, Answered: DetectAnsweredBy(h, pg)}
			got := Classify(Input{Scheme: "https", Unauth: r})
			if len(got) != 1 || got[0].Code != want {
				t.Fatalf("classified as %v, want %s", got, want)
			}
			if got[0].Summary == "" || strings.Contains(got[0].Summary, "not application/soap+xml") && strings.Contains(col[3], "soap+xml") {
				t.Fatalf("summary %q", got[0].Summary)
			}
			t.Logf("%s → %s: %s", file, got[0].Code, got[0].Summary)
		})
	}
	if n < 10 {
		t.Fatalf("only %d real answers indexed", n)
	}
}

// TestSummaryNeverContradicts: a soap+xml content type with a body that
// is not an envelope is not reported as "not soap+xml".
func TestSummaryNeverContradicts(t *testing.T) {
	r := respText(200, http.Header{}, "<html>not soap</html>", "application/soap+xml;charset=UTF-8")
	got := Classify(Input{Scheme: "https", Unauth: r})
	if len(got) != 1 || got[0].Code != "AUTH-NOT-WSMAN" {
		t.Fatalf("got %v", got)
	}
	if strings.Contains(got[0].Summary, "not application/soap+xml") {
		t.Fatalf("summary contradicts itself: %q", got[0].Summary)
	}
}

// TestWinHTTPCausesDiffer: ARR's 12002, 12029, 12030 and 12152 are four
// causes, and no two get the same summary.
func TestWinHTTPCausesDiffer(t *testing.T) {
	seen := map[string]int{}
	for _, code := range []int{12002, 12029, 12030, 12152} {
		r := respText(502, http.Header{"X-Powered-By": {"ARR/3.0"}}, "HTTP Error 502.3 - Bad Gateway Error Code "+HResultFor(code), "text/html")
		got := Classify(Input{Scheme: "https", Unauth: r})
		if len(got) != 1 {
			t.Fatalf("%d: %v", code, got)
		}
		s := strings.TrimSpace(got[0].Summary[strings.LastIndex(got[0].Summary, ":")+1:])
		if prev, dup := seen[s]; dup {
			t.Errorf("%d and %d share the summary %q", prev, code, s)
		}
		seen[s] = code
	}
}
