/* ratelog.c — bursts of log lines, then counts (see ratelog.h). */
#include "kernel/ratelog.h"

#include "kernel/log.h"

#include <stdarg.h>
#include <string.h>

void ratelog_init(struct ratelog *r, struct loop *l, const char *prefix, long interval_ms,
                  unsigned burst)
{
    memset(r, 0, sizeof *r);
    r->loop = l;
    r->out = stderr;
    snprintf(r->prefix, sizeof r->prefix, "%s", prefix ? prefix : "spark-k8s");
    r->interval_ms = interval_ms > 0 ? interval_ms : RATELOG_INTERVAL_MS;
    r->burst = burst ? burst : RATELOG_BURST;
}

void ratelog_flush(struct ratelog *r)
{
    if (r->suppressed)
        log_to(r->out, r->prefix,
               "dropped %u more in the last %ld %s (not shown one by one); the first: %s",
               r->suppressed,
                r->interval_ms % 1000 ? r->interval_ms : r->interval_ms / 1000,
                r->interval_ms % 1000 ? "ms" : "s", r->first);
    r->window_start = 0;
    r->written = r->suppressed = 0;
    r->first[0] = '\0';
}

static void window_over(void *ctx)
{
    struct ratelog *r = ctx;
    r->timer = 0;
    ratelog_flush(r);
}

void ratelog_drop(struct ratelog *r, const char *fmt, ...)
{
    char line[RATELOG_LINE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    long long now = monotonic_ms();
    if (r->window_start && now - r->window_start >= r->interval_ms && !r->timer)
        ratelog_flush(r); /* no timer could be set: the summary comes late, not never */
    if (!r->window_start) {
        r->window_start = now;
        if (r->loop && !r->timer) {
            int id = loop_timer(r->loop, r->interval_ms, window_over, r);
            r->timer = id > 0 ? id : 0;
        }
    }
    r->total++;
    if (r->written < r->burst) {
        r->written++;
        log_to(r->out, r->prefix, "%s", line);
        return;
    }
    if (r->suppressed++ == 0)
        snprintf(r->first, sizeof r->first, "%s", line);
}

void ratelog_clear(struct ratelog *r)
{
    if (r->timer && r->loop)
        loop_timer_cancel(r->loop, r->timer);
    r->timer = 0;
    ratelog_flush(r);
}
