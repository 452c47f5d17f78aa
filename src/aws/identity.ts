import type { AwsClients } from './clients.js';

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
  /** The region the clients target (STS does not report one). */
  region: string;
}

/** Who the credentials resolve to (`sts:GetCallerIdentity`, which needs no IAM permission). */
export async function callerIdentity(clients: AwsClients): Promise<CallerIdentity> {
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = await clients.sts();
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    if (!out.Account || !out.Arn) throw new Error('GetCallerIdentity returned no account or ARN');
    return { account: out.Account, arn: out.Arn, userId: out.UserId ?? '', region: clients.target.region };
  } catch (err) {
    throw clients.error(err, { action: 'sts:GetCallerIdentity' });
  }
}
