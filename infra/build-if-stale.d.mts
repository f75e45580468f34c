export declare function inputsFingerprint(root?: string): { fingerprint: string; files: number };
export declare function isCurrent(fingerprint: string, root?: string): boolean;
export declare function buildIfStale(options?: { force?: boolean; checkOnly?: boolean }): number;
