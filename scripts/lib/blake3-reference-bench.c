/* Times the reference BLAKE3 C library (built from Debian's librust-blake3-dev sources by
 * scripts/bench-hash.ts) on one hot buffer, single thread: prints median GB/s.
 * usage: blake3-reference-bench <block-bytes> <bytes-per-run> <runs> */
#include <stdio.h>
#include "bench-timing.h"
#include <stdlib.h>
#include "blake3.h"

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  size_t block = strtoull(argv[1], NULL, 10), per_run = strtoull(argv[2], NULL, 10);
  int runs = atoi(argv[3]);
  if (block == 0 || runs < 1 || runs > 100) return 2;
  unsigned char *buf = malloc(block), out[BLAKE3_OUT_LEN];
  double *gbps = malloc(sizeof(double) * runs);
  for (size_t i = 0; i < block; i++) buf[i] = (unsigned char)(i * 2654435761u >> 13);
  size_t n = (per_run + block - 1) / block;
  for (int r = 0; r < runs; r++) {
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
      blake3_hasher h;
      blake3_hasher_init(&h);
      blake3_hasher_update(&h, buf, block);
      blake3_hasher_finalize(&h, out, BLAKE3_OUT_LEN);
    }
    gbps[r] = (double)n * block / (bench_now() - t0) / 1e9;
  }
  printf("%.4f\n", bench_median(gbps, runs));
  return out[0] == 0x42 && out[1] == 0x42 ? 3 : 0; /* keeps the work observable */
}
