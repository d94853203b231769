// Package httpauth reads what an HTTP endpoint says about authentication
// and failures: WWW-Authenticate challenges, IIS/ARR detailed error pages,
// Exchange's failure categories and who answered. The auth probe turns
// those facts into catalog findings with Classify. Everything here parses
// untrusted bytes, so every parser is bounded and never panics.
package httpauth

import (
	"errors"
	"strings"
)

// Limits that keep a hostile header from costing more than a glance.
const (
	MaxHeaderBytes = 8 << 10 // one WWW-Authenticate value
	MaxChallenges  = 32      // over all headers
	MaxParams      = 32      // per challenge
)

// ErrTooLarge is returned (with what was parsed so far) when a header goes
// past the limits above.
var ErrTooLarge = errors.New("www-authenticate header is larger than exdiag reads")

// Challenge is one auth-scheme with its token68 or parameters (RFC 9110
// section 11.6.1).
type Challenge struct {
	Scheme  string  `json:"scheme"`
	Token68 string  `json:"token68,omitempty"`
	Params  []Param `json:"params,omitempty"`
}

// Param is one auth-param; names compare case-insensitively.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Is reports whether the challenge's scheme is scheme, ignoring case as
// the RFC requires.
func (c Challenge) Is(scheme string) bool { return strings.EqualFold(c.Scheme, scheme) }

// Param returns the value of the named parameter.
func (c Challenge) Param(name string) (string, bool) {
	for _, p := range c.Params {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// Offers reports whether any challenge uses scheme.
func Offers(cs []Challenge, scheme string) bool {
	for _, c := range cs {
		if c.Is(scheme) {
			return true
		}
	}
	return false
}

// Schemes lists the schemes offered, in order, for a summary line.
func Schemes(cs []Challenge) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Scheme)
	}
	return out
}

// ParseChallenges parses every WWW-Authenticate value of a response (a
// response may carry several headers, each with several challenges). On
// malformed input it returns the challenges it could read and an error.
func ParseChallenges(values []string) ([]Challenge, error) {
	var out []Challenge
	var firstErr error
	for _, v := range values {
		if len(v) > MaxHeaderBytes {
			v = v[:MaxHeaderBytes]
			if firstErr == nil {
				firstErr = ErrTooLarge
			}
		}
		p := &parser{s: v}
		cs, err := p.challenges(MaxChallenges - len(out))
		out = append(out, cs...)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if len(out) >= MaxChallenges {
			break
		}
	}
	return out, firstErr
}

type parser struct {
	s   string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) skipOWS() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// skipSeparators skips whitespace and empty list elements (RFC 9110
// section 5.6.1 lets a recipient ignore them).
func (p *parser) skipSeparators() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == ',') {
		p.pos++
	}
}

func isTchar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken68Char(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

func (p *parser) token() string {
	start := p.pos
	for p.pos < len(p.s) && isTchar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

var errSyntax = errors.New("malformed www-authenticate header")

func (p *parser) challenges(room int) ([]Challenge, error) {
	var out []Challenge
	for {
		p.skipSeparators()
		if p.eof() {
			return out, nil
		}
		if len(out) >= room {
			return out, ErrTooLarge
		}
		scheme := p.token()
		if scheme == "" {
			return out, errSyntax
		}
		c := Challenge{Scheme: scheme}
		if p.eof() || p.s[p.pos] == ',' {
			out = append(out, c)
			continue
		}
		if p.s[p.pos] != ' ' && p.s[p.pos] != '\t' {
			return out, errSyntax
		}
		p.skipOWS()
		if p.eof() || p.s[p.pos] == ',' {
			out = append(out, c)
			continue
		}
		if name, value, ok := p.tryParam(); ok {
			c.Params = append(c.Params, Param{name, value})
			err := p.moreParams(&c)
			out = append(out, c)
			if err != nil {
				return out, err
			}
			continue
		}
		t := p.token68()
		if t == "" {
			return append(out, c), errSyntax
		}
		c.Token68 = t
		p.skipOWS()
		if !p.eof() && p.s[p.pos] != ',' {
			// not a token68 after all (an unterminated quoted realm, say):
			// drop the half-read challenge rather than report nonsense
			return append(out, Challenge{Scheme: scheme}), errSyntax
		}
		out = append(out, c)
	}
}

// moreParams reads ", name=value" pairs until the next element is a new
// challenge (a token not followed by "=") or the header ends.
func (p *parser) moreParams(c *Challenge) error {
	for {
		save := p.pos
		p.skipOWS()
		if p.eof() {
			return nil
		}
		if p.s[p.pos] != ',' {
			return errSyntax
		}
		p.skipSeparators()
		if p.eof() {
			return nil
		}
		if _, _, ok := p.peekParam(); !ok {
			p.pos = save
			return nil
		}
		if len(c.Params) >= MaxParams {
			return ErrTooLarge
		}
		name, value, _ := p.tryParam()
		c.Params = append(c.Params, Param{name, value})
	}
}

func (p *parser) peekParam() (string, string, bool) {
	save := p.pos
	n, v, ok := p.tryParam()
	p.pos = save
	return n, v, ok
}

// tryParam reads token BWS "=" BWS (token / quoted-string); on failure it
// leaves the position unchanged, so the caller can read a token68 instead
// ("abc==" is a token68, not the parameter abc).
func (p *parser) tryParam() (string, string, bool) {
	save := p.pos
	name := p.token()
	if name == "" {
		p.pos = save
		return "", "", false
	}
	p.skipOWS()
	if p.eof() || p.s[p.pos] != '=' {
		p.pos = save
		return "", "", false
	}
	p.pos++
	p.skipOWS()
	if p.eof() {
		p.pos = save
		return "", "", false
	}
	if p.s[p.pos] == '"' {
		v, ok := p.quoted()
		if !ok {
			p.pos = save
			return "", "", false
		}
		return name, v, true
	}
	v := p.token()
	if v == "" {
		p.pos = save
		return "", "", false
	}
	return name, v, true
}

// quoted reads a quoted-string with backslash escapes.
func (p *parser) quoted() (string, bool) {
	var b strings.Builder
	p.pos++ // opening quote
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), true
		case c == '\\':
			if p.pos+1 >= len(p.s) {
				return "", false
			}
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", false
}

func (p *parser) token68() string {
	start := p.pos
	for p.pos < len(p.s) && isToken68Char(p.s[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return ""
	}
	for p.pos < len(p.s) && p.s[p.pos] == '=' {
		p.pos++
	}
	return p.s[start:p.pos]
}
