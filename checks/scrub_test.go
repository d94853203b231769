package checks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
)

const scrubCanary = `Canary-Pw/7f3a+9c1e&x`

// canaryForms are the ways the canary could be echoed, written out
// independently of the scrubber's own list.
func canaryForms(user, pw string) []string {
	up := user + ":" + pw
	var le []byte
	for _, u := range utf16.Encode([]rune(pw)) {
		le = append(le, byte(u), byte(u>>8))
	}
	return []string{
		pw, up,
		base64.StdEncoding.EncodeToString([]byte(up)), base64.StdEncoding.EncodeToString([]byte(pw)),
		base64.RawURLEncoding.EncodeToString([]byte(up)), base64.URLEncoding.EncodeToString([]byte(pw)),
		url.QueryEscape(pw), url.QueryEscape(up), url.PathEscape(pw),
		regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(pw), strings.ToLower),
		string(le), base64.StdEncoding.EncodeToString(le),
	}
}

// The password inside a longer base64 blob (an NTLM token, an attachment)
// is found at each of the three alignments; what is left of the blob
// around the mark is the neighbours' bits, too short to hold the secret.
func TestScrubEmbeddedBase64(t *testing.T) {
	s := newScrubber(&Config{User: "u", Password: NewSecret(scrubCanary)})
	for k := 0; k < 3; k++ {
		blob := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", k) + scrubCanary + "tail"))
		got := s.str("token " + blob)
		if !strings.Contains(got, redactedMark) || len(got)-len(redactedMark)-len("token ") > 12 {
			t.Errorf("alignment %d: %q scrubbed to %q", k, blob, got)
		}
	}
}

type leakyInner struct {
	Text  string            `json:"text"`
	Raw   []byte            `json:"raw"`
	Tags  map[string]string `json:"tags"`
	Any   any               `json:"any"`
	Deep  *leakyInner       `json:"deep,omitempty"`
	Count int               `json:"count"`
}

type leakyObserved struct {
	Endpoint string       `json:"endpoint"`
	Items    []leakyInner `json:"items"`
	Fixed    [2]string    `json:"fixed"`
	Ptr      *leakyInner  `json:"ptr"`
	Hidden   string       `json:"-"` // renderers may read typed fields JSON skips
	Marshal  roundTrips   `json:"marshal"`
}

// marshalsItsOwn writes text the walk cannot see as a string.
type marshalsItsOwn struct{ b []rune }

func (m marshalsItsOwn) MarshalJSON() ([]byte, error) { return json.Marshal(string(m.b)) }

// roundTrips also reads its JSON back, so the scrubbed value keeps its type.
type roundTrips struct{ b []rune }

func (m roundTrips) MarshalJSON() ([]byte, error) { return json.Marshal(string(m.b)) }
func (m *roundTrips) UnmarshalJSON(b []byte) error {
	var s string
	err := json.Unmarshal(b, &s)
	m.b = []rune(s)
	return err
}

func TestRunnerScrubsEveryString(t *testing.T) {
	user := `CONTOSO\canary`
	forms := canaryForms(user, scrubCanary)
	le := utf16.Encode([]rune(scrubCanary))
	leb := make([]byte, 0, 2*len(le))
	for _, u := range le {
		leb = append(leb, byte(u), byte(u>>8))
	}
	echo := func(i int) string { return forms[i%len(forms)] }
	inner := leakyInner{Text: "echo " + echo(0), Raw: []byte("raw " + echo(1)), Tags: map[string]string{echo(2): echo(3)},
		Any: []any{echo(4), map[string]any{"k": echo(5)}}, Count: 3}
	deep := inner
	deep.Deep = &leakyInner{Text: echo(6) + " " + echo(11)}
	check := Check{ID: "leaky", Title: "leaky " + scrubCanary[:3], Doc: "echoes the password everywhere", Codes: []string{"HTTP-NO-HSTS"}, Run: func(ctx context.Context, env *Env) Outcome {
		env.Logf("got %s and %q", echo(7), scrubCanary)
		return Outcome{
			Observed: &leakyObserved{Endpoint: "https://h/?p=" + echo(8), Items: []leakyInner{inner, deep}, Fixed: [2]string{echo(9), "ok"},
				Ptr: &inner, Hidden: echo(10), Marshal: roundTrips{b: []rune("m " + scrubCanary)}},
			Summary:  "summary " + echo(12) + " " + string(leb),
			Findings: []Finding{{Code: "HTTP-NO-HSTS", Target: echo(13), Summary: "finding " + echo(0)}},
			Err:      fmt.Errorf("server said %s", base64.StdEncoding.EncodeToString(leb)),
		}
	}}
	cfg := &Config{User: user, Password: NewSecret(scrubCanary)}
	env := NewEnv(cfg)
	var logs []string
	env.Logf = func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
	rs := Run(context.Background(), env, []Check{check})

	obs, ok := rs[0].Observed.(*leakyObserved)
	if !ok {
		t.Fatalf("observed lost its type: %T (%+v)", rs[0].Observed, rs[0])
	}
	if obs.Items[1].Deep == nil || obs.Items[0].Count != 3 || obs.Fixed[1] != "ok" {
		t.Errorf("the scrubbed copy lost evidence: %+v", obs)
	}
	js, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{
		"json": string(js), "%+v": fmt.Sprintf("%+v %+v %+v", rs, *obs, *obs.Items[1].Deep), "hidden": obs.Hidden,
		"log": strings.Join(logs, "\n"),
	}
	// JSON escapes some bytes; compare against the decoded strings too
	var generic any
	json.Unmarshal(js, &generic)
	texts["json decoded"] = fmt.Sprint(generic)
	for name, text := range texts {
		for _, f := range forms {
			if strings.Contains(text, f) {
				t.Errorf("%s carries the password as %q:\n%s", name, f, text)
			}
		}
	}
	if len(logs) != 1 || !strings.Contains(logs[0], redactedMark) {
		t.Errorf("log lines = %q, want one scrubbed line", logs)
	}
}

// A value whose JSON the walk cannot scrub is replaced by its scrubbed
// JSON form rather than reported with the secret.
func TestScrubFallsBackToGenericJSON(t *testing.T) {
	cfg := &Config{User: "u", Password: NewSecret(scrubCanary)}
	s := newScrubber(cfg)
	r := s.result(Result{Observed: marshalsItsOwn{b: []rune("x" + scrubCanary)}})
	b, _ := json.Marshal(r.Observed)
	if strings.Contains(string(b), scrubCanary) || !strings.Contains(string(b), redactedMark) {
		t.Errorf("observed = %s", b)
	}
	if _, ok := r.Observed.(string); !ok {
		t.Errorf("fallback is %T, want the decoded JSON string", r.Observed)
	}
}

// Without a password nothing is touched, and the same slice comes back.
func TestScrubNoSecret(t *testing.T) {
	s := newScrubber(&Config{})
	rs := []Result{{Summary: "x"}}
	if got := s.results(rs); &got[0] != &rs[0] {
		t.Error("results were copied without a secret to scrub")
	}
	if err := errors.New("x"); s.str(err.Error()) != "x" {
		t.Error("text changed")
	}
}
