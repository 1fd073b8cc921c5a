/** `certkeeper certificates …`: the repository of stored versions. */
import { dirname, join } from 'node:path';
import { Option, type Command } from 'commander';
import type { Collection, Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { collect, pagingOf, positiveInt, printList, resolveId, runAction, seg, withConnection, withPaging } from './command-kit.js';
import { reportDeployments } from './deployment-results.js';
import { ensureDirectory, isDirectoryTarget, SECRET_MODE, writeFileAtomic, writePemDirectory, writePemFile, type PemExport } from './export-files.js';
import { readBinaryFile, readTextFile } from './input-files.js';
import { pemCount, renderBlock, resourcePairs, type Column } from './output.js';
import { DEFAULT_WAIT_SECONDS } from './wait.js';

/** RFC 5280 revocation reasons the API accepts. */
export const REVOCATION_REASON_CHOICES = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'] as const;

const COLUMNS: Column<Resource>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.properties.name },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'COMMON NAME', value: (r) => r.metadata.commonName },
  { header: 'NOT AFTER', value: (r) => r.metadata.notAfter },
  { header: 'SOURCE', value: (r) => r.metadata.source },
];

const path = (id: string) => `/certificates/${seg(id)}`;

/** A certificate as a key: value block: the facts, with the PEM text summarised. */
export function certificateBlock(res: Resource): string {
  const pairs = resourcePairs(res, ['certificate', 'certificateChain']);
  pairs.push(['chain', `${pemCount(res.properties.certificateChain)} certificate(s)`]);
  return renderBlock(pairs);
}

/** A password from `--password` or the first line of `--password-file`. */
function passwordOf(opts: { password?: string; passwordFile?: string }): string | undefined {
  if (opts.password !== undefined && opts.passwordFile !== undefined) throw new CliError('give --password or --password-file, not both');
  if (opts.passwordFile !== undefined) return readTextFile(opts.passwordFile, 'password file').split(/\r?\n/)[0] ?? '';
  return opts.password;
}

interface ImportOpts {
  name?: string;
  certificate?: string;
  chain?: string;
  key?: string;
  pkcs12?: string;
  password?: string;
  passwordFile?: string;
}

interface ExportOpts {
  format: 'pem' | 'pkcs12';
  includePrivateKey?: boolean;
  password?: string;
  passwordFile?: string;
  out?: string;
}

/** Registers `certificates` and its verbs. */
export function registerCertificateCommands(program: Command): void {
  const certs = program.command('certificates').description('stored certificate versions, issued or imported');

  withPaging(withConnection(certs.command('list').description('list certificate versions')))
    .option('--common-name <name>', 'only versions with this common name')
    .option('--name <name>', 'only the version with this name')
    .option('--state <state>', 'only this state (AVAILABLE, SUPERSEDED, EXPIRED, REVOKED)')
    .addOption(new Option('--source <source>', 'only issued (acme) or imported versions').choices(['acme', 'imported']))
    .option('--auto-certificate <id>', 'only versions of this auto certificate id')
    .action((opts: { commonName?: string; name?: string; state?: string; source?: string; autoCertificate?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { commonName: opts.commonName, name: opts.name, state: opts.state, source: opts.source, autoCertificate: opts.autoCertificate });
      const list = await ctx.client.list('/certificates', filters, page);
      printList(ctx, list, COLUMNS, 'certificates');
    }));

  withConnection(certs.command('get').description('show one certificate version').argument('<id>', 'certificate id or name'))
    .option('--pem', 'print the certificate and its chain as PEM instead of the facts')
    .action((ref: string, opts: { pem?: boolean }, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(path(await resolveId(ctx, 'certificates', ref)));
      if (ctx.json) return ctx.printJson(res);
      if (opts.pem) return ctx.streams.out(String(res.properties.certificate ?? '') + String(res.properties.certificateChain ?? ''));
      ctx.streams.out(certificateBlock(res));
    }));

  withConnection(certs.command('import').description('import a certificate with its private key (PEM files, or a PKCS#12 file)'))
    .option('--name <name>', 'name of the version (default: <common name>_imported_<UTC timestamp>)')
    .option('--certificate <file>', 'PEM file of the leaf certificate (its chain may follow it)')
    .option('--chain <file>', 'PEM file of the intermediate certificates')
    .option('--key <file>', 'PEM file of the private key (PKCS#8, PKCS#1 or SEC1)')
    .option('--pkcs12 <file>', 'PKCS#12 / PFX file holding certificate, chain and key')
    .option('--password <password>', 'password of the PKCS#12 file')
    .option('--password-file <file>', 'file whose first line is the PKCS#12 password')
    .action((opts: ImportOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const password = passwordOf(opts);
      const properties: Record<string, unknown> = {};
      if (opts.name) properties.name = opts.name;
      if (opts.pkcs12 !== undefined) {
        if (opts.certificate || opts.chain || opts.key) throw new CliError('give either --pkcs12 (with --password) or --certificate and --key, not both');
        properties.pkcs12 = readBinaryFile(opts.pkcs12, 'PKCS#12 file').toString('base64');
        if (password !== undefined) properties.password = password;
      } else {
        if (!opts.certificate || !opts.key) throw new CliError('give --certificate <file> and --key <file> (and --chain <file> when the chain is separate), or --pkcs12 <file> --password <password>');
        if (password !== undefined) throw new CliError('--password is for --pkcs12; PEM keys are imported unencrypted');
        properties.certificate = readTextFile(opts.certificate, 'certificate');
        if (opts.chain) properties.certificateChain = readTextFile(opts.chain, 'chain');
        properties.privateKey = readTextFile(opts.key, 'private key');
      }
      const res = await ctx.client.post('/certificates', { properties });
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(certificateBlock(res));
    }));

  withConnection(certs.command('export').description('download a version as PEM or PKCS#12').argument('<id>', 'certificate id or name'))
    .addOption(new Option('--format <format>', 'pem, or pkcs12 (always with the key)').choices(['pem', 'pkcs12']).default('pem'))
    .option('--include-private-key', 'include the private key (PEM); the export is audited')
    .option('--password <password>', 'password of the PKCS#12 file (at least 4 characters)')
    .option('--password-file <file>', 'file whose first line is the PKCS#12 password')
    .option('--out <file-or-dir>', 'write to this file, or into this directory (ending in / or existing): cert.pem, chain.pem, fullchain.pem, privkey.pem; "-" for stdout')
    .action((ref: string, opts: ExportOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'certificates', ref);
      const password = passwordOf(opts);
      if (opts.format === 'pkcs12') {
        if (!password) throw new CliError('a PKCS#12 export needs --password (or --password-file) of at least 4 characters');
        if (!opts.out) throw new CliError('a PKCS#12 export is binary: give --out <file or dir> (or --out - for stdout)');
        const file = await ctx.client.download('POST', `${path(id)}/export`, { format: 'pkcs12', includePrivateKey: true, password });
        if (opts.out === '-') {
          process.stdout.write(file.data);
          return;
        }
        let target = opts.out;
        if (isDirectoryTarget(target)) {
          ensureDirectory(target);
          target = join(target, file.filename ?? `${id}.p12`);
        } else {
          ensureDirectory(dirname(target));
        }
        writeFileAtomic(target, file.data, SECRET_MODE);
        if (ctx.json) return ctx.printJson({ files: [target] });
        ctx.streams.out(`wrote ${target}\n`);
        return;
      }
      if (password !== undefined) throw new CliError('--password is for --format pkcs12');
      const pem = await ctx.client.post<PemExport>(`${path(id)}/export`, { format: 'pem', includePrivateKey: !!opts.includePrivateKey });
      if (!opts.out || opts.out === '-') {
        if (ctx.json) return ctx.printJson(pem);
        ctx.streams.out(pem.fullchain + (pem.privateKey ?? ''));
        return;
      }
      const files = isDirectoryTarget(opts.out) ? writePemDirectory(opts.out, pem) : [writePemFile(opts.out, pem)];
      if (ctx.json) return ctx.printJson({ files });
      ctx.streams.out(files.map((f) => `wrote ${f}\n`).join(''));
    }));

  withConnection(certs.command('revoke').description('revoke a version at the CA').argument('<id>', 'certificate id or name'))
    .addOption(new Option('--reason <reason>', 'RFC 5280 revocation reason').choices(REVOCATION_REASON_CHOICES))
    .option('--provider <provider>', 'provider whose CA issued an imported certificate')
    .option('--sign-with-certificate-key', "sign the revocation with the certificate's own key instead of the account key")
    .action((ref: string, opts: { reason?: string; provider?: string; signWithCertificateKey?: boolean }, cmd: Command) => runAction(cmd, async (ctx) => {
      const body: Record<string, unknown> = {};
      if (opts.reason) body.reason = opts.reason;
      if (opts.provider) body.provider = opts.provider;
      if (opts.signWithCertificateKey) body.signWithCertificateKey = true;
      const res = await ctx.client.post(`${path(await resolveId(ctx, 'certificates', ref))}/revoke`, body);
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(certificateBlock(res));
    }));

  withConnection(certs.command('delete').description('delete a version from the repository (it is not revoked)').argument('<id>', 'certificate id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'certificates', ref);
      await ctx.client.delete(path(id));
      if (!ctx.json) ctx.streams.out(`deleted certificate ${id}\n`);
    }));

  withConnection(certs.command('deploy').description('deploy this version (an imported one too) to deployment targets').argument('<id>', 'certificate id or name')
    .requiredOption('--target <target>', 'a deployment target, id or name (repeatable)', collect))
    .option('--wait', 'wait until every deployment leaves PENDING; exit 1 when one FAILED, printing its message and output')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, DEFAULT_WAIT_SECONDS)
    .action((ref: string, opts: { target: string[]; wait?: boolean; timeout: number }, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'certificates', ref);
      const started = await ctx.client.post<Collection<Resource>>(`${path(id)}/deploy`, { targets: opts.target });
      return reportDeployments(ctx, started, { wait: !!opts.wait, timeoutSeconds: opts.timeout, follow: `--certificate ${ref}` });
    }));
}
