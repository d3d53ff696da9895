import { PgBackupError } from '../../errors';

/** The parts of an SDK error (AWS SDK v3, gaxios/GCS, Node's net errors) that decide the sentence. */
export interface ErrorFacts {
  name?: string;
  code?: string | number;
  status?: number;
  message?: string;
  causeCode?: string;
}

export function errorFacts(e: unknown): ErrorFacts {
  const x = (e ?? {}) as Record<string, any>;
  const status = x.$metadata?.httpStatusCode ?? x.response?.status ?? (typeof x.code === 'number' ? x.code : undefined) ?? x.status;
  return {
    name: typeof x.name === 'string' ? x.name : undefined,
    code: x.Code ?? x.code ?? x.errno,
    status: typeof status === 'number' ? status : undefined,
    message: typeof x.message === 'string' ? x.message : String(e),
    causeCode: x.cause?.code ?? x.errors?.[0]?.code,
  };
}

const NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'TimeoutError', 'RequestTimeout', 'UND_ERR_SOCKET'];

/**
 * One sentence for a failed remote operation, naming the remote: wrong credentials, missing bucket,
 * clock skew, no network, access denied; anything else keeps the service's own words.
 */
export function describeRemoteError(remoteName: string, action: string, e: unknown, bucket?: string): PgBackupError {
  if (e instanceof PgBackupError) return e;
  const f = errorFacts(e);
  const id = String(f.name ?? '') + ' ' + String(f.code ?? '') + ' ' + String(f.causeCode ?? '');
  const msg = f.message ?? '';
  const where = `remote "${remoteName}"`;
  const fail = (text: string) => new PgBackupError('failed', text, { cause: e, detail: msg });
  if (/RequestTimeTooSkewed|SignatureDoesNotMatch.*time|clock/i.test(id) || /time.*too (skewed|large)|clock skew/i.test(msg)) {
    return fail(`${action} on ${where} failed: this computer's clock differs too much from the server's; correct the system time (NTP) and try again.`);
  }
  if (/InvalidAccessKeyId|SignatureDoesNotMatch|InvalidToken|ExpiredToken|TokenRefreshRequired|CredentialsProviderError|invalid_grant|Could not load the default credentials/i.test(id + ' ' + msg) || f.status === 401) {
    return fail(`${action} on ${where} failed: the credentials were refused or none were found; check AWS_PROFILE / AWS_ACCESS_KEY_ID (S3) or GOOGLE_APPLICATION_CREDENTIALS / gcloud auth application-default login (GCS).`);
  }
  if (/NoSuchBucket/i.test(id) || (f.status === 404 && /bucket/i.test(msg) && !/object|key/i.test(msg))) {
    return fail(`${action} on ${where} failed: the bucket ${bucket ? `"${bucket}" ` : ''}does not exist; check the URL or create the bucket.`);
  }
  if (/AccessDenied|Forbidden|AllAccessDisabled/i.test(id) || f.status === 403) {
    return fail(`${action} on ${where} failed: access denied; the credentials work but may not ${action.toLowerCase()} in this bucket.`);
  }
  if (NETWORK_CODES.some((c) => id.includes(c)) || /socket hang up|connect ECONNREFUSED|getaddrinfo|network|ECONNRESET/i.test(msg)) {
    return fail(`${action} on ${where} failed: the server did not answer (${(f.causeCode ?? f.code ?? msg).toString().trim()}); check the network, the endpoint and that the server is running.`);
  }
  if (/Region is missing|region/i.test(msg) && /missing|must be/i.test(msg)) {
    return fail(`${action} on ${where} failed: no region is set; pass --region, set it on the remote, or set AWS_REGION.`);
  }
  return fail(`${action} on ${where} failed: ${msg.split('\n')[0]}`);
}
