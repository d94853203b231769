package psrp

import (
	"runtime"
	"strings"
	"testing"
)

// sameAnswer fails t when the skim answers data differently from the tree.
// It returns whether the skim answered at all.
func sameAnswer(t *testing.T, data []byte) bool {
	t.Helper()
	info, n, isCount, ok := skimCommandMetadata(data)
	if !ok {
		return false
	}
	tinfo, tn, tisCount, err := parseCommandMetadataTree(data)
	if err != nil {
		t.Fatalf("the skim answered %+v %d %v where the tree fails: %v\n%q", info, n, isCount, err, data)
	}
	if info != tinfo || n != tn || isCount != tisCount {
		t.Fatalf("skim %+v %d %v, tree %+v %d %v\n%q", info, n, isCount, tinfo, tn, tisCount, data)
	}
	return true
}

// The skim must answer for what real servers send, or the session falls
// back to the slow tree on every command.
func TestSkimReadsRecordedObjects(t *testing.T) {
	for _, data := range recordedOutputs(t) {
		if !sameAnswer(t, data) {
			t.Fatalf("the skim left a recorded object to the tree: %.200q", data)
		}
	}
	for _, doc := range [][]byte{GetCommandMetadataXML([]string{"*"}, ImportTypes), InitRunspacePoolXML(), SessionCapabilityXML()} {
		if !sameAnswer(t, doc) {
			t.Fatalf("the skim left %.100q to the tree", doc)
		}
	}
}

func TestSkimMatchesTree(t *testing.T) {
	type doc struct {
		xml    string
		answer bool // the skim answers (else it leaves the document to the tree)
	}
	docs := []doc{
		{`<Obj RefId="0"><MS><S N="Name">Get-Mailbox</S><S N="Namespace">ns</S></MS></Obj>`, true},
		{"\xEF\xBB\xBF \n\t<Obj><MS><I32 N='Count'> 7 </I32></MS></Obj>trailing <garbage", true},
		// the name as an object: its ToString, else its first member's text
		{`<Obj><MS><Obj N="Name"><ToString>A</ToString><I32>1</I32></Obj><Obj N="CommandType"><TN><T>x</T></TN><I32>8</I32><S>late</S></Obj></MS></Obj>`, true},
		{`<Obj><MS><Obj N="Name"><ToString/><Nil/><Obj><S>inner</S></Obj></Obj></MS></Obj>`, true},
		// Ref resolves to an earlier object anywhere the tree reads, never to one it skips
		{`<Obj><TN><Obj RefId="5"><ToString>from-tn</ToString></Obj></TN><MS><Ref N="Name" RefId="5"/></MS></Obj>`, true},
		{`<Obj><MS><Obj N="X" RefId="1"><ToString>first</ToString></Obj><Obj N="Y" RefId="1"><ToString>second</ToString></Obj><Ref N="name" RefId="1"/></MS></Obj>`, true},
		{`<Obj><MS><S N="X"><Obj RefId="2"><ToString>skipped</ToString></Obj></S><Ref N="Name" RefId="2"/></MS></Obj>`, true},
		{`<Obj><DCT><En><Obj N="Value" RefId="3"><ToString>in-dict</ToString></Obj></En><Other><Obj RefId="4"/></Other></DCT><MS><Ref N="Name" RefId="3"/><Ref N="Namespace" RefId="4"/></MS></Obj>`, true},
		{`<Obj RefId="9"><MS><Ref N="Name" RefId="9"/></MS></Obj>`, true},
		// first match wins, case-insensitively, over MS and Props in order
		{`<Obj><Props><S N="NAME">one</S></Props><MS><S N="Name">two</S></MS></Obj>`, true},
		{`<Obj><MS><Obj N="Inner"><MS><S N="Name">not-root</S></MS></Obj><I32 N="Count">2</I32></MS></Obj>`, true},
		// escapes: entities, _xHHHH_ in names and values, text around skipped children
		{`<Obj><MS><S N="Name">a&amp;b&lt;c&gt;d&quot;e&apos;f_x000A_g</S><S N="_x004E_amespace">N</S></MS></Obj>`, true},
		{`<Obj><MS><S N="Name">ab<skip>x</skip>cd&amp;</S></MS></Obj>`, true},
		{`<Obj><MS><S N="Name">Grüße 😀</S><S N="Namespace">]] ]>]</S></MS></Obj>`, true},
		{`<Obj a="1"b='2' N = "x"><MS ><S  N="Name" >x</S ></MS></Obj >`, true},
		// a count that is not a number, or negative: the tree words the error
		{`<Obj><MS><I32 N="Count">x</I32></MS></Obj>`, false},
		{`<Obj><MS><I32 N="Count">-1</I32></MS></Obj>`, false},
		// outside the subset, or not well-formed: the tree decides
		{`<?xml version="1.0"?><Obj><MS><S N="Name">x</S></MS></Obj>`, false},
		{`<Obj><!-- c --><MS><S N="Name">x</S></MS></Obj>`, false},
		{`<Obj><MS><S N="Name"><![CDATA[x]]></S></MS></Obj>`, false},
		{`<Obj><MS><S N="Name">&#65;</S></MS></Obj>`, false},
		{`<Obj><MS><S N="Name">a&nbsp;b</S></MS></Obj>`, false},
		{"<Obj><MS><S N=\"Name\">a\rb</S></MS></Obj>", false},
		{`<Obj><MS><S N="Name">a]]>b</S></MS></Obj>`, false},
		{`<Obj><MS><p:S N="Name">x</p:S></MS></Obj>`, false},
		{`<Obj><MS><S N="Name">x</T></MS></Obj>`, false},
		{`<Obj><MS><S N=Name>x</S></MS></Obj>`, false},
		{`<Obj><MS><S N="a<b">x</S></MS></Obj>`, false},
		{"<Obj><MS><S N=\"Name\">\xff</S></MS></Obj>", false},
		{"<Obj><MS><S N=\"Name\">\x01</S></MS></Obj>", false},
		{`<Obj><MS><S N="Name">x</S></MS>`, false},
		{`<S N="Name">x</S>`, false},
		{`text<Obj/>`, false},
		{strings.Repeat("<Obj><MS>", 40) + strings.Repeat("</MS></Obj>", 40), false},
	}
	for _, d := range docs {
		if got := sameAnswer(t, []byte(d.xml)); got != d.answer {
			t.Errorf("skim answered %v, want %v: %q", got, d.answer, d.xml)
		}
		// whatever path it takes, the public answer is the tree's
		info, n, isCount, err := ParseCommandMetadataOutput([]byte(d.xml))
		tinfo, tn, tisCount, terr := parseCommandMetadataTree([]byte(d.xml))
		if info != tinfo || n != tn || isCount != tisCount || (err == nil) != (terr == nil) || err != nil && err.Error() != terr.Error() {
			t.Errorf("%q: %+v %d %v %v, tree %+v %d %v %v", d.xml, info, n, isCount, err, tinfo, tn, tisCount, terr)
		}
	}
}

// A primitive's text broken by many skipped children costs the skim its
// length once, not once per piece: copying the whole text again for each
// piece let a 3 MB answer allocate gigabytes.
func TestSkimSplitTextIsLinear(t *testing.T) {
	const pieces = 20000
	doc := `<Obj><MS><S N="Name">` + strings.Repeat(strings.Repeat("a", 100)+"<x/>", pieces) + `&amp;</S></MS></Obj>`
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	info, _, _, ok := skimCommandMetadata([]byte(doc))
	runtime.ReadMemStats(&after)
	if !ok || len(info.Name) != pieces*100+1 {
		t.Fatalf("skim ok %v, name of %d bytes", ok, len(info.Name))
	}
	// the 2 MB of text, a few times over for the arena's growth; the
	// quadratic copy needed about 20 GB
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Fatalf("the skim allocated %d MB for a 2 MB text", got>>20)
	}
}
