/** Secrets Manager as a `ValueSource`; imported dynamically by runtime.ts only when secrets are read from it. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ValueSource } from './value-source.js';

/** Reads string secrets by name, in parallel; a secret that does not exist is left out. */
export function secretsManagerSource(region?: string): ValueSource {
  const client = new SecretsManagerClient(region ? { region } : {});
  return {
    async read(names) {
      const values = new Map<string, string>();
      await Promise.all(
        names.map(async (name) => {
          try {
            const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: name }));
            if (SecretString !== undefined) values.set(name, SecretString);
          } catch (error) {
            // By name: the bundles keep no Secrets Manager error classes (infra/bundle-lambdas.mjs).
            if ((error as { name?: unknown }).name !== 'ResourceNotFoundException') throw error;
          }
        }),
      );
      return values;
    },
  };
}
