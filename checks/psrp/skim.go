package psrp

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/exdiag/exdiag/checks/internal/xmlskim"
)

// The command-metadata skim. A session decodes one PIPELINE_OUTPUT object
// per command the server lists (692 for the lab administrator, 12 to 18 KB
// each from a real server), and of each it keeps three strings. Building
// the whole tree with encoding/xml cost ~0.1 ms per KB and an allocation
// per token, most of the rbac probe's CPU. skimCommandMetadata reads the
// same answer in one pass over the bytes, building nothing.
//
// It is exact by construction, not by approximation: xmlskim walks a
// subset of the XML ParseCLIXML accepts, checked as strictly as
// encoding/xml checks it, and the skim mirrors which subtrees the tree
// parser reads and which it skips, so Ref resolves to the same objects.
// Anything outside the subset, and every malformed or over-budget
// document, returns ok false, and the caller parses the tree: its answer
// and its error messages stay the only ones. FuzzCommandMetadataSkim holds
// the two to the same answer on every input.

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
	// tail is where the primitive's text starts in the arena once it was
	// copied there (-1: not yet); see the Text case
	tail int
}

type skimRef struct {
	id  []byte
	val skimValue
}

// skimMaxBytes keeps the skim inside the tree parser's text budget: no
// text of a document this size can reach it.
const skimMaxBytes = maxText

func skimCommandMetadata(data []byte) (info CommandInfo, count int, isCount, ok bool) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(data) > skimMaxBytes {
		return info, 0, false, false
	}
	// objects are remembered only for a Ref to name; a server's command
	// objects have none, so the first pass keeps nothing and a Ref sends
	// the skim round again, remembering
	info, count, isCount, ok, again := skimPass(data, false)
	if again {
		info, count, isCount, ok, _ = skimPass(data, true)
	}
	return info, count, isCount, ok
}

func skimPass(data []byte, needRefs bool) (info CommandInfo, count int, isCount, ok, again bool) {
	var (
		stack [maxDepth + 1]skimFrame
		top   = -1
		nodes int
		props [len(skimProps)]skimValue
		found [len(skimProps)]bool
		refs  []skimRef
		arena []byte // decoded text with entities, rarely needed
	)
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
	sc := xmlskim.NewScanner(data, false)
	for {
		tok, good := sc.Next()
		if !good {
			return info, 0, false, false, false
		}
		switch tok.Kind {
		case xmlskim.EOF:
			return info, 0, false, false, false // unclosed: the tree reports it
		case xmlskim.Text:
			if top < 0 {
				if len(bytes.TrimLeft(tok.Text, " \t\n\r")) > 0 {
					return info, 0, false, false, false
				}
				continue
			}
			if f := &stack[top]; f.mode == skimPrim {
				if len(f.val.text) == 0 && !tok.Entities {
					f.val.text = tok.Text // points into data: no copy
					continue
				}
				// A primitive's children are skipped, so nothing else
				// writes the arena while it is open: once its text is at
				// the arena's tail, each further piece is appended there.
				// Copying the whole text again per piece was quadratic (a
				// server's <S>a<x/>a<x/>… of a few MB took gigabytes).
				if f.tail < 0 {
					f.tail = len(arena)
					arena = append(arena, f.val.text...)
				}
				if tok.Entities {
					arena = xmlskim.Unescape(arena, tok.Text)
				} else {
					arena = append(arena, tok.Text...)
				}
				f.val.text = arena[f.tail:len(arena):len(arena)]
			}
			continue
		case xmlskim.End:
			if top < 0 || !bytes.Equal(tok.Name, stack[top].name) {
				return info, 0, false, false, false
			}
			finish()
			if top < 0 {
				return skimAnswer(props, found)
			}
			continue
		}
		nodes++
		if nodes > maxNodes || top+1 > maxDepth {
			return info, 0, false, false, false
		}
		name := tok.Name
		f := &stack[top+1]
		*f = skimFrame{name: name, prop: -1, tail: -1}
		if top < 0 {
			if string(name) != "Obj" {
				return info, 0, false, false, false
			}
			f.mode, f.val.obj = skimObj, true
			if needRefs {
				f.refID = firstAttr(tok, "RefId")
			}
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
				if p.rootProps {
					f.role = roleProp
					f.prop = skimProp(firstAttr(tok, "N"))
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
					f.mode, f.val.obj = skimObj, true
					if needRefs {
						f.refID = firstAttr(tok, "RefId")
					}
				case "Ref":
					if !needRefs {
						return info, 0, false, false, true
					}
					f.mode = skimSkip
					if refAttr := firstAttr(tok, "RefId"); len(refAttr) > 0 {
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
		if tok.Empty {
			finish()
			if top < 0 {
				return skimAnswer(props, found)
			}
		}
	}
}

// skimAnswer is ParseCommandMetadataOutput's answer from the root's
// properties.
func skimAnswer(props [len(skimProps)]skimValue, found [len(skimProps)]bool) (info CommandInfo, count int, isCount, ok, again bool) {
	if found[propCount] && !found[propName] {
		n, err := strconv.ParseInt(strings.TrimSpace(DecodeName(string(props[propCount].text))), 10, 64)
		if err != nil || n < 0 {
			return info, 0, false, false, false // the tree words the error
		}
		return info, int(n), true, true, false
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
	return info, 0, false, true, false
}

// firstAttr is the value of tok's first attribute called name, the one
// the tree parser's attr finds; nil when there is none.
func firstAttr(tok xmlskim.Token, name string) []byte {
	for {
		an, v, more := tok.NextAttr()
		if !more {
			return nil
		}
		if string(an) == name {
			return v
		}
	}
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
