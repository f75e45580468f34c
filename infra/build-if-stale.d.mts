export declare function inputsFingerprint(root?: string): { fingerprint: string; files: number };
export declare function isCurrent(fingerprint: string, root?: string): boolean;
