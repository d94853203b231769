package psrp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Value is one node of a CLIXML document (MS-PSRP 2.2.5): a primitive
// (S, I32, B, Version, …), Nil, or a complex Obj with type names,
// properties (adapted Props and extended MS merged, in order), a list
// (LST, IE, STK, QUE) or a dictionary (DCT).
type Value struct {
	Kind     string // element name: Obj, S, I32, Nil, Ref, …
	Name     string // the N attribute: the property name inside a parent
	Text     string // primitive value, _xHHHH_ escapes decoded
	Types    []string
	ToString string
	Props    []*Value
	Items    []*Value
	Entries  []Entry
}

// Entry is a DCT key/value pair.
type Entry struct{ Key, Value *Value }

// Prop returns the first property called name (case-insensitive, as
// PowerShell matches property names), or nil.
func (v *Value) Prop(name string) *Value {
	if v == nil {
		return nil
	}
	for _, p := range v.Props {
		if strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// Str is the text of a primitive, or ToString of an object.
func (v *Value) Str() string {
	if v == nil {
		return ""
	}
	if v.Kind == "Obj" {
		if v.ToString != "" {
			return v.ToString
		}
		// an enum wraps its number; ToString may be missing
		if len(v.Props) == 0 && len(v.Items) == 0 {
			return v.Text
		}
	}
	return v.Text
}

// Int reads an integer primitive (or an enum object's number).
func (v *Value) Int() (int64, bool) {
	if v == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v.Text), 10, 64)
	return n, err == nil
}

// Lookup returns the value of a DCT entry whose key's text is key.
func (v *Value) Lookup(key string) *Value {
	if v == nil {
		return nil
	}
	for _, e := range v.Entries {
		if e.Key != nil && strings.EqualFold(e.Key.Text, key) {
			return e.Value
		}
	}
	return nil
}

// Limits of the CLIXML reader: a hostile server must not make it recurse
// or allocate without bound.
const (
	maxDepth = 64
	maxNodes = 200000
	maxText  = 1 << 22 // bytes of one primitive's text
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ParseCLIXML reads one CLIXML object. It tolerates a UTF-8 BOM, unknown
// elements and extra properties, and resolves Ref and TNRef to earlier
// objects and type lists.
func ParseCLIXML(data []byte) (*Value, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	p := &parser{d: xml.NewDecoder(bytes.NewReader(data)), refs: map[string]*Value{}, tns: map[string][]string{}}
	p.d.Strict = true
	for {
		tok, err := p.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("psrp: clixml holds no element")
			}
			return nil, fmt.Errorf("psrp: clixml: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return p.element(se, 0)
		}
	}
}

type parser struct {
	d     *xml.Decoder
	nodes int
	refs  map[string]*Value
	tns   map[string][]string
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// element reads se's subtree (its start token already consumed).
func (p *parser) element(se xml.StartElement, depth int) (*Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("psrp: clixml nested deeper than %d", maxDepth)
	}
	p.nodes++
	if p.nodes > maxNodes {
		return nil, fmt.Errorf("psrp: clixml has more than %d elements", maxNodes)
	}
	v := &Value{Kind: se.Name.Local, Name: DecodeName(attr(se, "N"))}
	switch v.Kind {
	case "Ref":
		if t, ok := p.refs[attr(se, "RefId")]; ok {
			cp := *t // a named copy; the content is shared
			cp.Name = v.Name
			v = &cp
		}
		return v, p.d.Skip()
	case "Obj":
		if err := p.object(v, depth); err != nil {
			return nil, err
		}
		if id := attr(se, "RefId"); id != "" {
			p.refs[id] = v
		}
		return v, nil
	}
	var text strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, fmt.Errorf("psrp: clixml: %v", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if text.Len()+len(t) > maxText {
				return nil, ErrTooLarge
			}
			text.Write(t)
		case xml.StartElement:
			// primitives have no children; tolerate and skip unknown ones
			if err := p.d.Skip(); err != nil {
				return nil, err
			}
		case xml.EndElement:
			v.Text = DecodeName(text.String())
			return v, nil
		}
	}
}

func (p *parser) object(v *Value, depth int) error {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return fmt.Errorf("psrp: clixml: %v", err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.CharData:
			// whitespace between members
		case xml.StartElement:
			switch t.Name.Local {
			case "TN":
				types, err := p.typeNames(depth + 1)
				if err != nil {
					return err
				}
				if id := attr(t, "RefId"); id != "" {
					p.tns[id] = types
				}
				v.Types = types
			case "TNRef":
				v.Types = p.tns[attr(t, "RefId")]
				if err := p.d.Skip(); err != nil {
					return err
				}
			case "ToString":
				c, err := p.element(t, depth+1)
				if err != nil {
					return err
				}
				v.ToString = c.Text
			case "MS", "Props":
				kids, err := p.children(depth + 1)
				if err != nil {
					return err
				}
				v.Props = append(v.Props, kids...)
			case "LST", "IE", "STK", "QUE":
				kids, err := p.children(depth + 1)
				if err != nil {
					return err
				}
				v.Items = append(v.Items, kids...)
			case "DCT":
				if err := p.dict(v, depth+1); err != nil {
					return err
				}
			default:
				// the primitive an enum or a wrapped value carries
				c, err := p.element(t, depth+1)
				if err != nil {
					return err
				}
				if v.Text == "" {
					v.Text = c.Text
				}
			}
		}
	}
}

func (p *parser) typeNames(depth int) ([]string, error) {
	var out []string
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, fmt.Errorf("psrp: clixml: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			c, err := p.element(t, depth+1)
			if err != nil {
				return nil, err
			}
			if len(out) < 64 {
				out = append(out, c.Text)
			}
		case xml.EndElement:
			return out, nil
		}
	}
}

func (p *parser) children(depth int) ([]*Value, error) {
	var out []*Value
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, fmt.Errorf("psrp: clixml: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			c, err := p.element(t, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		case xml.EndElement:
			return out, nil
		}
	}
}

func (p *parser) dict(v *Value, depth int) error {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return fmt.Errorf("psrp: clixml: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "En" {
				if err := p.d.Skip(); err != nil {
					return err
				}
				continue
			}
			kids, err := p.children(depth + 1)
			if err != nil {
				return err
			}
			var e Entry
			for _, k := range kids {
				switch k.Name {
				case "Key":
					e.Key = k
				case "Value":
					e.Value = k
				}
			}
			v.Entries = append(v.Entries, e)
		case xml.EndElement:
			return nil
		}
	}
}

// DecodeName undoes the _xHHHH_ escapes CLIXML uses for characters XML
// cannot carry (control characters, and "_x" itself), joining UTF-16
// surrogate pairs.
func DecodeName(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	var units []uint16
	flush := func() {
		if len(units) > 0 {
			b.WriteString(string(utf16.Decode(units)))
			units = units[:0]
		}
	}
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				units = append(units, uint16(n))
				i += 7
				continue
			}
		}
		flush()
		b.WriteByte(s[i])
		i++
	}
	flush()
	return b.String()
}
