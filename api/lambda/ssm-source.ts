/** SSM Parameter Store as a `ValueSource`; imported dynamically by runtime.ts only when a parameter is read. */
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ValueSource } from './value-source.js';

/** Reads parameters by name, ten per call, decrypting SecureString parameters. */
export function ssmSource(region?: string): ValueSource {
  const client = new SSMClient(region ? { region } : {});
  return {
    async read(names) {
      const values = new Map<string, string>();
      for (let start = 0; start < names.length; start += 10) {
        const { Parameters } = await client.send(
          new GetParametersCommand({ Names: names.slice(start, start + 10), WithDecryption: true }),
        );
        for (const parameter of Parameters ?? []) {
          if (parameter.Name && parameter.Value !== undefined) values.set(parameter.Name, parameter.Value);
        }
      }
      return values;
    },
  };
}
