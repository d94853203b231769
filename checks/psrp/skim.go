package psrp

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The command-metadata skim. A session decodes one PIPELINE_OUTPUT object
// per command the server lists (692 for the lab administrator, 12 to 18 KB
// each from a real server), and of each it keeps three strings. Building
// the whole tree with encoding/xml cost ~0.1 ms per KB and an allocation
// per token, most of the rbac probe's CPU. skimCommandMetadata reads the
// same answer in one pass over the bytes, building nothing.
//
// It is exact by construction, not by approximation: it accepts a subset of
// the XML that ParseCLIXML accepts (ASCII names without prefixes, the five
// named entities, no comments, CDATA, processing instructions, numeric
// character references or carriage returns), checks that subset as
// strictly as encoding/xml does (nesting, names, quoting, UTF-8, the XML
// character range, "]]>"), and mirrors which subtrees the tree parser reads
// and which it skips, so Ref resolves to the same objects. Anything outside
// the subset, and every malformed or over-budget document, returns ok
// false, and the caller parses the tree: its answer and its error messages
// stay the only ones. FuzzCommandMetadataSkim holds the two to the same
// answer on every input.

type skimMode uint8

const (
	skimSkip skimMode = iota // a subtree the tree parser skips: checked, not read
	skimPrim                 // a primitive: its direct text is its value
	skimObj                  // an Obj
	skimList                 // MS, Props, LST, IE, STK, QUE, TN, En: each child is a value
	skimDict                 // DCT: En children are lists, the rest skipped
)

// skimRole is what a finished element's value does to its parent.
type skimRole uint8

const (
	roleNone     skimRole = iota
	roleText              // a member of an Obj that gives it its Text when it has none
	roleToString          // an Obj's ToString
	roleProp              // a property of the root object
)

// the properties ParseCommandMetadataOutput reads, by index
var skimProps = [...]string{"Name", "Count", "CommandType", "Namespace"}

const (
	propName = iota
	propCount
	propCommandType
	propNamespace
)

type skimValue struct {
	obj      bool   // an Obj, or a Ref resolved to one
	text     []byte // Value.Text before DecodeName
	toString []byte // Value.ToString before DecodeName
}

// str is Value.Str.
func (v skimValue) str() string {
	if v.obj && len(v.toString) > 0 {
		return DecodeName(string(v.toString))
	}
	return DecodeName(string(v.text))
}

type skimFrame struct {
	name      []byte
	mode      skimMode
	role      skimRole
	rootProps bool // an MS or Props of the root object
	prop      int  // with roleProp, which wanted property (-1: another)
	refID     []byte
	val       skimValue
}

type skimRef struct {
	id  []byte
	val skimValue
}

// skimMaxBytes keeps the skim inside the tree parser's text budget: no
// text of a document this size can reach it.
const skimMaxBytes = 1 << 22

func skimCommandMetadata(data []byte) (info CommandInfo, count int, isCount, ok bool) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(data) > skimMaxBytes {
		return info, 0, false, false
	}
	var (
		stack [maxDepth + 1]skimFrame
		top   = -1
		nodes int
		props [len(skimProps)]skimValue
		found [len(skimProps)]bool
		refs  []skimRef
		arena []byte // decoded text with entities, rarely needed
		// objects are remembered only for a Ref to name, and a document
		// without "<Ref" has none
		needRefs = bytes.Contains(data, []byte("<Ref"))
	)
	i := 0
	for i < len(data) && isXMLSpace(data[i]) {
		i++
	}
	// finish closes the top element and hands its value to its parent
	finish := func() {
		f := &stack[top]
		if needRefs && f.mode == skimObj && len(f.refID) > 0 {
			refs = append(refs, skimRef{id: f.refID, val: f.val})
		}
		if top > 0 {
			p := &stack[top-1]
			switch f.role {
			case roleText:
				if len(p.val.text) == 0 {
					p.val.text = f.val.text
				}
			case roleToString:
				p.val.toString = f.val.text
			case roleProp:
				if f.prop >= 0 && !found[f.prop] {
					found[f.prop], props[f.prop] = true, f.val
				}
			}
		}
		top--
	}
	for {
		if i >= len(data) {
			return info, 0, false, false // unclosed: the tree reports it
		}
		if data[i] != '<' {
			if top < 0 {
				return info, 0, false, false
			}
			end, entities, good := skimText(data, i)
			if !good {
				return info, 0, false, false
			}
			if f := &stack[top]; f.mode == skimPrim {
				piece := data[i:end]
				if entities {
					start := len(arena)
					arena = appendUnescaped(arena, piece)
					piece = arena[start:len(arena):len(arena)]
				}
				if len(f.val.text) == 0 {
					f.val.text = piece
				} else {
					start := len(arena)
					arena = append(append(arena, f.val.text...), piece...)
					f.val.text = arena[start:len(arena):len(arena)]
				}
			}
			i = end
			continue
		}
		if i+1 >= len(data) {
			return info, 0, false, false
		}
		if data[i+1] == '/' {
			name, j := skimName(data, i+2)
			if name == nil || top < 0 || !bytes.Equal(name, stack[top].name) {
				return info, 0, false, false
			}
			for j < len(data) && isXMLSpace(data[j]) {
				j++
			}
			if j >= len(data) || data[j] != '>' {
				return info, 0, false, false
			}
			i = j + 1
			finish()
			if top < 0 {
				break
			}
			continue
		}
		name, j := skimName(data, i+1)
		if name == nil {
			return info, 0, false, false // <?, <!, or a name outside the subset
		}
		var nAttr, refAttr []byte
		var haveN, haveRef, empty bool
		for {
			for j < len(data) && isXMLSpace(data[j]) {
				j++
			}
			if j >= len(data) {
				return info, 0, false, false
			}
			if data[j] == '>' {
				j++
				break
			}
			if data[j] == '/' {
				if j+1 >= len(data) || data[j+1] != '>' {
					return info, 0, false, false
				}
				j += 2
				empty = true
				break
			}
			an, aj := skimName(data, j)
			if an == nil {
				return info, 0, false, false
			}
			j = aj
			for j < len(data) && isXMLSpace(data[j]) {
				j++
			}
			if j >= len(data) || data[j] != '=' {
				return info, 0, false, false
			}
			j++
			for j < len(data) && isXMLSpace(data[j]) {
				j++
			}
			if j >= len(data) || (data[j] != '"' && data[j] != '\'') {
				return info, 0, false, false
			}
			end, good := skimAttrValue(data, j+1, data[j])
			if !good {
				return info, 0, false, false
			}
			val := data[j+1 : end]
			switch {
			case !haveN && string(an) == "N":
				nAttr, haveN = val, true
			case !haveRef && string(an) == "RefId":
				refAttr, haveRef = val, true
			}
			j = end + 1
		}
		i = j
		nodes++
		if nodes > maxNodes || top+1 > maxDepth {
			return info, 0, false, false
		}
		f := skimFrame{name: name, prop: -1}
		if top < 0 {
			if string(name) != "Obj" {
				return info, 0, false, false
			}
			f.mode, f.refID, f.val.obj = skimObj, refAttr, true
		} else {
			p := &stack[top]
			value := false // the tree parser reads this element as a value
			switch p.mode {
			case skimSkip, skimPrim:
				f.mode = skimSkip
			case skimDict:
				f.mode = skimSkip
				if string(name) == "En" {
					f.mode = skimList
				}
			case skimList:
				value = true
				if p.rootProps && top == 1 {
					f.role = roleProp
					f.prop = skimProp(nAttr)
				}
			case skimObj:
				switch string(name) {
				case "TN", "MS", "Props", "LST", "IE", "STK", "QUE":
					f.mode = skimList
					f.rootProps = top == 0 && (string(name) == "MS" || string(name) == "Props")
				case "TNRef":
					f.mode = skimSkip
				case "DCT":
					f.mode = skimDict
				case "ToString":
					f.mode, f.role = skimPrim, roleToString
				default:
					value, f.role = true, roleText
				}
			}
			if value {
				switch string(name) {
				case "Obj":
					f.mode, f.refID, f.val.obj = skimObj, refAttr, true
				case "Ref":
					f.mode = skimSkip
					if len(refAttr) > 0 {
						for k := len(refs) - 1; k >= 0; k-- {
							if bytes.Equal(refs[k].id, refAttr) {
								f.val = refs[k].val
								break
							}
						}
					}
				default:
					f.mode = skimPrim
				}
			}
		}
		top++
		stack[top] = f
		if empty {
			finish()
			if top < 0 {
				break
			}
		}
	}
	if found[propCount] && !found[propName] {
		n, err := strconv.ParseInt(strings.TrimSpace(DecodeName(string(props[propCount].text))), 10, 64)
		if err != nil || n < 0 {
			return info, 0, false, false // the tree words the error
		}
		return info, int(n), true, true
	}
	if found[propName] {
		info.Name = props[propName].str()
	}
	if found[propCommandType] {
		info.CommandType = props[propCommandType].str()
	}
	if found[propNamespace] {
		info.Namespace = props[propNamespace].str()
	}
	return info, 0, false, true
}

// skimProp is the index of the wanted property an N attribute names
// (compared as Value.Prop does, after DecodeName), or -1.
func skimProp(n []byte) int {
	name := string(n)
	if bytes.Contains(n, []byte("_x")) {
		name = DecodeName(name)
	}
	for k, p := range skimProps {
		if strings.EqualFold(name, p) {
			return k
		}
	}
	return -1
}

func isXMLSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// skimName reads an ASCII name without a prefix at data[i:], and returns it
// and the index after it; nil when the name is missing or would go on in a
// way the subset leaves to encoding/xml (a colon, a non-ASCII byte).
func skimName(data []byte, i int) ([]byte, int) {
	if i >= len(data) {
		return nil, i
	}
	if c := data[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_') {
		return nil, i
	}
	j := i + 1
	for j < len(data) {
		c := data[j]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' {
			j++
			continue
		}
		if c == ':' || c >= utf8.RuneSelf {
			return nil, i
		}
		break
	}
	return data[i:j], j
}

// skimText checks character data from data[i] up to the next '<' (or the
// end) and returns where it ends and whether it holds entity references.
func skimText(data []byte, i int) (end int, entities, ok bool) {
	start := i
	for i < len(data) {
		c := data[i]
		switch {
		case c == '<':
			return i, entities, true
		case c == '&':
			n := namedEntity(data[i:])
			if n == 0 {
				return i, entities, false
			}
			entities = true
			i += n
			continue
		case c == '>':
			if i-start >= 2 && data[i-1] == ']' && data[i-2] == ']' {
				return i, entities, false
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 || !isInXMLRange(r) {
				return i, entities, false
			}
			i += size
			continue
		case c < 0x20 && c != '\t' && c != '\n':
			return i, entities, false // \r is rewritten by encoding/xml; the rest it refuses
		}
		i++
	}
	return i, entities, true
}

// skimAttrValue checks a quoted attribute value from data[i] to its closing
// quote and returns the quote's index; values with entities or carriage
// returns are left to encoding/xml.
func skimAttrValue(data []byte, i int, quote byte) (int, bool) {
	for i < len(data) {
		c := data[i]
		switch {
		case c == quote:
			return i, true
		case c == '<' || c == '&' || c < 0x20 && c != '\t' && c != '\n':
			return i, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 || !isInXMLRange(r) {
				return i, false
			}
			i += size
			continue
		}
		i++
	}
	return i, false
}

func isInXMLRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

var xmlEntities = [...]struct {
	ref string
	c   byte
}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}}

// namedEntity is the length of the predefined entity reference b starts
// with, 0 when it starts with another.
func namedEntity(b []byte) int {
	for _, e := range xmlEntities {
		if bytes.HasPrefix(b, []byte(e.ref)) {
			return len(e.ref)
		}
	}
	return 0
}

// appendUnescaped appends text (checked by skimText) with its entity
// references replaced.
func appendUnescaped(dst, text []byte) []byte {
	for len(text) > 0 {
		k := bytes.IndexByte(text, '&')
		if k < 0 {
			return append(dst, text...)
		}
		dst = append(dst, text[:k]...)
		text = text[k:]
		for _, e := range xmlEntities {
			if bytes.HasPrefix(text, []byte(e.ref)) {
				dst = append(dst, e.c)
				text = text[len(e.ref):]
				break
			}
		}
	}
	return dst
}
