/* Session rules (stub until written). */
#include "audit_int.h"

void audit__session_judge(audit *a, asession *s)
{
    (void)a;
    (void)s;
}

void audit__pmf_seen(audit *a, uint64_t session, uint64_t seq, int64_t submitted_ms)
{
    (void)a;
    (void)session;
    (void)seq;
    (void)submitted_ms;
}

void audit__pmf_end(audit *a)
{
    (void)a;
}
