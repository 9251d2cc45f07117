import { describe, expect, it } from 'vitest';
import { compileError, evaluate, valueOf } from './evaluate.js';

// Constructs where the compiler once answered differently from OPA, or refused what OPA accepts: each
// expectation is OPA's answer.
describe('answers as OPA gives them', () => {
  it('v0 with future.keywords: `a[x] if q[x]` is a partial object of true values', async () => {
    const policy = 'package test\nimport future.keywords\nq[7] { true }\na[x] if q[x]\nc[x] { q[x] }';
    expect(await valueOf(policy, 'test/a')).toEqual({ 7: true });
    expect(await valueOf(policy, 'test/c')).toEqual([7]);
  });

  it('a parenthesised key-value membership term', async () => {
    const policy = 'package test\nimport rego.v1\np := [(0, 2 in [2]), (1, 2 in [2])]\nq if { (0, 2 in [2]) }';
    expect(await valueOf(policy, 'test/p')).toEqual([true, false]);
    expect(await valueOf(policy, 'test/q')).toBe(true);
  });

  it('a comparison whose iterating ref binds the variable the other side reads', async () => {
    const policy =
      'package test\nimport rego.v1\np contains foo if {\n  some foo\n  foo == input.foos[foo]\n}\nq contains k if { k == input.m[k] }';
    expect(await valueOf(policy, 'test/p', { foos: [0, 5, 2] })).toEqual([0, 2]);
    expect(await valueOf(policy, 'test/q', { m: { a: 'a', b: 'c' } })).toEqual(['a']);
  });

  it("a partial object read at one key raises only that key's conflicts", async () => {
    const policy =
      'package test\nimport rego.v1\nobj[k] := v if { some k, v in {"a": 1, "b": 2} }\nobj[k] := 3 if { k := "b" }\nkey := "a"\np := obj.a\nq := obj[key]\nr := [v | some y in ["a"]; v := obj[y]]\nall := obj\nb := obj.b';
    expect(await valueOf(policy, 'test/p')).toBe(1);
    expect(await valueOf(policy, 'test/q')).toBe(1);
    expect(await valueOf(policy, 'test/r')).toEqual([1]);
    await expect(evaluate(policy, 'test/all')).rejects.toThrow(/object keys must be unique/);
    await expect(evaluate(policy, 'test/b')).rejects.toThrow(/object keys must be unique/);
  });

  it('rule heads with variables before the last position build nested objects', async () => {
    const policy =
      'package test\nimport rego.v1\nobj.sub[x][x] contains x if { some x in [1, 2] }\np[a][b] := v if {\n  some a, row in input.m\n  some b, v in row\n}\nq.a[x].b := 1 if { some x in ["u", "v"] }\nc[x][y] := 1 if { x := 1; y := 2 }\nc[x][y] := 2 if { x := 1; y := 2 }';
    expect(await valueOf(policy, 'test/obj')).toEqual({ sub: { 1: { 1: [1] }, 2: { 2: [2] } } });
    expect(await valueOf(policy, 'test/p', { m: { a: { k: 1 }, b: { k: 2, j: 3 } } })).toEqual({
      a: { k: 1 },
      b: { j: 3, k: 2 },
    });
    expect(await valueOf(policy, 'test/q')).toEqual({ a: { u: { b: 1 }, v: { b: 1 } } });
    await expect(evaluate(policy, 'test/c')).rejects.toThrow(/object keys must be unique/);
  });

  it('rules below a partial object add their keys to it', async () => {
    const policy =
      'package test\nimport rego.v1\nc[null] := true\nc["hello"] := false\nc[7] := "w"\nc.x.y := 1\np := c.hello\nd[k] := 1 if { some k in ["a"] }\nd.a := 2';
    expect(await valueOf(policy, 'test/c')).toEqual({ 7: 'w', null: true, hello: false, x: { y: 1 } });
    expect(await valueOf(policy, 'test/p')).toBe(false);
    await expect(evaluate(policy, 'test/d')).rejects.toThrow(/object keys must be unique/);
  });

  it("a partial object with rules below it, read at one key, raises only that key's conflicts", async () => {
    const policy =
      'package test\nimport rego.v1\nc[k] := 1 if { some k in ["x", "y"] }\nc[k] := 2 if { k := "x" }\nc["hello"] := false\nc.y := 1\nc.z := 3\nh := c.hello\ny := c.y\nz := c.z\nx := c.x\nall := c';
    expect(await valueOf(policy, 'test/h')).toBe(false);
    expect(await valueOf(policy, 'test/y')).toBe(1);
    expect(await valueOf(policy, 'test/z')).toBe(3);
    expect(await valueOf(policy, 'test/c/hello')).toBe(false);
    await expect(evaluate(policy, 'test/x')).rejects.toThrow(/object keys must be unique/);
    await expect(evaluate(policy, 'test/all')).rejects.toThrow(/object keys must be unique/);
    const clash = 'package test\nimport rego.v1\nc[k] := 1 if { k := "hello" }\nc["hello"] := false\np := c.hello';
    await expect(evaluate(clash, 'test/p')).rejects.toThrow(/object keys must be unique/);
  });

  it("multi-level heads read at their first keys raise only those keys' conflicts", async () => {
    const policy = [
      'package test',
      'import rego.v1',
      'a.b[x].c := 1 if { some x in ["u", "v"] }',
      'a.b[x].c := 2 if { x := "v" }',
      'p[x][y] := 1 if { x := "a"; y := "k" }',
      'p[x][y] := 2 if { x := "a"; y := "j" }',
      'p[x][y] := 3 if { x := "a"; y := "j" }',
      'p[x][y] := 4 if { x := "b"; y := "j" }',
      'uc := a.b.u.c',
      'u := a.b.u',
      'vc := a.b.v.c',
      'ak := p.a.k',
      'b := p.b',
      'key := "k"',
      'dyn := p.a[key]',
      'aj := p.a.j',
      'pa := p.a',
      'some_c contains v if { some x; v := a.b[x].c }',
    ].join('\n');
    expect(await valueOf(policy, 'test/uc')).toBe(1);
    expect(await valueOf(policy, 'test/u')).toEqual({ c: 1 });
    expect(await valueOf(policy, 'test/ak')).toBe(1);
    expect(await valueOf(policy, 'test/dyn')).toBe(1);
    expect(await valueOf(policy, 'test/b')).toEqual({ j: 4 });
    expect(await valueOf(policy, 'test/p/b/j')).toBe(4);
    for (const conflicting of ['test/vc', 'test/aj', 'test/pa', 'test/some_c', 'test/a']) {
      await expect(evaluate(policy, conflicting), conflicting).rejects.toThrow(/object keys must be unique/);
    }
    expect((await evaluate(policy, 'test/a/b/w/c')).defined).toBe(false);
  });

  it('refuses `import rego.v2` with a clear reason', () => {
    const error = compileError('package test\nimport rego.v2\np := 1');
    expect(error.construct).toBe('import');
    expect(error.loc.line).toBe(2);
    expect(error.detail).toMatch(/Rego v1/);
  });
});
