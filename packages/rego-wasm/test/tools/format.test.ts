// formatModule: canonical layout, comments kept, idempotent, and never a change of meaning.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatModule, parseModule } from '../../src/index.js';

const MESSY = `# header comment
package   messy   # trailing on package

import rego.v1
import data.lib.helpers as h   # alias


# doc for allow
default allow:=false
default deny := true
allow   if {
    input.user=="alice"   # who
    # inside
    some x in input.xs
    x>1+2*3
    not h.bad(x)
    y := {"a":1,"b":[1,2,3]}
    input["weird-key"] == \`raw\`
    input["plain"] == y.a
    count({z | some z in input.zs; z > (1 + 2) * 3}) > 0
    every k, v in input.m {
        k != v
    }
}
f(x) := y if { y := x*2 } else := 0
obj[k] := v if { some k, v in input.o }
s contains x if {x := 1}
t := [1,2,
  3]
# dangling at end
`;

const EXPECTED = `# header comment
package messy # trailing on package

import rego.v1
import data.lib.helpers as h # alias

# doc for allow
default allow := false
default deny := true

allow if {
	input.user == "alice" # who
	# inside
	some x in input.xs
	x > 1 + 2 * 3
	not h.bad(x)
	y := {"a": 1, "b": [1, 2, 3]}
	input["weird-key"] == \`raw\`
	input.plain == y.a
	count({z | some z in input.zs; z > (1 + 2) * 3}) > 0
	every k, v in input.m {
		k != v
	}
}

f(x) := y if {
	y := x * 2
} else := 0

obj[k] := v if {
	some k, v in input.o
}

s contains x if {
	x := 1
}

t := [
	1,
	2,
	3,
]

# dangling at end
`;

function regoFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return regoFiles(full);
    return name.endsWith('.rego') ? [full] : [];
  });
}

describe('formatModule', () => {
  it('prints the canonical layout and keeps every comment in place', () => {
    expect(formatModule('messy.rego', MESSY)).toBe(EXPECTED);
  });

  it('is idempotent', () => {
    expect(formatModule('messy.rego', EXPECTED)).toBe(EXPECTED);
  });

  it('keeps operator precedence with parentheses only where needed', () => {
    const out = formatModule(
      'p.rego',
      'package p\nimport rego.v1\nx := (1 + 2) * 3\ny := 1 + (2 * 3)\nz := (1 - 2) - 3\nw := 1 - (2 - 3)\nm if not (1 in [2]) == true\n',
    );
    expect(out).toContain(
      'x := (1 + 2) * 3\ny := 1 + 2 * 3\nz := 1 - 2 - 3\nw := 1 - (2 - 3)\nm if not (1 in [2]) == true\n',
    );
  });

  it('keeps one-line comprehensions inline and multi-line ones one expression per line', () => {
    const source =
      'package p\n\nimport rego.v1\n\na := [x | some x in input.xs; x > 1]\n\nb := {x |\n  some x in input.xs # each\n  x > 1\n}\n';
    expect(formatModule('p.rego', source)).toBe(
      'package p\n\nimport rego.v1\n\na := [x | some x in input.xs; x > 1]\n\nb := {x |\n\tsome x in input.xs # each\n\tx > 1\n}\n',
    );
  });

  it('leaves every shipped and test policy meaning the same, and the shipped ones unchanged', () => {
    const root = join(import.meta.dirname, '..', '..', '..', '..');
    for (const file of regoFiles(join(root, 'policies'))) {
      const source = readFileSync(file, 'utf8');
      expect(formatModule(file, source), file).toBe(source);
    }
  });

  it('refuses a module that does not parse, naming file:line:col', () => {
    expect(() => formatModule('bad.rego', 'package p\n\nx := \n')).toThrow(/^bad\.rego:4:1:/);
  });

  it('formats the parse of a formatted module to the same AST', () => {
    const strip = (text: string) =>
      JSON.stringify(parseModule('m', text), (k, v: unknown) => (k === 'loc' || k === 'nameLoc' ? undefined : v));
    expect(strip(formatModule('m', MESSY))).toBe(strip(MESSY));
  });
});
