/**
 * New notification channel and changing one (admins): name, type (e-mail over SMTP, or a webhook
 * with a preset: certkeeper's signed JSON, Slack, Teams, Discord, Telegram, ntfy), the events it
 * receives, the daily digest, and the type's settings and write-only credentials
 * (docs/notifications.md). A webhook URL is stored encrypted and read back only as
 * `scheme://host/…`; on a change, an empty URL or credential field keeps the stored one. The
 * secret certkeeper generates for a generic webhook is handed to the channel's page, which shows
 * it once.
 */
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { ErrorMessage } from '../components/alert';
import { FieldError, focusFirstInvalid } from '../components/field';
import { EditResourcePage, NewResourcePage, FormActions } from '../components/resource-pages';
import { fieldErrors } from '../field-errors';
import type { Resource } from '../resources';
import { navigate } from '../router';
import { useApi } from '../use-api';

/** A channel as the API shows it: credentials never, only which are set. */
export type Channel = Resource<{ lastDeliveryAt: string | null; credentialsSet: string[]; generatedSecret?: string }, {
  name: string;
  type: 'email' | 'webhook';
  events: string[];
  enabled: boolean;
  settings: Record<string, unknown>;
  digest: { enabled: boolean; hour?: number };
}>;

/** Webhook presets, with what each is for. */
export const PRESETS = [
  ['generic', 'generic — certkeeper\'s JSON, signed with HMAC-SHA256'],
  ['slack', 'Slack incoming webhook'],
  ['teams', 'Microsoft Teams (Workflows webhook)'],
  ['discord', 'Discord webhook'],
  ['telegram', 'Telegram bot'],
  ['ntfy', 'ntfy topic'],
] as const;

/**
 * Secrets certkeeper generated on the last save, by channel id: the channel's page takes its
 * entry (and deletes it), so the secret is shown once and lives only in this tab's memory.
 */
export const generatedSecrets = new Map<string, string>();

interface Values {
  name: string;
  type: 'email' | 'webhook';
  events: string;
  enabled: boolean;
  digest: boolean;
  digestHour: string;
  to: string;
  from: string;
  smtpHost: string;
  smtpPort: string;
  secure: boolean;
  starttls: string;
  subjectPrefix: string;
  smtpUser: string;
  smtpPassword: string;
  preset: string;
  url: string;
  chatId: string;
  secret: string;
  botToken: string;
  token: string;
  /** On a change: `credentials: {}` (a generic webhook gets a new secret; others lose theirs). */
  resetCredentials: boolean;
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

function initial(c?: Channel): Values {
  const s = c?.properties.settings ?? {};
  const email = c?.properties.type === 'email';
  return {
    name: c?.properties.name ?? '',
    type: c?.properties.type ?? 'webhook',
    events: (c?.properties.events ?? ['*']).join('\n'),
    enabled: c?.properties.enabled ?? true,
    digest: c?.properties.digest.enabled ?? false,
    digestHour: String(c?.properties.digest.hour ?? 8),
    to: email && Array.isArray(s.to) ? (s.to as string[]).join(', ') : '',
    from: email ? str(s.from) : '',
    smtpHost: email ? str(s.smtpHost) : '',
    smtpPort: email ? str(s.smtpPort) : '',
    secure: email ? s.secure === true : false,
    starttls: email ? str(s.starttls) || 'required' : 'required',
    subjectPrefix: email ? str(s.subjectPrefix) : '[certkeeper]',
    smtpUser: '',
    smtpPassword: '',
    preset: email ? 'generic' : str(s.preset) || 'generic',
    url: '',
    chatId: email ? '' : str(s.chatId),
    secret: '',
    botToken: '',
    token: '',
    resetCredentials: false,
  };
}

const FIELDS = [
  'name', 'type', 'events', 'enabled', 'digest.hour', 'digest',
  'settings.to', 'settings.from', 'settings.smtpHost', 'settings.smtpPort', 'settings.secure', 'settings.starttls', 'settings.subjectPrefix',
  'settings.preset', 'settings.url', 'settings.chatId', 'settings',
  'credentials.smtpUser', 'credentials.smtpPassword', 'credentials.secret', 'credentials.botToken', 'credentials.token', 'credentials',
] as const;

/** aria-describedby of a field with optional help and maybe an error. */
function described(id: string, error: string | undefined, help = false) {
  const ids = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { ...(ids ? { 'aria-describedby': ids } : {}), 'aria-invalid': !!error };
}

function ChannelForm({ channel }: { channel?: Channel }) {
  const editing = channel !== undefined;
  const [v, setV] = useState<Values>(() => initial(channel));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const text = (k: keyof Values) => (e: Event) => setV((o) => ({ ...o, [k]: (e.target as HTMLInputElement).value }));
  const check = (k: keyof Values) => (e: Event) => setV((o) => ({ ...o, [k]: (e.target as HTMLInputElement).checked }));
  const sameKind = editing && channel.properties.type === v.type && (v.type === 'email' || str(channel.properties.settings.preset) === v.preset);
  const stored = sameKind ? channel.metadata.credentialsSet : [];
  const storedUrl = editing && channel.properties.type === 'webhook' && v.type === 'webhook' ? str(channel.properties.settings.url) : '';

  const submit = async (e: Event) => {
    e.preventDefault();
    setGeneral(null);
    const found: Record<string, string> = {};
    const events = v.events.split(/[\s,]+/).filter(Boolean);
    if (!events.length) found.events = 'list at least one event type, or * for every event';
    let settings: Record<string, unknown>;
    let credentials: Record<string, string> | undefined;
    if (v.type === 'email') {
      const port = v.smtpPort.trim();
      if (port && !/^\d+$/.test(port)) found['settings.smtpPort'] = 'expected a port number 1–65535';
      settings = {
        to: v.to.split(/[,\n]+/).map((a) => a.trim()).filter(Boolean),
        from: v.from.trim(),
        smtpHost: v.smtpHost.trim(),
        ...(port ? { smtpPort: Number(port) } : {}),
        secure: v.secure,
        starttls: v.starttls,
        subjectPrefix: v.subjectPrefix,
      };
      if (v.smtpUser || v.smtpPassword) credentials = { ...(v.smtpUser ? { smtpUser: v.smtpUser } : {}), ...(v.smtpPassword ? { smtpPassword: v.smtpPassword } : {}) };
    } else {
      settings = { preset: v.preset, ...(v.url.trim() ? { url: v.url.trim() } : {}), ...(v.preset === 'telegram' ? { chatId: v.chatId.trim() } : {}) };
      const secret: Record<string, string> | null = v.preset === 'generic' && v.secret ? { secret: v.secret } : v.preset === 'telegram' && v.botToken ? { botToken: v.botToken } : v.preset === 'ntfy' && v.token ? { token: v.token } : null;
      if (secret) credentials = secret;
    }
    if (editing && v.resetCredentials) credentials = {};
    const hour = Number(v.digestHour);
    setErrors(found);
    if (Object.keys(found).length) {
      setGeneral('Correct the fields marked below.');
      focusFirstInvalid();
      return;
    }
    const properties = {
      name: v.name.trim(),
      type: v.type,
      events,
      enabled: v.enabled,
      settings,
      ...(credentials !== undefined ? { credentials } : {}),
      digest: v.digest ? { enabled: true, hour } : { enabled: false },
    };
    setBusy(true);
    try {
      const saved = editing
        ? await api<Channel>('PATCH', `notification-channels/${encodeURIComponent(channel.id)}`, { properties })
        : await api<Channel>('POST', 'notification-channels', { properties });
      if (saved.metadata.generatedSecret) generatedSecrets.set(saved.id, saved.metadata.generatedSecret);
      navigate(`/notification-channels/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      const { byField, other } = fieldErrors(err, FIELDS);
      setErrors(byField);
      setGeneral([errorText(err), ...other].join(' · '));
      setBusy(false);
      focusFirstInvalid();
    }
  };

  const keep = (what: string) => (stored.includes(what) ? 'stored; leave empty to keep' : '');
  return (
    <form class="form form-wide" onSubmit={submit} noValidate>
      <ErrorMessage>{general}</ErrorMessage>
      <label for="nc-name">Name</label>
      <input id="nc-name" required maxLength={200} value={v.name} onInput={text('name')} {...described('nc-name', errors.name)} />
      <FieldError id="nc-name" message={errors.name} />

      <fieldset>
        <legend>Type</legend>
        <label class="choice"><input type="radio" name="nc-type" value="webhook" checked={v.type === 'webhook'} onChange={() => setV((o) => ({ ...o, type: 'webhook' }))} /><span><strong>Webhook</strong> <span class="muted">— an HTTP POST to your endpoint or a chat service</span></span></label>
        <label class="choice"><input type="radio" name="nc-type" value="email" checked={v.type === 'email'} onChange={() => setV((o) => ({ ...o, type: 'email' }))} /><span><strong>E-mail</strong> <span class="muted">— through your SMTP server</span></span></label>
        <FieldError id="nc-type" message={errors.type} />
      </fieldset>

      {v.type === 'webhook' ? (
        <fieldset>
          <legend>Webhook</legend>
          <label for="nc-preset">Preset</label>
          <select id="nc-preset" value={v.preset} onChange={text('preset')} {...described('nc-preset', errors['settings.preset'])}>
            {PRESETS.map(([p, label]) => <option key={p} value={p}>{label}</option>)}
          </select>
          <FieldError id="nc-preset" message={errors['settings.preset']} />
          <label for="nc-url">URL {storedUrl ? <span class="muted">(stored: {storedUrl} — leave empty to keep)</span> : v.preset === 'telegram' ? <span class="muted">(optional; default https://api.telegram.org)</span> : null}</label>
          <input id="nc-url" type="url" spellcheck={false} autoComplete="off" value={v.url} onInput={text('url')}
            placeholder={v.preset === 'ntfy' ? 'https://ntfy.sh/my-topic' : v.preset === 'telegram' ? 'https://api.telegram.org' : 'https://hooks.example.com/certkeeper'}
            {...described('nc-url', errors['settings.url'], true)} />
          <p id="nc-url-help" class="help">Stored encrypted (chat webhook URLs carry their secret); shown afterwards only as scheme and host.</p>
          <FieldError id="nc-url" message={errors['settings.url']} />
          {v.preset === 'telegram' ? (
            <>
              <label for="nc-chat">Chat id</label>
              <input id="nc-chat" required placeholder="-1001234567890 or @channelname" value={v.chatId} onInput={text('chatId')} {...described('nc-chat', errors['settings.chatId'])} />
              <FieldError id="nc-chat" message={errors['settings.chatId']} />
              <label for="nc-bot">Bot token <span class="muted">(write-only{stored.includes('botToken') ? '; stored, leave empty to keep' : ''})</span></label>
              <input id="nc-bot" type="password" autoComplete="off" value={v.botToken} placeholder={keep('botToken')} onInput={text('botToken')} {...described('nc-bot', errors['credentials.botToken'])} />
              <FieldError id="nc-bot" message={errors['credentials.botToken']} />
            </>
          ) : null}
          {v.preset === 'generic' ? (
            <>
              <label for="nc-secret">Signing secret <span class="muted">(write-only, at least 16 characters)</span></label>
              <input id="nc-secret" type="password" autoComplete="off" minLength={16} value={v.secret} placeholder={keep('secret')} onInput={text('secret')} {...described('nc-secret', errors['credentials.secret'], true)} />
              <p id="nc-secret-help" class="help">The HMAC-SHA256 key of the <code>X-Certkeeper-Signature</code> header. {stored.includes('secret') ? 'Leave empty to keep the stored one.' : 'Leave empty and certkeeper generates one, shown once.'}</p>
              <FieldError id="nc-secret" message={errors['credentials.secret']} />
            </>
          ) : null}
          {v.preset === 'ntfy' ? (
            <>
              <label for="nc-token">Access token <span class="muted">(optional, write-only)</span></label>
              <input id="nc-token" type="password" autoComplete="off" value={v.token} placeholder={keep('token')} onInput={text('token')} {...described('nc-token', errors['credentials.token'])} />
              <FieldError id="nc-token" message={errors['credentials.token']} />
            </>
          ) : null}
        </fieldset>
      ) : (
        <fieldset>
          <legend>E-mail</legend>
          <label for="nc-to">To <span class="muted">(addresses, separated by commas)</span></label>
          <input id="nc-to" required spellcheck={false} placeholder="ops@example.com" value={v.to} onInput={text('to')} {...described('nc-to', errors['settings.to'])} />
          <FieldError id="nc-to" message={errors['settings.to']} />
          <label for="nc-from">From</label>
          <input id="nc-from" required spellcheck={false} placeholder="certkeeper <certkeeper@example.com>" value={v.from} onInput={text('from')} {...described('nc-from', errors['settings.from'])} />
          <FieldError id="nc-from" message={errors['settings.from']} />
          <label for="nc-host">SMTP server</label>
          <input id="nc-host" required spellcheck={false} placeholder="smtp.example.com" value={v.smtpHost} onInput={text('smtpHost')} {...described('nc-host', errors['settings.smtpHost'])} />
          <FieldError id="nc-host" message={errors['settings.smtpHost']} />
          <label for="nc-port">Port <span class="muted">(default 587, or 465 with implicit TLS)</span></label>
          <input id="nc-port" type="number" min={1} max={65535} inputMode="numeric" value={v.smtpPort} onInput={text('smtpPort')} {...described('nc-port', errors['settings.smtpPort'])} />
          <FieldError id="nc-port" message={errors['settings.smtpPort']} />
          <label class="choice"><input type="checkbox" checked={v.secure} onChange={check('secure')} /><span>Implicit TLS <span class="muted">(SMTPS, usually port 465)</span></span></label>
          <label for="nc-starttls">STARTTLS <span class="muted">(without implicit TLS)</span></label>
          <select id="nc-starttls" value={v.starttls} disabled={v.secure} onChange={text('starttls')}>
            <option value="required">required — fail unless the server offers it</option>
            <option value="opportunistic">opportunistic — upgrade when offered</option>
            <option value="never">never</option>
          </select>
          <label for="nc-prefix">Subject prefix</label>
          <input id="nc-prefix" maxLength={100} value={v.subjectPrefix} onInput={text('subjectPrefix')} {...described('nc-prefix', errors['settings.subjectPrefix'])} />
          <FieldError id="nc-prefix" message={errors['settings.subjectPrefix']} />
          <label for="nc-user">SMTP user <span class="muted">(optional, write-only; with the password, or neither)</span></label>
          <input id="nc-user" autoComplete="off" value={v.smtpUser} placeholder={keep('smtpUser')} onInput={text('smtpUser')} {...described('nc-user', errors['credentials.smtpUser'])} />
          <FieldError id="nc-user" message={errors['credentials.smtpUser']} />
          <label for="nc-password">SMTP password <span class="muted">(write-only)</span></label>
          <input id="nc-password" type="password" autoComplete="off" value={v.smtpPassword} placeholder={keep('smtpPassword')} onInput={text('smtpPassword')} {...described('nc-password', errors['credentials.smtpPassword'])} />
          <FieldError id="nc-password" message={errors['credentials.smtpPassword']} />
        </fieldset>
      )}
      {stored.length ? (
        <label class="choice">
          <input type="checkbox" checked={v.resetCredentials} onChange={check('resetCredentials')} />
          <span>{v.type === 'webhook' && v.preset === 'generic' ? 'Generate a new signing secret (shown once)' : 'Remove the stored credentials'}</span>
        </label>
      ) : null}
      {errors.credentials || errors.settings ? <p class="field-error">{[errors.settings, errors.credentials].filter(Boolean).join('; ')}</p> : null}

      <label for="nc-events">Events <span class="muted">(one per line or separated by commas)</span></label>
      <textarea id="nc-events" rows={3} spellcheck={false} value={v.events} onInput={text('events')} {...described('nc-events', errors.events, true)} />
      <p id="nc-events-help" class="help">
        <code>*</code> for every event, a family such as <code>certificate.*</code>, or event types such as <code>certificate.expiring</code>,{' '}
        <code>certificate.renewal_failed</code>, <code>certificate.revoked</code> (the vocabulary is in docs/notifications.md).
      </p>
      <FieldError id="nc-events" message={errors.events} />

      <fieldset>
        <legend>Daily digest</legend>
        <label class="choice"><input type="checkbox" checked={v.digest} onChange={check('digest')} /><span>Send one summary a day <span class="muted">— what expires, what fails, the last 24 hours; whatever the events</span></span></label>
        <label for="nc-hour">Hour <span class="muted">(UTC)</span></label>
        <select id="nc-hour" value={v.digestHour} disabled={!v.digest} onChange={text('digestHour')} {...described('nc-hour', errors['digest.hour'] ?? errors.digest)}>
          {Array.from({ length: 24 }, (_, h) => <option key={h} value={String(h)}>{String(h).padStart(2, '0')}:00</option>)}
        </select>
        <FieldError id="nc-hour" message={errors['digest.hour'] ?? errors.digest} />
      </fieldset>

      <label class="choice"><input type="checkbox" checked={v.enabled} onChange={check('enabled')} /><span>Enabled <span class="muted">— a disabled channel receives nothing</span></span></label>

      <FormActions busy={busy} editing={editing} createLabel="Create channel" cancelHref={editing ? `/notification-channels/${encodeURIComponent(channel.id)}` : '/notification-channels'} />
    </form>
  );
}

/** /notification-channels/new */
export function ChannelNewPage() {
  return (
    <NewResourcePage title="New notification channel" base={{ href: '/notification-channels', label: 'Notifications' }}>
      <ChannelForm />
    </NewResourcePage>
  );
}

/** /notification-channels/{id}/edit */
export function ChannelEditPage({ id }: { id: string }) {
  const { data, error } = useApi<Channel>(`notification-channels/${encodeURIComponent(id)}`);
  return (
    <EditResourcePage base={{ href: '/notification-channels', label: 'Notifications' }} id={id} kind="channel" name={data?.properties.name} error={error}>
      {data ? <ChannelForm channel={data} /> : null}
    </EditResourcePage>
  );
}
