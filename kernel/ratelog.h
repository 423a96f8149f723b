/* ratelog.h — log lines about dropped input, rate-limited.
 *
 * A peer that floods the launcher with forged or oversized messages must not
 * flood the server's log too. Within each interval the first BURST lines are
 * written in full; the rest are counted, the first of them kept, and when the
 * interval ends one line says how many more there were and what the first one
 * was. The summary is written by a timer on the loop, or at the next line (or
 * ratelog_flush) if no timer could be set. */
#ifndef SPARK_K8S_RATELOG_H
#define SPARK_K8S_RATELOG_H

#include <stdio.h>

#include "kernel/loop.h"

#define RATELOG_INTERVAL_MS 10000
#define RATELOG_BURST 20
#define RATELOG_LINE 512

struct ratelog {
    struct loop *loop;      /* borrowed */
    FILE *out;              /* stderr unless a test says otherwise */
    char prefix[32];        /* "spark-k8s" */
    long interval_ms;
    unsigned burst;
    long long window_start; /* 0: no window open */
    unsigned written, suppressed;
    unsigned long long total; /* every line ever logged or counted */
    char first[RATELOG_LINE]; /* the first suppressed line of this window */
    int timer;
};

/* INTERVAL_MS 0 and BURST 0 take the defaults above. */
void ratelog_init(struct ratelog *r, struct loop *l, const char *prefix, long interval_ms,
                  unsigned burst);
/* One dropped thing, described by FMT. */
void ratelog_drop(struct ratelog *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write the pending summary now. */
void ratelog_flush(struct ratelog *r);
/* Flush and cancel the timer (the loop may be freed after this). */
void ratelog_clear(struct ratelog *r);

#endif
