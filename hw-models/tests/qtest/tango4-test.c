/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest of the tango4 machine: switch box routes, a copy through the
 * memory channels and the loopback test device, a refused buffer, and the
 * NAND flash controller at reset.
 *
 * Copyright (c) 2026 tangolab developers
 */

#include "qemu/osdep.h"
#include "libqtest.h"

#define SBOX            0x00040000
#define SBOX_ROUTE      (SBOX + 0x8)
#define MCHAN(n)        (0x00040100 + (n) * 0x40)
#define MCHAN_ADDR      0x0
#define MCHAN_COUNT     0x4
#define MCHAN_CMD       0xc
#define CMD_SINGLE_LAST 0x3
#define ST_LAST_DONE    (1u << 29)
#define ST_ERROR        (1u << 30)
#define ST_BUSY         (1u << 31)
#define NFC_STATUS      0x0002c000
#define NFC_CMD_READY   (1u << 31)
#define DRAM            0x80000000
#define SRC             (DRAM + 0x100000)
#define DST             (DRAM + 0x200000)
#define LEN             1000

static QTestState *tango4_init(void)
{
    return qtest_init("-M tango4,sbox-loopback=on -m 64");
}

/* ROUTE holds a source nibble per destination; 0 leaves a route as is */
static void test_routes(void)
{
    QTestState *qts = tango4_init();

    g_assert_cmphex(qtest_readl(qts, SBOX_ROUTE), ==, 0xffffffff);
    qtest_writel(qts, SBOX_ROUTE, 0x1 << 8);
    g_assert_cmphex(qtest_readl(qts, SBOX_ROUTE), ==, 0xfffff1ff);
    qtest_writel(qts, SBOX_ROUTE, 0x4);
    g_assert_cmphex(qtest_readl(qts, SBOX_ROUTE), ==, 0xfffff1f4);
    qtest_quit(qts);
}

static void start(QTestState *qts, int ch, uint32_t addr, uint32_t len)
{
    qtest_writel(qts, MCHAN(ch) + MCHAN_ADDR, addr);
    qtest_writel(qts, MCHAN(ch) + MCHAN_COUNT, len);
    qtest_writel(qts, MCHAN(ch) + MCHAN_CMD, CMD_SINGLE_LAST);
}

/* channel 0 -> port 1 -> loopback (port 4) -> port 4 -> channel 1 */
static void test_copy_through_the_loopback(void)
{
    QTestState *qts = tango4_init();
    g_autofree uint8_t *in = g_malloc(LEN);
    g_autofree uint8_t *out = g_malloc0(LEN);
    int i;

    for (i = 0; i < LEN; i++) {
        in[i] = i * 7 + 1;
    }
    qtest_memwrite(qts, SRC, in, LEN);
    qtest_writel(qts, SBOX_ROUTE, 0x1 << 12 | 0x4);
    start(qts, 1, DST, LEN);
    start(qts, 0, SRC, LEN);
    for (i = 0; i < 1000 && (qtest_readl(qts, MCHAN(1) + MCHAN_CMD) &
                             ST_BUSY); i++) {
        qtest_clock_step(qts, 10000);
    }
    g_assert_cmphex(qtest_readl(qts, MCHAN(0) + MCHAN_CMD) &
                    (ST_BUSY | ST_ERROR | ST_LAST_DONE), ==, ST_LAST_DONE);
    g_assert_cmphex(qtest_readl(qts, MCHAN(1) + MCHAN_CMD) &
                    (ST_BUSY | ST_ERROR | ST_LAST_DONE), ==, ST_LAST_DONE);
    qtest_memread(qts, DST, out, LEN);
    g_assert_cmpmem(in, LEN, out, LEN);
    qtest_quit(qts);
}

/* a buffer that is not RAM of the channel's address space is refused */
static void test_buffer_not_in_ram(void)
{
    QTestState *qts = tango4_init();

    start(qts, 0, 0x1000, 16);
    qtest_clock_step(qts, 10000);
    g_assert_cmphex(qtest_readl(qts, MCHAN(0) + MCHAN_CMD) &
                    (ST_BUSY | ST_ERROR), ==, ST_ERROR);
    qtest_quit(qts);
}

static void test_nfc_ready_at_reset(void)
{
    QTestState *qts = tango4_init();

    g_assert_true(qtest_readl(qts, NFC_STATUS) & NFC_CMD_READY);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("tango4/sbox/routes", test_routes);
    qtest_add_func("tango4/mchan/copy-through-loopback",
                   test_copy_through_the_loopback);
    qtest_add_func("tango4/mchan/buffer-not-in-ram", test_buffer_not_in_ram);
    qtest_add_func("tango4/nfc/ready-at-reset", test_nfc_ready_at_reset);
    return g_test_run();
}
