/* SPDX-License-Identifier: GPL-2.0 */
/* Doctor: is this node set up right, as redirectd sees it (docs/doctor.md). */
#ifndef REDIRECT_DAEMON_DOCTOR_H
#define REDIRECT_DAEMON_DOCTOR_H

#include "daemon_types.h"

ErrorCode h_doctor(struct daemon *d, struct call *k);
/* Free what h_doctor put in a reply. */
void release_doctor(DoctorReply *r);

#endif
