import { IAMClient } from '@aws-sdk/client-iam';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { overrideEnv } from './env-override';
import { type FaultProxy, type MotoServer, startFaultProxy, startMotoServer } from './moto-server';

/** The AWS environment variables {@link startAwsTestEnv} clears and sets, restored by `stop`. */
const AWS_ENV_KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_IAM',
  'AWS_ENDPOINT_URL_SSO_ADMIN',
  'AWS_ENDPOINT_URL_IDENTITYSTORE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
] as const;

/** The SDK clients the AWS provider takes, all at one endpoint. */
export interface AwsClients {
  iam: IAMClient;
  ssoAdmin: SSOAdminClient;
  identityStore: IdentitystoreClient;
}

/** moto behind the fault proxy, with clients on moto directly; see {@link startAwsTestEnv}. */
export interface AwsTestEnv extends AwsClients {
  readonly moto: MotoServer;
  /** In front of moto: the endpoint the provider's clients use, so tests can inject faults and count calls. */
  readonly proxy: FaultProxy;
  /**
   * New clients through the proxy, for a provider under test (region us-east-1, test credentials, no SDK retries);
   * `stop` destroys them.
   */
  proxiedClients(): AwsClients;
  /** Destroys every client, stops the proxy and moto, and restores the environment variables set. Idempotent. */
  stop(): Promise<void>;
}

/** An SDK client's settings for the emulator at `endpoint`: test credentials, no SDK retries. */
function clientConfig(endpoint: string) {
  return {
    region: 'us-east-1',
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
}

function clientsAt(endpoint: string): AwsClients {
  return {
    iam: new IAMClient(clientConfig(endpoint)),
    ssoAdmin: new SSOAdminClient(clientConfig(endpoint)),
    identityStore: new IdentitystoreClient(clientConfig(endpoint)),
  };
}

/**
 * Starts moto and the fault proxy in front of it, with IAM, Identity Center and identity store clients that read
 * and write moto directly (not through the proxy) to set the scene and check what the provider left there.
 *
 * With `env: true` it also clears every AWS_* variable that could reach a real account and points the SDK's
 * default chain at the emulator (test credentials, us-east-1, AWS_ENDPOINT_URL_<SERVICE> = the proxy), so a
 * provider built as in production finds it the way it would find a real endpoint override; `stop` restores them.
 */
export async function startAwsTestEnv(options: { env?: boolean } = {}): Promise<AwsTestEnv> {
  const moto = await startMotoServer();
  let proxy: FaultProxy;
  try {
    proxy = await startFaultProxy(moto.url);
  } catch (error) {
    await moto.stop();
    throw error;
  }
  const restoreEnv = options.env
    ? overrideEnv({
        ...Object.fromEntries(AWS_ENV_KEYS.map((key) => [key, undefined])),
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        AWS_CONFIG_FILE: '/nonexistent/aws-config',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ENDPOINT_URL_IAM: proxy.url,
        AWS_ENDPOINT_URL_SSO_ADMIN: proxy.url,
        AWS_ENDPOINT_URL_IDENTITYSTORE: proxy.url,
      })
    : undefined;
  const direct = clientsAt(moto.url);
  const clients: AwsClients[] = [direct];
  let stopping: Promise<void> | undefined;
  return {
    moto,
    proxy,
    ...direct,
    proxiedClients() {
      const proxied = clientsAt(proxy.url);
      clients.push(proxied);
      return proxied;
    },
    stop() {
      stopping ??= (async () => {
        for (const set of clients) for (const client of Object.values(set)) client.destroy();
        await proxy.stop();
        await moto.stop();
        restoreEnv?.();
      })();
      return stopping;
    },
  };
}

/** An AWS SDK error as the tests read it. */
export interface AwsRejection {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The error `call` was refused with, or undefined when it succeeded. */
export function rejectionOf(call: Promise<unknown>): Promise<AwsRejection | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => error as AwsRejection,
  );
}
