package agentstate

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Cell attributes kept from capture-pane -e.
const (
	attrDim     uint8 = 1 << iota // SGR 2: faint, as agents draw placeholders
	attrReverse                   // SGR 7: reverse video, as Claude Code paints its cursor
)

// parseEscapes turns capture-pane -e lines into plain text and, per rune, the attributes
// that matter here (dim, reverse). Other escape sequences are dropped.
func parseEscapes(lines []string) (plain []string, attrs [][]uint8) {
	plain = make([]string, len(lines))
	attrs = make([][]uint8, len(lines))
	var cur uint8
	for n, l := range lines {
		var b strings.Builder
		b.Grow(len(l))
		a := make([]uint8, 0, len(l))
		for i := 0; i < len(l); {
			if l[i] != 0x1b {
				_, size := utf8.DecodeRuneInString(l[i:])
				b.WriteString(l[i : i+size])
				a = append(a, cur)
				i += size
				continue
			}
			if i+1 >= len(l) {
				break
			}
			switch l[i+1] {
			case '[': // CSI: parameters, then a final byte in 0x40-0x7e
				j := i + 2
				for j < len(l) && (l[j] < 0x40 || l[j] > 0x7e) {
					j++
				}
				if j < len(l) && l[j] == 'm' {
					cur = sgr(cur, l[i+2:j])
				}
				i = j + 1
			case ']': // OSC, to BEL or ESC \
				j := i + 2
				for j < len(l) && l[j] != 0x07 && !(l[j] == 0x1b && j+1 < len(l) && l[j+1] == '\\') {
					j++
				}
				if j < len(l) && l[j] == 0x1b {
					j++
				}
				i = j + 1
			default:
				i += 2
			}
		}
		plain[n], attrs[n] = b.String(), a
	}
	return plain, attrs
}

// sgr applies the parameters of one SGR sequence to the attributes.
func sgr(cur uint8, params string) uint8 {
	if params == "" {
		return 0
	}
	ps := strings.Split(params, ";")
	for i := 0; i < len(ps); i++ {
		n, _ := strconv.Atoi(ps[i])
		switch n {
		case 0:
			cur = 0
		case 2:
			cur |= attrDim
		case 22:
			cur &^= attrDim
		case 7:
			cur |= attrReverse
		case 27:
			cur &^= attrReverse
		case 38, 48, 58: // extended colours: skip their arguments
			if i+1 < len(ps) && ps[i+1] == "5" {
				i += 2
			} else if i+1 < len(ps) && ps[i+1] == "2" {
				i += 4
			}
		}
	}
	return cur
}

// placeholder reports whether the runes of line y from index from on are a placeholder: dim
// text, possibly with a reverse-video first character (Claude Code's painted cursor).
func (s Screen) placeholder(y, from int) bool {
	if y < 0 || y >= len(s.attrs) {
		return false
	}
	rs, as := []rune(s.Lines[y]), s.attrs[y]
	if len(as) != len(rs) {
		return false
	}
	dim := 0
	for i := from; i < len(rs); i++ {
		switch {
		case rs[i] == ' ' || rs[i] == '\u00a0':
		case as[i]&attrDim != 0:
			dim++
		case i == from && as[i]&attrReverse != 0:
		default:
			return false
		}
	}
	return dim > 0
}
