/**
 * New deployment target and changing one (admins): name, type (fixed once created), for type
 * `agent` the agent, then the type's settings — the files to write, owner, group and mode, the
 * reload command, the TLS probe, or the agentless type's own settings — and its write-only
 * credentials (deployment-target-types.ts, docs/deployment-targets.md). The server checks every
 * setting on save and names each field at fault; each message is shown beside its field. On a
 * change, credential fields left empty keep the stored values (the API replaces credentials key by
 * key), and a box removes an optional one.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { ErrorMessage } from '../components/alert';
import { FieldError, focusFirstInvalid } from '../components/field';
import { EditResourcePage, NewResourcePage, FormActions } from '../components/resource-pages';
import { TARGET_TYPES, targetTypeSpec, type TargetFieldSpec, type TargetTypeSpec } from '../deployment-target-types';
import { fieldErrors } from '../field-errors';
import type { DeploymentTarget } from '../resources';
import { Link, navigate, useLocation } from '../router';
import { useApi } from '../use-api';
import { useAgents } from '../use-deployment-targets';

const PROBE_PARTS = [
  ['host', 'Host', 'Host name or IP address to connect to.', '127.0.0.1'],
  ['port', 'Port', 'TLS port, 1–65535.', '443'],
  ['serverName', 'Server name (SNI)', 'Optional; default the certificate\'s common name.', 'www.example.com'],
  ['timeoutSeconds', 'Timeout', 'Optional; seconds until the new serial must be served, 1–600 (default 10).', '10'],
] as const;

interface Values {
  name: string;
  type: string;
  agent: string;
  enabled: boolean;
  /** Text of each setting ('' = not set): `probe.host` etc. for the probe, `name=value` lines for maps. */
  settings: Record<string, string>;
  credentials: Record<string, string>;
  /** Stored optional credentials to remove (sent as null). */
  remove: Record<string, boolean>;
}

function settingText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${String(x)}`).join('\n');
  return String(v);
}

function initialSettings(t?: DeploymentTarget): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(t?.properties.settings ?? {})) {
    if (k === 'probe' && v && typeof v === 'object') {
      for (const [pk, pv] of Object.entries(v as Record<string, unknown>)) out[`probe.${pk}`] = settingText(pv);
    } else out[k] = settingText(v);
  }
  return out;
}

function initial(t: DeploymentTarget | undefined, q: URLSearchParams): Values {
  const type = t?.properties.type ?? (targetTypeSpec(q.get('type') ?? '') ? q.get('type')! : 'agent');
  return {
    name: t?.properties.name ?? '',
    type,
    agent: t?.properties.agent ?? q.get('agent') ?? '',
    enabled: t?.properties.enabled ?? true,
    settings: initialSettings(t),
    credentials: {},
    remove: {},
  };
}

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

/** The settings object for the API, with client-side errors for values of the wrong kind. */
function settingsBody(spec: TargetTypeSpec, values: Record<string, string>, errors: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const text = (k: string) => (values[k] ?? '').trim();
  for (const f of spec.settings) {
    const key = `settings.${f.name}`;
    if (f.type === 'probe') {
      if (PROBE_PARTS.every(([part]) => text(`probe.${part}`) === '')) continue;
      const probe: Record<string, unknown> = {};
      for (const [part] of PROBE_PARTS) {
        const raw = text(`probe.${part}`);
        if (raw === '') continue;
        if (part === 'port' || part === 'timeoutSeconds') {
          if (/^\d+$/.test(raw)) probe[part] = Number(raw);
          else errors[`${key}.${part}`] = 'expected a whole number';
        } else probe[part] = raw;
      }
      out[f.name] = probe;
      continue;
    }
    const raw = text(f.name);
    if (raw === '') continue;
    if (f.type === 'integer') {
      if (/^\d+$/.test(raw)) out[f.name] = Number(raw);
      else errors[key] = 'expected a whole number';
    } else if (f.type === 'boolean') out[f.name] = raw === 'true';
    else if (f.type === 'map') {
      const map: Record<string, string> = {};
      for (const line of lines(values[f.name] ?? '')) {
        const eq = line.indexOf('=');
        if (eq < 1) errors[key] = `"${line.slice(0, 40)}" is not name=value`;
        else map[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
      }
      out[f.name] = map;
    } else if (f.type === 'text') out[f.name] = `${raw}\n`;
    else out[f.name] = raw;
  }
  return out;
}

/** The credentials for the API: typed values, removals as null; undefined when there is nothing to send. */
function credentialsBody(spec: TargetTypeSpec, v: Values, editing: boolean): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  for (const f of spec.credentials) {
    const value = v.credentials[f.name] ?? '';
    if (value.trim() !== '') out[f.name] = f.type === 'text' ? `${value.trim()}\n` : value;
    else if (editing && v.remove[f.name]) out[f.name] = null;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Field names as the server reports them (after `properties.`), specific before general. */
function errorKeys(spec: TargetTypeSpec): string[] {
  return [
    ...PROBE_PARTS.map(([part]) => `settings.probe.${part}`),
    ...spec.settings.map((f) => `settings.${f.name}`),
    ...spec.credentials.map((f) => `credentials.${f.name}`),
    'name', 'type', 'agent', 'enabled', 'settings', 'credentials',
  ];
}

/** aria-describedby of a field with help text and maybe an error. */
function described(id: string, error: string | undefined) {
  return { 'aria-describedby': error ? `${id}-help ${id}-error` : `${id}-help`, 'aria-invalid': !!error };
}

function SettingField({ f, value, error, onChange, describedBy }: { f: TargetFieldSpec; value: string; error?: string | undefined; onChange(v: string): void; describedBy?: string | undefined }) {
  const id = `dt-s-${f.name}`;
  const input = (e: Event) => onChange((e.target as HTMLInputElement).value);
  const attrs = described(id, error);
  if (describedBy) Object.assign(attrs, { 'aria-describedby': `${attrs['aria-describedby']} ${describedBy}`, 'aria-invalid': true });
  return (
    <div class="form-field">
      <label for={id}><code>{f.name}</code> <span class="muted">({f.required ? 'required' : 'optional'})</span></label>
      {f.type === 'boolean' ? (
        <select id={id} value={value} onChange={input} {...attrs}>
          <option value="">default (false)</option>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : f.type === 'text' || f.type === 'map' ? (
        <textarea id={id} rows={f.type === 'text' ? 5 : 3} spellcheck={false} autoCapitalize="off" value={value} placeholder={f.type === 'map' ? 'name=value' : f.placeholder ?? ''} onInput={input} {...attrs} />
      ) : f.type === 'integer' ? (
        <input id={id} type="number" inputMode="numeric" min={1} required={f.required} value={value} placeholder={f.placeholder ?? ''} onInput={input} {...attrs} />
      ) : (
        <input id={id} type="text" spellcheck={false} autoComplete="off" autoCapitalize="off" required={f.required} value={value} placeholder={f.placeholder ?? ''} onInput={input} {...attrs} />
      )}
      <p id={`${id}-help`} class="help">{f.description}{f.type === 'map' ? ' One name=value per line.' : ''}</p>
      <FieldError id={id} message={error} />
    </div>
  );
}

function TargetForm({ target }: { target?: DeploymentTarget }) {
  const editing = target !== undefined;
  const { query: q } = useLocation();
  const agents = useAgents();
  const [v, setV] = useState<Values>(() => initial(target, q));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const spec = targetTypeSpec(v.type) ?? TARGET_TYPES[0]!;
  const stored = new Set(target?.metadata.credentialsSet ?? []);
  const setSetting = (k: string, x: string) => setV((o) => ({ ...o, settings: { ...o.settings, [k]: x } }));
  const agentChoice = v.agent || (!editing && agents.list.length === 1 ? agents.list[0]!.id : v.agent);

  const submit = async (e: Event) => {
    e.preventDefault();
    setGeneral(null);
    const found: Record<string, string> = {};
    const settings = settingsBody(spec, v.settings, found);
    const credentials = credentialsBody(spec, v, editing);
    if (!v.name.trim()) found.name = 'required: e.g. "web-1 nginx"';
    if (spec.code === 'agent' && !agentChoice) found.agent = 'choose the agent that writes these files';
    setErrors(found);
    if (Object.keys(found).length) {
      setGeneral('Correct the fields marked below.');
      focusFirstInvalid();
      return;
    }
    const properties: Record<string, unknown> = editing
      ? {
        ...(v.name.trim() !== target.properties.name ? { name: v.name.trim() } : {}),
        ...(spec.code === 'agent' && agentChoice !== target.properties.agent ? { agent: agentChoice } : {}),
        settings,
        ...(credentials ? { credentials } : {}),
        ...(v.enabled !== target.properties.enabled ? { enabled: v.enabled } : {}),
      }
      : {
        name: v.name.trim(),
        type: spec.code,
        ...(spec.code === 'agent' ? { agent: agentChoice } : {}),
        settings,
        ...(credentials ? { credentials } : {}),
        enabled: v.enabled,
      };
    setBusy(true);
    try {
      const saved = editing
        ? await api<DeploymentTarget>('PATCH', `deployment-targets/${encodeURIComponent(target.id)}`, { properties })
        : await api<DeploymentTarget>('POST', 'deployment-targets', { properties });
      navigate(`/deployment-targets/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      const { byField, other } = fieldErrors(err, errorKeys(spec));
      setErrors(byField);
      setGeneral([errorText(err), ...other].join(' · '));
      setBusy(false);
      focusFirstInvalid();
    }
  };

  const plain = spec.settings.filter((f) => f.type !== 'path' && f.type !== 'probe');
  const files = spec.settings.filter((f) => f.type === 'path');
  const probe = spec.settings.find((f) => f.type === 'probe');
  // "Name at least one file" names no single field: shown with the files, the first one marked.
  const filesError = files.length ? errors.settings : undefined;
  return (
    <form class="form form-wide" onSubmit={submit} noValidate>
      <ErrorMessage>{general}</ErrorMessage>
      <label for="dt-name">Name</label>
      <input id="dt-name" required maxLength={200} value={v.name} placeholder="web-1 nginx" onInput={(e) => setV((o) => ({ ...o, name: (e.target as HTMLInputElement).value }))} {...described('dt-name', errors.name)} />
      <p id="dt-name-help" class="help">Auto certificates list their targets by name.</p>
      <FieldError id="dt-name" message={errors.name} />

      {editing ? (
        <p><span class="muted">Type</span> <strong>{spec.title}</strong> <span class="muted">(fixed; create another target for another type)</span></p>
      ) : (
        <>
          <label for="dt-type">Type</label>
          <select id="dt-type" value={v.type} onChange={(e) => {
            const type = (e.target as HTMLSelectElement).value;
            setV((o) => ({ ...o, type, settings: {}, credentials: {}, remove: {} }));
            setErrors({});
          }} {...described('dt-type', errors.type)}>
            {TARGET_TYPES.map((t) => <option key={t.code} value={t.code}>{t.title} ({t.code})</option>)}
          </select>
          <FieldError id="dt-type" message={errors.type} />
        </>
      )}
      <p id="dt-type-help" class="help">{spec.summary}</p>

      {spec.code === 'agent' ? (
        <>
          <label for="dt-agent">Agent</label>
          {agents.loaded && agents.list.length === 0 ? (
            <p class="alert alert-info" id="dt-agent">No agent yet: <Link href="/agents/new">create one</Link> first.</p>
          ) : (
            <select id="dt-agent" value={agentChoice} required onChange={(e) => setV((o) => ({ ...o, agent: (e.target as HTMLSelectElement).value }))} {...described('dt-agent', errors.agent)}>
              {!agentChoice ? <option value="">— choose —</option> : null}
              {agents.list.map((a) => <option key={a.id} value={a.id}>{a.properties.name} — {a.metadata.state.toLowerCase()}{a.metadata.hostname ? ` (${a.metadata.hostname})` : ''}</option>)}
            </select>
          )}
          <p id="dt-agent-help" class="help">The agent writes the files on its host and reloads the service.</p>
          <FieldError id="dt-agent" message={errors.agent} />
        </>
      ) : null}

      {files.length ? (
        <fieldset aria-describedby="dt-files-help">
          <legend>Files {spec.code === 'agent' ? 'on the agent\'s host' : 'on the server'}</legend>
          <p id="dt-files-help" class="help">Absolute paths; at least one. No two may name the same file. Written atomically (temporary file, then rename), the previous file kept until the deployment is known good.</p>
          {filesError ? <p id="dt-files-error" class="field-error" data-field-error="settings">{filesError}</p> : null}
          {files.map((f, i) => (
            <SettingField key={`${spec.code}-${f.name}`} f={f} value={v.settings[f.name] ?? ''} error={errors[`settings.${f.name}`]}
              describedBy={i === 0 && filesError ? 'dt-files-error' : undefined} onChange={(x) => setSetting(f.name, x)} />
          ))}
        </fieldset>
      ) : null}

      {plain.length ? (
        <fieldset>
          <legend>{files.length ? 'Mode and reload' : `Settings of ${spec.code}`}</legend>
          {plain.map((f) => (
            <SettingField key={`${spec.code}-${f.name}`} f={f} value={v.settings[f.name] ?? ''} error={errors[`settings.${f.name}`]} onChange={(x) => setSetting(f.name, x)} />
          ))}
          {!files.length && errors.settings ? <p class="field-error" data-field-error="settings">{errors.settings}</p> : null}
        </fieldset>
      ) : null}

      {probe ? (
        <fieldset aria-describedby="dt-probe-help">
          <legend>Probe <span class="muted">(optional)</span></legend>
          <p id="dt-probe-help" class="help">{probe.description} Leave empty for no probe.</p>
          {errors['settings.probe'] ? <p class="field-error" data-field-error="settings.probe">{errors['settings.probe']}</p> : null}
          {PROBE_PARTS.map(([part, label, help, placeholder]) => {
            const id = `dt-s-probe-${part}`;
            const error = errors[`settings.probe.${part}`];
            const numeric = part === 'port' || part === 'timeoutSeconds';
            return (
              <div key={part} class="form-field">
                <label for={id}>{label} <span class="muted">(<code>probe.{part}</code>)</span></label>
                {numeric ? (
                  <input id={id} type="number" inputMode="numeric" min={1} value={v.settings[`probe.${part}`] ?? ''} placeholder={placeholder}
                    onInput={(e) => setSetting(`probe.${part}`, (e.target as HTMLInputElement).value)} {...described(id, error)} />
                ) : (
                  <input id={id} type="text" spellcheck={false} autoComplete="off" autoCapitalize="off" value={v.settings[`probe.${part}`] ?? ''} placeholder={placeholder}
                    onInput={(e) => setSetting(`probe.${part}`, (e.target as HTMLInputElement).value)} {...described(id, error)} />
                )}
                <p id={`${id}-help`} class="help">{help}</p>
                <FieldError id={id} message={error} />
              </div>
            );
          })}
        </fieldset>
      ) : null}

      <fieldset>
        <legend>Credentials <span class="muted">(write-only: stored encrypted, never shown again)</span></legend>
        {spec.credentials.length === 0 ? <p class="help">{spec.code} takes no credentials.</p> : null}
        {stored.size ? <p class="help">Stored: {[...stored].join(', ')}. Leave a field empty to keep its value; anything typed replaces it.</p> : null}
        {spec.credentials.map((f) => {
          const id = `dt-c-${f.name}`;
          const error = errors[`credentials.${f.name}`];
          const isStored = stored.has(f.name);
          const removed = !!v.remove[f.name];
          const onInput = (e: Event) => setV((o) => ({ ...o, credentials: { ...o.credentials, [f.name]: (e.target as HTMLInputElement).value } }));
          return (
            <div key={`${spec.code}-${f.name}`} class="form-field">
              <label for={id}><code>{f.name}</code> <span class="muted">({f.required ? 'required' : 'optional'})</span></label>
              {f.type === 'text' ? (
                <textarea id={id} rows={5} spellcheck={false} autoComplete="off" autoCapitalize="off" class="secret-text" value={v.credentials[f.name] ?? ''} disabled={removed}
                  placeholder={isStored ? 'stored; leave empty to keep' : f.placeholder ?? ''} onInput={onInput} {...described(id, error)} />
              ) : (
                <input id={id} type="password" autoComplete="new-password" spellcheck={false} value={v.credentials[f.name] ?? ''} disabled={removed}
                  placeholder={isStored ? 'stored; leave empty to keep' : ''} onInput={onInput} {...described(id, error)} />
              )}
              <p id={`${id}-help`} class="help">{f.description}</p>
              <FieldError id={id} message={error} />
              {isStored && !f.required ? (
                <label class="choice">
                  <input type="checkbox" checked={removed} onChange={(e) => setV((o) => ({ ...o, remove: { ...o.remove, [f.name]: (e.target as HTMLInputElement).checked } }))} />
                  <span>Remove the stored {f.name}</span>
                </label>
              ) : null}
            </div>
          );
        })}
        {errors.credentials ? <p class="field-error" data-field-error="credentials">{errors.credentials}</p> : null}
      </fieldset>

      <label class="choice">
        <input type="checkbox" checked={v.enabled} onChange={(e) => setV((o) => ({ ...o, enabled: (e.target as HTMLInputElement).checked }))} />
        <span>Enabled <span class="muted">— new versions are deployed here</span></span>
      </label>

      <FormActions busy={busy} editing={editing} createLabel="Create deployment target" cancelHref={editing ? `/deployment-targets/${encodeURIComponent(target.id)}` : '/deployment-targets'} />
    </form>
  );
}

/** /deployment-targets/new */
export function TargetNewPage() {
  return (
    <NewResourcePage title="New deployment target" base={{ href: '/deployment-targets', label: 'Deployment targets' }}>
      <TargetForm />
    </NewResourcePage>
  );
}

/** /deployment-targets/{id}/edit */
export function TargetEditPage({ id }: { id: string }) {
  const { data, error } = useApi<DeploymentTarget>(`deployment-targets/${encodeURIComponent(id)}`);
  return (
    <EditResourcePage base={{ href: '/deployment-targets', label: 'Deployment targets' }} id={id} kind="deployment target" name={data?.properties.name} error={error}>
      {data ? <TargetForm target={data} /> : null}
    </EditResourcePage>
  );
}
