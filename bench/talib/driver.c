/*
 * TA-Lib C side of `npm run bench -- indicators`: computes the same indicator suite as
 * bench/indicators.bench.ts (SUITE, same params, same output order) with TA-Lib's C functions, and
 * times it the same way: one warm-up, then 5 timed runs of the whole suite; the best and the median
 * run, and each indicator's best time (on a loaded machine the best run is the stable number).
 *
 *   talib-bench BARS.f64 [OUT.f64]
 *
 * BARS.f64: open, high, low, close, volume of n bars as 5 consecutive float64 arrays (native byte
 * order). Prints one JSON line with the timings. With OUT.f64, writes every output column as n
 * float64 values, NaN before TA-Lib's outBegIdx (fxflow's layout), so the bench can compare them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ta_libc.h"

#define MAXOUT 64
#define RUNS 5
static double *out[MAXOUT];
static int beg[MAXOUT], nb[MAXOUT], nout;
static int failed;
/* Per indicator (in SUITE order): its name, its time in the last run, its best time. */
static const char *ind_name[64];
static double ind_run[64], ind_best[64];
static int nind;
static double now_ms(void);

static void check(TA_RetCode rc, const char *name) {
  if (rc != TA_SUCCESS) {
    fprintf(stderr, "%s failed: TA_RetCode %d\n", name, (int)rc);
    failed = 1;
  }
}

static void suite(int n, const double *o, const double *h, const double *l, const double *c, const double *v) {
  const int e = n - 1;
  int b, m, ind = 0;
  double t = now_ms();
  nout = 0;
  /* After each indicator: charge the time since the previous one to it. */
#define TICK(name) do { double t1 = now_ms(); ind_name[ind] = name; ind_run[ind++] = t1 - t; t = t1; } while (0)
#define ONE(call, name) do { check(call, name); beg[nout] = b; nb[nout] = m; nout++; TICK(name); } while (0)
  ONE(TA_SMA(0, e, c, 30, &b, &m, out[nout]), "SMA");
  ONE(TA_EMA(0, e, c, 30, &b, &m, out[nout]), "EMA");
  ONE(TA_WMA(0, e, c, 30, &b, &m, out[nout]), "WMA");
  ONE(TA_DEMA(0, e, c, 30, &b, &m, out[nout]), "DEMA");
  ONE(TA_TEMA(0, e, c, 30, &b, &m, out[nout]), "TEMA");
  ONE(TA_TRIMA(0, e, c, 30, &b, &m, out[nout]), "TRIMA");
  ONE(TA_KAMA(0, e, c, 30, &b, &m, out[nout]), "KAMA");
  ONE(TA_T3(0, e, c, 5, 0.7, &b, &m, out[nout]), "T3");
  ONE(TA_RSI(0, e, c, 14, &b, &m, out[nout]), "RSI");
  check(TA_MACD(0, e, c, 12, 26, 9, &b, &m, out[nout], out[nout + 1], out[nout + 2]), "MACD");
  for (int k = 0; k < 3; k++) beg[nout + k] = b, nb[nout + k] = m;
  nout += 3;
  TICK("MACD");
  ONE(TA_PPO(0, e, c, 12, 26, TA_MAType_SMA, &b, &m, out[nout]), "PPO");
  ONE(TA_MOM(0, e, c, 10, &b, &m, out[nout]), "MOM");
  ONE(TA_ROC(0, e, c, 10, &b, &m, out[nout]), "ROC");
  ONE(TA_CMO(0, e, c, 14, &b, &m, out[nout]), "CMO");
  ONE(TA_TRIX(0, e, c, 30, &b, &m, out[nout]), "TRIX");
  check(TA_STOCH(0, e, h, l, c, 5, 3, TA_MAType_SMA, 3, TA_MAType_SMA, &b, &m, out[nout], out[nout + 1]), "STOCH");
  for (int k = 0; k < 2; k++) beg[nout + k] = b, nb[nout + k] = m;
  nout += 2;
  TICK("STOCH");
  check(TA_STOCHF(0, e, h, l, c, 5, 3, TA_MAType_SMA, &b, &m, out[nout], out[nout + 1]), "STOCHF");
  for (int k = 0; k < 2; k++) beg[nout + k] = b, nb[nout + k] = m;
  nout += 2;
  TICK("STOCHF");
  check(TA_STOCHRSI(0, e, c, 14, 5, 3, TA_MAType_SMA, &b, &m, out[nout], out[nout + 1]), "STOCHRSI");
  for (int k = 0; k < 2; k++) beg[nout + k] = b, nb[nout + k] = m;
  nout += 2;
  TICK("STOCHRSI");
  ONE(TA_WILLR(0, e, h, l, c, 14, &b, &m, out[nout]), "WILLR");
  ONE(TA_CCI(0, e, h, l, c, 14, &b, &m, out[nout]), "CCI");
  ONE(TA_ADX(0, e, h, l, c, 14, &b, &m, out[nout]), "ADX");
  ONE(TA_ADXR(0, e, h, l, c, 14, &b, &m, out[nout]), "ADXR");
  ONE(TA_PLUS_DI(0, e, h, l, c, 14, &b, &m, out[nout]), "PLUS_DI");
  ONE(TA_MINUS_DI(0, e, h, l, c, 14, &b, &m, out[nout]), "MINUS_DI");
  /* TA-Lib returns (down, up); fxflow's columns are aroon_up, aroon_down. */
  check(TA_AROON(0, e, h, l, 14, &b, &m, out[nout + 1], out[nout]), "AROON");
  for (int k = 0; k < 2; k++) beg[nout + k] = b, nb[nout + k] = m;
  nout += 2;
  TICK("AROON");
  ONE(TA_AROONOSC(0, e, h, l, 14, &b, &m, out[nout]), "AROONOSC");
  ONE(TA_ULTOSC(0, e, h, l, c, 7, 14, 28, &b, &m, out[nout]), "ULTOSC");
  ONE(TA_BOP(0, e, o, h, l, c, &b, &m, out[nout]), "BOP");
  ONE(TA_MFI(0, e, h, l, c, v, 14, &b, &m, out[nout]), "MFI");
  ONE(TA_OBV(0, e, c, v, &b, &m, out[nout]), "OBV");
  ONE(TA_AD(0, e, h, l, c, v, &b, &m, out[nout]), "AD");
  ONE(TA_ADOSC(0, e, h, l, c, v, 3, 10, &b, &m, out[nout]), "ADOSC");
  ONE(TA_ATR(0, e, h, l, c, 14, &b, &m, out[nout]), "ATR");
  ONE(TA_NATR(0, e, h, l, c, 14, &b, &m, out[nout]), "NATR");
  ONE(TA_TRANGE(0, e, h, l, c, &b, &m, out[nout]), "TRANGE");
  check(TA_BBANDS(0, e, c, 20, 2, 2, TA_MAType_SMA, &b, &m, out[nout], out[nout + 1], out[nout + 2]), "BBANDS");
  for (int k = 0; k < 3; k++) beg[nout + k] = b, nb[nout + k] = m;
  nout += 3;
  TICK("BBANDS");
  ONE(TA_STDDEV(0, e, c, 5, 1, &b, &m, out[nout]), "STDDEV");
  ONE(TA_VAR(0, e, c, 5, 1, &b, &m, out[nout]), "VAR");
  /* fxflow's linearreg writes value, slope, angle, intercept: TA-Lib's four LINEARREG functions. */
  ONE(TA_LINEARREG(0, e, c, 14, &b, &m, out[nout]), "LINEARREG");
  ONE(TA_LINEARREG_SLOPE(0, e, c, 14, &b, &m, out[nout]), "LINEARREG_SLOPE");
  ONE(TA_LINEARREG_ANGLE(0, e, c, 14, &b, &m, out[nout]), "LINEARREG_ANGLE");
  ONE(TA_LINEARREG_INTERCEPT(0, e, c, 14, &b, &m, out[nout]), "LINEARREG_INTERCEPT");
  ind -= 4; /* fxflow computes the four as one indicator: charge them to LINEARREG */
  ind_run[ind] += ind_run[ind + 1] + ind_run[ind + 2] + ind_run[ind + 3];
  ind_name[ind++] = "LINEARREG";
  ONE(TA_SAR(0, e, h, l, 0.02, 0.2, &b, &m, out[nout]), "SAR");
#undef ONE
#undef TICK
  nind = ind;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: talib-bench BARS.f64 [OUT.f64]\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  int n = (int)(bytes / (5 * sizeof(double)));
  double *bars = malloc((size_t)bytes);
  if (!bars || fread(bars, 1, (size_t)bytes, f) != (size_t)bytes) {
    fprintf(stderr, "%s: short read\n", argv[1]);
    return 2;
  }
  fclose(f);
  const double *o = bars, *h = bars + n, *l = bars + 2 * (size_t)n, *c = bars + 3 * (size_t)n, *v = bars + 4 * (size_t)n;
  for (int k = 0; k < MAXOUT; k++) out[k] = malloc(sizeof(double) * (size_t)n);
  if (TA_Initialize() != TA_SUCCESS) return 1;

  suite(n, o, h, l, c, v); /* warm-up, as the JS side gets one */
  double ms[RUNS];
  for (int k = 0; k < 64; k++) ind_best[k] = INFINITY;
  for (int r = 0; r < RUNS; r++) {
    double t0 = now_ms();
    suite(n, o, h, l, c, v);
    ms[r] = now_ms() - t0;
    for (int k = 0; k < nind; k++) ind_best[k] = fmin(ind_best[k], ind_run[k]);
  }
  if (failed) return 1;
  double sorted[RUNS];
  memcpy(sorted, ms, sizeof ms);
  qsort(sorted, RUNS, sizeof(double), cmp);
  printf("{\"bars\":%d,\"outputs\":%d,\"best_ms\":%.3f,\"median_ms\":%.3f,\"version\":\"%s\",\"best_per_indicator_ms\":{", n, nout, sorted[0], sorted[RUNS / 2], TA_GetVersionString());
  for (int k = 0; k < nind; k++) printf("%s\"%s\":%.3f", k ? "," : "", ind_name[k], ind_best[k]);
  printf("}}\n");

  if (argc > 2) {
    FILE *w = fopen(argv[2], "wb");
    if (!w) {
      perror(argv[2]);
      return 2;
    }
    double *col = malloc(sizeof(double) * (size_t)n);
    for (int k = 0; k < nout; k++) {
      for (int i = 0; i < n; i++) col[i] = NAN;
      memcpy(col + beg[k], out[k], sizeof(double) * (size_t)nb[k]);
      fwrite(col, sizeof(double), (size_t)n, w);
    }
    fclose(w);
  }
  TA_Shutdown();
  return 0;
}
