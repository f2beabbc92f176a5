package python

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// RegexError is Python's re.error for a pattern re.compile refuses.
type RegexError struct {
	Msg     string // the message without its position (re.error.msg)
	Pattern string
	Pos     int // where in Pattern, in code points (re.error.pos); -1 when re gives none
}

// Error is str(re.error): the message, " at position N" when there is a
// position, and " (line L, column C)" after it when the pattern has several
// lines.
func (e *RegexError) Error() string {
	if e.Pos < 0 {
		return e.Msg
	}
	msg := fmt.Sprintf("%s at position %d", e.Msg, e.Pos)
	if strings.ContainsRune(e.Pattern, '\n') {
		src := []rune(e.Pattern)
		line, lastNewline := 1, -1
		for i := 0; i < e.Pos && i < len(src); i++ {
			if src[i] == '\n' {
				line, lastNewline = line+1, i
			}
		}
		msg = fmt.Sprintf("%s (line %d, column %d)", msg, line, e.Pos-lastNewline)
	}
	return msg
}

// CheckRegex reports whether pattern compiles with Python 3's re module: nil, or
// a *RegexError whose Error() is re's own message. Octavia validates L7 rule
// regexes with re.compile and reports its message ("Unable to parse regular
// expression: missing ), unterminated subpattern at position 0"); HAProxy then
// runs them with PCRE. Go's RE2 syntax is not a substitute: it refuses valid
// patterns (look-arounds, back references) and reports different errors. This
// is a parser of Python 3.11's pattern syntax that builds nothing but the facts
// its errors depend on (group numbers and names, which groups are open, the
// widths look-behinds need). Two leniencies: \N{name} is accepted for any name
// spelled as Unicode names are (there is no name table here), and conditional
// group numbers must be written as plain digits. One difference: a repetition
// count from 4294967295 up is an OverflowError in CPython, not an re.error (its
// message is the same).
func CheckRegex(pattern string) (err error) {
	p := &reParser{src: []rune(pattern), groupWidths: []*reWidth{{}}, groupNames: map[string]int{},
		lookbehindGroups: -1, groupRefPos: map[int]int{}}
	defer func() {
		if r := recover(); r != nil {
			e, isReError := r.(*reError)
			if !isReError {
				panic(r)
			}
			pos := e.pos
			if !e.hasPos {
				pos = -1
			}
			err = &RegexError{Msg: e.msg, Pattern: pattern, Pos: pos}
		}
	}()
	p.seek(0)
	p.parseAlternation(false, 0)
	if p.next != "" {
		panic(p.errorAt("unbalanced parenthesis", 0))
	}
	for _, ref := range p.groupRefOrder {
		if ref >= len(p.groupWidths) {
			panic(&reError{msg: fmt.Sprintf("invalid group reference %d", ref), pos: p.groupRefPos[ref], hasPos: true})
		}
	}
	// What re's compiler checks, in the order it meets look-behinds.
	for _, lb := range p.lookbehinds {
		if lb.lo > reMaxCode {
			return &RegexError{Msg: "looks too much behind", Pattern: pattern, Pos: -1}
		}
		if lb.lo != lb.hi {
			return &RegexError{Msg: "look-behind requires fixed-width pattern", Pattern: pattern, Pos: -1}
		}
	}
	return nil
}

// Limits of Python's sre.
const (
	reMaxRepeat = 4294967295 // _sre.MAXREPEAT
	reMaxGroups = 1073741823 // _sre.MAXGROUPS
	reMaxCode   = 4294967295 // (1 << 32) - 1
	reMaxWidth  = math.MaxUint64
)

// Flags (re.I, re.L, ...) as the parser needs them.
const (
	reFlagTemplate   = 1
	reFlagIgnoreCase = 2
	reFlagLocale     = 4
	reFlagMultiline  = 8
	reFlagDotAll     = 16
	reFlagUnicode    = 32
	reFlagVerbose    = 64
	reFlagASCII      = 256

	reTypeFlags   = reFlagASCII | reFlagLocale | reFlagUnicode
	reGlobalFlags = reFlagTemplate
)

var reInlineFlags = map[string]int{"i": reFlagIgnoreCase, "L": reFlagLocale, "m": reFlagMultiline, "s": reFlagDotAll,
	"x": reFlagVerbose, "a": reFlagASCII, "t": reFlagTemplate, "u": reFlagUnicode}

// reError is what the parser panics with: re.error's message and, usually, its
// position in code points.
type reError struct {
	msg    string
	pos    int
	hasPos bool
}

// reWidth is the (min, max) number of characters a subpattern matches.
type reWidth struct{ lo, hi uint64 }

func addWidth(a, b uint64) uint64 {
	if a > reMaxWidth-b {
		return reMaxWidth
	}
	return a + b
}

func mulWidth(a, b uint64) uint64 {
	if a != 0 && b > reMaxWidth/a {
		return reMaxWidth
	}
	return a * b
}

// reItemKind is what the repeat checks need to know of the previous item.
type reItemKind int

const (
	reUnit   reItemKind = iota // one character (literal, class, category, dot)
	reAt                       // an anchor: nothing to repeat
	reRepeat                   // already repeated: a second quantifier is a multiple repeat
	reOther                    // groups, assertions, references
)

type reItem struct {
	kind  reItemKind
	width reWidth
}

type reParser struct {
	src     []rune
	index   int    // index of the code point after the current token
	next    string // the current token: one character, or a backslash and one; "" at the end
	nextLen int    // its length in code points
	flags   int

	groupWidths      []*reWidth // per group number; nil while the group is open
	groupNames       map[string]int
	lookbehindGroups int // groups numbered from here on are inside the look-behind being parsed; -1: none
	groupRefPos      map[int]int
	groupRefOrder    []int
	lookbehinds      []*reWidth
}

// seek moves to index and reads the token there.
func (p *reParser) seek(index int) {
	p.index = index
	p.advance()
}

func (p *reParser) advance() {
	i := p.index
	if i >= len(p.src) {
		p.next, p.nextLen = "", 0
		return
	}
	c := p.src[i]
	if c == '\\' {
		i++
		if i >= len(p.src) {
			panic(&reError{msg: "bad escape (end of pattern)", pos: len(p.src) - 1, hasPos: true})
		}
		p.next, p.nextLen = string([]rune{'\\', p.src[i]}), 2
	} else {
		p.next, p.nextLen = string(c), 1
	}
	p.index = i + 1
}

func (p *reParser) match(tok string) bool {
	if tok == p.next {
		p.advance()
		return true
	}
	return false
}

func (p *reParser) get() string {
	tok := p.next
	p.advance()
	return tok
}

func (p *reParser) tell() int { return p.index - p.nextLen }

func (p *reParser) errorAt(msg string, offset int) *reError {
	return &reError{msg: msg, pos: p.tell() - offset, hasPos: true}
}

// runeLen is Python's len() of a token or name.
func runeLen(s string) int { return len([]rune(s)) }

// getWhile reads up to n single-character tokens in set.
func (p *reParser) getWhile(n int, set string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if p.nextLen != 1 || !strings.Contains(set, p.next) {
			break
		}
		b.WriteString(p.get())
	}
	return b.String()
}

// getUntil reads a name up to terminator.
func (p *reParser) getUntil(terminator, name string) string {
	var b strings.Builder
	for {
		c := p.next
		p.advance()
		if c == "" {
			if b.Len() == 0 {
				panic(p.errorAt("missing "+name, 0))
			}
			panic(p.errorAt(fmt.Sprintf("missing %s, unterminated name", terminator), runeLen(b.String())))
		}
		if c == terminator {
			if b.Len() == 0 {
				panic(p.errorAt("missing "+name, 1))
			}
			return b.String()
		}
		b.WriteString(c)
	}
}

func (p *reParser) checkGroupName(name string, offset int) {
	if !isPythonIdentifier(name) {
		panic(p.errorAt("bad character in group name "+reprName(name), runeLen(name)+offset))
	}
}

func (p *reParser) groupClosed(gid int) bool {
	return gid < len(p.groupWidths) && p.groupWidths[gid] != nil
}

func (p *reParser) checkLookbehindGroup(gid int) {
	if p.lookbehindGroups >= 0 {
		if !p.groupClosed(gid) {
			panic(p.errorAt("cannot refer to an open group", 0))
		}
		if gid >= p.lookbehindGroups {
			panic(p.errorAt("cannot refer to group defined in the same lookbehind subpattern", 0))
		}
	}
}

// parseAlternation parses a|b|c and returns its width.
func (p *reParser) parseAlternation(verbose bool, nested int) reWidth {
	var w reWidth
	for n := 0; ; n++ {
		item := p.parseSequence(verbose, nested+1, nested == 0 && n == 0)
		if n == 0 {
			w = item
		} else {
			w.lo, w.hi = min(w.lo, item.lo), max(w.hi, item.hi)
		}
		if !p.match("|") {
			return w
		}
		if nested == 0 {
			verbose = p.flags&reFlagVerbose != 0
		}
	}
}

const (
	reSpecialChars = ".\\[{()*+?^$|"
	reRepeatChars  = "*+?{"
	reDigits       = "0123456789"
	reOctDigits    = "01234567"
	reHexDigits    = "0123456789abcdefABCDEF"
	reWhitespace   = " \t\n\r\v\f"
)

func isASCIILetter(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseSequence parses one alternative and returns its width.
func (p *reParser) parseSequence(verbose bool, nested int, first bool) reWidth {
	var items []reItem
	for {
		this := p.next
		if this == "" || this == "|" || this == ")" {
			break
		}
		p.advance()
		if verbose {
			if strings.Contains(reWhitespace, this) {
				continue
			}
			if this == "#" {
				for {
					c := p.get()
					if c == "" || c == "\n" {
						break
					}
				}
				continue
			}
		}
		switch {
		case this[0] == '\\':
			items = append(items, p.escape(this))
		case !strings.Contains(reSpecialChars, this):
			items = append(items, reItem{kind: reUnit, width: reWidth{1, 1}})
		case this == "[":
			p.parseClass()
			items = append(items, reItem{kind: reUnit, width: reWidth{1, 1}})
		case strings.Contains(reRepeatChars, this):
			items = p.parseRepeat(this, items)
		case this == ".":
			items = append(items, reItem{kind: reUnit, width: reWidth{1, 1}})
		case this == "(":
			items, verbose = p.parseGroup(items, verbose, nested, first)
		case this == "^" || this == "$":
			items = append(items, reItem{kind: reAt})
		}
	}
	var w reWidth
	for _, it := range items {
		w.lo, w.hi = addWidth(w.lo, it.width.lo), addWidth(w.hi, it.width.hi)
	}
	return w
}

// parseRepeat applies the quantifier this (already read) to the last item.
func (p *reParser) parseRepeat(this string, items []reItem) []reItem {
	here := p.tell()
	var lo, hi uint64
	switch this {
	case "?":
		lo, hi = 0, 1
	case "*":
		lo, hi = 0, reMaxRepeat
	case "+":
		lo, hi = 1, reMaxRepeat
	case "{":
		if p.next == "}" {
			return append(items, reItem{kind: reUnit, width: reWidth{1, 1}})
		}
		lo, hi = 0, reMaxRepeat
		loDigits := p.digits()
		hiDigits := loDigits
		if p.match(",") {
			hiDigits = p.digits()
		}
		if !p.match("}") {
			p.seek(here)
			return append(items, reItem{kind: reUnit, width: reWidth{1, 1}})
		}
		if loDigits != "" {
			lo = repeatCount(loDigits)
		}
		if hiDigits != "" {
			hi = repeatCount(hiDigits)
			if hi < lo {
				panic(p.errorAt("min repeat greater than max repeat", p.tell()-here))
			}
		}
	}
	if len(items) == 0 || items[len(items)-1].kind == reAt {
		panic(p.errorAt("nothing to repeat", p.tell()-here+runeLen(this)))
	}
	last := &items[len(items)-1]
	if last.kind == reRepeat {
		panic(p.errorAt("multiple repeat", p.tell()-here+runeLen(this)))
	}
	if !p.match("?") {
		p.match("+") // possessive
	}
	w := reWidth{lo: mulWidth(last.width.lo, lo)}
	if hi == reMaxRepeat && last.width.hi != 0 {
		w.hi = reMaxWidth
	} else {
		w.hi = mulWidth(last.width.hi, hi)
	}
	*last = reItem{kind: reRepeat, width: w}
	return items
}

func (p *reParser) digits() string {
	var b strings.Builder
	for p.nextLen == 1 && strings.Contains(reDigits, p.next) {
		b.WriteString(p.get())
	}
	return b.String()
}

// repeatCount converts a {m,n} count; re refuses counts from MAXREPEAT up.
func repeatCount(digits string) uint64 {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n >= reMaxRepeat {
		panic(&reError{msg: "the repetition number is too large"})
	}
	return n
}

// parseClass parses a character set after its "[".
func (p *reParser) parseClass() {
	here := p.tell() - 1
	p.match("^")
	n := 0
	for {
		this := p.get()
		if this == "" {
			panic(p.errorAt("unterminated character set", p.tell()-here))
		}
		if this == "]" && n > 0 {
			return
		}
		var literal1 bool
		var v1 rune
		if this[0] == '\\' {
			literal1, v1 = p.classEscape(this)
		} else {
			literal1, v1 = true, []rune(this)[0]
		}
		n++
		if !p.match("-") {
			continue
		}
		that := p.get()
		if that == "" {
			panic(p.errorAt("unterminated character set", p.tell()-here))
		}
		if that == "]" {
			return
		}
		var literal2 bool
		var v2 rune
		if that[0] == '\\' {
			literal2, v2 = p.classEscape(that)
		} else {
			literal2, v2 = true, []rune(that)[0]
		}
		if !literal1 || !literal2 || v2 < v1 {
			panic(p.errorAt(fmt.Sprintf("bad character range %s-%s", this, that), runeLen(this)+1+runeLen(that)))
		}
	}
}

// classEscape handles an escape inside a character set: a literal (with its code
// point) or a category such as \d.
func (p *reParser) classEscape(escape string) (literal bool, v rune) {
	if r, ok := controlEscape(escape); ok {
		return true, r
	}
	switch escape {
	case `\d`, `\D`, `\s`, `\S`, `\w`, `\W`:
		return false, 0
	}
	c := []rune(escape)[1]
	switch {
	case c == 'x' || c == 'u' || c == 'U' || c == 'N':
		return true, p.codeEscape(escape, c)
	case strings.ContainsRune(reOctDigits, c):
		escape += p.getWhile(2, reOctDigits)
		v, _ := strconv.ParseInt(escape[1:], 8, 32)
		if v > 0o377 {
			panic(p.errorAt(fmt.Sprintf("octal escape value %s outside of range 0-0o377", escape), runeLen(escape)))
		}
		return true, rune(v)
	case strings.ContainsRune(reDigits, c):
		panic(p.errorAt("bad escape "+escape, runeLen(escape)))
	case isASCIILetter(c):
		panic(p.errorAt("bad escape "+escape, runeLen(escape)))
	}
	return true, c
}

// controlEscape maps the escapes re treats as single characters.
func controlEscape(escape string) (rune, bool) {
	switch escape {
	case `\a`:
		return '\a', true
	case `\b`:
		return '\b', true
	case `\f`:
		return '\f', true
	case `\n`:
		return '\n', true
	case `\r`:
		return '\r', true
	case `\t`:
		return '\t', true
	case `\v`:
		return '\v', true
	case `\\`:
		return '\\', true
	}
	return 0, false
}

// codeEscape handles \xhh, \uhhhh, \Uhhhhhhhh and \N{name}; it returns the code
// point (0 for \N, whose names are not looked up here).
func (p *reParser) codeEscape(escape string, c rune) rune {
	digits := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
	if c == 'N' {
		if !p.match("{") {
			panic(p.errorAt("missing {", 0))
		}
		name := p.getUntil("}", "character name")
		// Unicode names (and their aliases) are letters, digits, spaces and hyphens.
		if strings.IndexFunc(name, func(r rune) bool {
			return !(r < 0x80 && (isASCIILetter(r) || r >= '0' && r <= '9' || r == ' ' || r == '-'))
		}) >= 0 {
			panic(p.errorAt("undefined character name "+reprName(name), runeLen(name)+len(`\N{}`)))
		}
		return 0
	}
	escape += p.getWhile(digits, reHexDigits)
	if runeLen(escape) != digits+2 {
		panic(p.errorAt("incomplete escape "+escape, runeLen(escape)))
	}
	v, _ := strconv.ParseUint(escape[2:], 16, 32)
	if v > unicode.MaxRune {
		panic(p.errorAt("bad escape "+escape, runeLen(escape)))
	}
	return rune(v)
}

// escape handles an escape outside character sets.
func (p *reParser) escape(escape string) reItem {
	switch escape {
	case `\A`, `\b`, `\B`, `\Z`:
		return reItem{kind: reAt}
	case `\d`, `\D`, `\s`, `\S`, `\w`, `\W`:
		return reItem{kind: reUnit, width: reWidth{1, 1}}
	}
	unit := reItem{kind: reUnit, width: reWidth{1, 1}}
	if _, ok := controlEscape(escape); ok {
		return unit
	}
	c := []rune(escape)[1]
	switch {
	case c == 'x' || c == 'u' || c == 'U' || c == 'N':
		p.codeEscape(escape, c)
		return unit
	case c == '0':
		p.getWhile(2, reOctDigits)
		return unit
	case strings.ContainsRune(reDigits, c):
		// An octal escape, or a group reference.
		if p.nextLen == 1 && strings.Contains(reDigits, p.next) {
			escape += p.get()
			r := []rune(escape)
			if strings.ContainsRune(reOctDigits, r[1]) && strings.ContainsRune(reOctDigits, r[2]) &&
				p.nextLen == 1 && strings.Contains(reOctDigits, p.next) {
				escape += p.get()
				v, _ := strconv.ParseInt(escape[1:], 8, 32)
				if v > 0o377 {
					panic(p.errorAt(fmt.Sprintf("octal escape value %s outside of range 0-0o377", escape), runeLen(escape)))
				}
				return unit
			}
		}
		group, _ := strconv.Atoi(escape[1:])
		if group < len(p.groupWidths) {
			if !p.groupClosed(group) {
				panic(p.errorAt("cannot refer to an open group", runeLen(escape)))
			}
			p.checkLookbehindGroup(group)
			return reItem{kind: reOther, width: *p.groupWidths[group]}
		}
		panic(p.errorAt(fmt.Sprintf("invalid group reference %d", group), runeLen(escape)-1))
	case isASCIILetter(c):
		panic(p.errorAt("bad escape "+escape, runeLen(escape)))
	}
	return unit
}

// parseGroup parses what follows "(": a group, an extension or a comment. It
// returns the items with the group appended (when it is one) and the verbose
// setting from here on.
func (p *reParser) parseGroup(items []reItem, verbose bool, nested int, first bool) ([]reItem, bool) {
	start := p.tell() - 1
	capture, name, named := true, "", false
	addFlags, delFlags := 0, 0
	if p.match("?") {
		char := p.get()
		if char == "" {
			panic(p.errorAt("unexpected end of pattern", 0))
		}
		switch {
		case char == "P":
			switch {
			case p.match("<"):
				name, named = p.getUntil(">", "group name"), true
				p.checkGroupName(name, 1)
			case p.match("="):
				ref := p.getUntil(")", "group name")
				p.checkGroupName(ref, 1)
				gid, ok := p.groupNames[ref]
				if !ok {
					panic(p.errorAt("unknown group name "+reprName(ref), runeLen(ref)+1))
				}
				if !p.groupClosed(gid) {
					panic(p.errorAt("cannot refer to an open group", runeLen(ref)+1))
				}
				p.checkLookbehindGroup(gid)
				return append(items, reItem{kind: reOther, width: *p.groupWidths[gid]}), verbose
			default:
				char = p.get()
				if char == "" {
					panic(p.errorAt("unexpected end of pattern", 0))
				}
				panic(p.errorAt("unknown extension ?P"+char, runeLen(char)+2))
			}
		case char == ":":
			capture = false
		case char == "#":
			for {
				if p.next == "" {
					panic(p.errorAt("missing ), unterminated comment", p.tell()-start))
				}
				if p.get() == ")" {
					break
				}
			}
			return items, verbose
		case char == "=" || char == "!" || char == "<":
			behind := false
			if char == "<" {
				char = p.get()
				if char == "" {
					panic(p.errorAt("unexpected end of pattern", 0))
				}
				if char != "=" && char != "!" {
					panic(p.errorAt("unknown extension ?<"+char, runeLen(char)+2))
				}
				behind = true
			}
			saved := p.lookbehindGroups
			var check *reWidth
			if behind {
				if saved < 0 {
					p.lookbehindGroups = len(p.groupWidths)
				}
				check = &reWidth{}
				p.lookbehinds = append(p.lookbehinds, check)
			}
			w := p.parseAlternation(verbose, nested+1)
			if behind && saved < 0 {
				p.lookbehindGroups = -1
			}
			if !p.match(")") {
				panic(p.errorAt("missing ), unterminated subpattern", p.tell()-start))
			}
			if check != nil {
				*check = w
			}
			return append(items, reItem{kind: reOther}), verbose
		case char == "(":
			return append(items, p.parseConditional(start, verbose, nested)), verbose
		case char == ">":
			capture = false
		case reInlineFlags[char] != 0 || char == "-":
			add, del, global := p.parseFlags(char)
			if global {
				if !first || len(items) > 0 {
					panic(p.errorAt("global flags not at the start of the expression", p.tell()-start))
				}
				return items, p.flags&reFlagVerbose != 0
			}
			addFlags, delFlags = add, del
			capture = false
		default:
			panic(p.errorAt("unknown extension ?"+char, runeLen(char)+1))
		}
	}
	gid := -1
	if capture {
		gid = len(p.groupWidths)
		p.groupWidths = append(p.groupWidths, nil)
		if named {
			if old, dup := p.groupNames[name]; dup {
				panic(p.errorAt(fmt.Sprintf("redefinition of group name %s as group %d; was group %d", reprName(name), gid, old),
					runeLen(name)+1))
			}
			p.groupNames[name] = gid
		}
	}
	subVerbose := (verbose || addFlags&reFlagVerbose != 0) && delFlags&reFlagVerbose == 0
	w := p.parseAlternation(subVerbose, nested+1)
	if !p.match(")") {
		panic(p.errorAt("missing ), unterminated subpattern", p.tell()-start))
	}
	if gid >= 0 {
		p.groupWidths[gid] = &w
	}
	return append(items, reItem{kind: reOther, width: w}), verbose
}

// parseConditional parses (?(group)yes|no) after its "(?(".
func (p *reParser) parseConditional(start int, verbose bool, nested int) reItem {
	cond := p.getUntil(")", "group name")
	var gid int
	if isPythonIdentifier(cond) {
		p.checkGroupName(cond, 1)
		g, ok := p.groupNames[cond]
		if !ok {
			panic(p.errorAt("unknown group name "+reprName(cond), runeLen(cond)+1))
		}
		gid = g
	} else {
		n, err := strconv.Atoi(cond)
		if err != nil || n < 0 || strings.ContainsAny(cond, "+-") {
			panic(p.errorAt("bad character in group name "+reprName(cond), runeLen(cond)+1))
		}
		if n == 0 {
			panic(p.errorAt("bad group number", runeLen(cond)+1))
		}
		if n >= reMaxGroups {
			panic(p.errorAt(fmt.Sprintf("invalid group reference %d", n), runeLen(cond)+1))
		}
		if _, seen := p.groupRefPos[n]; !seen {
			p.groupRefPos[n] = p.tell() - runeLen(cond) - 1
			p.groupRefOrder = append(p.groupRefOrder, n)
		}
		gid = n
	}
	p.checkLookbehindGroup(gid)
	yes := p.parseSequence(verbose, nested+1, false)
	no := reWidth{}
	hasNo := false
	if p.match("|") {
		no, hasNo = p.parseSequence(verbose, nested+1, false), true
		if p.next == "|" {
			panic(p.errorAt("conditional backref with more than two branches", 0))
		}
	}
	if !p.match(")") {
		panic(p.errorAt("missing ), unterminated subpattern", p.tell()-start))
	}
	w := yes
	if hasNo {
		w.lo, w.hi = min(yes.lo, no.lo), max(yes.hi, no.hi)
	} else {
		w.lo = 0
	}
	return reItem{kind: reOther, width: w}
}

// parseFlags parses inline flags after "(?" whose first character is char:
// global flags "(?i)" or scoped ones "(?i-s:...)".
func (p *reParser) parseFlags(char string) (add, del int, global bool) {
	if char != "-" {
		for {
			flag := reInlineFlags[char]
			if char == "L" {
				panic(p.errorAt("bad inline flags: cannot use 'L' flag with a str pattern", 0))
			}
			add |= flag
			if flag&reTypeFlags != 0 && add&reTypeFlags != flag {
				panic(p.errorAt("bad inline flags: flags 'a', 'u' and 'L' are incompatible", 0))
			}
			char = p.get()
			if char == "" {
				panic(p.errorAt("missing -, : or )", 0))
			}
			if char == ")" || char == "-" || char == ":" {
				break
			}
			if reInlineFlags[char] == 0 {
				msg := "missing -, : or )"
				if isPythonAlpha(char) {
					msg = "unknown flag"
				}
				panic(p.errorAt(msg, runeLen(char)))
			}
		}
	}
	if char == ")" {
		p.flags |= add
		return 0, 0, true
	}
	if add&reGlobalFlags != 0 {
		panic(p.errorAt("bad inline flags: cannot turn on global flag", 1))
	}
	if char == "-" {
		char = p.get()
		if char == "" {
			panic(p.errorAt("missing flag", 0))
		}
		if reInlineFlags[char] == 0 {
			msg := "missing flag"
			if isPythonAlpha(char) {
				msg = "unknown flag"
			}
			panic(p.errorAt(msg, runeLen(char)))
		}
		for {
			flag := reInlineFlags[char]
			if flag&reTypeFlags != 0 {
				panic(p.errorAt("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", 0))
			}
			del |= flag
			char = p.get()
			if char == "" {
				panic(p.errorAt("missing :", 0))
			}
			if char == ":" {
				break
			}
			if reInlineFlags[char] == 0 {
				msg := "missing :"
				if isPythonAlpha(char) {
					msg = "unknown flag"
				}
				panic(p.errorAt(msg, runeLen(char)))
			}
		}
	}
	if del&reGlobalFlags != 0 {
		panic(p.errorAt("bad inline flags: cannot turn off global flag", 1))
	}
	if add&del != 0 {
		panic(p.errorAt("bad inline flags: flag turned on and off", 1))
	}
	return add, del, false
}

// isPythonAlpha is str.isalpha for a token.
func isPythonAlpha(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

// isPythonIdentifier approximates str.isidentifier with Unicode categories.
func isPythonIdentifier(s string) bool {
	for i, r := range []rune(s) {
		start := r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
		if i == 0 && !start {
			return false
		}
		if !start && !unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc) {
			return false
		}
	}
	return s != ""
}

// reprName is how re's messages quote a name ("bad character in group name
// 'a-b'"): repr, except that keel has always left non-ASCII characters as they
// are, where CPython escapes the non-printable ones ('\x85', 'a\u2028b'). Kept
// so the messages do not change.
func reprName(name string) string {
	var b strings.Builder
	quote(&b, name, nonASCIIAsIs)
	return b.String()
}
