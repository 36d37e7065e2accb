// RFC 8785 JSON Canonicalization Scheme in the browser, by the same rules as
// the node's crypto/jcs.h, so a JSON document hashes to the same SHA-256 here
// as when it was approved:
//   - strict RFC 8259 / I-JSON input: no duplicate member names (JSON.parse
//     silently keeps the last one, so this file has its own parser), no lone
//     surrogates, no number that overflows a double, nesting <= 64;
//   - members sorted by name as UTF-16 code units (JavaScript's own string
//     order), no whitespace;
//   - strings escape only '"', '\\' and U+0000..U+001F;
//   - numbers as ECMAScript Number::toString (String(n)).
// Errors are thrown as JcsError with a message naming the rule and offset.

export class JcsError extends Error {}

const kMaxDepth = 64;
const kNumber = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

// Escapes a string per RFC 8785 §3.2.2.2. Throws on a lone surrogate, which
// has no UTF-8 form.
export function serializeString(s) {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c < 0x20) {
      if (c === 0x08) out += '\\b';
      else if (c === 0x09) out += '\\t';
      else if (c === 0x0a) out += '\\n';
      else if (c === 0x0c) out += '\\f';
      else if (c === 0x0d) out += '\\r';
      else out += '\\u00' + c.toString(16).padStart(2, '0');
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) throw new JcsError('json: lone surrogate in string');
      out += s[i] + s[i + 1];
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new JcsError('json: lone surrogate in string');
    } else {
      out += s[i];
    }
  }
  return out + '"';
}

export function serializeNumber(n) {
  if (!Number.isFinite(n)) throw new JcsError('json: number is not finite');
  return String(n);  // ECMAScript Number::toString; -0 gives "0"
}

function byCodeUnits(a, b) {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

// Canonical form of a JavaScript value (as JSON.parse gives, e.g. a ledger
// entry from the node's answer). Throws JcsError on values JSON cannot hold.
export function serialize(value, depth = 0) {
  if (depth > kMaxDepth) throw new JcsError('json: nesting too deep');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean': return value ? 'true' : 'false';
    case 'number': return serializeNumber(value);
    case 'string': return serializeString(value);
    case 'object': {
      if (Array.isArray(value)) {
        return '[' + value.map((v) => serialize(v, depth + 1)).join(',') + ']';
      }
      const members = Object.keys(value).map((k) => [k, value[k]]);
      members.sort(byCodeUnits);
      return '{' + members.map(([k, v]) => serializeString(k) + ':' + serialize(v, depth + 1))
        .join(',') + '}';
    }
    default: throw new JcsError('json: cannot serialize a ' + typeof value);
  }
}

// A strict one-pass parser that returns the canonical text directly (no DOM:
// objects become sorted member lists as they close). Offsets are in UTF-16
// code units of the decoded text.
class Parser {
  constructor(text) { this.s = text; this.i = 0; }

  fail(reason, at = this.i) { throw new JcsError(`json: ${reason} at offset ${at}`); }

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  value(depth) {
    this.ws();
    if (this.i >= this.s.length) this.fail('unexpected end of input');
    const c = this.s[this.i];
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '"') return serializeString(this.string());
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const lit of ['true', 'false', 'null']) {
      if (this.s.startsWith(lit, this.i)) { this.i += lit.length; return lit; }
    }
    this.fail(`unexpected character '${c}'`);
  }

  object(depth) {
    if (depth > kMaxDepth) this.fail('nesting deeper than ' + kMaxDepth);
    this.i++;  // {
    const members = [];
    const seen = new Set();
    this.ws();
    if (this.s[this.i] === '}') { this.i++; return '{}'; }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a member name');
      const at = this.i;
      const name = this.string();
      if (seen.has(name)) this.fail('duplicate member name ' + JSON.stringify(name), at);
      seen.add(name);
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      members.push([name, this.value(depth)]);
      this.ws();
      const c = this.s[this.i];
      this.i++;
      if (c === '}') break;
      if (c !== ',') this.fail("expected ',' or '}'", this.i - 1);
    }
    members.sort(byCodeUnits);
    return '{' + members.map(([k, v]) => serializeString(k) + ':' + v).join(',') + '}';
  }

  array(depth) {
    if (depth > kMaxDepth) this.fail('nesting deeper than ' + kMaxDepth);
    this.i++;  // [
    const items = [];
    this.ws();
    if (this.s[this.i] === ']') { this.i++; return '[]'; }
    for (;;) {
      items.push(this.value(depth));
      this.ws();
      const c = this.s[this.i];
      this.i++;
      if (c === ']') break;
      if (c !== ',') this.fail("expected ',' or ']'", this.i - 1);
    }
    return '[' + items.join(',') + ']';
  }

  hex4() {
    const h = this.s.substr(this.i, 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('bad \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }

  // Returns the decoded string; the cursor is on the opening quote.
  string() {
    const s = this.s;
    const start = this.i;
    this.i++;
    let out = '';
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string', start);
      const c = s.charCodeAt(this.i);
      if (c === 0x22) { this.i++; return out; }
      if (c < 0x20) this.fail('unescaped control character in string');
      if (c >= 0xd800 && c <= 0xdfff) {
        // The text came from a fatal UTF-8 decode, so raw surrogates come in
        // pairs; copy the pair.
        out += s[this.i] + s[this.i + 1];
        this.i += 2;
        continue;
      }
      if (c !== 0x5c) { out += s[this.i++]; continue; }
      const at = this.i;
      const e = s[this.i + 1];
      this.i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const u = this.hex4();
          if (u >= 0xdc00 && u <= 0xdfff) this.fail('lone low surrogate escape', at);
          if (u >= 0xd800 && u <= 0xdbff) {
            if (s[this.i] !== '\\' || s[this.i + 1] !== 'u') this.fail('lone high surrogate escape', at);
            this.i += 2;
            const v = this.hex4();
            if (!(v >= 0xdc00 && v <= 0xdfff)) this.fail('lone high surrogate escape', at);
            out += String.fromCharCode(u, v);
          } else {
            out += String.fromCharCode(u);
          }
          break;
        }
        default: this.fail('bad escape', at);
      }
    }
  }

  number() {
    kNumber.lastIndex = this.i;
    const m = kNumber.exec(this.s);
    if (!m) this.fail('bad number');
    const at = this.i;
    this.i += m[0].length;
    const c = this.s[this.i];
    if (c !== undefined && /[0-9.eE+-]/.test(c)) this.fail('bad number', at);
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail('number overflows a double', at);
    return serializeNumber(n);
  }
}

// Parses `text` strictly and returns its canonical form. Throws JcsError.
export function canonicalize(text) {
  const p = new Parser(text);
  const out = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail('bytes after the JSON value');
  return out;
}

// Canonical bytes of a file: decodes UTF-8 strictly (no BOM accepted, as the
// node), then canonicalize. Throws JcsError.
export function canonicalizeBytes(bytes) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new JcsError('json: invalid UTF-8');
  }
  return new TextEncoder().encode(canonicalize(text));
}
