/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test stand-in for QEMU's "qapi/error.h": an Error holds a message.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef BCH_HARNESS_ERROR_H
#define BCH_HARNESS_ERROR_H

typedef struct Error {
    char *msg;
} Error;

void error_setg(Error **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
