export declare const ENTRY_POINTS: Record<'http' | 'transition' | 'sweeper' | 'shipper', string>;
export declare function bundleLambdas(options?: {
  outRoot?: string;
  quiet?: boolean;
}): Promise<Record<string, { indexBytes: number; totalBytes: number; packages: string[] }>>;
