export declare const ENTRY_POINTS: Record<'http' | 'audit' | 'transition' | 'sweeper' | 'shipper', string>;
export declare function bundleLambdas(options?: {
  outRoot?: string;
  quiet?: boolean;
  entryPoints?: Record<string, string>;
}): Promise<
  Record<
    string,
    {
      indexBytes: number;
      /** index.mjs and the chunks it imports statically: what a cold start loads. */
      coldStartBytes: number;
      /** Every file the function deploys, lazily loaded chunks included. */
      totalBytes: number;
      /** Packages (or our own top folders) with code anywhere in the bundle, and in what a cold start loads. */
      packages: string[];
      coldStartPackages: string[];
    }
  >
>;
