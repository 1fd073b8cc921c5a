/**
 * One certificate version: its facts, its chain with fingerprints, the other versions of the same
 * auto certificate side by side (the active one marked), and the actions: export (PEM or PKCS#12;
 * the private key only for roles allowed to), revoke with a reason, delete — each confirmed; deploy
 * this version to chosen targets, and its deployments, followed live.
 */
import type { ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, apiBlob, errorText, query } from '../api';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ConfirmButton } from '../components/detail';
import { DeploymentsSection } from '../components/deployments';
import { DetailPlaceholder } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { StateBadge } from '../components/state-badge';
import { When } from '../components/when';
import { readChain, sha256Fingerprint, type ChainEntry } from '../pem-chain';
import { mayOperate, REVOCATION_REASONS, type AutoCertificate, type Certificate, type Collection } from '../resources';
import { Link, navigate } from '../router';
import { useMe } from '../session';
import { absolute } from '../time-format';
import { useApi } from '../use-api';
import { useDeploymentTargets } from '../use-deployment-targets';

/** Saves `blob` as a download named `filename`. */
function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The file name the server would give (`content-disposition` of the export). */
function fileBase(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

function Chain({ pem }: { pem: string }) {
  const [entries, setEntries] = useState<(ChainEntry & { fingerprint?: string | null })[]>(() => readChain(pem));
  useEffect(() => {
    const chain = readChain(pem);
    setEntries(chain);
    void Promise.all(chain.map(async (c) => ({ ...c, fingerprint: c.der ? await sha256Fingerprint(c.der) : null }))).then(setEntries);
  }, [pem]);
  return (
    <ol class="chain">
      {entries.map((c, i) => (
        <li key={i}>
          <div><strong>{i === 0 ? 'Leaf' : `Intermediate ${i}`}:</strong> {c.subject} <span class="muted">issued by {c.issuer}</span></div>
          {c.notAfter ? <div class="small">expires <When iso={c.notAfter} both /></div> : null}
          {c.fingerprint ? <div class="small mono break">SHA-256 {c.fingerprint}</div> : null}
          <details>
            <summary>PEM</summary>
            <pre class="pem">{c.pem}</pre>
          </details>
        </li>
      ))}
    </ol>
  );
}

const VERSION_ROWS: [string, (c: Certificate) => ComponentChild][] = [
  ['State', (c) => <StateBadge state={c.metadata.state} />],
  ['Issued', (c) => <When iso={c.metadata.notBefore} />],
  ['Expires', (c) => <When iso={c.metadata.notAfter} expiry />],
  ['Key', (c) => c.metadata.keyAlgorithm],
  ['Names', (c) => String(c.metadata.subjectAlternativeNames.length)],
  ['Serial', (c) => <span class="mono small break">{c.metadata.serialNumber}</span>],
  ['Fingerprint', (c) => <span class="mono small break">{c.metadata.fingerprintSha256.slice(0, 23)}…</span>],
];

function Versions({ cert }: { cert: Certificate }) {
  const ac = cert.metadata.autoCertificate;
  const { data, error } = useApi<Collection<Certificate>>(ac ? `certificates${query({ 'filter.autoCertificate': ac, limit: 100 })}` : null);
  if (!ac) return null;
  const versions = [...(data?.items ?? [])].sort((a, b) => Date.parse(b.metadata.notBefore) - Date.parse(a.metadata.notBefore));
  const active = cert.metadata.lastIssuedCertificate;
  return (
    <section class="panel panel-wide" aria-labelledby="versions-heading">
      <h2 id="versions-heading">Versions <span class="muted">({data?.total ?? '…'})</span></h2>
      <ErrorMessage>{error}</ErrorMessage>
      {versions.length ? (
        <div class="table-wrap">
          <table class="table versions">
            <thead>
              <tr>
                <td />
                {versions.map((v) => (
                  <th key={v.id} scope="col" class={v.id === active ? 'version-active' : ''}>
                    {v.id === cert.id ? <span>{v.properties.name}</span> : <Link href={`/certificates/${encodeURIComponent(v.id)}`}>{v.properties.name}</Link>}
                    {v.id === active ? <span class="tag tag-active">active</span> : null}
                    {v.id === cert.id ? <span class="tag">this page</span> : null}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {VERSION_ROWS.map(([label, cell]) => (
                <tr key={label}>
                  <th scope="row">{label}</th>
                  {versions.map((v) => <td key={v.id} class={v.id === active ? 'version-active' : ''}>{cell(v)}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function Export({ cert, withKeyAllowed }: { cert: Certificate; withKeyAllowed: boolean }) {
  const [format, setFormat] = useState<'pem' | 'pkcs12'>('pem');
  const [withKey, setWithKey] = useState(false);
  const [password, setPassword] = useState('');
  const [shown, setShown] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const includeKey = withKeyAllowed && (format === 'pkcs12' || withKey);
  const path = `certificates/${encodeURIComponent(cert.id)}/export`;

  const run = async (show: boolean) => {
    setBusy(true);
    setError(null);
    try {
      if (format === 'pkcs12') {
        if (password.length < 4) throw new Error('A PKCS#12 file needs a password of at least 4 characters.');
        download(await apiBlob('POST', path, { format, includePrivateKey: true, password }, 'application/x-pkcs12'), `${fileBase(cert.properties.name)}.p12`);
      } else {
        const res = await api<{ fullchain: string; privateKey?: string }>('POST', path, { format: 'pem', includePrivateKey: includeKey });
        const text = res.fullchain + (res.privateKey ?? '');
        if (show) setShown(text);
        else download(new Blob([text], { type: 'application/x-pem-file' }), `${fileBase(cert.properties.name)}.pem`);
      }
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="export-heading">
      <h2 id="export-heading">Export</h2>
      <form class="form" onSubmit={(e) => { e.preventDefault(); void run(false); }}>
        <fieldset>
          <legend>Format</legend>
          <label class="inline"><input type="radio" name="format" value="pem" checked={format === 'pem'} onChange={() => setFormat('pem')} /> PEM (certificate + chain)</label>
          {withKeyAllowed ? <label class="inline"><input type="radio" name="format" value="pkcs12" checked={format === 'pkcs12'} onChange={() => setFormat('pkcs12')} /> PKCS#12 (with private key)</label> : null}
        </fieldset>
        {withKeyAllowed && format === 'pem' ? (
          <label class="inline"><input type="checkbox" name="includePrivateKey" checked={withKey} onChange={(e) => setWithKey((e.target as HTMLInputElement).checked)} /> Include the private key (audited)</label>
        ) : null}
        {!withKeyAllowed ? <p class="help">Your role exports the certificate and chain only, without the private key.</p> : null}
        {format === 'pkcs12' ? (
          <>
            <label for="p12-password">PKCS#12 password</label>
            <input id="p12-password" type="password" autoComplete="new-password" minLength={4} required value={password}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
          </>
        ) : null}
        <div class="actions">
          <button type="submit" class="button button-primary" disabled={busy}>Download</button>
          {format === 'pem' ? <button type="button" class="button" disabled={busy} onClick={() => void run(true)}>Show PEM</button> : null}
        </div>
      </form>
      <ErrorMessage>{error}</ErrorMessage>
      {shown !== null ? (
        <>
          <label for="pem-output">Exported PEM</label>
          <textarea id="pem-output" class="pem" readOnly rows={12} value={shown} />
          <button type="button" class="button button-small" onClick={() => setShown(null)}>Hide</button>
        </>
      ) : null}
    </section>
  );
}

/** "Deploy to…": choose targets, POST /certificates/{id}/deploy; the deployments below follow. */
function DeployTo({ cert, onDeployed }: { cert: Certificate; onDeployed(): void }) {
  const targets = useDeploymentTargets();
  const [open, setOpen] = useState(false);
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const deploy = async () => {
    if (!chosen.length) {
      setError('Choose at least one target.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const res = await api<Collection<unknown>>('POST', `certificates/${encodeURIComponent(cert.id)}/deploy`, { targets: chosen });
      setDone(`Deploying this version to ${res.total} target${res.total === 1 ? '' : 's'}.`);
      setOpen(false);
      setChosen([]);
      onDeployed();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <div class="actions">
        <button type="button" class="button" disabled={cert.metadata.state === 'REVOKED' || cert.metadata.state === 'EXPIRED'}
          onClick={() => { setError(null); setDone(null); setOpen(true); }}>Deploy to…</button>
        <span class="help">This version, to targets you choose (its auto certificate's own targets get each new version anyway).</span>
      </div>
      <Notice tone="success">{done}</Notice>
      <ConfirmDialog open={open} title="Deploy this version" confirmLabel="Deploy" busy={busy} onConfirm={() => void deploy()} onCancel={() => setOpen(false)}>
        <p><strong>{cert.properties.name}</strong> ({cert.metadata.commonName}) goes to the targets chosen here.</p>
        {targets.loaded && targets.list.length === 0 ? <p class="help">No deployment target yet: an admin creates them.</p> : (
          <fieldset>
            <legend>Targets</legend>
            {targets.list.map((t) => (
              <label key={t.id} class="choice">
                <input type="checkbox" checked={chosen.includes(t.id)} disabled={!t.properties.enabled}
                  onChange={(e) => setChosen((c) => ((e.target as HTMLInputElement).checked ? [...c, t.id] : c.filter((x) => x !== t.id)))} />
                <span>{t.properties.name} <span class="muted">— {t.properties.type}{t.properties.enabled ? '' : ', disabled'}</span></span>
              </label>
            ))}
          </fieldset>
        )}
        <ErrorMessage>{error}</ErrorMessage>
      </ConfirmDialog>
    </>
  );
}

/** The certificate detail page. */
export function CertificatePage({ id }: { id: string }) {
  const me = useMe();
  const { data: cert, error, reload } = useApi<Certificate>(`certificates/${encodeURIComponent(id)}`);
  const ac = useApi<AutoCertificate>(cert?.metadata.autoCertificate ? `auto-certificates/${encodeURIComponent(cert.metadata.autoCertificate)}` : null);
  const [dialog, setDialog] = useState<'revoke' | 'delete' | null>(null);
  const [reason, setReason] = useState('unspecified');
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [deployed, setDeployed] = useState(0);
  const operate = mayOperate(me.role);

  if (!cert) {
    return <DetailPlaceholder title="Certificate" error={error} />;
  }
  const m = cert.metadata;

  const act = async () => {
    setBusy(true);
    setActionError(null);
    try {
      if (dialog === 'revoke') {
        await api('POST', `certificates/${encodeURIComponent(id)}/revoke`, { reason });
        setDone('The certificate is revoked.');
        setDialog(null);
        await reload();
      } else if (dialog === 'delete') {
        await api('DELETE', `certificates/${encodeURIComponent(id)}`);
        setDialog(null);
        navigate('/certificates');
      }
    } catch (err) {
      setActionError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageTitle title={cert.properties.name}>
        <StateBadge state={m.state} />
        {m.lastIssuedCertificate === cert.id ? <span class="tag tag-active">active version</span> : null}
      </PageTitle>
      <p class="breadcrumbs"><Link href="/certificates">Certificates</Link>{ac.data ? <> · auto certificate <Link href={`/auto-certificates/${encodeURIComponent(ac.data.id)}`}>{ac.data.properties.name}</Link></> : null}</p>
      <ErrorMessage>{error}</ErrorMessage>
      <Notice tone="success">{done}</Notice>
      {m.message && m.state !== 'AVAILABLE' ? <p class="message">{m.message}</p> : null}
      <div class="grid">
        <section class="panel" aria-labelledby="facts-heading">
          <h2 id="facts-heading">Facts</h2>
          <dl class="facts">
            <dt>Common name</dt><dd>{m.commonName}</dd>
            <dt>Names</dt><dd><ul class="names">{m.subjectAlternativeNames.map((n) => <li key={n}>{n}</li>)}</ul></dd>
            <dt>Issuer</dt><dd>{m.issuer}</dd>
            <dt>Valid from</dt><dd>{absolute(m.notBefore)}</dd>
            <dt>Expires</dt><dd><When iso={m.notAfter} expiry both /></dd>
            <dt>Key algorithm</dt><dd>{m.keyAlgorithm}</dd>
            <dt>Serial number</dt><dd class="mono break">{m.serialNumber}</dd>
            <dt>SHA-256 fingerprint</dt><dd class="mono break small" data-testid="fingerprint">{m.fingerprintSha256}</dd>
            <dt>Source</dt><dd>{m.source === 'acme' ? 'ACME' : 'imported'}</dd>
            <dt>Stored</dt><dd>{absolute(m.createdDate)} by {m.createdBy}</dd>
            {m.deleteAfter ? <><dt>Deleted after</dt><dd>{absolute(m.deleteAfter)}</dd></> : null}
            {m.revokedAt ? <><dt>Revoked</dt><dd>{absolute(m.revokedAt)} ({m.revocationReason ?? 'unspecified'})</dd></> : null}
          </dl>
        </section>
        <Export cert={cert} withKeyAllowed={operate} />
        <section class="panel panel-wide" aria-labelledby="chain-heading">
          <h2 id="chain-heading">Chain</h2>
          <Chain pem={cert.properties.certificate + (cert.properties.certificateChain ?? '')} />
        </section>
        <Versions cert={cert} />
        <DeploymentsSection filter={{ certificate: id }} reloadKey={deployed}
          actions={operate ? <DeployTo cert={cert} onDeployed={() => setDeployed((n) => n + 1)} /> : null} />
        {operate ? (
          <section class="panel panel-wide" aria-labelledby="actions-heading">
            <h2 id="actions-heading">Actions</h2>
            <ErrorMessage>{dialog === null ? actionError : null}</ErrorMessage>
            <div class="actions">
              {m.state !== 'REVOKED' ? (
                <>
                  <label class="inline">
                    <span>Revocation reason</span>
                    <select value={reason} onChange={(e) => setReason((e.target as HTMLSelectElement).value)}>
                      {REVOCATION_REASONS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
                    </select>
                  </label>
                  <button type="button" class="button button-danger" onClick={() => { setActionError(null); setDialog('revoke'); }}>Revoke…</button>
                </>
              ) : null}
              <ConfirmButton label="Delete…" onOpen={() => { setActionError(null); setDialog('delete'); }} />
            </div>
          </section>
        ) : null}
      </div>
      <ConfirmDialog open={dialog === 'revoke'} title="Revoke this certificate?" confirmLabel="Revoke" danger busy={busy}
        onConfirm={() => void act()} onCancel={() => setDialog(null)}>
        <p>certkeeper asks the CA to revoke <strong>{cert.properties.name}</strong> ({m.commonName}) with the reason <strong>{REVOCATION_REASONS.find(([v]) => v === reason)?.[1]}</strong>. Clients that check revocation will refuse it. This cannot be undone.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
      <ConfirmDialog open={dialog === 'delete'} title="Delete this certificate?" confirmLabel="Delete" danger busy={busy}
        onConfirm={() => void act()} onCancel={() => setDialog(null)}>
        <p>This removes <strong>{cert.properties.name}</strong> and its private key from the repository. It is <em>not</em> revoked: copies already deployed stay valid until {absolute(m.notAfter)}.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
    </>
  );
}
