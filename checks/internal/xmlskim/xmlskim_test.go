package xmlskim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
)

// tokens walks data with the Scanner, in encoding/xml's terms; ok is false
// when the Scanner left the document.
func tokens(data []byte, prefixes bool) (out []xml.Token, ok bool) {
	s := NewScanner(data, prefixes)
	for {
		t, good := s.Next()
		if !good {
			return out, false
		}
		switch t.Kind {
		case EOF:
			return out, true
		case Text:
			out = append(out, xml.CharData(Unescape(nil, t.Text)))
		case End:
			p, l := Split(t.Name)
			out = append(out, xml.EndElement{Name: xml.Name{Space: string(p), Local: string(l)}})
		case Start:
			p, l := Split(t.Name)
			se := xml.StartElement{Name: xml.Name{Space: string(p), Local: string(l)}, Attr: []xml.Attr{}}
			for {
				n, v, more := t.NextAttr()
				if !more {
					break
				}
				ap, al := Split(n)
				se.Attr = append(se.Attr, xml.Attr{Name: xml.Name{Space: string(ap), Local: string(al)}, Value: string(v)})
			}
			out = append(out, se)
			if t.Empty {
				out = append(out, xml.EndElement{Name: se.Name})
			}
		}
	}
}

// same fails t unless a document the Scanner walks to its end gives
// encoding/xml's strict raw tokens, and no error from it.
func same(t *testing.T, data []byte, prefixes bool) bool {
	t.Helper()
	got, ok := tokens(data, prefixes)
	if !ok {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var want []xml.Token
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the scanner walked what encoding/xml refuses (%v): %q", err, data)
		}
		want = append(want, xml.CopyToken(tok))
	}
	if len(got) != len(want) {
		t.Fatalf("%d tokens, encoding/xml %d: %q", len(got), len(want), data)
	}
	for i := range got {
		if !equal(got[i], want[i]) {
			t.Fatalf("token %d: %#v, encoding/xml %#v: %q", i, got[i], want[i], data)
		}
	}
	return true
}

func equal(a, b xml.Token) bool {
	switch x := a.(type) {
	case xml.CharData:
		y, ok := b.(xml.CharData)
		return ok && bytes.Equal(x, y)
	case xml.EndElement:
		y, ok := b.(xml.EndElement)
		return ok && x == y
	case xml.StartElement:
		y, ok := b.(xml.StartElement)
		if !ok || x.Name != y.Name || len(x.Attr) != len(y.Attr) {
			return false
		}
		for i := range x.Attr {
			if x.Attr[i] != y.Attr[i] {
				return false
			}
		}
		return true
	}
	return false
}

func TestScannerMatchesEncodingXML(t *testing.T) {
	for _, c := range []struct {
		doc      string
		prefixes bool
		walks    bool
	}{
		{`<a x="1" y='2'>t&amp;&lt;&gt;&quot;&apos;<b/>ü😀</a >`, false, true},
		{`<s:E xmlns:s="u" s:k = "v"><s:B>x</s:B></s:E>`, true, true},
		{"<a>\t\n ]]x]>]</a>", false, true},
		{`<a x="1"y="2"/>`, false, true},
		{`<s:E/>`, false, false},
		{`<a:b:c/>`, true, false},
		{`<a>]]></a>`, false, false},
		{`<a>&#65;</a>`, false, false},
		{"<a>\r</a>", false, false},
		{`<a x=1/>`, false, false},
		{`<a x/>`, false, false},
		{`<a x="<"/>`, false, false},
		{`<!-- c --><a/>`, false, false},
		{`<?xml version="1.0"?><a/>`, false, false},
		{"<a>\xff</a>", false, false},
		{"<a>\uFFFE</a>", false, false},
		{`<1a/>`, false, false},
		{`<a/ >`, false, false},
	} {
		if got := same(t, []byte(c.doc), c.prefixes); got != c.walks {
			t.Errorf("walked %v, want %v: %q", got, c.walks, c.doc)
		}
	}
}

func FuzzScanner(f *testing.F) {
	f.Add([]byte(`<s:E xmlns:s="u" a='1'><s:B>x&amp;y</s:B><c/></s:E>`))
	f.Add([]byte(`<Obj RefId="0"><MS><S N="Name">Get-Mailbox</S></MS></Obj>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		same(t, b, false)
		same(t, b, true)
	})
}

// Unescape is exported: a stray '&' it is handed ends, kept as it is.
func TestUnescapeStrayAmpersand(t *testing.T) {
	if got := string(Unescape(nil, []byte("a & b &amp; c &bogus;"))); got != "a & b & c &bogus;" {
		t.Fatalf("got %q", got)
	}
}
