/* Times ISA-L's Reed-Solomon encode (ec_encode_data, Cauchy matrix), single thread, for
 * scripts/bench-erasure.ts: prints median GB/s of data shards encoded.
 * usage: isal-erasure-bench <k> <m> <shard-bytes> <bytes-per-run> <runs> */
#include <isa-l.h>
#include <stdio.h>
#include "bench-timing.h"
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 6) return 2;
  int k = atoi(argv[1]), m = atoi(argv[2]), runs = atoi(argv[5]);
  size_t shard = strtoull(argv[3], NULL, 10), per_run = strtoull(argv[4], NULL, 10);
  if (k < 1 || m < 1 || k + m > 255 || runs < 1 || runs > 100 || shard == 0) return 2;
  unsigned char *matrix = malloc((size_t)(k + m) * k), *tables = malloc((size_t)32 * k * m);
  unsigned char **data = malloc(sizeof(void *) * k), **parity = malloc(sizeof(void *) * m);
  for (int i = 0; i < k; i++) {
    data[i] = malloc(shard);
    for (size_t j = 0; j < shard; j++) data[i][j] = (unsigned char)rand();
  }
  for (int i = 0; i < m; i++) parity[i] = malloc(shard);
  gf_gen_cauchy1_matrix(matrix, k + m, k);
  ec_init_tables(k, m, matrix + k * k, tables);
  double *gbps = malloc(sizeof(double) * runs);
  size_t n = (per_run + shard * k - 1) / (shard * k);
  for (int r = 0; r < runs; r++) {
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) ec_encode_data((int)shard, k, m, tables, data, parity);
    gbps[r] = (double)n * shard * k / (bench_now() - t0) / 1e9;
  }
  printf("%.4f\n", bench_median(gbps, runs));
  return parity[0][0] == 1 && parity[0][1] == 2 ? 3 : 0;
}
