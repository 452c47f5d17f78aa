/** One AWS call with its IAM action named, so a failure says what permission or step is missing. */
import type { AwsClients } from '../aws/clients.js';
import { AwsError, describeAwsError } from '../aws/errors.js';

export async function awsCall<T>(clients: AwsClients, action: string, resource: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AwsError) throw err;
    if ((err as Error)?.name === 'AbortError') throw err;
    throw clients.error(err, { action, ...(resource ? { resource } : {}) });
  }
}

/** True when `err` (raw or translated) means "this does not exist". */
export function isNotFound(err: unknown): boolean {
  if (err instanceof AwsError) return err.problem.kind === 'not-found';
  return describeAwsError(err, { action: 'unknown' }).kind === 'not-found';
}

/** The AWS error code of a translated or raw error. */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof AwsError) return err.problem.code;
  return describeAwsError(err, { action: 'unknown' }).code;
}

/** A person-readable message for any error (translated AWS errors keep their next step). */
export function errorMessage(err: unknown): string {
  if (err instanceof AwsError) return `${err.problem.message} Next step: ${err.problem.nextStep}.`;
  return (err as Error)?.message ?? String(err);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  const err = new Error('The operation was cancelled.');
  err.name = 'AbortError';
  return err;
}
