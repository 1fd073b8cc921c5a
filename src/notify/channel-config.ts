/**
 * Settings and credentials of notification channels: what each type and preset takes, checked at
 * the edge with every bad field listed, and split into what may be shown (settings) and what is
 * sealed in the key vault (credentials). A webhook URL is sealed too, because chat webhooks
 * (Slack, Discord, Teams) carry their secret in the URL; the settings keep a redacted form.
 */
import { DomainError, type FieldError } from '../domain-error.js';
import type { EmailTarget, StartTls } from './email-notifier.js';
import { generateWebhookSecret } from './webhook-signature.js';
import { TELEGRAM_API_URL, WEBHOOK_PRESETS, type WebhookPreset, type WebhookTarget } from './webhook-presets.js';

/** The channel types. */
export const CHANNEL_TYPES = ['email', 'webhook'] as const;
/** One channel type. */
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** Settings as written by the API (every field optional; which apply depends on the type). */
export interface SettingsInput {
  to?: string[];
  from?: string;
  smtpHost?: string;
  smtpPort?: number;
  secure?: boolean;
  starttls?: StartTls;
  subjectPrefix?: string;
  url?: string;
  preset?: WebhookPreset;
  chatId?: string;
}

/** Credentials as written by the API. */
export interface CredentialsInput {
  smtpUser?: string;
  smtpPassword?: string;
  secret?: string;
  botToken?: string;
  token?: string;
}

/** What is sealed in the vault: the credentials and, for webhooks, the full URL. */
export interface SealedCredentials extends CredentialsInput {
  url?: string;
}

/** A channel's checked configuration. */
export interface ChannelConfig {
  type: ChannelType;
  /** Shown by the API. */
  settings: Record<string, unknown>;
  /** Sealed. */
  credentials: SealedCredentials;
  /** Set when certkeeper generated the webhook secret: shown once, in the response to this request. */
  generatedSecret?: string;
}

const EMAIL_SETTINGS = ['to', 'from', 'smtpHost', 'smtpPort', 'secure', 'starttls', 'subjectPrefix'];
const WEBHOOK_SETTINGS = ['url', 'preset', 'chatId'];
const CREDENTIALS_OF: Record<string, string[]> = {
  email: ['smtpUser', 'smtpPassword'],
  'webhook/generic': ['secret'],
  'webhook/telegram': ['botToken'],
  'webhook/ntfy': ['token'],
};

const EMAIL_RE = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+$/;
const HOST_RE = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** An e-mail address, or `Display Name <address>`. */
function isMailbox(s: string): boolean {
  const m = /^\s*(?:"?[^"<>\r\n]*"?\s*)?<([^<>]+)>\s*$/.exec(s);
  return EMAIL_RE.test(m ? m[1]! : s.trim());
}

function isHost(s: string): boolean {
  const bare = s.replace(/^\[|\]$/g, '');
  return HOST_RE.test(bare) || /^[0-9a-fA-F:.]+$/.test(bare) && bare.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(bare);
}

/** The URL as the API shows it: scheme and host, with `/…` standing for a path or query that may hold a token. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && !u.search && !u.hash ? u.origin : `${u.origin}/…`;
  } catch {
    return '…';
  }
}

function checkUrl(url: string, field: string, errors: FieldError[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    errors.push({ field, message: 'not a valid absolute URL' });
    return false;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    errors.push({ field, message: 'expected an https:// URL' });
    return false;
  }
  if (u.username || u.password) {
    errors.push({ field, message: 'put no user or password in the URL; use credentials' });
    return false;
  }
  return true;
}

/**
 * Checks a channel's type, settings and credentials, merging a change (`existing`) the way PATCH
 * does: a given `settings` or `credentials` object replaces the stored one, except that a webhook
 * URL left out (or sent back in its redacted form) is kept. A `generic` webhook without a secret
 * gets a generated one. Throws `validation_failed` listing every bad field.
 */
export function resolveChannelConfig(
  input: { type?: ChannelType; settings?: SettingsInput; credentials?: CredentialsInput },
  existing?: { type: ChannelType; settings: Record<string, unknown>; credentials: SealedCredentials },
): ChannelConfig {
  const errors: FieldError[] = [];
  const type = input.type ?? existing?.type;
  if (!type || !CHANNEL_TYPES.includes(type)) {
    throw new DomainError('validation_failed', `properties.type must be one of ${CHANNEL_TYPES.join(', ')}`, [{ field: 'properties.type', message: 'required: email or webhook' }]);
  }
  const sameType = existing?.type === type;
  if (existing && !sameType && !input.settings) {
    throw new DomainError('validation_failed', `changing the type to ${type} needs the settings of a ${type} channel`, [{ field: 'properties.settings', message: `required when the type changes to ${type}` }]);
  }
  const settingsIn: SettingsInput = input.settings ?? (sameType ? (existing!.settings as SettingsInput) : {});
  const credsIn: CredentialsInput = input.credentials ?? (sameType ? stripUrl(existing!.credentials) : {});
  const allowedSettings = type === 'email' ? EMAIL_SETTINGS : WEBHOOK_SETTINGS;
  for (const k of Object.keys(settingsIn)) {
    if (!allowedSettings.includes(k)) errors.push({ field: `properties.settings.${k}`, message: `does not apply to a ${type} channel; ${type} settings: ${allowedSettings.join(', ')}` });
  }

  let settings: Record<string, unknown>;
  const credentials: SealedCredentials = {};
  let generatedSecret: string | undefined;
  let credentialKeys: string[];
  if (type === 'email') {
    credentialKeys = CREDENTIALS_OF.email!;
    const s = settingsIn;
    const to = s.to ?? [];
    if (to.length === 0) errors.push({ field: 'properties.settings.to', message: 'required: one or more recipient addresses' });
    to.forEach((a, i) => { if (!isMailbox(a)) errors.push({ field: `properties.settings.to[${i}]`, value: a, message: 'not an e-mail address' }); });
    if (!s.from) errors.push({ field: 'properties.settings.from', message: 'required: the sender address, e.g. "certkeeper <certkeeper@example.com>"' });
    else if (!isMailbox(s.from)) errors.push({ field: 'properties.settings.from', value: s.from, message: 'not an e-mail address' });
    if (!s.smtpHost) errors.push({ field: 'properties.settings.smtpHost', message: 'required: the SMTP server (host name or IP address)' });
    else if (!isHost(s.smtpHost)) errors.push({ field: 'properties.settings.smtpHost', value: s.smtpHost, message: 'not a host name or IP address' });
    const secure = s.secure ?? false;
    const port = s.smtpPort ?? (secure ? 465 : 587);
    if (!Number.isInteger(port) || port < 1 || port > 65535) errors.push({ field: 'properties.settings.smtpPort', value: String(port), message: 'expected a port number 1–65535' });
    const starttls = s.starttls ?? 'required';
    if (!['required', 'opportunistic', 'never'].includes(starttls)) errors.push({ field: 'properties.settings.starttls', value: String(starttls), message: 'expected required, opportunistic or never' });
    settings = { to, from: s.from, smtpHost: s.smtpHost, smtpPort: port, secure, starttls, subjectPrefix: s.subjectPrefix ?? '[certkeeper]' };
    if ((credsIn.smtpUser === undefined) !== (credsIn.smtpPassword === undefined)) {
      errors.push({ field: `properties.credentials.${credsIn.smtpUser === undefined ? 'smtpUser' : 'smtpPassword'}`, message: 'smtpUser and smtpPassword go together' });
    }
    if (credsIn.smtpUser !== undefined) {
      credentials.smtpUser = credsIn.smtpUser;
      credentials.smtpPassword = credsIn.smtpPassword ?? '';
    }
  } else {
    const preset = settingsIn.preset ?? 'generic';
    if (!WEBHOOK_PRESETS.includes(preset)) errors.push({ field: 'properties.settings.preset', value: String(preset), message: `expected one of ${WEBHOOK_PRESETS.join(', ')}` });
    credentialKeys = CREDENTIALS_OF[`webhook/${preset}`] ?? [];
    // The URL: a new one, or the stored one when left out or sent back redacted.
    const kept = sameType ? existing!.credentials.url : undefined;
    let url = settingsIn.url;
    if (url === undefined || (kept !== undefined && url === redactUrl(kept))) url = kept;
    if (url === undefined && preset === 'telegram') url = TELEGRAM_API_URL;
    if (url === undefined) errors.push({ field: 'properties.settings.url', message: preset === 'ntfy' ? 'required: the topic URL, e.g. https://ntfy.sh/my-topic' : 'required: the URL to POST to' });
    else if (checkUrl(url, 'properties.settings.url', errors)) credentials.url = url;
    if (preset === 'telegram') {
      if (!settingsIn.chatId) errors.push({ field: 'properties.settings.chatId', message: 'required for telegram: the chat id (e.g. -1001234567890 or @channelname)' });
      if (!credsIn.botToken) errors.push({ field: 'properties.credentials.botToken', message: 'required for telegram: the bot token from @BotFather' });
    } else if (settingsIn.chatId !== undefined) {
      errors.push({ field: 'properties.settings.chatId', message: 'applies to the telegram preset only' });
    }
    settings = { preset, url: url === undefined ? null : redactUrl(url), ...(preset === 'telegram' ? { chatId: settingsIn.chatId } : {}) };
    if (preset === 'generic') {
      if (credsIn.secret !== undefined && credsIn.secret.length < 16) errors.push({ field: 'properties.credentials.secret', message: 'use at least 16 characters (or leave it out and certkeeper generates one)' });
      credentials.secret = credsIn.secret ?? (generatedSecret = generateWebhookSecret());
    }
    if (credsIn.botToken !== undefined && preset === 'telegram') credentials.botToken = credsIn.botToken;
    if (credsIn.token !== undefined && preset === 'ntfy') credentials.token = credsIn.token;
  }
  // Stored credentials that no longer apply (after a preset change) are dropped without complaint.
  for (const k of Object.keys(input.credentials ?? {})) {
    if (!credentialKeys.includes(k)) {
      errors.push({ field: `properties.credentials.${k}`, message: credentialKeys.length ? `does not apply here; this channel takes ${credentialKeys.join(', ')}` : 'this channel takes no credentials' });
    }
  }
  if (errors.length) throw new DomainError('validation_failed', `the notification channel has ${errors.length} invalid field(s): ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
  return { type, settings, credentials, ...(generatedSecret ? { generatedSecret } : {}) };
}

function stripUrl(c: SealedCredentials): CredentialsInput {
  const { url: _url, ...rest } = c;
  return rest;
}

/** The delivery target of an e-mail channel. */
export function emailTarget(settings: Record<string, unknown>, credentials: SealedCredentials): EmailTarget {
  const s = settings as unknown as Omit<EmailTarget, 'smtpUser' | 'smtpPassword'>;
  return {
    to: s.to, from: s.from, smtpHost: s.smtpHost, smtpPort: s.smtpPort, secure: s.secure, starttls: s.starttls, subjectPrefix: s.subjectPrefix,
    ...(credentials.smtpUser !== undefined ? { smtpUser: credentials.smtpUser, smtpPassword: credentials.smtpPassword ?? '' } : {}),
  };
}

/** The delivery target of a webhook channel. */
export function webhookTarget(settings: Record<string, unknown>, credentials: SealedCredentials): WebhookTarget {
  const preset = settings.preset as WebhookPreset;
  return {
    preset,
    url: credentials.url ?? (preset === 'telegram' ? TELEGRAM_API_URL : ''),
    ...(credentials.secret !== undefined ? { secret: credentials.secret } : {}),
    ...(credentials.botToken !== undefined ? { botToken: credentials.botToken } : {}),
    ...(credentials.token !== undefined ? { token: credentials.token } : {}),
    ...(typeof settings.chatId === 'string' ? { chatId: settings.chatId } : {}),
  };
}
