package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// The flags of daemon start (and bridge) fill a layer of daemon.Config: a flag that is not
// given must leave its field unset, so that config.yaml and the environment below it keep
// their say, even where the flag's zero value (0s, false) is a setting of its own. These
// flag values set a pointer only when the flag is given; the help shows def.

// optional is a flag that sets *p when given.
type optional[T any] struct {
	p     **T
	def   T
	parse func(string) (T, error)
	typ   string
}

func (o *optional[T]) Set(s string) error {
	v, err := o.parse(s)
	if err != nil {
		return err
	}
	*o.p = &v
	return nil
}

func (o *optional[T]) String() string {
	if *o.p != nil {
		return fmt.Sprint(**o.p)
	}
	return fmt.Sprint(o.def)
}

func (o *optional[T]) Type() string { return o.typ }

// IsBoolFlag tells pflag's help that a bool flag takes no value.
func (o *optional[T]) IsBoolFlag() bool { return o.typ == "bool" }

func durationFlag(fs *pflag.FlagSet, p **time.Duration, name string, def time.Duration, usage string) {
	fs.Var(&optional[time.Duration]{p: p, def: def, parse: time.ParseDuration, typ: "duration"}, name, usage)
}

func intFlag(fs *pflag.FlagSet, p **int, name string, def int, usage string) {
	fs.Var(&optional[int]{p: p, def: def, parse: strconv.Atoi, typ: "int"}, name, usage)
}

func boolFlag(fs *pflag.FlagSet, p **bool, name string, def bool, usage string) {
	fs.VarPF(&optional[bool]{p: p, def: def, parse: strconv.ParseBool, typ: "bool"}, name, "", usage).NoOptDefVal = "true"
}

// noFlag is a --no-x flag: given, it sets *p to false.
func noFlag(fs *pflag.FlagSet, p **bool, name, usage string) {
	not := func(s string) (bool, error) {
		b, err := strconv.ParseBool(s)
		return !b, err
	}
	fs.VarPF(&negated{optional[bool]{p: p, def: true, parse: not, typ: "bool"}}, name, "", usage).NoOptDefVal = "true"
}

// negated shows the flag's value, the opposite of the setting's.
type negated struct{ optional[bool] }

func (n *negated) String() string {
	if *n.p != nil {
		return strconv.FormatBool(!**n.p)
	}
	return "false"
}

// offIfEmpty is a string flag whose empty value means "off" (in a layer "" means unset).
type offIfEmpty struct{ p *string }

func (o offIfEmpty) Set(s string) error {
	if s == "" {
		s = "off"
	}
	*o.p = s
	return nil
}

func (o offIfEmpty) String() string { return *o.p }
func (o offIfEmpty) Type() string   { return "string" }
