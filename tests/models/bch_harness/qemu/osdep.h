/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test stand-in for QEMU's "qemu/osdep.h": just what nand_bch.c uses, so
 * that it compiles on the host outside a QEMU tree.
 *
 * Copyright (c) 2026 tangolab developers
 */

#ifndef BCH_HARNESS_OSDEP_H
#define BCH_HARNESS_OSDEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

#endif
