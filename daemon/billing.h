/* billing.h: what the money services (svc_packages.c, svc_billing.c) share. */
#ifndef CLINICD_BILLING_H
#define CLINICD_BILLING_H

#include <stdbool.h>

#include "call.h"

/* Checks that paid_by is "cash", "card", "transfer" or "voucher"; false with a violation of the
 * field paid_by otherwise. */
bool billing_check_paid_by(struct call *call, const char *paid_by);

#endif
