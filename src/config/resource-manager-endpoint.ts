/**
 * Where Cloud Resource Manager is reached when not at Google's default endpoint. Read from
 * `GCP_RESOURCE_MANAGER_ENDPOINT`, so it lives with the settings: the environment check refuses a bad value at
 * start-up, and the GCP provider reads the same value with the same rules when it is built.
 */
export interface ResourceManagerEndpoint {
  host: string;
  port: number;
  protocol: 'https' | 'http';
}

/**
 * Parses `host:port`, `https://host[:port]` or `http://host:port`.
 * @throws Error saying what is expected when the value has a path, credentials or an unknown scheme.
 */
export function parseResourceManagerEndpoint(value: string): ResourceManagerEndpoint {
  const expected =
    'GCP_RESOURCE_MANAGER_ENDPOINT must be host:port, https://host:port, or http://host:port for a local endpoint, e.g. "cloudresourcemanager.googleapis.com:443" or "http://127.0.0.1:8085"';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`${expected}; got "${value}"`);
  }
  const protocol = url.protocol === 'http:' ? 'http' : url.protocol === 'https:' ? 'https' : undefined;
  if (protocol === undefined || url.username || url.password || url.search || url.hash || url.pathname !== '/') {
    throw new Error(`${expected}; got "${value}"`);
  }
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}
