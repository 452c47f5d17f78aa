import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { describe, expect, inject, it } from 'vitest';
import { awsTestEnv, createFunction, createRole, fixtureClients, makeZip, motoEndpoint, queueLambdaResults, uniqueName } from '../helpers/aws-fixtures.js';

describe('test fixtures', () => {
  it('makeZip writes an archive that a real unzipper reads back', () => {
    const zip = makeZip({ 'index.py': 'def handler(e, c):\n    return e\n', 'lib/util.js': 'module.exports = 1;\n' });
    const dir = mkdtempSync(join(tmpdir(), 'deploy-mcp-zip-'));
    try {
      writeFileSync(join(dir, 'code.zip'), zip);
      const out = execFileSync('python3', ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(sorted(z.namelist()))\nprint(z.read("lib/util.js").decode(), end="")', join(dir, 'code.zip')], { encoding: 'utf8' });
      expect(out).toBe("['index.py', 'lib/util.js']\nmodule.exports = 1;\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('awsTestEnv and motoEndpoint point at the run-wide moto', () => {
    const endpoint = inject('motoEndpoint');
    expect(motoEndpoint()).toBe(endpoint);
    expect(awsTestEnv(endpoint)).toEqual({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(uniqueName('Ab')).toMatch(/^ab-[0-9a-f]{8}$/);
  });

  it('queueLambdaResults makes the next invocations return the queued payloads', async () => {
    const endpoint = inject('motoEndpoint');
    // A region no other test file uses: the queue is per account and region.
    const region = 'ca-central-1';
    const name = uniqueName('queued');
    await createFunction({ name, roleArn: await createRole(uniqueName('queued-role')), region });
    await queueLambdaResults(endpoint, [{ statusCode: 200, body: 'first' }, 'second'], { region });
    const lambda = fixtureClients(endpoint, region).lambda;
    const invoke = async () => Buffer.from((await lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{"echo":true}') }))).Payload!).toString();
    expect(JSON.parse(await invoke())).toEqual({ statusCode: 200, body: 'first' });
    expect(await invoke()).toBe('second');
    // Queue drained: the no-docker backend echoes the payload.
    expect(JSON.parse(await invoke())).toEqual({ echo: true });
  });
});
