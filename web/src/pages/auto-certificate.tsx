/**
 * One auto certificate, followed live: polled every 1.5 s while it is being issued (PROVISIONING,
 * AWAITING_VALIDATION), so the state turns AVAILABLE or FAILED on screen; then every 15 s. Shows
 * the next renewal and why, failures, its versions, and the actions renew now, rekey, pause,
 * resume, change (auto-certificate-form.tsx) and delete. Below, the deployments of its versions to
 * its targets, followed live, with Deploy now (the active version again to every target).
 */
import { useState } from 'preact/hooks';
import { api, errorText, query } from '../api';
import { ErrorMessage, Notice } from '../components/alert';
import { ConfirmDialog } from '../components/confirm-dialog';
import { ChangeLink, ConfirmButton, StatusLine } from '../components/detail';
import { DeploymentsSection } from '../components/deployments';
import { DetailPlaceholder } from '../components/loading';
import { PageTitle } from '../components/page-title';
import { StateBadge } from '../components/state-badge';
import { PendingValidations } from '../components/validations';
import { When } from '../components/when';
import { CHALLENGE_TYPES, KEY_ALGORITHMS, mayOperate, type AutoCertificate, type Certificate, type Collection } from '../resources';
import { Link, navigate } from '../router';
import { useMe } from '../session';
import { absolute } from '../time-format';
import { useActions } from '../use-actions';
import { useApi, useLoader } from '../use-api';
import { useAgents, useDeploymentTargets } from '../use-deployment-targets';
import { useProviders } from '../use-providers';

const IN_FLIGHT = new Set(['PROVISIONING', 'AWAITING_VALIDATION']);
const poll = (a: AutoCertificate | undefined) => (a && !IN_FLIGHT.has(a.metadata.state) ? 15_000 : 1500);

type Action = 'renew' | 'rekey' | 'pause' | 'resume' | 'delete';

/** The auto certificate detail page. */
export function AutoCertificatePage({ id }: { id: string }) {
  const me = useMe();
  const providers = useProviders();
  const path = `auto-certificates/${encodeURIComponent(id)}`;
  const { data: ac, error, reload } = useApi<AutoCertificate>(path, poll);
  const last = ac?.metadata.lastIssuedCertificate ?? null;
  // Reloaded whenever a new version becomes the active one.
  const versions = useLoader<Collection<Certificate>>(ac ? `versions:${last ?? ''}` : null,
    () => api('GET', `certificates${query({ 'filter.autoCertificate': id, limit: 100 })}`));
  const [confirm, setConfirm] = useState<Action | null>(null);
  const { busy, actionError, setActionError, done, setDone, perform } = useActions<Action>();
  const targets = useDeploymentTargets();
  const agents = useAgents();
  const [deploying, setDeploying] = useState(false);
  const [deployed, setDeployed] = useState(0);
  const [deployNote, setDeployNote] = useState<{ ok: boolean; text: string } | null>(null);

  if (!ac) {
    return <DetailPlaceholder title="Auto certificate" error={error} />;
  }
  const m = ac.metadata;
  const p = ac.properties;
  const operate = mayOperate(me.role);

  const run = (action: Action) => perform(action, async () => {
    if (action === 'delete') {
      await api('DELETE', path);
      setConfirm(null);
      navigate('/auto-certificates');
      return;
    }
    const body = action === 'renew' ? { rekey: false } : action === 'rekey' ? { rekey: true } : undefined;
    await api('POST', `${path}/${action === 'rekey' ? 'renew' : action}`, body);
    setDone({ renew: 'Renewal started.', rekey: 'Renewal with a new key started.', pause: 'Automation paused.', resume: 'Automation resumed.' }[action]);
    setConfirm(null);
    await reload();
  });

  const deployNow = async () => {
    setDeploying(true);
    setDeployNote(null);
    try {
      const res = await api<Collection<unknown>>('POST', `${path}/deploy`);
      setDeployNote({ ok: true, text: `The active version is being deployed to ${res.total} target${res.total === 1 ? '' : 's'}.` });
      setDeployed((n) => n + 1);
    } catch (err) {
      setDeployNote({ ok: false, text: errorText(err) });
    } finally {
      setDeploying(false);
    }
  };

  const items = [...(versions.data?.items ?? [])].sort((a, b) => Date.parse(b.metadata.notBefore) - Date.parse(a.metadata.notBefore));
  const targetLink = (tid: string) => (me.role === 'admin' && targets.byId.has(tid)
    ? <Link href={`/deployment-targets/${encodeURIComponent(tid)}`}>{targets.name(tid)}</Link> : <span>{targets.name(tid)}</span>);
  return (
    <>
      <PageTitle title={p.name} />
      <p class="breadcrumbs"><Link href="/auto-certificates">Auto certificates</Link></p>
      <ErrorMessage>{error}</ErrorMessage>
      <StatusLine state={m.state} message={m.message} spinning={IN_FLIGHT.has(m.state)} bad={m.state === 'FAILED'} />
      <Notice tone="success">{done}</Notice>
      <div class="grid">
        {m.state === 'AWAITING_VALIDATION' && p.challengeType.startsWith('manual-')
          ? <PendingValidations id={id} mayVerify={operate} onVerified={() => void reload()} />
          : null}
        <section class="panel" aria-labelledby="renewal-heading">
          <h2 id="renewal-heading">Renewal</h2>
          <dl class="facts">
            <dt>Active certificate</dt>
            <dd>{last ? <Link href={`/certificates/${encodeURIComponent(last)}`}>{items.find((c) => c.id === last)?.properties.name ?? 'open'}</Link> : <span class="muted">none yet</span>}</dd>
            {last && items.find((c) => c.id === last) ? <><dt>Expires</dt><dd><When iso={items.find((c) => c.id === last)!.metadata.notAfter} expiry both /></dd></> : null}
            <dt>Next renewal</dt><dd>{m.nextRenewalAt ? <When iso={m.nextRenewalAt} both /> : <span class="muted">—</span>}</dd>
            <dt>Renewal reason</dt><dd>{m.renewalReason ?? <span class="muted">—</span>}</dd>
            <dt>Last attempt</dt><dd><When iso={m.lastAttemptAt} /></dd>
            <dt>Next attempt</dt><dd><When iso={m.nextAttemptAt} /></dd>
            <dt>Failures</dt><dd class={m.failureCount ? 'bad' : ''}>{m.failureCount}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="settings-heading">
          <h2 id="settings-heading">Settings</h2>
          <dl class="facts">
            <dt>Common name</dt><dd>{p.commonName}</dd>
            <dt>More names</dt><dd>{p.subjectAlternativeNames.length ? <ul class="names">{p.subjectAlternativeNames.map((n) => <li key={n}>{n}</li>)}</ul> : <span class="muted">none</span>}</dd>
            <dt>Challenge</dt><dd>{CHALLENGE_TYPES.find(([v]) => v === p.challengeType)?.[1] ?? p.challengeType}</dd>
            <dt>Key</dt><dd>{KEY_ALGORITHMS.find(([v]) => v === p.keyAlgorithm)?.[1] ?? p.keyAlgorithm}, {p.keyPolicy === 'reuse' ? 'reused on renewal' : 'new on every renewal'}</dd>
            <dt>Provider</dt><dd>{providers.name(p.provider)}{p.fallbackProviders.length ? <span class="muted">, then {p.fallbackProviders.map(providers.name).join(', ')}</span> : null}</dd>
            {p.renewBeforeDays ? <><dt>Renew before</dt><dd>{p.renewBeforeDays} days</dd></> : null}
            {p.profile ? <><dt>Profile</dt><dd>{p.profile}</dd></> : null}
            <dt>Deployed to</dt><dd>{p.deploymentTargets.length ? <ul class="names">{p.deploymentTargets.map((tid) => <li key={tid}>{targetLink(tid)}</li>)}</ul> : <span class="muted">no target</span>}</dd>
            {p.keyAgent ? <><dt>Key generated on</dt><dd><Link href={`/agents/${encodeURIComponent(p.keyAgent)}`}>{agents.name(p.keyAgent)}</Link> <span class="muted">(the key never leaves that host)</span></dd></> : null}
            <dt>Created</dt><dd>{absolute(m.createdDate)} by {m.createdBy}</dd>
          </dl>
        </section>
        {operate ? (
          <section class="panel panel-wide" aria-labelledby="ac-actions-heading">
            <h2 id="ac-actions-heading">Actions</h2>
            <ErrorMessage>{confirm === null ? actionError : null}</ErrorMessage>
            <div class="actions">
              <button type="button" class="button button-primary" disabled={busy !== null || m.state === 'PAUSED'} onClick={() => void run('renew')}>Renew now</button>
              <ConfirmButton label="Rekey…" disabled={busy !== null || m.state === 'PAUSED'} danger={false} onOpen={() => { setActionError(null); setConfirm('rekey'); }} />
              {m.state === 'PAUSED'
                ? <button type="button" class="button" disabled={busy !== null} onClick={() => void run('resume')}>Resume</button>
                : <button type="button" class="button" disabled={busy !== null} onClick={() => void run('pause')}>Pause</button>}
              <ChangeLink base="/auto-certificates" id={id} />
              <ConfirmButton label="Delete…" disabled={busy !== null} onOpen={() => { setActionError(null); setConfirm('delete'); }} />
            </div>
          </section>
        ) : null}
        <section class="panel panel-wide" aria-labelledby="ac-versions-heading">
          <h2 id="ac-versions-heading">Versions <span class="muted">({versions.data?.total ?? '…'})</span></h2>
          <ErrorMessage>{versions.error}</ErrorMessage>
          {items.length === 0 ? <p class="muted">No certificate issued yet.</p> : (
            <div class="table-wrap">
              <table class="table">
                <thead><tr><th scope="col">Version</th><th scope="col">State</th><th scope="col">Issued</th><th scope="col">Expires</th></tr></thead>
                <tbody>
                  {items.map((c) => (
                    <tr key={c.id} class={c.id === last ? 'version-active' : ''}>
                      <td><Link href={`/certificates/${encodeURIComponent(c.id)}`}>{c.properties.name}</Link>{c.id === last ? <span class="tag tag-active">active</span> : null}</td>
                      <td><StateBadge state={c.metadata.state} /></td>
                      <td class="nowrap">{absolute(c.metadata.notBefore)}</td>
                      <td class="nowrap"><When iso={c.metadata.notAfter} expiry /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {versions.data && versions.data.total > 0 ? <p><Link href={`/certificates?autoCertificate=${encodeURIComponent(id)}`}>All versions in the certificate list</Link></p> : null}
        </section>
        <DeploymentsSection filter={{ autoCertificate: id }} reloadKey={`${last ?? ''}|${deployed}`}
          versionName={(cid) => items.find((c) => c.id === cid)?.properties.name ?? `${cid.slice(0, 8)}…`}
          help={<p class="help">Every new version goes to each target of this auto certificate; a failed deployment is retried with backoff (1 minute doubling to 6 hours, 10 attempts), or at once with <em>Retry</em>.</p>}
          actions={operate ? (
            <>
              <div class="actions">
                <button type="button" class="button" disabled={deploying || !last || p.deploymentTargets.length === 0} onClick={() => void deployNow()}>{deploying ? 'Deploying…' : 'Deploy now'}</button>
                {!p.deploymentTargets.length ? <span class="help">No deployment target yet: choose some with <em>Change</em> (in Actions).</span>
                  : <span class="help">The active version again to every target, without a new certificate.</span>}
              </div>
              {deployNote ? (deployNote.ok ? <Notice tone="success">{deployNote.text}</Notice> : <ErrorMessage>{deployNote.text}</ErrorMessage>) : null}
            </>
          ) : null} />
      </div>
      <ConfirmDialog open={confirm === 'rekey'} title="Renew with a new key?" confirmLabel="Rekey" busy={busy === 'rekey'}
        onConfirm={() => void run('rekey')} onCancel={() => setConfirm(null)}>
        <p>certkeeper orders a new certificate for <strong>{p.name}</strong> with a freshly generated private key. The current version stays valid until it expires.</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
      <ConfirmDialog open={confirm === 'delete'} title="Delete this auto certificate?" confirmLabel="Delete" danger busy={busy === 'delete'}
        onConfirm={() => void run('delete')} onCancel={() => setConfirm(null)}>
        <p>certkeeper stops renewing <strong>{p.name}</strong>. Its issued versions stay in the repository (neither revoked nor deleted).</p>
        <ErrorMessage>{actionError}</ErrorMessage>
      </ConfirmDialog>
    </>
  );
}
