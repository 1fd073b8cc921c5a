/**
 * New DNS zone and changing one (admins): the zone name (fixed once created), the provider, that
 * provider's settings and write-only credentials as its manifest describes them, the propagation
 * check (resolvers, timeout, extra delay) and whether the zone is enabled. The server checks the
 * credentials on every save, so the zone's page opens with its state: AVAILABLE, or FAILED with
 * the provider's own words. On a change, credential fields left empty keep the stored ones.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { ErrorMessage } from '../components/alert';
import { FieldError, focusFirstInvalid } from '../components/field';
import { EditResourcePage, NewResourcePage, FormActions } from '../components/resource-pages';
import { DNS_PROVIDER_SPECS, dnsProviderSpec, type DnsFieldSpec, type DnsProviderSpec } from '../dns-providers';
import { fieldErrors } from '../field-errors';
import type { DnsZone } from '../resources';
import { navigate } from '../router';
import { useApi } from '../use-api';

interface Values {
  zoneName: string;
  provider: string;
  /** Text of each setting ('' = not set); lists one entry per line; booleans 'true' / 'false'. */
  settings: Record<string, string>;
  credentials: Record<string, string>;
  /** For providers that take any credential names: NAME=value lines. */
  anyCredentials: string;
  clearCredentials: boolean;
  enabled: boolean;
  resolvers: string;
  propagationTimeoutSeconds: string;
  extraDelaySeconds: string;
}

function settingText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join('\n');
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${String(x)}`).join('\n');
  return String(v);
}

function initial(zone?: DnsZone): Values {
  const p = zone?.properties;
  const settings: Record<string, string> = {};
  for (const [k, v] of Object.entries(p?.settings ?? {})) settings[k] = settingText(v);
  return {
    zoneName: p?.zoneName ?? '',
    provider: p?.provider ?? 'rfc2136',
    settings,
    credentials: {},
    anyCredentials: '',
    clearCredentials: false,
    enabled: p?.enabled ?? true,
    resolvers: (p?.resolvers ?? []).join('\n'),
    propagationTimeoutSeconds: p ? String(p.propagationTimeoutSeconds) : '',
    extraDelaySeconds: p ? String(p.extraDelaySeconds) : '',
  };
}

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

/** The settings object for the API, with client-side errors for values of the wrong type. */
function settingsBody(spec: DnsProviderSpec, values: Record<string, string>, errors: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of spec.settings) {
    const raw = (values[f.name] ?? '').trim();
    if (raw === '') continue;
    if (f.type === 'integer') {
      if (/^-?\d+$/.test(raw)) out[f.name] = Number(raw);
      else errors[`settings.${f.name}`] = 'expected a whole number';
    } else if (f.type === 'boolean') out[f.name] = raw === 'true';
    else if (f.type === 'string[]') out[f.name] = lines(values[f.name] ?? '');
    else out[f.name] = raw;
  }
  return out;
}

/** The credentials object for the API, or undefined to keep the stored ones (or to send none). */
function credentialsBody(spec: DnsProviderSpec, v: Values, editing: boolean, errors: Record<string, string>): Record<string, string> | undefined {
  if (v.clearCredentials) return {};
  const out: Record<string, string> = {};
  if (spec.anyCredentials) {
    for (const line of lines(v.anyCredentials)) {
      const eq = line.indexOf('=');
      if (eq < 1) errors.credentials = `"${line.slice(0, 40)}" is not NAME=value`;
      else out[line.slice(0, eq).trim()] = line.slice(eq + 1);
    }
  } else {
    for (const f of spec.credentials) if (v.credentials[f.name]) out[f.name] = v.credentials[f.name]!;
  }
  if (Object.keys(out).length) return out;
  // Nothing typed: a change keeps the stored credentials; a new zone sends none.
  return editing ? undefined : spec.credentials.length || spec.anyCredentials ? {} : undefined;
}

/** "(required)", "(optional, default 10)", "(optional)". */
function need(f: DnsFieldSpec): string {
  if (f.required) return 'required';
  return f.default !== undefined && f.default !== '' ? `optional, default ${String(f.default)}` : 'optional';
}

/** aria-describedby of a field with help text and maybe an error. */
function described(id: string, error: string | undefined) {
  return { 'aria-describedby': error ? `${id}-help ${id}-error` : `${id}-help`, 'aria-invalid': !!error };
}

function SettingField({ f, value, error, onChange }: { f: DnsFieldSpec; value: string; error?: string | undefined; onChange(v: string): void }) {
  const id = `dz-s-${f.name}`;
  const input = (e: Event) => onChange((e.target as HTMLInputElement).value);
  const placeholder = f.example !== undefined ? String(f.example) : f.default !== undefined ? String(f.default) : '';
  return (
    <>
      <label for={id}><code>{f.name}</code> <span class="muted">({need(f)})</span></label>
      {f.enum ? (
        <select id={id} value={value || String(f.default ?? '')} onChange={input} {...described(id, error)}>
          {f.default === undefined && !f.required ? <option value="">—</option> : null}
          {f.enum.map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      ) : f.type === 'string[]' ? (
        <textarea id={id} rows={3} spellcheck={false} value={value} placeholder={placeholder} onInput={input} {...described(id, error)} />
      ) : f.type === 'boolean' ? (
        <select id={id} value={value} onChange={input} {...described(id, error)}>
          <option value="">{f.default !== undefined ? `default (${String(f.default)})` : '—'}</option>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : f.type === 'integer' ? (
        <input id={id} type="number" inputMode="numeric" required={f.required} value={value} placeholder={placeholder} onInput={input} {...described(id, error)} />
      ) : (
        <input id={id} type="text" spellcheck={false} autoComplete="off" autoCapitalize="off" required={f.required} value={value} placeholder={placeholder} onInput={input} {...described(id, error)} />
      )}
      <p id={`${id}-help`} class="help">{f.description}{f.type === 'string[]' ? ' One per line.' : ''}</p>
      <FieldError id={id} message={error} />
    </>
  );
}

function ZoneForm({ zone }: { zone?: DnsZone }) {
  const editing = zone !== undefined;
  const [v, setV] = useState<Values>(() => initial(zone));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const spec = dnsProviderSpec(v.provider) ?? DNS_PROVIDER_SPECS[0]!;
  const stored = editing && zone.metadata.credentialsSet && v.provider === zone.properties.provider;
  const set = <K extends keyof Values>(k: K, value: Values[K]) => setV((o) => ({ ...o, [k]: value }));
  const text = (k: 'zoneName' | 'resolvers' | 'propagationTimeoutSeconds' | 'extraDelaySeconds') => (e: Event) => set(k, (e.target as HTMLInputElement).value);

  const submit = async (e: Event) => {
    e.preventDefault();
    setGeneral(null);
    const found: Record<string, string> = {};
    const settings = settingsBody(spec, v.settings, found);
    const credentials = credentialsBody(spec, v, editing, found);
    const seconds = (k: 'propagationTimeoutSeconds' | 'extraDelaySeconds') => {
      const raw = v[k].trim();
      if (raw === '') return undefined;
      if (!/^\d+$/.test(raw)) found[k] = 'expected a whole number of seconds';
      return Number(raw);
    };
    const timeout = seconds('propagationTimeoutSeconds');
    const delay = seconds('extraDelaySeconds');
    if (!editing && !v.zoneName.trim()) found.zoneName = 'required: the zone, e.g. example.com';
    setErrors(found);
    if (Object.keys(found).length) {
      setGeneral('Correct the fields marked below.');
      focusFirstInvalid();
      return;
    }
    const properties = {
      ...(editing ? {} : { zoneName: v.zoneName.trim() }),
      provider: v.provider,
      settings,
      ...(credentials !== undefined ? { credentials } : {}),
      enabled: v.enabled,
      resolvers: lines(v.resolvers),
      ...(timeout !== undefined ? { propagationTimeoutSeconds: timeout } : {}),
      ...(delay !== undefined ? { extraDelaySeconds: delay } : {}),
    };
    setBusy(true);
    try {
      const saved = editing
        ? await api<DnsZone>('PATCH', `dns-zones/${encodeURIComponent(zone.id)}`, { properties })
        : await api<DnsZone>('POST', 'dns-zones', { properties });
      navigate(`/dns-zones/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      const keys = [...spec.settings.map((f) => `settings.${f.name}`), ...spec.credentials.map((f) => `credentials.${f.name}`),
        'zoneName', 'provider', 'resolvers', 'propagationTimeoutSeconds', 'extraDelaySeconds', 'enabled', 'credentials'];
      const { byField, other } = fieldErrors(err, keys);
      setErrors(byField);
      setGeneral([errorText(err), ...other].join(' · '));
      setBusy(false);
      focusFirstInvalid();
    }
  };

  return (
    <form class="form form-wide" onSubmit={submit} noValidate>
      <ErrorMessage>{general}</ErrorMessage>
      {editing ? (
        <p><span class="muted">Zone</span> <strong>{zone.properties.zoneName}</strong> <span class="muted">(fixed; register another zone for another name)</span></p>
      ) : (
        <>
          <label for="dz-zone">Zone name</label>
          <input id="dz-zone" required spellcheck={false} autoCapitalize="off" placeholder="example.com" value={v.zoneName} onInput={text('zoneName')} {...described('dz-zone', errors.zoneName)} />
          <p id="dz-zone-help" class="help">certkeeper writes the <code>_acme-challenge</code> records of names in this zone (and its subdomains, unless a more specific zone is registered).</p>
          <FieldError id="dz-zone" message={errors.zoneName} />
        </>
      )}
      <label for="dz-provider">DNS provider</label>
      <select id="dz-provider" value={v.provider} onChange={(e) => {
        const provider = (e.target as HTMLSelectElement).value;
        setV((o) => ({ ...o, provider, settings: zone && provider === zone.properties.provider ? initial(zone).settings : {}, credentials: {}, anyCredentials: '', clearCredentials: false }));
        setErrors({});
      }} {...described('dz-provider', errors.provider)}>
        {DNS_PROVIDER_SPECS.map((p) => <option key={p.code} value={p.code}>{p.name} ({p.code})</option>)}
      </select>
      <p id="dz-provider-help" class="help">
        Documentation: {spec.docsUrl.startsWith('https://') ? <a href={spec.docsUrl} rel="noreferrer noopener" target="_blank">{spec.docsUrl}</a> : <code>{spec.docsUrl}</code>}
        {editing && v.provider !== zone.properties.provider && zone.metadata.credentialsSet ? <> · A new provider needs its own credentials.</> : null}
      </p>
      <FieldError id="dz-provider" message={errors.provider} />

      <fieldset>
        <legend>Settings of {spec.code}</legend>
        {spec.settings.map((f) => (
          <SettingField key={`${spec.code}-${f.name}`} f={f} value={v.settings[f.name] ?? ''} error={errors[`settings.${f.name}`]}
            onChange={(x) => setV((o) => ({ ...o, settings: { ...o.settings, [f.name]: x } }))} />
        ))}
      </fieldset>

      <fieldset>
        <legend>Credentials <span class="muted">(write-only: stored encrypted, never shown again)</span></legend>
        {stored ? <p class="help">Credentials are stored. Leave the fields empty to keep them; anything typed here replaces all of them.</p> : null}
        {spec.anyCredentials ? (
          <>
            <label for="dz-any-creds">Secret variables <span class="muted">(NAME=value, one per line{spec.credentialsOptional ? '; optional' : ''})</span></label>
            <textarea id="dz-any-creds" rows={3} spellcheck={false} autoComplete="off" value={v.anyCredentials} disabled={v.clearCredentials}
              onInput={(e) => set('anyCredentials', (e.target as HTMLTextAreaElement).value)} {...described('dz-any-creds', errors.credentials)} />
            <p id="dz-any-creds-help" class="help">{spec.credentials[0]?.description}</p>
            <FieldError id="dz-any-creds" message={errors.credentials} />
          </>
        ) : spec.credentials.length === 0 ? (
          <p class="help">{spec.code} takes no credentials.</p>
        ) : spec.credentials.map((f) => {
          const id = `dz-c-${f.name}`;
          const error = errors[`credentials.${f.name}`];
          return (
            <div key={`${spec.code}-${f.name}`} class="form-field">
              <label for={id}><code>{f.name}</code> <span class="muted">({f.required && !spec.credentialsOptional ? 'required' : 'optional'})</span></label>
              <input id={id} type="password" autoComplete="off" spellcheck={false} value={v.credentials[f.name] ?? ''} disabled={v.clearCredentials}
                placeholder={stored ? 'stored; leave empty to keep' : ''}
                onInput={(e) => setV((o) => ({ ...o, credentials: { ...o.credentials, [f.name]: (e.target as HTMLInputElement).value } }))} {...described(id, error)} />
              <p id={`${id}-help`} class="help">{f.description}</p>
              <FieldError id={id} message={error} />
            </div>
          );
        })}
        {stored && (spec.credentialsOptional || spec.anyCredentials) ? (
          <label class="choice">
            <input type="checkbox" checked={v.clearCredentials} onChange={(e) => set('clearCredentials', (e.target as HTMLInputElement).checked)} />
            <span>Remove the stored credentials{spec.code === 'route53' ? ' (use the AWS default credential chain)' : spec.code === 'azure' ? ' (use the managed identity)' : ''}</span>
          </label>
        ) : null}
        {!spec.anyCredentials && errors.credentials ? <p class="field-error" data-field-error="credentials">{errors.credentials}</p> : null}
      </fieldset>

      <fieldset>
        <legend>Propagation check</legend>
        <label for="dz-resolvers">Resolvers <span class="muted">(optional; IP address with optional port, one per line)</span></label>
        <textarea id="dz-resolvers" rows={2} spellcheck={false} placeholder="192.0.2.53:53" value={v.resolvers} onInput={text('resolvers')} {...described('dz-resolvers', errors.resolvers)} />
        <p id="dz-resolvers-help" class="help">Where to look for the records before the CA is told, instead of the zone's authoritative servers (split-horizon DNS).</p>
        <FieldError id="dz-resolvers" message={errors.resolvers} />
        <label for="dz-timeout">Propagation timeout <span class="muted">(seconds, 1–3600; default 300)</span></label>
        <input id="dz-timeout" type="number" min={1} max={3600} inputMode="numeric" placeholder="300" value={v.propagationTimeoutSeconds} onInput={text('propagationTimeoutSeconds')} {...described('dz-timeout', errors.propagationTimeoutSeconds)} />
        <p id="dz-timeout-help" class="help">How long to wait for the records to become visible.</p>
        <FieldError id="dz-timeout" message={errors.propagationTimeoutSeconds} />
        <label for="dz-delay">Extra delay <span class="muted">(seconds, 0–600; default 0)</span></label>
        <input id="dz-delay" type="number" min={0} max={600} inputMode="numeric" placeholder="0" value={v.extraDelaySeconds} onInput={text('extraDelaySeconds')} {...described('dz-delay', errors.extraDelaySeconds)} />
        <p id="dz-delay-help" class="help">Wait this much longer once the records are visible (for providers whose servers lag behind).</p>
        <FieldError id="dz-delay" message={errors.extraDelaySeconds} />
      </fieldset>

      <label class="choice">
        <input type="checkbox" checked={v.enabled} onChange={(e) => set('enabled', (e.target as HTMLInputElement).checked)} />
        <span>Enabled <span class="muted">— certkeeper may write dns-01 records in this zone</span></span>
      </label>

      <FormActions busy={busy} busyLabel='Saving and checking…' editing={editing} createLabel="Create DNS zone" cancelHref={editing ? `/dns-zones/${encodeURIComponent(zone.id)}` : '/dns-zones'} />
    </form>
  );
}

/** /dns-zones/new */
export function DnsZoneNewPage() {
  return (
    <NewResourcePage title="New DNS zone" base={{ href: '/dns-zones', label: 'DNS zones' }}>
      <ZoneForm />
    </NewResourcePage>
  );
}

/** /dns-zones/{id}/edit */
export function DnsZoneEditPage({ id }: { id: string }) {
  const { data, error } = useApi<DnsZone>(`dns-zones/${encodeURIComponent(id)}`);
  return (
    <EditResourcePage base={{ href: '/dns-zones', label: 'DNS zones' }} id={id} kind="DNS zone" name={data?.properties.zoneName} error={error}>
      {data ? <ZoneForm zone={data} /> : null}
    </EditResourcePage>
  );
}
