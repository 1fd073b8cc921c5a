/**
 * New agent and changing one (admins): name, description, and the names whose http-01 challenges
 * it answers (one per line; `*.example.com` for every name directly under it). After Create, the
 * agent's page opens with the one-time enrolment token and the command line to run on the host.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { ErrorMessage } from '../components/alert';
import { FieldError, focusFirstInvalid } from '../components/field';
import { EditResourcePage, NewResourcePage, FormActions } from '../components/resource-pages';
import { fieldErrors } from '../field-errors';
import type { Agent } from '../resources';
import { navigate } from '../router';
import { useApi } from '../use-api';
import { enrolmentTokens } from './agents';

const FIELDS = ['name', 'description', 'http01Names'] as const;
const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** aria-describedby of a field with help text and maybe an error. */
function described(id: string, error: string | undefined, help = true) {
  const ids = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { ...(ids ? { 'aria-describedby': ids } : {}), 'aria-invalid': !!error };
}

function AgentForm({ agent }: { agent?: Agent }) {
  const p0 = agent?.properties;
  const [name, setName] = useState(p0?.name ?? '');
  const [description, setDescription] = useState(p0?.description ?? '');
  const [http01, setHttp01] = useState((p0?.http01Names ?? []).join('\n'));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setGeneral(null);
    if (!name.trim()) {
      setErrors({ name: 'required: e.g. the host name' });
      setGeneral('Correct the fields marked below.');
      focusFirstInvalid();
      return;
    }
    const names = lines(http01);
    let properties: Record<string, unknown>;
    if (!p0) {
      properties = { name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}), http01Names: names };
    } else {
      properties = {};
      if (name.trim() !== p0.name) properties.name = name.trim();
      if ((description.trim() || null) !== p0.description) properties.description = description.trim() || null;
      if (!same(names, p0.http01Names)) properties.http01Names = names;
      if (!Object.keys(properties).length) {
        navigate(`/agents/${encodeURIComponent(agent!.id)}`);
        return;
      }
    }
    setBusy(true);
    setErrors({});
    try {
      const saved = agent
        ? await api<Agent>('PATCH', `agents/${encodeURIComponent(agent.id)}`, { properties })
        : await api<Agent>('POST', 'agents', { properties });
      if (saved.metadata.enrolmentToken) enrolmentTokens.set(saved.id, saved.metadata.enrolmentToken);
      navigate(`/agents/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      const { byField, other } = fieldErrors(err, FIELDS);
      setErrors(byField);
      setGeneral([errorText(err), ...other].join(' · '));
      setBusy(false);
      focusFirstInvalid();
    }
  };

  return (
    <form class="form" onSubmit={submit} noValidate>
      <ErrorMessage>{general}</ErrorMessage>
      <label for="ag-name">Name</label>
      <input id="ag-name" required maxLength={200} spellcheck={false} autoCapitalize="off" placeholder="web-1" value={name}
        onInput={(e) => setName((e.target as HTMLInputElement).value)} {...described('ag-name', errors.name)} />
      <p id="ag-name-help" class="help">Unique in the tenant; the host name is a good choice. Deployment targets name their agent.</p>
      <FieldError id="ag-name" message={errors.name} />
      <label for="ag-description">Description <span class="muted">(optional)</span></label>
      <input id="ag-description" maxLength={1000} value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} {...described('ag-description', errors.description, false)} />
      <FieldError id="ag-description" message={errors.description} />
      <label for="ag-http01">http-01 names <span class="muted">(optional; one per line)</span></label>
      <textarea id="ag-http01" rows={4} spellcheck={false} autoCapitalize="off" placeholder={'web-1.example.com\n*.shop.example.com'} value={http01}
        onInput={(e) => setHttp01((e.target as HTMLTextAreaElement).value)} {...described('ag-http01', errors.http01Names)} />
      <p id="ag-http01-help" class="help">The agent answers the http-01 challenges of these names on its host (<code>--http01-listen</code> or <code>--http01-webroot</code>), so certkeeper itself need not be reachable from the internet. <code>*.example.com</code> covers every name directly under example.com.</p>
      <FieldError id="ag-http01" message={errors.http01Names} />
      <FormActions busy={busy} editing={agent !== undefined} createLabel="Create agent" cancelHref={agent ? `/agents/${encodeURIComponent(agent.id)}` : '/agents'} />
    </form>
  );
}

/** /agents/new */
export function AgentNewPage() {
  return (
    <NewResourcePage title="New agent" base={{ href: '/agents', label: 'Agents' }}>
      <p class="help">certkeeper shows a one-time enrolment token next, with the command line to run on the host.</p>
      <AgentForm />
    </NewResourcePage>
  );
}

/** /agents/{id}/edit */
export function AgentEditPage({ id }: { id: string }) {
  const { data, error } = useApi<Agent>(`agents/${encodeURIComponent(id)}`);
  return (
    <EditResourcePage base={{ href: '/agents', label: 'Agents' }} id={id} kind="agent" name={data?.properties.name} error={error}>
      {data ? <AgentForm agent={data} /> : null}
    </EditResourcePage>
  );
}
