const REDACTED = '***';

/**
 * A broker URL safe to record: the password is replaced, the rest kept so the address stays
 * useful (`amqp://app:***@rabbit:5672/vhost`). Input that is not a URL is returned with anything
 * that looks like `user:password@` masked, because a half-parsed URL can still hold a secret.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = REDACTED;
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@\s]*):[^@/\s]*@/g, `//$1:${REDACTED}@`);
  }
}
