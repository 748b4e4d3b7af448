/** The AWS SDK clients the provider uses, and which rate each call counts against. */
import { IAMClient } from '@aws-sdk/client-iam';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import type { CloudApi } from '../../domain/policy';

/** The SDK clients the provider uses; each built from the default chain unless given. */
export interface AwsClients {
  iam?: IAMClient;
  ssoAdmin?: SSOAdminClient;
  identityStore?: IdentitystoreClient;
}

/** The API an action belongs to: IAM's `iam:`, or Identity Center's `sso:` and its identity store's `identitystore:`. */
export function awsApiOf(action: string): CloudApi {
  return action.startsWith('iam:') ? 'aws-iam' : 'aws-identity-center';
}

/**
 * Clients from the default credential chain. Endpoints come from the SDK's own `AWS_ENDPOINT_URL_IAM`,
 * `AWS_ENDPOINT_URL_SSO_ADMIN`, `AWS_ENDPOINT_URL_IDENTITYSTORE` and `AWS_ENDPOINT_URL`. IAM is global;
 * Identity Center lives in its home region, so `AWS_REGION` should name that region.
 */
export function defaultClients(given: AwsClients): Required<AwsClients> {
  const config = {
    region: process.env.AWS_REGION || 'us-east-1',
    maxAttempts: 1,
    // Without timeouts a stalled connection would hold the grant job; a timeout is retried like a 5xx.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
  };
  return {
    iam: given.iam ?? new IAMClient(config),
    ssoAdmin: given.ssoAdmin ?? new SSOAdminClient(config),
    identityStore: given.identityStore ?? new IdentitystoreClient(config),
  };
}
