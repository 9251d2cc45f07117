// OPA's arithmetic as its Go evaluator computes it (math/big, as in OPA's topdown/arithmetic.go and
// aggregates.go), the oracle that test/fixtures/opa-arithmetic.json was recorded with: one operation per
// input line (`plus 0.1 0.2`, `round 2.5`, `sum 1,0.5`), its answer per output line (`error` for OPA's
// errors). Integers of any size are taken exactly, as OPA's newest NumberToInt does. Run it with
// `go run scripts/opa-arithmetic-oracle.go < cases.txt` (Go standard library only).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strings"
)

func toFloat(n string) *big.Float {
	r, ok := new(big.Float).SetString(n)
	if !ok {
		panic("illegal " + n)
	}
	return r
}
func toNumber(f *big.Float) string {
	format := byte('g')
	if f.IsInt() {
		format = 'f'
	}
	return f.Text(format, -1)
}
// Integers of any size exactly.
func toInt(n string) (*big.Int, bool) {
	r, ok := new(big.Rat).SetString(n)
	if !ok || !r.IsInt() {
		return nil, false
	}
	return new(big.Int).Set(r.Num()), true
}
func small(n string) (int64, bool) {
	i, err := json.Number(n).Int64()
	return i, err == nil && i >= -1<<31 && i <= 1<<31-1
}

func arith(op, a, b string) string {
	if x, ok := small(a); ok {
		if y, ok := small(b); ok {
			switch op {
			case "plus":
				return fmt.Sprint(x + y)
			case "minus":
				return fmt.Sprint(x - y)
			case "mul":
				return fmt.Sprint(x * y)
			case "div":
				if y == 0 {
					return "error"
				}
				if x != 0 && x%y == 0 {
					return fmt.Sprint(x / y)
				}
			case "rem":
				if y == 0 {
					return "error"
				}
				return fmt.Sprint(x % y)
			}
		}
	}
	if op != "div" {
		if x, ok := toInt(a); ok {
			if y, ok := toInt(b); ok {
				z := new(big.Int)
				switch op {
				case "plus":
					z.Add(x, y)
				case "minus":
					z.Sub(x, y)
				case "mul":
					z.Mul(x, y)
				case "rem":
					if y.Sign() == 0 {
						return "error"
					}
					z.Rem(x, y)
				}
				return z.String()
			}
		}
	}
	if op == "rem" {
		return "error"
	}
	x, y := toFloat(a), toFloat(b)
	z := new(big.Float)
	switch op {
	case "plus":
		z.Add(x, y)
	case "minus":
		z.Sub(x, y)
	case "mul":
		z.Mul(x, y)
	case "div":
		if i, acc := y.Int64(); acc == big.Exact && i == 0 {
			return "error"
		}
		z.Quo(x, y)
	}
	return toNumber(z)
}

var half = big.NewFloat(0.5)

func unary(op, a string) string {
	if x, ok := small(a); ok {
		if op == "abs" && x < 0 {
			return fmt.Sprint(-x)
		}
		return fmt.Sprint(x)
	}
	f := toFloat(a)
	switch op {
	case "abs":
		return toNumber(f.Abs(f))
	case "round":
		var i *big.Int
		if f.Signbit() {
			i, _ = new(big.Float).Sub(f, half).Int(nil)
		} else {
			i, _ = new(big.Float).Add(f, half).Int(nil)
		}
		return toNumber(new(big.Float).SetInt(i))
	case "ceil":
		i, _ := f.Int(nil)
		g := new(big.Float).SetInt(i)
		if g.Signbit() || f.Cmp(g) == 0 {
			return toNumber(g)
		}
		return toNumber(new(big.Float).Add(g, big.NewFloat(1.0)))
	case "floor":
		i, _ := f.Int(nil)
		g := new(big.Float).SetInt(i)
		if !g.Signbit() || f.Cmp(g) == 0 {
			return toNumber(g)
		}
		return toNumber(new(big.Float).Sub(g, big.NewFloat(1.0)))
	}
	return "?"
}

func aggregate(op string, items []string) string {
	ints := []*big.Int{}
	for _, it := range items {
		if i, ok := toInt(it); ok {
			ints = append(ints, i)
		}
	}
	if len(ints) == len(items) {
		acc := big.NewInt(0)
		if op == "product" {
			acc = big.NewInt(1)
		}
		for _, i := range ints {
			if op == "sum" {
				acc.Add(acc, i)
			} else {
				acc.Mul(acc, i)
			}
		}
		return acc.String()
	}
	acc := new(big.Float)
	if op == "product" {
		acc = big.NewFloat(1)
	}
	for _, it := range items {
		if op == "sum" {
			acc = new(big.Float).Add(acc, toFloat(it))
		} else {
			acc = new(big.Float).Mul(acc, toFloat(it))
		}
	}
	return toNumber(acc)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		f := strings.Fields(in.Text())
		if f[0] == "sum" || f[0] == "product" {
			fmt.Fprintln(out, aggregate(f[0], strings.Split(f[1], ",")))
			continue
		}
		if len(f) == 3 {
			fmt.Fprintln(out, arith(f[0], f[1], f[2]))
		} else if len(f) == 2 {
			fmt.Fprintln(out, unary(f[0], f[1]))
		}
	}
}
