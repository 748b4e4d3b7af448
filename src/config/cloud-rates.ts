/** `settings.cloudRates`: how fast the bot calls each cloud API, its defaults (with their sources) and its schema. */
import { z } from 'zod';
import { CLOUD_APIS, type CloudApi, type CloudRate } from '../domain/policy';

/**
 * What each cloud publishes about the rate it accepts from one caller, and the default the bot paces to. A cloud
 * that publishes no number gets a conservative guess, said as such; operators raise it in the policy file.
 */
export const DEFAULT_CLOUD_RATES: Readonly<Record<CloudApi, CloudRate>> = {
  // AWS publishes no request rate for IAM: "API calls from the AWS Management Console, the AWS CLI, and
  // applications contribute to a maximum rate limit for your AWS account" and "You can't increase the AWS service
  // rate limits" (AWS re:Post Knowledge Center, "How do I resolve API throttling or 'Rate exceeded' errors for IAM
  // and AWS STS?"); the "IAM and AWS STS quotas" page lists sizes and counts, no rates, and AWS Support told one
  // user "there is no documented API call limit for IAM" (cloud-custodian/cloud-custodian issue #6351). Unknown,
  // so a guess: 10 a second, reads and writes together (a grant or revocation is 3 to 8 calls), shared with every
  // other caller in the account; a throttled answer slows it further by itself.
  'aws-iam': { perSecond: 10, burst: 10 },
  // "IAM Identity Center APIs have a collective throttle limit of 20 transactions per second (TPS)" and "Identity
  // Store APIs have a throttle limit of 20 TPS per API ... per Identity Store instance" (AWS IAM Identity Center
  // User Guide, "IAM Identity Center quotas", throttle limits). The instance is shared with the console and other
  // tools, so the bot takes half.
  'aws-identity-center': { perSecond: 10, burst: 10 },
  // Azure Resource Manager's token buckets, per subscription, per principal and per operation type: writes and
  // deletes 200 tokens refilled 10 a second, reads 250 refilled 25 a second (Microsoft Learn, "Understand how Azure
  // Resource Manager throttles requests", regional throttling and token bucket algorithm). This is the write and
  // delete bucket; reads are paced at it too (see docs/clouds/azure.md).
  'azure-arm': { perSecond: 10, burst: 200 },
  // "Write operations ... Up to 10 requests" a second and reads likewise, per API consumer project (Google Cloud,
  // Resource Manager "Quotas and limits", project limits). Each paced call is one read-modify-write of an allow
  // policy: at most one read and one write, so 10 a second keeps both within their quota.
  'gcp-resource-manager': { perSecond: 10, burst: 10 },
};

const cloudRateSchema = z
  .object({
    perSecond: z
      .number({ error: 'must be a number of calls per second, such as 10 or 0.5' })
      .positive({ error: 'must be a positive number of calls per second, such as 10 or 0.5' })
      .optional(),
    burst: z
      .number({ error: 'must be a whole number of calls, at least 1' })
      .int({ error: 'must be a whole number of calls, at least 1' })
      .min(1, { error: 'must be at least 1 (calls that may go at once)' })
      .optional(),
  })
  .strict();

/**
 * `settings.cloudRates`: a map from cloud API to `{perSecond, burst}`; a key left out keeps its API's default, and
 * the result always names every API.
 */
export const cloudRatesSchema = z
  .record(z.string(), cloudRateSchema)
  .default({})
  .superRefine((rates, ctx) => {
    for (const name of Object.keys(rates)) {
      if (!isCloudApi(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `"${name}" is not a cloud API the bot paces; use one of ${CLOUD_APIS.join(', ')}`,
        });
      }
    }
  })
  .transform((rates): Record<CloudApi, CloudRate> => {
    const merged = { ...DEFAULT_CLOUD_RATES };
    for (const api of CLOUD_APIS) merged[api] = { ...DEFAULT_CLOUD_RATES[api], ...withoutUndefined(rates[api]) };
    return merged;
  });

function isCloudApi(name: string): name is CloudApi {
  return (CLOUD_APIS as readonly string[]).includes(name);
}

function withoutUndefined(rate: { perSecond?: number | undefined; burst?: number | undefined } | undefined) {
  return {
    ...(rate?.perSecond !== undefined && { perSecond: rate.perSecond }),
    ...(rate?.burst !== undefined && { burst: rate.burst }),
  };
}
