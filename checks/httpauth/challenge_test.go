package httpauth

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    []Challenge
		wantErr bool
	}{
		{"basic realm", []string{`Basic realm="mail.contoso.test"`},
			[]Challenge{{Scheme: "Basic", Params: []Param{{"realm", "mail.contoso.test"}}}}, false},
		{"iis three headers", []string{`Negotiate`, `NTLM`, `Basic realm="cas1"`},
			[]Challenge{{Scheme: "Negotiate"}, {Scheme: "NTLM"}, {Scheme: "Basic", Params: []Param{{"realm", "cas1"}}}}, false},
		{"several in one header", []string{`Negotiate, Basic realm="x", NTLM`},
			[]Challenge{{Scheme: "Negotiate"}, {Scheme: "Basic", Params: []Param{{"realm", "x"}}}, {Scheme: "NTLM"}}, false},
		{"token68 with padding", []string{`Negotiate TlRMTVNTUAACAAAA/+8=, Basic realm="r"`},
			[]Challenge{{Scheme: "Negotiate", Token68: "TlRMTVNTUAACAAAA/+8="}, {Scheme: "Basic", Params: []Param{{"realm", "r"}}}}, false},
		{"token68 all padding looks like a param", []string{`Negotiate abc==`},
			[]Challenge{{Scheme: "Negotiate", Token68: "abc=="}}, false},
		{"quoted escapes and comma inside", []string{`Basic realm="a \"quoted\", realm\\x", charset="UTF-8"`},
			[]Challenge{{Scheme: "Basic", Params: []Param{{"realm", `a "quoted", realm\x`}, {"charset", "UTF-8"}}}}, false},
		{"case-insensitive scheme and bws", []string{`bAsIc Realm = "r" , Digest realm="d", nonce=abc, qop="auth,auth-int"`},
			[]Challenge{{Scheme: "bAsIc", Params: []Param{{"Realm", "r"}}},
				{Scheme: "Digest", Params: []Param{{"realm", "d"}, {"nonce", "abc"}, {"qop", "auth,auth-int"}}}}, false},
		{"empty list elements", []string{` , ,Basic realm="r",, ,`},
			[]Challenge{{Scheme: "Basic", Params: []Param{{"realm", "r"}}}}, false},
		{"unterminated quote", []string{`Basic realm="oops`}, []Challenge{{Scheme: "Basic"}}, true},
		{"garbage scheme", []string{`"Basic"`}, nil, true},
		{"empty", []string{""}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenges(tt.headers)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestChallengeHelpers(t *testing.T) {
	cs, _ := ParseChallenges([]string{`NEGOTIATE`, `basic REALM="r"`})
	if !Offers(cs, "Basic") || !Offers(cs, "negotiate") || Offers(cs, "NTLM") {
		t.Fatalf("Offers is not case-insensitive: %v", cs)
	}
	if v, ok := cs[1].Param("realm"); !ok || v != "r" {
		t.Fatalf("Param(realm) = %q %v", v, ok)
	}
	if got := strings.Join(Schemes(cs), ","); got != "NEGOTIATE,basic" {
		t.Fatalf("Schemes = %s", got)
	}
}

func TestParseChallengesBounded(t *testing.T) {
	many := strings.Repeat("Negotiate, ", 100)
	cs, err := ParseChallenges([]string{many})
	if err != ErrTooLarge || len(cs) != MaxChallenges {
		t.Fatalf("got %d challenges, err %v; want %d and ErrTooLarge", len(cs), err, MaxChallenges)
	}
	var params []string
	for i := 0; i < 100; i++ {
		params = append(params, "p=v")
	}
	cs, err = ParseChallenges([]string{"Basic " + strings.Join(params, ", ")})
	if err != ErrTooLarge || len(cs) != 1 || len(cs[0].Params) != MaxParams {
		t.Fatalf("params not bounded: %d, %v", len(cs[0].Params), err)
	}
	huge := "Basic realm=\"" + strings.Repeat("a", 3*MaxHeaderBytes) + "\""
	if _, err := ParseChallenges([]string{huge}); err == nil {
		t.Fatal("an oversized header parsed without error")
	}
}

func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{`Basic realm="x"`, `Negotiate abc==, NTLM`, `Digest a="\"", b=c`, `,,`, `Basic realm="`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, _ := ParseChallenges([]string{s, s})
		if len(cs) > MaxChallenges {
			t.Fatalf("%d challenges past the limit", len(cs))
		}
		for _, c := range cs {
			if c.Scheme == "" {
				t.Fatalf("empty scheme from %q", s)
			}
			if len(c.Params) > MaxParams {
				t.Fatalf("%d params past the limit", len(c.Params))
			}
			if c.Token68 != "" && len(c.Params) > 0 {
				t.Fatalf("challenge has both token68 and params: %#v", c)
			}
		}
	})
}
