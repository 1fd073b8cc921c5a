/**
 * New auto certificate, and changing one: names one per line (the first is the common name, up to
 * 100), checked as you type, and for dns-01 the DNS zone each name falls in; key algorithm;
 * provider and fallbacks from /api/v1/providers; challenge type; the deployment targets every
 * new version goes to and the agent that generates the key, if any; and the optional key policy,
 * renewal lead time and CA profile. New: POST → 202 → its page, which follows the issuance.
 * Change: PATCH with only what changed; new names or a new key algorithm order a certificate at
 * once (unless paused), the rest applies from the next renewal.
 */
import { useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, errorText } from '../api';
import { PageTitle } from '../components/page-title';
import { EditResourcePage } from '../components/resource-pages';
import { ZoneHints } from '../components/zone-hints';
import { checkNames, MAX_NAMES } from '../name-rules';
import { CHALLENGE_TYPES, KEY_ALGORITHMS, mayOperate, type AutoCertificate } from '../resources';
import { Link, navigate } from '../router';
import { useMe } from '../session';
import { useApi } from '../use-api';
import { useAgents, useDeploymentTargets } from '../use-deployment-targets';
import { useProviders } from '../use-providers';

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The form; `existing` makes it the change form. */
function AutoCertificateForm({ existing }: { existing?: AutoCertificate }) {
  const me = useMe();
  const e0 = existing?.properties;
  const providers = useProviders();
  const [name, setName] = useState(e0?.name ?? '');
  const [namesText, setNamesText] = useState(e0 ? [e0.commonName, ...e0.subjectAlternativeNames].join('\n') : '');
  const [challengeType, setChallengeType] = useState(e0?.challengeType ?? 'http-01');
  const [keyAlgorithm, setKeyAlgorithm] = useState(e0?.keyAlgorithm ?? 'ecdsa256');
  const [provider, setProvider] = useState(e0?.provider ?? '');
  const [fallbacks, setFallbacks] = useState<string[]>(e0?.fallbackProviders ?? []);
  const [keyPolicy, setKeyPolicy] = useState(e0?.keyPolicy ?? 'rotate');
  const [renewBeforeDays, setRenewBeforeDays] = useState(e0?.renewBeforeDays ? String(e0.renewBeforeDays) : '');
  const [profile, setProfile] = useState(e0?.profile ?? '');
  const targets = useDeploymentTargets();
  const agents = useAgents();
  const [deploymentTargets, setDeploymentTargets] = useState<string[]>(e0?.deploymentTargets ?? []);
  const [keyAgent, setKeyAgent] = useState(e0?.keyAgent ?? '');
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<{ detail: string; fields: string[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const namesRef = useRef<HTMLTextAreaElement>(null);

  const usable = providers.list.filter((p) => p.metadata.state !== 'FAILED' || p.id === e0?.provider);
  const chosen = provider || usable[0]?.id || '';
  const chosenProvider = providers.byId.get(chosen);
  const ipAllowed = !!(profile.trim() || chosenProvider?.properties.profile);
  const check = useMemo(() => checkNames(namesText, challengeType, ipAllowed), [namesText, challengeType, ipAllowed]);
  const bad = check.checks.filter((c) => c.error);
  const converted = check.checks.filter((c) => c.ascii && c.ascii !== c.input.trim().toLowerCase().replace(/\.$/, ''));
  const showNameErrors = touched || namesText.includes('\n');
  const oldNames = e0 ? [e0.commonName, ...e0.subjectAlternativeNames] : [];
  const reissue = e0 !== undefined && existing!.metadata.state !== 'PAUSED' && ((!bad.length && check.names.length > 0 && !same(check.names, oldNames)) || keyAlgorithm !== e0.keyAlgorithm);

  const submit = async (e: Event) => {
    e.preventDefault();
    setTouched(true);
    setError(null);
    if (bad.length || check.listError) {
      namesRef.current?.focus();
      return;
    }
    if (!chosen) {
      setError({ detail: 'Choose a provider (an admin creates providers first).', fields: [] });
      return;
    }
    const [commonName, ...sans] = check.names;
    const days = renewBeforeDays.trim() ? Number(renewBeforeDays) : null;
    const fallbackIds = fallbacks.filter((f) => f !== chosen);
    let properties: Record<string, unknown>;
    if (!e0) {
      properties = {
        name: name.trim() || commonName,
        provider: chosen,
        fallbackProviders: fallbackIds,
        commonName,
        subjectAlternativeNames: sans,
        keyAlgorithm,
        challengeType,
        keyPolicy,
        ...(days !== null ? { renewBeforeDays: days } : {}),
        ...(profile.trim() ? { profile: profile.trim() } : {}),
        ...(deploymentTargets.length ? { deploymentTargets } : {}),
        ...(keyAgent ? { keyAgent } : {}),
      };
    } else {
      properties = {};
      if (name.trim() && name.trim() !== e0.name) properties.name = name.trim();
      if (!same(check.names, oldNames)) Object.assign(properties, { commonName, subjectAlternativeNames: sans });
      if (challengeType !== e0.challengeType) properties.challengeType = challengeType;
      if (keyAlgorithm !== e0.keyAlgorithm) properties.keyAlgorithm = keyAlgorithm;
      if (keyPolicy !== e0.keyPolicy) properties.keyPolicy = keyPolicy;
      if (chosen !== e0.provider) properties.provider = chosen;
      if (!same(fallbackIds, e0.fallbackProviders)) properties.fallbackProviders = fallbackIds;
      if (days !== (e0.renewBeforeDays ?? null)) properties.renewBeforeDays = days;
      if ((profile.trim() || null) !== (e0.profile ?? null)) properties.profile = profile.trim() || null;
      if (!same(deploymentTargets, e0.deploymentTargets)) properties.deploymentTargets = deploymentTargets;
      if ((keyAgent || null) !== (e0.keyAgent ?? null)) properties.keyAgent = keyAgent || null;
      if (!Object.keys(properties).length) {
        navigate(`/auto-certificates/${encodeURIComponent(existing!.id)}`);
        return;
      }
    }
    setBusy(true);
    try {
      const saved = e0
        ? await api<AutoCertificate>('PATCH', `auto-certificates/${encodeURIComponent(existing!.id)}`, { properties })
        : await api<AutoCertificate>('POST', 'auto-certificates', { properties });
      navigate(`/auto-certificates/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      setError({
        detail: errorText(err),
        fields: err instanceof ApiError ? (err.problem?.errors ?? []).map((f) => `${f.value ?? f.field}: ${f.message}`) : [],
      });
      setBusy(false);
    }
  };

  return (
    <form class="form form-wide" onSubmit={submit} noValidate>
      {error ? (
        <div class="alert alert-error" role="alert">
          <p>{error.detail}</p>
          {error.fields.length ? <ul>{error.fields.map((f) => <li key={f}>{f}</li>)}</ul> : null}
        </div>
      ) : null}

      <label for="ac-names">Names <span class="muted">(one per line; the first is the common name)</span></label>
      <textarea id="ac-names" ref={namesRef} rows={6} spellcheck={false} autoCapitalize="off" autoComplete="off" required
        aria-describedby={challengeType === 'dns-01' ? 'ac-names-status ac-zones' : 'ac-names-status'} aria-invalid={showNameErrors && (bad.length > 0 || !!check.listError)}
        placeholder={'www.example.com\nexample.com'} value={namesText}
        onInput={(e) => setNamesText((e.target as HTMLTextAreaElement).value)} onBlur={() => setTouched(true)} />
      <div id="ac-names-status" class="name-status" aria-live="polite">
        <span class={check.names.length > MAX_NAMES ? 'bad' : 'muted'}>{check.names.length} / {MAX_NAMES} names</span>
        {check.names[0] ? <span class="muted"> · common name <strong>{check.names[0]}</strong></span> : null}
        {showNameErrors && check.listError && !bad.length ? <p class="field-error">{check.listError}</p> : null}
        {showNameErrors && bad.length ? (
          <ul class="field-errors">
            {bad.map((c) => <li key={c.line}>Line {c.line} “{c.input.trim()}”: {c.error}</li>)}
          </ul>
        ) : null}
        {converted.length ? <ul class="help">{converted.map((c) => <li key={c.line}>“{c.input.trim()}” is requested as <code>{c.ascii}</code></li>)}</ul> : null}
      </div>
      {challengeType === 'dns-01' ? <ZoneHints names={check.names} /> : null}

      <label for="ac-name">Name <span class="muted">(how certkeeper lists it; defaults to the common name)</span></label>
      <input id="ac-name" value={name} maxLength={200} placeholder={check.names[0] ?? ''} onInput={(e) => setName((e.target as HTMLInputElement).value)} />

      <fieldset>
        <legend>Challenge type</legend>
        {CHALLENGE_TYPES.map(([value, label, help]) => (
          <label key={value} class="choice">
            <input type="radio" name="challengeType" value={value} checked={challengeType === value} onChange={() => setChallengeType(value)} />
            <span><strong>{label}</strong> <span class="muted">— {help}</span></span>
          </label>
        ))}
      </fieldset>

      <label for="ac-key">Key algorithm</label>
      <select id="ac-key" value={keyAlgorithm} onChange={(e) => setKeyAlgorithm((e.target as HTMLSelectElement).value)}>
        {KEY_ALGORITHMS.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
      </select>

      <label for="ac-provider">Provider</label>
      {providers.loaded && providers.list.length === 0 ? (
        <p class="alert alert-info" id="ac-provider">No provider yet: an admin creates one (an ACME account) first.</p>
      ) : (
        <select id="ac-provider" value={chosen} required onChange={(e) => setProvider((e.target as HTMLSelectElement).value)}>
          {providers.list.map((p) => (
            <option key={p.id} value={p.id} disabled={p.metadata.state === 'FAILED' && p.id !== e0?.provider}>
              {p.properties.name} — {p.metadata.state.toLowerCase()}{p.properties.profile ? `, profile ${p.properties.profile}` : ''}
            </option>
          ))}
        </select>
      )}
      {usable.length > 1 ? (
        <fieldset>
          <legend>Fallback providers <span class="muted">(tried in this order when the provider fails)</span></legend>
          {usable.filter((p) => p.id !== chosen).map((p) => (
            <label key={p.id} class="choice">
              <input type="checkbox" checked={fallbacks.includes(p.id)}
                onChange={(e) => setFallbacks((f) => ((e.target as HTMLInputElement).checked ? [...f, p.id] : f.filter((x) => x !== p.id)))} />
              <span>{p.properties.name}{fallbacks.includes(p.id) ? <span class="muted"> (#{fallbacks.indexOf(p.id) + 1})</span> : null}</span>
            </label>
          ))}
        </fieldset>
      ) : null}

      <fieldset aria-describedby="ac-targets-help">
        <legend>Deployment targets <span class="muted">(every new version goes there, in this order)</span></legend>
        <p id="ac-targets-help" class="help">certkeeper deploys each new version to these targets and follows each deployment on this auto certificate's page.</p>
        {targets.error ? <p class="help bad">The deployment targets could not be read ({targets.error}).</p> : null}
        {targets.loaded && targets.list.length === 0 ? <p class="help">No deployment target yet{me.role === 'admin' ? <>: <Link href="/deployment-targets/new">create one</Link></> : ': an admin creates them'}.</p> : null}
        {targets.list.map((t) => (
          <label key={t.id} class="choice">
            <input type="checkbox" name="deploymentTargets" value={t.id} checked={deploymentTargets.includes(t.id)}
              onChange={(e) => setDeploymentTargets((d) => ((e.target as HTMLInputElement).checked ? [...d, t.id] : d.filter((x) => x !== t.id)))} />
            <span>{t.properties.name} <span class="muted">— {t.properties.type}{t.properties.enabled ? '' : ', disabled'}</span>{deploymentTargets.includes(t.id) ? <span class="muted"> (#{deploymentTargets.indexOf(t.id) + 1})</span> : null}</span>
          </label>
        ))}
      </fieldset>

      <label for="ac-key-agent">Key generated on agent <span class="muted">(optional)</span></label>
      <select id="ac-key-agent" value={keyAgent} aria-describedby="ac-key-agent-help" onChange={(e) => setKeyAgent((e.target as HTMLSelectElement).value)}>
        <option value="">no — certkeeper generates and keeps the key</option>
        {agents.list.filter((a) => a.metadata.state !== 'REVOKED' || a.id === keyAgent).map((a) => <option key={a.id} value={a.id}>{a.properties.name} — {a.metadata.state.toLowerCase()}</option>)}
      </select>
      <p id="ac-key-agent-help" class="help">That agent generates the private key and keeps it: the key never leaves its host, certkeeper holds none (no export or pull with the key), and the agent must be online when a certificate is ordered.</p>

      <details class="advanced" open={!!e0 && (e0.keyPolicy !== 'rotate' || !!e0.renewBeforeDays || !!e0.profile)}>
        <summary>Key policy, renewal, profile</summary>
        <label for="ac-key-policy">Key policy</label>
        <select id="ac-key-policy" value={keyPolicy} onChange={(e) => setKeyPolicy((e.target as HTMLSelectElement).value)}>
          <option value="rotate">rotate — a fresh key for every renewal</option>
          <option value="reuse">reuse — keep the key across renewals</option>
        </select>
        <label for="ac-renew-before">Renew this many days before expiry <span class="muted">(empty: the CA's renewal window, else a third of the lifetime)</span></label>
        <input id="ac-renew-before" type="number" min={1} max={365} inputMode="numeric" value={renewBeforeDays} onInput={(e) => setRenewBeforeDays((e.target as HTMLInputElement).value)} />
        <label for="ac-profile">CA profile <span class="muted">(optional; needed for IP addresses)</span></label>
        <input id="ac-profile" value={profile} maxLength={100} onInput={(e) => setProfile((e.target as HTMLInputElement).value)} />
      </details>

      {reissue ? <p class="alert alert-info" role="status">Saving orders a new certificate now ({same(check.names, oldNames) ? 'the key algorithm changed' : 'the names changed'}); the current version stays valid until it expires.</p> : null}
      <div class="actions">
        <button type="submit" class="button button-primary" disabled={busy}>{busy ? (e0 ? 'Saving…' : 'Creating…') : e0 ? 'Save changes' : 'Create auto certificate'}</button>
        <Link href={e0 ? `/auto-certificates/${encodeURIComponent(existing!.id)}` : '/auto-certificates'} class="button">Cancel</Link>
      </div>
    </form>
  );
}

function NotAllowed({ title }: { title: string }) {
  const me = useMe();
  return (
    <>
      <PageTitle title={title} />
      <p>Your role ({me.role}) may not change auto certificates; an operator or admin can.</p>
    </>
  );
}

/** /auto-certificates/new */
export function AutoCertificateNewPage() {
  const me = useMe();
  if (!mayOperate(me.role)) return <NotAllowed title="New auto certificate" />;
  return (
    <>
      <PageTitle title="New auto certificate" />
      <p class="breadcrumbs"><Link href="/auto-certificates">Auto certificates</Link></p>
      <AutoCertificateForm />
    </>
  );
}

/** /auto-certificates/{id}/edit */
export function AutoCertificateEditPage({ id }: { id: string }) {
  const me = useMe();
  const { data, error } = useApi<AutoCertificate>(mayOperate(me.role) ? `auto-certificates/${encodeURIComponent(id)}` : null);
  const title = data ? `Change ${data.properties.name}` : 'Change auto certificate';
  if (!mayOperate(me.role)) return <NotAllowed title={title} />;
  return (
    <EditResourcePage base={{ href: '/auto-certificates', label: 'Auto certificates' }} id={id} kind="auto certificate" name={data?.properties.name} error={error} admin={false}>
      {data ? <AutoCertificateForm existing={data} /> : null}
    </EditResourcePage>
  );
}
