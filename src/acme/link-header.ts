// RFC 8288 Link header parsing, as far as ACME needs it: RFC 8555 §7.4.2 (`rel="alternate"`
// certificate chains), §7.1.2.1 (`rel="next"` order pages), §7.3.3 (`rel="terms-of-service"`),
// `rel="index"` on every response, and `rel="up"` from authorizations/certificates.

/** One link: its target (resolved against the request URL) and its relation types. */
export interface AcmeLink {
  url: string;
  rel: string[];
}

/** Parses raw Link header values (each may hold several comma-separated links). */
export function parseLinks(values: readonly string[], baseUrl?: string): AcmeLink[] {
  const out: AcmeLink[] = [];
  for (const value of values) {
    let i = 0;
    while (i < value.length) {
      const open = value.indexOf('<', i);
      if (open < 0) break;
      const close = value.indexOf('>', open + 1);
      if (close < 0) break;
      const target = value.slice(open + 1, close);
      // Parameters run until the next comma outside a quoted string.
      let j = close + 1;
      let inQuote = false;
      for (; j < value.length; j++) {
        const ch = value[j];
        if (ch === '"' && value[j - 1] !== '\\') inQuote = !inQuote;
        else if (ch === ',' && !inQuote) break;
      }
      const params = value.slice(close + 1, j);
      i = j + 1;
      const rel: string[] = [];
      const m = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
      if (m) rel.push(...(m[1] ?? m[2] ?? '').split(/\s+/).filter(Boolean).map((r) => r.toLowerCase()));
      let url = target;
      if (baseUrl !== undefined) {
        try {
          url = new URL(target, baseUrl).toString();
        } catch {
          continue;
        }
      }
      out.push({ url, rel });
    }
  }
  return out;
}

/** The targets of all links with relation `rel`. */
export function linksWithRel(values: readonly string[], rel: string, baseUrl?: string): string[] {
  const want = rel.toLowerCase();
  return parseLinks(values, baseUrl).filter((l) => l.rel.includes(want)).map((l) => l.url);
}
