/**
 * The acme-dns HTTP API (https://github.com/joohoi/acme-dns#update-endpoint): `POST /update` with
 * `X-Api-User` / `X-Api-Key` and `{ subdomain, txt }`, answered `{ txt }` or `{ error }`; and
 * `GET /health`. There is no read and no delete.
 */
import type { ProviderHttp, ProviderRequest, ProviderResponse } from '../provider-http.js';

/** The raw acme-dns API for one registration. */
export class AcmeDnsClient {
  constructor(
    private readonly http: ProviderHttp,
    private readonly apiUrl: string,
    private readonly username: string,
    private readonly password: string,
  ) {}

  /** POST /update: sets `txt` on `subdomain`, replacing the older of its two values. */
  async update(subdomain: string, txt: string, zone: string, signal?: AbortSignal): Promise<void> {
    const { req, res } = await this.post(subdomain, txt, zone, 'update the TXT value', signal);
    if (res.status !== 200) throw this.http.error(req, res, errorText(res));
  }

  /**
   * POST /update with a TXT value acme-dns must refuse (not 43 characters): acme-dns checks the
   * credentials, the subdomain and the allowed source addresses first (401 `forbidden`), then the
   * value (400 `bad_txt`) — so `bad_txt` proves the registration works and nothing was written.
   */
  async probeCredentials(subdomain: string, zone: string, signal?: AbortSignal): Promise<void> {
    const { req, res } = await this.post(subdomain, '', zone, 'check the credentials', signal);
    if (res.status === 400 && errorCode(res) === 'bad_txt') return;
    throw this.http.error(req, res, res.status === 200 ? 'acme-dns accepted an empty TXT value (expected "bad_txt")' : errorText(res));
  }

  /** GET /health. */
  async health(zone: string, signal?: AbortSignal): Promise<void> {
    const req: ProviderRequest = { method: 'GET', url: new URL(`${this.apiUrl}/health`), zone, what: 'check the server health', signal };
    const res = await this.http.send(req);
    if (res.status !== 200) throw this.http.error(req, res, errorText(res));
  }

  private async post(subdomain: string, txt: string, zone: string, what: string, signal?: AbortSignal): Promise<{ req: ProviderRequest; res: ProviderResponse }> {
    const req: ProviderRequest = {
      method: 'POST',
      url: new URL(`${this.apiUrl}/update`),
      headers: { 'x-api-user': this.username, 'x-api-key': this.password, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ subdomain, txt }),
      zone,
      what,
      signal,
    };
    return { req, res: await this.http.send(req) };
  }
}

function errorCode(res: ProviderResponse): string | undefined {
  try {
    const body = JSON.parse(res.text) as { error?: unknown };
    return typeof body.error === 'string' ? body.error : undefined;
  } catch {
    return undefined;
  }
}

/** acme-dns's `{ "error": "forbidden" }`, with what it means. */
function errorText(res: ProviderResponse): string {
  const code = errorCode(res);
  if (code === 'forbidden') return 'forbidden (wrong username or password, a subdomain that is not this registration\'s, or a source address outside its allowfrom)';
  return code ?? res.text.slice(0, 200);
}
