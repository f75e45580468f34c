/** A string parameter or secret store, as far as the runtime needs one (SSM or Secrets Manager). */
export interface ValueSource {
  /** Returns the values found, by name; names that do not exist are left out. */
  read(names: string[]): Promise<Map<string, string>>;
}
