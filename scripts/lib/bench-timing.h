/* Timing helpers shared by the reference harnesses that the benchmarks build. */
#ifndef PEERLINK_BENCH_TIMING_H
#define PEERLINK_BENCH_TIMING_H
#include <stdlib.h>
#include <time.h>

static double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of n samples (sorts them). */
static double bench_median(double *samples, int n) {
  qsort(samples, n, sizeof(double), bench_cmp);
  return samples[n / 2];
}
#endif
