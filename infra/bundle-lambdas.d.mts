export declare const ENTRY_POINTS: Record<'http' | 'audit' | 'transition' | 'sweeper' | 'shipper', string>;
export declare function bundleLambdas(options?: { outRoot?: string; quiet?: boolean }): Promise<
  Record<
    string,
    {
      indexBytes: number;
      /** index.mjs and the chunks it imports statically: what a cold start loads. */
      coldStartBytes: number;
      /** Every file the function deploys, lazily loaded chunks included. */
      totalBytes: number;
      packages: string[];
    }
  >
>;
