/* Times ISA-L's Reed-Solomon encode (ec_encode_data, Cauchy matrix), single thread, for
 * scripts/bench-erasure.ts, which runs it once per round between its own runs so that both
 * see the same machine load: prints the GB/s of data shards encoded in one timed run.
 * Like PeerLink's core in the benchmark, it writes into the same parity buffers every call
 * and walks a pool of `stripes` stripes in turn: 1 keeps the data in cache, a pool larger
 * than the caches makes every stripe come from memory.
 * usage: isal-erasure-bench <k> <m> <shard-bytes> <bytes-per-run> <stripes> */
#include <isa-l.h>
#include <stdio.h>
#include "bench-timing.h"
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 6) return 2;
  int k = atoi(argv[1]), m = atoi(argv[2]), stripes = atoi(argv[5]);
  size_t shard = strtoull(argv[3], NULL, 10), per_run = strtoull(argv[4], NULL, 10);
  if (k < 1 || m < 1 || k + m > 255 || stripes < 1 || stripes > 4096 || shard == 0) return 2;
  unsigned char *matrix = malloc((size_t)(k + m) * k), *tables = malloc((size_t)32 * k * m);
  unsigned char **data = malloc(sizeof(void *) * k * stripes), **parity = malloc(sizeof(void *) * m);
  for (int i = 0; i < k * stripes; i++) {
    data[i] = malloc(shard);
    for (size_t j = 0; j < shard; j++) data[i][j] = (unsigned char)rand();
  }
  for (int i = 0; i < m; i++) parity[i] = malloc(shard);
  gf_gen_cauchy1_matrix(matrix, k + m, k);
  ec_init_tables(k, m, matrix + k * k, tables);
  size_t n = (per_run + shard * k - 1) / (shard * k);
  /* One untimed pass over the pool, as the benchmark's warm-up does for PeerLink's core. */
  for (int s = 0; s < stripes; s++) ec_encode_data((int)shard, k, m, tables, data + (size_t)s * k, parity);
  double t0 = bench_now();
  for (size_t i = 0; i < n; i++) ec_encode_data((int)shard, k, m, tables, data + (i % stripes) * k, parity);
  printf("%.4f\n", (double)n * shard * k / (bench_now() - t0) / 1e9);
  return parity[0][0] == 1 && parity[0][1] == 2 ? 3 : 0;
}
