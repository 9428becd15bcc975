/* Stock rules (stub until written). */
#include "audit_int.h"

void audit__stock_entry(audit *a, const ledger_entry *e)
{
    (void)a;
    (void)e;
}

void audit__stock_end(audit *a)
{
    (void)a;
}
