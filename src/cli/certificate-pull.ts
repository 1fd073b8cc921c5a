/**
 * `auto-certificates pull`: the active version of an auto certificate as one PEM bundle (leaf,
 * intermediates, and the key where asked), the way a cron job or a load balancer fetches it. With
 * `--etag-file` the ETag of the last pull is sent as `If-None-Match` (RFC 9110 §13.1.2), so a
 * version already in place costs a 304 and nothing is written: the command says `unchanged`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CliError } from './cli-config.js';
import { seg, type CommandContext } from './command-kit.js';
import { ensureDirectory, PUBLIC_MODE, SECRET_MODE, writeFileAtomic } from './export-files.js';

/** The flags of `pull`. */
export interface PullOptions {
  includePrivateKey?: boolean;
  out?: string;
  etagFile?: string;
}

/** The media type of the bundle (RFC 8555 §9.1). */
const PEM_CHAIN = 'application/pem-certificate-chain';

/** The text of a file, or undefined when there is none. */
function readIfPresent(file: string, what: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/**
 * Pulls the bundle of auto certificate `id`. The stored ETag is sent only while the `--out` file
 * exists (a bundle that was removed is fetched again). Writes the bundle atomically (0600 when it
 * holds the key), then the new ETag. `unchanged` goes to stdout, or to stderr when the bundle
 * itself would have gone to stdout.
 */
export async function pullCertificate(ctx: CommandContext, id: string, opts: PullOptions): Promise<void> {
  const out = opts.out === '-' ? undefined : opts.out;
  const stored = opts.etagFile ? readIfPresent(opts.etagFile, 'ETag file')?.trim() : undefined;
  const outExists = out === undefined || existsSync(out);
  const ifNoneMatch = stored && outExists ? stored : undefined;
  const query = opts.includePrivateKey ? '?includePrivateKey=true' : '';
  const res = await ctx.client.getText(`/auto-certificates/${seg(id)}/certificate${query}`, {
    accept: `${PEM_CHAIN}, application/problem+json`,
    ...(ifNoneMatch ? { ifNoneMatch } : {}),
  });
  const certificate = res.headers.get('x-certkeeper-certificate');
  if (res.notModified) {
    if (ctx.json) return ctx.printJson({ changed: false, etag: res.etag ?? stored, certificate });
    if (out) ctx.streams.out('unchanged\n');
    else ctx.streams.err('unchanged\n');
    return;
  }
  const files: string[] = [];
  if (out) {
    ensureDirectory(dirname(out));
    writeFileAtomic(out, res.text, opts.includePrivateKey || /PRIVATE KEY-----/.test(res.text) ? SECRET_MODE : PUBLIC_MODE);
    files.push(out);
  }
  if (opts.etagFile && res.etag) {
    ensureDirectory(dirname(opts.etagFile));
    writeFileAtomic(opts.etagFile, `${res.etag}\n`, PUBLIC_MODE);
  }
  if (ctx.json) return ctx.printJson({ changed: true, etag: res.etag, certificate, ...(out ? { files } : { pem: res.text }) });
  if (out) ctx.streams.out(`wrote ${out}\n`);
  else ctx.streams.out(res.text);
}
