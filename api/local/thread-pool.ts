/**
 * Sizes libuv's thread pool for the local broker before anything uses it. The file bunker fsyncs every object it
 * writes, and each fsync holds one of the pool's threads (4 by default) until the disk answers: with 4 the
 * bunker took 730–1,200 objects/s in windows of 64 on the 2-core VM, with 16 about 3,000–4,700/s. Imported first
 * by the local entry points (`npm start`, `npm run bench`), so it runs before the pool starts; an explicit
 * UV_THREADPOOL_SIZE wins. Lambda functions ship to S3 and never load this.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
