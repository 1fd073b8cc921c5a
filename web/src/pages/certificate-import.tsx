/**
 * Import a certificate (operators and admins): PEM (certificate, chain, private key) pasted or
 * read from files, or a PKCS#12 / PFX file with its password, sent base64 as `pkcs12`
 * (POST /api/v1/certificates). The problem's `errors[]` are shown beside the matching field;
 * on success the certificate's page opens.
 */
import { useRef, useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { FieldError, invalidProps } from '../components/field';
import { PageTitle } from '../components/page-title';
import { fieldErrors } from '../field-errors';
import { mayOperate, type Certificate } from '../resources';
import { Link, navigate } from '../router';
import { useMe } from '../session';

const FIELDS = ['name', 'certificate', 'certificateChain', 'privateKey', 'pkcs12', 'password'] as const;
type Field = (typeof FIELDS)[number];

/** A file's bytes as base64 (in chunks: String.fromCharCode takes a limited number of arguments). */
async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function PemField({ id, label, help, value, error, onChange, rows = 6 }: {
  id: string; label: string; help: string; value: string; error?: string | undefined; onChange(v: string): void; rows?: number;
}) {
  return (
    <>
      <label for={id}>{label} <span class="muted">({help})</span></label>
      <textarea id={id} class="pem" rows={rows} spellcheck={false} autoComplete="off" value={value} {...invalidProps(id, error)}
        onInput={(e) => onChange((e.target as HTMLTextAreaElement).value)} />
      <input type="file" accept=".pem,.crt,.cer,.key,.txt" aria-label={`${label} from a file`}
        onChange={async (e) => {
          const f = (e.target as HTMLInputElement).files?.[0];
          if (f) onChange(await f.text());
        }} />
      <FieldError id={id} message={error} />
    </>
  );
}

/** The import page. */
export function CertificateImportPage() {
  const me = useMe();
  const [mode, setMode] = useState<'pem' | 'pkcs12'>('pem');
  const [name, setName] = useState('');
  const [certificate, setCertificate] = useState('');
  const [chain, setChain] = useState('');
  const [privateKey, setPrivateKey] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [general, setGeneral] = useState<{ detail: string; other: string[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  if (!mayOperate(me.role)) {
    return (
      <>
        <PageTitle title="Import a certificate" />
        <p>Your role ({me.role}) may not import certificates; an operator or admin can.</p>
      </>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setGeneral(null);
    const local: Partial<Record<Field, string>> = {};
    if (mode === 'pem') {
      if (!certificate.trim()) local.certificate = 'Paste the certificate in PEM (-----BEGIN CERTIFICATE-----).';
      if (!privateKey.trim()) local.privateKey = 'Paste the private key of the certificate in PEM.';
    } else if (!file) local.pkcs12 = 'Choose the .p12 / .pfx file.';
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    setBusy(true);
    try {
      const properties: Record<string, string> = name.trim() ? { name: name.trim() } : {};
      if (mode === 'pem') {
        properties.certificate = certificate;
        if (chain.trim()) properties.certificateChain = chain;
        properties.privateKey = privateKey;
      } else {
        properties.pkcs12 = await base64Of(file!);
        properties.password = password;
      }
      const created = await api<Certificate>('POST', 'certificates', { properties });
      navigate(`/certificates/${encodeURIComponent(created.id)}`);
    } catch (err) {
      const { byField, other } = fieldErrors(err, FIELDS);
      setErrors(byField);
      setGeneral({ detail: errorText(err), other });
      setBusy(false);
      // Focus the first field with an error, else stay on the message.
      const first = FIELDS.find((f) => byField[f]);
      if (first) formRef.current?.querySelector<HTMLElement>(`#imp-${first}`)?.focus();
    }
  };

  return (
    <>
      <PageTitle title="Import a certificate" />
      <p class="breadcrumbs"><Link href="/certificates">Certificates</Link></p>
      <form ref={formRef} class="form form-wide" onSubmit={submit} noValidate>
        {general ? (
          <div class="alert alert-error" role="alert">
            <p>{general.detail}</p>
            {general.other.length ? <ul>{general.other.map((f) => <li key={f}>{f}</li>)}</ul> : null}
          </div>
        ) : null}
        <fieldset>
          <legend>What you have</legend>
          <label class="choice">
            <input type="radio" name="import-mode" checked={mode === 'pem'} onChange={() => setMode('pem')} />
            <span><strong>PEM</strong> <span class="muted">— certificate, chain and private key as text</span></span>
          </label>
          <label class="choice">
            <input type="radio" name="import-mode" checked={mode === 'pkcs12'} onChange={() => setMode('pkcs12')} />
            <span><strong>PKCS#12 / PFX</strong> <span class="muted">— a .p12 or .pfx file with its password</span></span>
          </label>
        </fieldset>

        <label for="imp-name">Name <span class="muted">(optional; defaults to the common name)</span></label>
        <input id="imp-name" value={name} maxLength={300} {...invalidProps('imp-name', errors.name)} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <FieldError id="imp-name" message={errors.name} />

        {mode === 'pem' ? (
          <>
            <PemField id="imp-certificate" label="Certificate" help="PEM; the chain may follow it" value={certificate} error={errors.certificate} onChange={setCertificate} />
            <PemField id="imp-certificateChain" label="Chain" help="optional: intermediate certificates, PEM, any order" value={chain} error={errors.certificateChain} onChange={setChain} />
            <PemField id="imp-privateKey" label="Private key" help="PEM, unencrypted: PKCS#8, PKCS#1 or SEC1; stored encrypted" value={privateKey} error={errors.privateKey} onChange={setPrivateKey} rows={4} />
          </>
        ) : (
          <>
            <label for="imp-pkcs12">PKCS#12 file <span class="muted">(.p12 or .pfx, holding the certificate and its key)</span></label>
            <input id="imp-pkcs12" type="file" accept=".p12,.pfx,application/x-pkcs12" {...invalidProps('imp-pkcs12', errors.pkcs12)}
              onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
            <FieldError id="imp-pkcs12" message={errors.pkcs12} />
            <label for="imp-password">Password <span class="muted">(the file's export password; not stored)</span></label>
            <input id="imp-password" type="password" autoComplete="off" value={password} {...invalidProps('imp-password', errors.password)}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
            <FieldError id="imp-password" message={errors.password} />
          </>
        )}

        <div class="actions">
          <button type="submit" class="button button-primary" disabled={busy}>{busy ? 'Importing…' : 'Import'}</button>
          <Link href="/certificates" class="button">Cancel</Link>
        </div>
      </form>
    </>
  );
}
