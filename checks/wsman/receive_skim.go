package wsman

import (
	"bytes"

	"github.com/exdiag/exdiag/checks/internal/xmlskim"
)

// A ReceiveResponse carries up to 500 KB of base64 stream text, seven of
// them for the lab administrator's command list, and encoding/xml reads
// character data a byte at a time through a buffer: that was most of a
// session's CPU once the CLIXML was skimmed, in line between one Receive
// and the next. skimReceiveEnvelope fills the envelope as xml.Unmarshal
// would (the root's name, the Header's Action, the Body's ReceiveResponse
// with its Streams and CommandState) in one pass with xmlskim, resolving
// prefixes as encoding/xml does. An envelope outside xmlskim's subset, one
// whose Body holds another answer (a Fault, a Shell, a CommandResponse) or
// one nested deeper than skimMaxDepth is left to xml.Unmarshal, whose
// answer and errors stay the only ones; FuzzReceiveSkim holds the two to
// the same envelope.

// skimMaxDepth bounds the element stack the skim keeps (WinRM nests four).
const skimMaxDepth = 32

// parseReceiveEnvelope is parseEnvelope for a ReceiveResponse.
func parseReceiveEnvelope(body []byte) (*envelope, error) {
	if e, ok := skimReceiveEnvelope(body); ok {
		return e, nil
	}
	return parseEnvelope(body)
}

// xmlURL is the namespace the xml prefix is bound to.
const xmlURL = "http://www.w3.org/XML/1998/namespace"

type nsBinding struct {
	prefix, uri []byte
	depth       int
}

// what a skimmed element is to the envelope
type skimPart uint8

const (
	partOther skimPart = iota
	partEnvelope
	partHeader
	partBody
	partAction
	partReceive
	partStream
	partState
)

func skimReceiveEnvelope(body []byte) (*envelope, bool) {
	var (
		e     envelope
		names [skimMaxDepth][]byte
		parts [skimMaxDepth]skimPart
		top   = -1
		ns    []nsBinding
		text  []byte // the Action or Stream being read, entities decoded
		own   bool   // text is a copy, not a slice of body
	)
	resolve := func(prefix []byte) []byte {
		switch string(prefix) {
		case "xmlns":
			return prefix
		case "xml":
			return []byte(xmlURL)
		}
		for k := len(ns) - 1; k >= 0; k-- {
			if bytes.Equal(ns[k].prefix, prefix) {
				return ns[k].uri
			}
		}
		return prefix // unbound: encoding/xml leaves the prefix as the space
	}
	sc := xmlskim.NewScanner(body, true)
	for {
		tok, ok := sc.Next()
		if !ok {
			return nil, false
		}
		switch tok.Kind {
		case xmlskim.EOF:
			return nil, false
		case xmlskim.Text:
			if top < 0 {
				if len(bytes.TrimLeft(tok.Text, " \t\n\r")) > 0 {
					return nil, false
				}
				continue
			}
			if p := parts[top]; p != partAction && p != partStream {
				continue
			}
			switch {
			case len(text) == 0 && !tok.Entities:
				text, own = tok.Text, false
			case !own:
				text = xmlskim.Unescape(append([]byte(nil), text...), tok.Text)
				own = true
			default:
				text = xmlskim.Unescape(text, tok.Text)
			}
			continue
		case xmlskim.End:
			if top < 0 || !bytes.Equal(tok.Name, names[top]) {
				return nil, false
			}
			endPart(&e, parts[top], text)
			for len(ns) > 0 && ns[len(ns)-1].depth == top {
				ns = ns[:len(ns)-1]
			}
			if top--; top < 0 {
				return &e, true
			}
			continue
		}
		if top+1 >= skimMaxDepth {
			return nil, false
		}
		depth := top + 1
		part := partOther
		if depth == 0 || depth <= 3 && parts[top] != partOther {
			// bind this element's prefixes before its own name resolves
			attrs := tok
			for {
				n, v, more := attrs.NextAttr()
				if !more {
					break
				}
				switch p, l := xmlskim.Split(n); {
				case string(p) == "xmlns":
					ns = append(ns, nsBinding{prefix: l, uri: v, depth: depth})
				case p == nil && string(l) == "xmlns":
					ns = append(ns, nsBinding{prefix: nil, uri: v, depth: depth})
				}
			}
			prefix, local := xmlskim.Split(tok.Name)
			space := string(resolve(prefix))
			var parent skimPart
			if depth > 0 {
				parent = parts[top]
			}
			var refused bool
			part, refused = classify(parent, depth, space, string(local))
			if refused {
				return nil, false
			}
		}
		top = depth
		names[top], parts[top] = tok.Name, part
		if part == partAction || part == partStream {
			text, own = nil, false // siblings only: neither nests in the other
		}
		startPart(&e, part, tok)
		if tok.Empty {
			endPart(&e, part, nil)
			for len(ns) > 0 && ns[len(ns)-1].depth == top {
				ns = ns[:len(ns)-1]
			}
			if top--; top < 0 {
				return &e, true
			}
		}
	}
}

// classify says what an element is, from its parent, depth and resolved
// name; refused when it is a part of the envelope the skim does not fill.
func classify(parent skimPart, depth int, space, local string) (skimPart, bool) {
	switch {
	case depth == 0:
		if space != NsSOAP || local != "Envelope" {
			return partOther, true // xml.Unmarshal words the error
		}
		return partEnvelope, false
	case parent == partEnvelope && space == NsSOAP && local == "Header":
		return partHeader, false
	case parent == partEnvelope && space == NsSOAP && local == "Body":
		return partBody, false
	case parent == partHeader && space == NsAddress && local == "Action":
		return partAction, false
	case parent == partBody && space == NsShell && local == "ReceiveResponse":
		return partReceive, false
	case parent == partBody:
		// the other answers the envelope struct reads
		refused := space == NsSOAP && local == "Fault" || space == NsShell && (local == "Shell" || local == "CommandResponse") ||
			space == "http://schemas.xmlsoap.org/ws/2004/09/transfer" && local == "ResourceCreated"
		return partOther, refused
	case parent == partReceive && space == NsShell && local == "Stream":
		return partStream, false
	case parent == partReceive && space == NsShell && local == "CommandState":
		return partState, false
	}
	return partOther, false
}

// startPart records a start tag's attributes as xml.Unmarshal does: by
// local name, whatever the prefix, the last of a name winning.
func startPart(e *envelope, part skimPart, tok xmlskim.Token) {
	switch part {
	case partEnvelope:
		e.XMLName.Space, e.XMLName.Local = NsSOAP, "Envelope"
	case partReceive:
		if e.Body.Receive == nil {
			alloc(&e.Body.Receive)
		}
	case partStream:
		r := e.Body.Receive
		r.Streams = grow(r.Streams)
		s := &r.Streams[len(r.Streams)-1]
		eachAttr(tok, func(local string, v []byte) {
			switch local {
			case "Name":
				s.Name = string(v)
			case "CommandId":
				s.CommandID = string(v)
			case "End":
				s.End = string(v)
			}
		})
	case partState:
		r := e.Body.Receive
		if r.State == nil {
			alloc(&r.State)
		}
		eachAttr(tok, func(local string, v []byte) {
			switch local {
			case "CommandId":
				r.State.CommandID = string(v)
			case "State":
				r.State.State = string(v)
			}
		})
	}
}

// eachAttr calls set with each attribute's local name and value, in order.
func eachAttr(tok xmlskim.Token, set func(local string, v []byte)) {
	for {
		n, v, more := tok.NextAttr()
		if !more {
			return
		}
		_, l := xmlskim.Split(n)
		set(string(l), v)
	}
}

// endPart stores the character data of an Action or a Stream.
func endPart(e *envelope, part skimPart, text []byte) {
	switch part {
	case partAction:
		e.Header.Action = string(text)
	case partStream:
		r := e.Body.Receive
		r.Streams[len(r.Streams)-1].Data = string(text)
	}
}

// alloc and grow name the envelope's anonymous struct types by inference.
func alloc[T any](p **T) { *p = new(T) }

func grow[T any](s []T) []T {
	var zero T
	return append(s, zero)
}
