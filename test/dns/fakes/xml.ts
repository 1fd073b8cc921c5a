/**
 * Just enough XML for the Route 53 fake: a strict reader of the small documents the SDK sends
 * (elements, text, attributes, the five entities, numeric references) and an escaper for answers.
 */
import assert from 'node:assert/strict';

/** One element. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const v = ENTITIES[e];
    assert.ok(v !== undefined, `unknown XML entity ${m}`);
    return v;
  });
}

/** Parses `xml` into its root element; throws (an assertion) on anything malformed. */
export function parseXml(xml: string): XmlElement {
  const src = xml.replace(/^\s*<\?xml[^?]*\?>/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < src.length && (m = re.exec(src)) !== null) {
    pos = re.lastIndex;
    const [, closing, name, attrs, selfClosing, text] = m;
    if (text !== undefined) {
      if (stack.length === 0) {
        assert.match(text, /^\s*$/, 'no text outside the root element');
        continue;
      }
      stack[stack.length - 1]!.text += decode(text);
      continue;
    }
    if (closing) {
      const open = stack.pop();
      assert.equal(open?.name, name, `</${name}> closes <${open?.name}>`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of (attrs ?? '').matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) attributes[a[1]!] = decode(a[2]!);
    const el: XmlElement = { name: name!, attributes, children: [], text: '' };
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else {
      assert.equal(root, undefined, 'one root element');
      root = el;
    }
    if (!selfClosing) stack.push(el);
  }
  assert.equal(pos, src.length, `malformed XML at ${src.slice(pos, pos + 40)}`);
  assert.equal(stack.length, 0, 'every element is closed');
  assert.ok(root, 'a root element');
  return root;
}

/** The only child called `name`; asserts there is exactly one. */
export function child(el: XmlElement, name: string): XmlElement {
  const found = el.children.filter((c) => c.name === name);
  assert.equal(found.length, 1, `<${el.name}> has one <${name}>`);
  return found[0]!;
}

/** Asserts `el`'s children are only of the names `allowed` (each present in `required`). */
export function expectChildren(el: XmlElement, required: readonly string[], optional: readonly string[] = []): void {
  for (const r of required) assert.ok(el.children.some((c) => c.name === r), `<${el.name}> lacks <${r}>`);
  for (const c of el.children) assert.ok(required.includes(c.name) || optional.includes(c.name), `<${el.name}> has an unexpected <${c.name}>`);
}

/** Escapes text for an XML answer. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
