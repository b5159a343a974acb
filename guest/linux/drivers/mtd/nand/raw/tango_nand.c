// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sigma Designs tango4 (SMP8758) NAND flash controller driver
 *
 * Copyright (c) 2026 tangolab developers
 *
 * The controller has three register windows:
 *
 * - the NFC registers: a page sequencer which reads or programs one whole
 *   page with BCH ECC (GF(2^15)), the page data going through the SoC's
 *   switch box (sbox) and one DMA channel;
 * - the NFC memory: the 4 metadata bytes of the page and the ECC report;
 * - the peripheral bus (PBUS): command, address and data cycles to each
 *   chip select, the shared ready/busy line and the pad mode selecting who
 *   drives the NAND bus (the NFC or PBUS).
 *
 * Everything but ECC page accesses (ID, parameter page, status, reset,
 * erase, raw page and OOB accesses) goes through ->exec_op() and PBUS.
 *
 * Physical page layout written and read by the NFC, with s = ECC step
 * (1024), n = s / page size steps, E = ECC bytes per step
 * (DIV_ROUND_UP(strength * 15, 8)):
 *
 *   M(4) | D_0(s) | E_0 | D_1(s) | E_1 | ... | D_n-1(s) | E_n-1 | tail
 *
 * where packet 0 is the metadata M followed by D_0 and the 6 bytes at
 * physical offset writesize (the factory bad block marker) are skipped by
 * the layout: whatever field runs across that offset is split around them.
 * The tail is what the layout leaves unused at the end of the spare area.
 *
 * MTD's raw view of a page (what ->read_page_raw() returns and
 * ->write_page_raw() takes, data followed by OOB) is a permutation of the
 * physical page:
 *
 *   data:  D_0 | D_1 | ... | D_n-1                   (writesize bytes)
 *   OOB:   BBM(6) | M(4) | E_0 | ... | E_n-1 | tail   (oobsize bytes)
 *
 * so OOB bytes 0-5 are the bad block marker at physical offset writesize,
 * where the factory marks bad blocks and where the core looks for them,
 * OOB bytes 6-9 are the metadata, the only free bytes: protected by the ECC
 * of packet 0, they can only be written together with the page data, and
 * an OOB-only write that is not raw may only change the bad block marker.
 * The ECC bytes follow. OOB reads and writes (->read_oob(),
 * ->write_oob()) are raw accesses to those OOB bytes only.
 *
 * One ECC page access follows the controller's flow: abort a command
 * the controller is still busy with (it should not be), map the buffer and
 * prepare the DMA transfer, write the chip's configuration (TIMING1,
 * TIMING2, XFER_CFG, PKT_0_CFG, PKT_N_CFG, BB_CFG) if the registers do not
 * hold it already (another chip, or new timings), hand the NAND bus to
 * the NFC (PAD_MODE), write the metadata (programs), the page address and
 * FLASH_CMD, check that the controller took the command (it is busy and
 * did not refuse it), submit and issue the DMA transfer, wait for the end
 * of the command and of the DMA transfer, hand the bus back to PBUS. The
 * NFC and the switch box are flow controlled: a read sends the page out
 * only as its sbox route takes it and a program takes its data only once
 * the command waits for it, so when the DMA provider sets its route up
 * does not matter.
 *
 * The DMA controller's interrupt only tells that the data has left memory
 * (programs) or arrived there (reads): some of a program's data may still
 * be on its way to the NFC. Every page transfer is therefore prepared with
 * DMA_PREP_PERIPH_DONE, which the DMA provider must support: the driver
 * waits for the NFC to report the end of the command (STATUS.CMD_READY),
 * then calls dmaengine_periph_done(), which allows the provider to tear its
 * route down, and only then waits for the DMA completion, for both
 * directions.
 *
 * Recovery: when a page access fails (a timeout, a DMA error, a command
 * the NFC refused or aborted), the driver aborts the NFC command
 * (FLASH_CMD ABORT, which also flushes the NFC's input FIFO), checks that
 * CMD_READY comes back, terminates the DMA transfer (the provider stops
 * its memory channel before it tears the route down, so no stale byte
 * reaches the next page), waits for the chip to finish a program it had
 * already started, and returns an error for that page only. A controller
 * found busy when a page access starts is aborted the same way first.
 */

#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/clk.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/mtd/mtd.h>
#include <linux/mtd/rawnand.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/unaligned.h>
#include <linux/units.h>

#define CREATE_TRACE_POINTS
#include <trace/events/tango_nand.h>

/* NFC registers */
#define NFC_STATUS			0x00
#define   NFC_STATUS_CMD_READY		BIT(31)
#define   NFC_STATUS_CMD_REFUSED	BIT(30)
#define   NFC_STATUS_CMD_ABORTED	BIT(29)
#define   NFC_STATUS_FIFO_LEVEL		GENMASK(12, 0)
#define NFC_FLASH_CMD			0x04
#define   NFC_FLASH_CMD_READ		1
#define   NFC_FLASH_CMD_PROGRAM		2
#define   NFC_FLASH_CMD_ABORT		BIT(31)
#define NFC_TIMING1			0x0c
#define NFC_TIMING2			0x10
#define   NFC_TIMING_T0			GENMASK(31, 24)
#define   NFC_TIMING_T1			GENMASK(23, 16)
#define   NFC_TIMING_T2			GENMASK(15, 8)
#define   NFC_TIMING_T3			GENMASK(7, 0)
#define NFC_XFER_CFG			0x14
#define   NFC_XFER_CFG_CS		GENMASK(31, 24)
#define   NFC_XFER_CFG_PAGE_COUNT	GENMASK(23, 16)
#define   NFC_XFER_CFG_STEPS		GENMASK(15, 8)
#define   NFC_XFER_CFG_META_SIZE	GENMASK(7, 0)
#define NFC_PKT_0_CFG			0x18
#define NFC_PKT_N_CFG			0x1c
#define   NFC_PKT_CFG_SIZE		GENMASK(31, 16)
#define   NFC_PKT_CFG_STRENGTH		GENMASK(15, 0)
#define NFC_BB_CFG			0x20
#define   NFC_BB_CFG_OFFSET		GENMASK(31, 16)
#define   NFC_BB_CFG_SIZE		GENMASK(15, 0)
#define NFC_ADDR_PAGE			0x24
#define NFC_ADDR_OFFSET			0x28
#define NFC_XFER_STATUS			0x2c
#define   NFC_XFER_STATUS_PAGE_IS_EMPTY	BIT(16)

/* NFC memory window */
#define NFC_MEM_METADATA		0x000
#define NFC_MEM_ERROR_REPORT		0x1c0
#define   NFC_ERR_PKT0_COUNT		GENMASK(5, 0)
#define   NFC_ERR_PKT0_OK		BIT(7)
#define   NFC_ERR_PKTN_COUNT		GENMASK(13, 8)
#define   NFC_ERR_PKTN_OK		BIT(15)

/* Peripheral bus: one window per chip select, then shared registers */
#define PBUS_CS_STRIDE			0x100
#define PBUS_CMD			0x0
#define PBUS_ADDR			0x4
#define PBUS_DATA			0x8
#define PBUS_CS_CTRL			0x83c
#define   PBUS_CS_CTRL_IORDY		BIT(31)
#define PBUS_PAD_MODE			0x8f0
#define   PBUS_PAD_MODE_NFC		BIT(31)
#define   PBUS_PAD_MODE_RAW		0

#define TANGO_MAX_CS			4

/* Page layout */
#define TANGO_META_SIZE			4
#define TANGO_BBM_SIZE			6
#define TANGO_OOB_BBM			0
#define TANGO_OOB_META			(TANGO_OOB_BBM + TANGO_BBM_SIZE)
#define TANGO_OOB_ECC			(TANGO_OOB_META + TANGO_META_SIZE)

#define TANGO_ECC_STEP			1024
#define TANGO_BCH_M			15

#define TANGO_DMA_TIMEOUT_MS		1000
/*
 * The first wait of a page access, CMD_READY, covers the whole page: tR or
 * tPROG and its data through the sbox, a few milliseconds at most. 100 ms
 * leaves room for a loaded host under emulation, and is what a page lost
 * on its way costs.
 */
#define TANGO_READY_TIMEOUT_US		(100 * USEC_PER_MSEC)
#define TANGO_POLL_US			10
/* CMD_READY is back right after an abort: a short busy poll */
#define TANGO_ABORT_TIMEOUT_US		100
/* A program the chip had started when it was aborted finishes first */
#define TANGO_ABORT_IORDY_MS		20

/*
 * One contiguous piece of the raw view of a page (@view: offset in data
 * followed by OOB) and where it sits in the physical page (@phys).
 */
struct tango_seg {
	unsigned int view;
	unsigned int phys;
	unsigned int len;
};

struct tango_chip {
	struct nand_chip nand;
	struct list_head node;
	void __iomem *base;		/* PBUS window of the chip select */
	unsigned int cs;
	bool registered;

	u32 timing1;
	u32 timing2;
	u32 xfer_cfg;
	u32 pkt_0_cfg;
	u32 pkt_n_cfg;
	u32 bb_cfg;

	struct tango_seg *segs;		/* sorted by physical offset */
	unsigned int nsegs;
	u8 *phys_buf;			/* one physical page */
	u8 *view_buf;			/* the same page, raw view */
};

struct tango_nfc {
	struct nand_controller hw;
	struct device *dev;
	void __iomem *reg_base;
	void __iomem *mem_base;
	void __iomem *pbus_base;
	unsigned long clk_rate;
	struct dma_chan *chan;
	struct completion dma_done;
	/* The chip whose configuration the NFC registers hold, or NULL */
	struct tango_chip *configured;
	struct dmaengine_result dma_result;
	struct list_head chips;
	unsigned long assigned_cs;
};

static inline struct tango_chip *to_tango_chip(struct nand_chip *chip)
{
	return container_of(chip, struct tango_chip, nand);
}

static inline struct tango_nfc *to_tango_nfc(struct nand_controller *ctrl)
{
	return container_of(ctrl, struct tango_nfc, hw);
}

/*
 * PBUS access: ->exec_op()
 */

static int tango_check_op(const struct nand_operation *op)
{
	unsigned int i;

	/* One chip select per chip */
	if (op->cs)
		return -EINVAL;

	for (i = 0; i < op->ninstrs; i++) {
		switch (op->instrs[i].type) {
		case NAND_OP_CMD_INSTR:
		case NAND_OP_ADDR_INSTR:
		case NAND_OP_DATA_IN_INSTR:
		case NAND_OP_DATA_OUT_INSTR:
		case NAND_OP_WAITRDY_INSTR:
			break;
		default:
			return -EOPNOTSUPP;
		}
	}

	return 0;
}

static int tango_wait_iordy(struct tango_nfc *nfc, unsigned int timeout_ms)
{
	u32 val;
	int ret;

	ret = readl_poll_timeout(nfc->pbus_base + PBUS_CS_CTRL, val,
				 val & PBUS_CS_CTRL_IORDY, TANGO_POLL_US,
				 timeout_ms * USEC_PER_MSEC);
	if (ret)
		dev_err(nfc->dev, "tango_nand: timeout waiting for IORDY\n");

	return ret;
}

static int tango_exec_op(struct nand_chip *chip,
			 const struct nand_operation *op, bool check_only)
{
	struct tango_nfc *nfc = to_tango_nfc(chip->controller);
	struct tango_chip *tc = to_tango_chip(chip);
	const struct nand_op_instr *instr;
	unsigned int i, j;
	int ret;

	ret = tango_check_op(op);
	if (ret || check_only)
		return ret;

	/* PAD_MODE is raw everywhere outside tango_nfc_xfer() */
	for (i = 0; i < op->ninstrs; i++) {
		instr = &op->instrs[i];

		switch (instr->type) {
		case NAND_OP_CMD_INSTR:
			writeb(instr->ctx.cmd.opcode, tc->base + PBUS_CMD);
			break;
		case NAND_OP_ADDR_INSTR:
			for (j = 0; j < instr->ctx.addr.naddrs; j++)
				writeb(instr->ctx.addr.addrs[j],
				       tc->base + PBUS_ADDR);
			break;
		case NAND_OP_DATA_IN_INSTR:
			ioread8_rep(tc->base + PBUS_DATA,
				    instr->ctx.data.buf.in,
				    instr->ctx.data.len);
			break;
		case NAND_OP_DATA_OUT_INSTR:
			iowrite8_rep(tc->base + PBUS_DATA,
				     instr->ctx.data.buf.out,
				     instr->ctx.data.len);
			break;
		case NAND_OP_WAITRDY_INSTR:
			ret = tango_wait_iordy(nfc,
					       instr->ctx.waitrdy.timeout_ms);
			if (ret)
				return ret;
			break;
		}

		if (instr->delay_ns)
			ndelay(instr->delay_ns);
	}

	return 0;
}

/*
 * Interface timings
 *
 * Both timing registers hold four 8-bit fields (t0 in bits 31:24 down to t3
 * in bits 7:0), counted in NFC clock cycles and rounded up, with the
 * meaning the controller gives them (ONFI SDR timing names):
 *
 *   TIMING1: Trdy = tCEA - tREA, Textw = tWB, Twc = tWC, Twpw = tWC - tWP
 *   TIMING2: Tacc = tREA, Thold = tREH, Trpw = tRC - tREH, Textr = tRHZ
 */
static u32 tango_ps_diff(u32 a, u32 b)
{
	return a > b ? a - b : 0;
}

static int tango_timing(unsigned long rate, u32 t0, u32 t1, u32 t2, u32 t3,
			u32 *reg)
{
	const u32 ps[4] = { t0, t1, t2, t3 };
	unsigned long khz = DIV_ROUND_UP(rate, HZ_PER_KHZ);
	u32 cycles[4];
	unsigned int i;
	u64 c;

	for (i = 0; i < ARRAY_SIZE(ps); i++) {
		c = DIV_ROUND_UP_ULL((u64)ps[i] * khz, NSEC_PER_SEC);
		if (c > FIELD_MAX(NFC_TIMING_T0))
			return -EINVAL;
		cycles[i] = c;
	}

	*reg = FIELD_PREP(NFC_TIMING_T0, cycles[0]) |
	       FIELD_PREP(NFC_TIMING_T1, cycles[1]) |
	       FIELD_PREP(NFC_TIMING_T2, cycles[2]) |
	       FIELD_PREP(NFC_TIMING_T3, cycles[3]);

	return 0;
}

static int tango_setup_interface(struct nand_chip *chip, int csline,
				 const struct nand_interface_config *conf)
{
	struct tango_nfc *nfc = to_tango_nfc(chip->controller);
	struct tango_chip *tc = to_tango_chip(chip);
	const struct nand_sdr_timings *sdr;
	u32 timing1, timing2;
	int ret;

	sdr = nand_get_sdr_timings(conf);
	if (IS_ERR(sdr))
		return PTR_ERR(sdr);

	ret = tango_timing(nfc->clk_rate,
			   tango_ps_diff(sdr->tCEA_max, sdr->tREA_max),
			   sdr->tWB_max, sdr->tWC_min,
			   tango_ps_diff(sdr->tWC_min, sdr->tWP_min),
			   &timing1);
	if (ret)
		return ret;

	ret = tango_timing(nfc->clk_rate, sdr->tREA_max, sdr->tREH_min,
			   tango_ps_diff(sdr->tRC_min, sdr->tREH_min),
			   sdr->tRHZ_max, &timing2);
	if (ret)
		return ret;

	if (csline == NAND_DATA_IFACE_CHECK_ONLY)
		return 0;

	tc->timing1 = timing1;
	tc->timing2 = timing2;
	/* Written with the next page access */
	if (nfc->configured == tc)
		nfc->configured = NULL;

	return 0;
}

/*
 * Raw view of a page
 */

static void tango_phys_to_view(struct tango_chip *tc, u8 *data, u8 *oob)
{
	unsigned int ws = nand_to_mtd(&tc->nand)->writesize;
	const struct tango_seg *seg;
	unsigned int i;

	for (i = 0; i < tc->nsegs; i++) {
		seg = &tc->segs[i];
		if (seg->view < ws) {
			if (data)
				memcpy(data + seg->view,
				       tc->phys_buf + seg->phys, seg->len);
		} else if (oob) {
			memcpy(oob + seg->view - ws,
			       tc->phys_buf + seg->phys, seg->len);
		}
	}
}

/* Parts left out (@data or @oob NULL) are left erased */
static void tango_view_to_phys(struct tango_chip *tc, const u8 *data,
			       const u8 *oob)
{
	struct mtd_info *mtd = nand_to_mtd(&tc->nand);
	unsigned int ws = mtd->writesize;
	const struct tango_seg *seg;
	unsigned int i;

	memset(tc->phys_buf, 0xff, ws + mtd->oobsize);

	for (i = 0; i < tc->nsegs; i++) {
		seg = &tc->segs[i];
		if (seg->view < ws) {
			if (data)
				memcpy(tc->phys_buf + seg->phys,
				       data + seg->view, seg->len);
		} else if (oob) {
			memcpy(tc->phys_buf + seg->phys,
			       oob + seg->view - ws, seg->len);
		}
	}
}

static int tango_read_page_raw(struct nand_chip *chip, u8 *buf,
			       int oob_required, int page)
{
	struct mtd_info *mtd = nand_to_mtd(chip);
	struct tango_chip *tc = to_tango_chip(chip);
	int ret;

	ret = nand_read_page_op(chip, page, 0, tc->phys_buf,
				mtd->writesize + mtd->oobsize);
	if (ret)
		return ret;

	tango_phys_to_view(tc, buf, oob_required ? chip->oob_poi : NULL);

	return 0;
}

static int tango_write_page_raw(struct nand_chip *chip, const u8 *buf,
				int oob_required, int page)
{
	struct mtd_info *mtd = nand_to_mtd(chip);
	struct tango_chip *tc = to_tango_chip(chip);

	tango_view_to_phys(tc, buf, oob_required ? chip->oob_poi : NULL);

	return nand_prog_page_op(chip, page, 0, tc->phys_buf,
				 mtd->writesize + mtd->oobsize);
}

/* Reads the OOB bytes only: one column change per OOB segment */
static int tango_read_oob(struct nand_chip *chip, int page)
{
	struct mtd_info *mtd = nand_to_mtd(chip);
	struct tango_chip *tc = to_tango_chip(chip);
	const struct tango_seg *seg;
	bool started = false;
	unsigned int i;
	u8 *oob;
	int ret;

	for (i = 0; i < tc->nsegs; i++) {
		seg = &tc->segs[i];
		if (seg->view < mtd->writesize)
			continue;

		oob = chip->oob_poi + seg->view - mtd->writesize;
		if (started)
			ret = nand_change_read_column_op(chip, seg->phys, oob,
							 seg->len, false);
		else
			ret = nand_read_page_op(chip, page, seg->phys, oob,
						seg->len);
		if (ret)
			return ret;
		started = true;
	}

	return 0;
}

/*
 * Programs the OOB bytes only, raw: the data area is left as it is. The
 * metadata bytes are protected by the ECC of packet 0, which is not updated
 * here: users of the free bytes write them together with the page data.
 */
static int tango_write_oob(struct nand_chip *chip, int page)
{
	struct mtd_info *mtd = nand_to_mtd(chip);
	struct tango_chip *tc = to_tango_chip(chip);
	const struct tango_seg *seg;
	bool started = false;
	unsigned int i;
	u8 *oob;
	int ret;

	for (i = 0; i < tc->nsegs; i++) {
		seg = &tc->segs[i];
		if (seg->view < mtd->writesize)
			continue;

		oob = chip->oob_poi + seg->view - mtd->writesize;
		if (started)
			ret = nand_change_write_column_op(chip, seg->phys, oob,
							  seg->len, false);
		else
			ret = nand_prog_page_begin_op(chip, page, seg->phys,
						      oob, seg->len);
		if (ret)
			return ret;
		started = true;
	}

	return nand_prog_page_end_op(chip);
}

/*
 * An OOB-only write that is not raw cannot update the ECC of packet 0,
 * which covers the metadata: it may only write the bad block marker.
 * The free bytes are written together with the page data.
 */
static int tango_write_oob_ecc(struct nand_chip *chip, int page)
{
	struct mtd_info *mtd = nand_to_mtd(chip);

	if (memchr_inv(chip->oob_poi + TANGO_BBM_SIZE, 0xff,
		       mtd->oobsize - TANGO_BBM_SIZE))
		return -EOPNOTSUPP;

	return tango_write_oob(chip, page);
}

/*
 * ECC page access: NFC + DMA
 */

/* The DMA provider's completion: atomic context */
static void tango_dma_callback(void *arg, const struct dmaengine_result *result)
{
	struct tango_nfc *nfc = arg;

	nfc->dma_result = *result;
	complete(&nfc->dma_done);
}

static int tango_wait_dma(struct tango_nfc *nfc, const char *what, int page)
{
	unsigned long left;
	int ret;

	trace_tango_nand_wait_begin(page, TANGO_NAND_WAIT_DMA, 0);
	left = wait_for_completion_timeout(&nfc->dma_done,
					   msecs_to_jiffies(TANGO_DMA_TIMEOUT_MS));
	/* The completion orders the callback's writes before these reads */
	if (!left)
		ret = -ETIMEDOUT;
	else if (nfc->dma_result.result != DMA_TRANS_NOERROR ||
		 nfc->dma_result.residue)
		ret = -EIO;
	else
		ret = 0;
	trace_tango_nand_wait_end(page, TANGO_NAND_WAIT_DMA, ret);

	if (ret == -ETIMEDOUT)
		dev_err(nfc->dev, "tango_nand: %s page %d: timeout waiting for DMA completion\n",
			what, page);
	else if (ret)
		dev_err(nfc->dev, "tango_nand: %s page %d: DMA transfer failed (result %d, %u bytes not moved)\n",
			what, page, nfc->dma_result.result,
			nfc->dma_result.residue);

	return ret;
}

static int tango_wait_cmd_ready(struct tango_nfc *nfc, const char *what,
				int page)
{
	u32 val;
	int ret;

	trace_tango_nand_wait_begin(page, TANGO_NAND_WAIT_CMD_READY, 0);
	ret = readl_poll_timeout(nfc->reg_base + NFC_STATUS, val,
				 val & NFC_STATUS_CMD_READY, TANGO_POLL_US,
				 TANGO_READY_TIMEOUT_US);
	trace_tango_nand_wait_end(page, TANGO_NAND_WAIT_CMD_READY,
				  ret ? ret :
				  val & NFC_STATUS_CMD_ABORTED ? -EIO : 0);
	if (ret) {
		dev_err(nfc->dev, "tango_nand: %s page %d: timeout waiting for CMD_READY (status %#x)\n",
			what, page, val);
		return -ETIMEDOUT;
	}

	/* Ready because something else ended the command */
	if (val & NFC_STATUS_CMD_ABORTED) {
		dev_err(nfc->dev, "tango_nand: %s page %d: command aborted by the controller (status %#x)\n",
			what, page, val);
		return -EIO;
	}

	return 0;
}

/*
 * Abandons the command in progress: the NFC drops the data in its input
 * FIFO and what it has not sent yet of a page read, and is ready for a
 * new command right away. A program the chip has already started goes on
 * inside the chip: wait for it, so that the next operation finds the chip
 * ready.
 */
static int tango_nfc_abort(struct tango_nfc *nfc, const char *what, int page)
{
	u32 before, val;
	int ret;

	before = readl(nfc->reg_base + NFC_STATUS);
	writel(NFC_FLASH_CMD_ABORT, nfc->reg_base + NFC_FLASH_CMD);
	trace_tango_nand_cmd(page, NFC_FLASH_CMD_ABORT);

	ret = readl_poll_timeout_atomic(nfc->reg_base + NFC_STATUS, val,
					val & NFC_STATUS_CMD_READY, 1,
					TANGO_ABORT_TIMEOUT_US);
	if (ret) {
		dev_err(nfc->dev, "tango_nand: %s page %d: controller did not abort its command (status %#x)\n",
			what, page, val);
		return ret;
	}

	dev_warn(nfc->dev, "tango_nand: %s page %d: command aborted (status %#x, %lu bytes in the FIFO)\n",
		 what, page, before,
		 FIELD_GET(NFC_STATUS_FIFO_LEVEL, before));

	return tango_wait_iordy(nfc, TANGO_ABORT_IORDY_MS);
}

/*
 * Loads the chip's configuration into the NFC registers, which keep it
 * (an abort does not change them): only when they hold another chip's.
 */
static void tango_nfc_configure(struct tango_nfc *nfc, struct tango_chip *tc)
{
	if (nfc->configured == tc)
		return;

	writel(tc->timing1, nfc->reg_base + NFC_TIMING1);
	writel(tc->timing2, nfc->reg_base + NFC_TIMING2);
	writel(tc->xfer_cfg, nfc->reg_base + NFC_XFER_CFG);
	writel(tc->pkt_0_cfg, nfc->reg_base + NFC_PKT_0_CFG);
	writel(tc->pkt_n_cfg, nfc->reg_base + NFC_PKT_N_CFG);
	writel(tc->bb_cfg, nfc->reg_base + NFC_BB_CFG);
	nfc->configured = tc;
}

/*
 * Waits for the end of a page access: the NFC first, since only the client
 * knows when its peripheral has all the data, then the DMA transfer, which
 * the provider completes once told.
 */
static int tango_wait_xfer(struct tango_nfc *nfc, dma_cookie_t cookie,
			   const char *what, int page)
{
	int ret;

	ret = tango_wait_cmd_ready(nfc, what, page);
	if (ret)
		return ret;

	ret = dmaengine_periph_done(nfc->chan, cookie);
	if (ret) {
		dev_err(nfc->dev, "tango_nand: %s page %d: DMA provider refused completion: %d\n",
			what, page, ret);
		return ret;
	}

	return tango_wait_dma(nfc, what, page);
}

/*
 * Reads (@program false) or programs one page through the NFC. The data of
 * the page (writesize bytes, without the metadata) goes through the DMA
 * channel.
 */
static int tango_nfc_xfer(struct nand_chip *chip, int page, void *buf,
			  bool program, u32 metadata)
{
	struct mtd_info *mtd = nand_to_mtd(chip);
	struct tango_nfc *nfc = to_tango_nfc(chip->controller);
	struct tango_chip *tc = to_tango_chip(chip);
	struct device *dma_dev = dmaengine_get_dma_device(nfc->chan);
	enum dma_data_direction dir = program ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	const char *what = program ? "program" : "read";
	struct dma_async_tx_descriptor *desc;
	dma_cookie_t cookie;
	dma_addr_t addr;
	u32 status;
	int ret;

	/*
	 * Every failed page access aborts its command, so the controller
	 * should be idle here. If it is not, a new command would be refused:
	 * abort the old one first.
	 */
	status = readl(nfc->reg_base + NFC_STATUS);
	if (!(status & NFC_STATUS_CMD_READY)) {
		dev_warn(nfc->dev, "tango_nand: %s page %d: controller busy with an earlier command (status %#x), aborting it\n",
			 what, page, status);
		ret = tango_nfc_abort(nfc, what, page);
		if (ret)
			return -EIO;
	}

	addr = dma_map_single(dma_dev, buf, mtd->writesize, dir);
	if (dma_mapping_error(dma_dev, addr))
		return -ENOMEM;

	desc = dmaengine_prep_slave_single(nfc->chan, addr, mtd->writesize,
					   program ? DMA_MEM_TO_DEV :
						     DMA_DEV_TO_MEM,
					   DMA_PREP_INTERRUPT |
					   DMA_PREP_PERIPH_DONE);
	if (!desc) {
		dev_err(nfc->dev, "tango_nand: %s page %d: cannot prepare DMA transfer\n",
			what, page);
		ret = -EIO;
		goto unmap;
	}

	desc->callback_result = tango_dma_callback;
	desc->callback_param = nfc;
	reinit_completion(&nfc->dma_done);

	tango_nfc_configure(nfc, tc);
	writel(PBUS_PAD_MODE_NFC, nfc->pbus_base + PBUS_PAD_MODE);
	if (program)
		writel(metadata, nfc->mem_base + NFC_MEM_METADATA);
	writel(page, nfc->reg_base + NFC_ADDR_PAGE);
	writel(0, nfc->reg_base + NFC_ADDR_OFFSET);
	writel(program ? NFC_FLASH_CMD_PROGRAM : NFC_FLASH_CMD_READ,
	       nfc->reg_base + NFC_FLASH_CMD);
	trace_tango_nand_cmd(page, program ? NFC_FLASH_CMD_PROGRAM :
				   NFC_FLASH_CMD_READ);

	/*
	 * CMD_READY only tells the end of the command if the command started:
	 * the controller is busy with it now, it cannot end before its data
	 * moves. A refused command moves no data: the DMA transfer, prepared
	 * but not submitted, is dropped by the termination below.
	 */
	status = readl(nfc->reg_base + NFC_STATUS);
	if (status & (NFC_STATUS_CMD_REFUSED | NFC_STATUS_CMD_READY)) {
		dev_err(nfc->dev, "tango_nand: %s page %d: controller %s the command (status %#x)\n",
			what, page,
			status & NFC_STATUS_CMD_REFUSED ? "refused" :
							  "did not start",
			status);
		dmaengine_terminate_sync(nfc->chan);
		ret = -EIO;
		goto raw;
	}

	/*
	 * The NFC and the sbox are flow controlled: the data moves once the
	 * DMA provider has set its route up, whenever it does.
	 */
	cookie = dmaengine_submit(desc);
	ret = dma_submit_error(cookie);
	if (ret) {
		dev_err(nfc->dev, "tango_nand: %s page %d: cannot submit DMA transfer\n",
			what, page);
		goto abort;
	}
	dma_async_issue_pending(nfc->chan);

	ret = tango_wait_xfer(nfc, cookie, what, page);
	if (!ret)
		goto raw;

abort:
	/*
	 * Stop the NFC first, then the DMA transfer: the provider stops its
	 * memory channel before it tears the route down, so none of this
	 * page's bytes is left to reach the next page.
	 */
	tango_nfc_abort(nfc, what, page);
	dmaengine_terminate_sync(nfc->chan);
raw:
	writel(PBUS_PAD_MODE_RAW, nfc->pbus_base + PBUS_PAD_MODE);
unmap:
	dma_unmap_single(dma_dev, addr, mtd->writesize, dir);
	trace_tango_nand_page_done(page, program, ret);

	return ret;
}

/* Reads the raw page into the view buffer: data, then OOB */
static int tango_read_view(struct nand_chip *chip, int page)
{
	struct mtd_info *mtd = nand_to_mtd(chip);
	struct tango_chip *tc = to_tango_chip(chip);
	int ret;

	ret = nand_read_page_op(chip, page, 0, tc->phys_buf,
				mtd->writesize + mtd->oobsize);
	if (ret)
		return ret;

	tango_phys_to_view(tc, tc->view_buf, tc->view_buf + mtd->writesize);

	return 0;
}

static int tango_read_page(struct nand_chip *chip, u8 *buf, int oob_required,
			   int page)
{
	struct mtd_info *mtd = nand_to_mtd(chip);
	struct tango_nfc *nfc = to_tango_nfc(chip->controller);
	struct tango_chip *tc = to_tango_chip(chip);
	struct nand_ecc_ctrl *ecc = &chip->ecc;
	u8 *oob = tc->view_buf + mtd->writesize;
	unsigned int max_bitflips = 0, total, worst, i;
	bool pkt0_failed, pktn_failed;
	u32 report, metadata;
	int ret;

	ret = tango_nfc_xfer(chip, page, buf, false, 0);
	if (ret)
		return ret;

	/* The whole page reads as 0xff: erased, data is all 0xff */
	if (readl(nfc->reg_base + NFC_XFER_STATUS) &
	    NFC_XFER_STATUS_PAGE_IS_EMPTY) {
		if (oob_required)
			memset(chip->oob_poi, 0xff, mtd->oobsize);
		return 0;
	}

	report = readl(nfc->mem_base + NFC_MEM_ERROR_REPORT);
	metadata = readl(nfc->mem_base + NFC_MEM_METADATA);
	pkt0_failed = !(report & NFC_ERR_PKT0_OK);
	pktn_failed = ecc->steps > 1 && !(report & NFC_ERR_PKTN_OK);

	/*
	 * An erased page with bitflips does not decode. Check such pages on
	 * the raw data, as erased chunks with few enough bitflips. A page
	 * that decoded only needs its OOB bytes read.
	 */
	if (pkt0_failed || pktn_failed) {
		ret = tango_read_view(chip, page);
		if (ret)
			return ret;
	} else if (oob_required) {
		ret = tango_read_oob(chip, page);
		if (ret)
			return ret;
	}

	if (!pkt0_failed) {
		max_bitflips = FIELD_GET(NFC_ERR_PKT0_COUNT, report);
		mtd->ecc_stats.corrected += max_bitflips;
	} else {
		ret = nand_check_erased_ecc_chunk(tc->view_buf, ecc->size,
						  oob + TANGO_OOB_ECC,
						  ecc->bytes,
						  oob + TANGO_OOB_META,
						  TANGO_META_SIZE,
						  ecc->strength);
		if (ret < 0) {
			mtd->ecc_stats.failed++;
		} else {
			memset(buf, 0xff, ecc->size);
			mtd->ecc_stats.corrected += ret;
			max_bitflips = ret;
		}
	}

	/*
	 * The report only has the highest number of corrected bits over the
	 * other packets, not their sum, nor which packet failed to decode.
	 */
	if (ecc->steps > 1 && !pktn_failed) {
		worst = FIELD_GET(NFC_ERR_PKTN_COUNT, report);
		mtd->ecc_stats.corrected += worst;
		max_bitflips = max(max_bitflips, worst);
	} else if (pktn_failed) {
		total = 0;
		worst = 0;
		for (i = 1; i < ecc->steps; i++) {
			ret = nand_check_erased_ecc_chunk(tc->view_buf +
							  i * ecc->size,
							  ecc->size,
							  oob + TANGO_OOB_ECC +
							  i * ecc->bytes,
							  ecc->bytes, NULL, 0,
							  ecc->strength);
			if (ret < 0)
				break;
			total += ret;
			worst = max_t(unsigned int, worst, ret);
		}

		if (i < ecc->steps) {
			mtd->ecc_stats.failed++;
		} else {
			memset(buf + ecc->size, 0xff,
			       mtd->writesize - ecc->size);
			mtd->ecc_stats.corrected += total;
			max_bitflips = max(max_bitflips, worst);
		}
	}

	if (oob_required) {
		if (pkt0_failed || pktn_failed)
			memcpy(chip->oob_poi, oob, mtd->oobsize);
		/* Decoded metadata, else what the raw page holds */
		if (!pkt0_failed)
			put_unaligned_le32(metadata,
					   chip->oob_poi + TANGO_OOB_META);
	}

	return max_bitflips;
}

static int tango_write_page(struct nand_chip *chip, const u8 *buf,
			    int oob_required, int page)
{
	u32 metadata = 0xffffffff;
	u8 status;
	int ret;

	if (oob_required)
		metadata = get_unaligned_le32(chip->oob_poi + TANGO_OOB_META);

	/* The buffer is only read, by the DMA engine */
	ret = tango_nfc_xfer(chip, page, (void *)buf, true, metadata);
	if (ret)
		return ret;

	ret = nand_status_op(chip, &status);
	if (ret)
		return ret;

	return status & NAND_STATUS_FAIL ? -EIO : 0;
}

/*
 * OOB layout, raw view: bad block marker, metadata (free), ECC bytes
 */

static int tango_ooblayout_ecc(struct mtd_info *mtd, int section,
			       struct mtd_oob_region *oobregion)
{
	struct nand_chip *chip = mtd_to_nand(mtd);

	if (section >= chip->ecc.steps)
		return -ERANGE;

	oobregion->offset = TANGO_OOB_ECC + section * chip->ecc.bytes;
	oobregion->length = chip->ecc.bytes;

	return 0;
}

static int tango_ooblayout_free(struct mtd_info *mtd, int section,
				struct mtd_oob_region *oobregion)
{
	if (section)
		return -ERANGE;

	oobregion->offset = TANGO_OOB_META;
	oobregion->length = TANGO_META_SIZE;

	return 0;
}

static const struct mtd_ooblayout_ops tango_ooblayout_ops = {
	.ecc = tango_ooblayout_ecc,
	.free = tango_ooblayout_free,
};

static int tango_ecc_bytes(int step_size, int strength)
{
	return DIV_ROUND_UP(strength * TANGO_BCH_M, 8);
}

NAND_ECC_CAPS_SINGLE(tango_ecc_caps, tango_ecc_bytes, TANGO_ECC_STEP,
		     1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
		     31, 32);

static int tango_seg_cmp(const void *a, const void *b)
{
	const struct tango_seg *sa = a, *sb = b;

	return sa->phys < sb->phys ? -1 : sa->phys > sb->phys;
}

/*
 * Adds a piece of the raw view at layout offset @lofs: the layout is the
 * physical page without the bad block marker bytes, which sit at physical
 * offset writesize and move what follows them.
 */
static void tango_add_seg(struct tango_chip *tc, unsigned int view,
			  unsigned int lofs, unsigned int len)
{
	unsigned int ws = nand_to_mtd(&tc->nand)->writesize;
	unsigned int n;

	while (len) {
		n = lofs < ws ? min(len, ws - lofs) : len;
		tc->segs[tc->nsegs++] = (struct tango_seg) {
			.view = view,
			.phys = lofs < ws ? lofs : lofs + TANGO_BBM_SIZE,
			.len = n,
		};
		view += n;
		lofs += n;
		len -= n;
	}
}

static int tango_build_layout(struct tango_chip *tc)
{
	struct nand_chip *chip = &tc->nand;
	struct mtd_info *mtd = nand_to_mtd(chip);
	unsigned int ws = mtd->writesize, size = chip->ecc.size;
	unsigned int bytes = chip->ecc.bytes, lofs, tail, i;

	/* Every field may be split once, around the bad block marker */
	tc->segs = kcalloc(2 * chip->ecc.steps + 4, sizeof(*tc->segs),
			   GFP_KERNEL);
	if (!tc->segs)
		return -ENOMEM;

	tango_add_seg(tc, ws + TANGO_OOB_META, 0, TANGO_META_SIZE);
	lofs = TANGO_META_SIZE;
	for (i = 0; i < chip->ecc.steps; i++) {
		tango_add_seg(tc, i * size, lofs, size);
		lofs += size;
		tango_add_seg(tc, ws + TANGO_OOB_ECC + i * bytes, lofs, bytes);
		lofs += bytes;
	}

	tail = ws + mtd->oobsize - TANGO_BBM_SIZE - lofs;
	if (tail)
		tango_add_seg(tc, ws + TANGO_OOB_ECC + chip->ecc.steps * bytes,
			      lofs, tail);

	tc->segs[tc->nsegs++] = (struct tango_seg) {
		.view = ws + TANGO_OOB_BBM,
		.phys = ws,
		.len = TANGO_BBM_SIZE,
	};

	sort(tc->segs, tc->nsegs, sizeof(*tc->segs), tango_seg_cmp, NULL);

	return 0;
}

static int tango_attach_chip(struct nand_chip *chip)
{
	struct mtd_info *mtd = nand_to_mtd(chip);
	struct tango_nfc *nfc = to_tango_nfc(chip->controller);
	struct tango_chip *tc = to_tango_chip(chip);
	struct nand_ecc_ctrl *ecc = &chip->ecc;
	int ret;

	if (chip->options & NAND_BUSWIDTH_16) {
		dev_err(nfc->dev, "%s: 16-bit bus not supported\n", mtd->name);
		return -EINVAL;
	}

	switch (ecc->engine_type) {
	case NAND_ECC_ENGINE_TYPE_ON_HOST:
		break;
	case NAND_ECC_ENGINE_TYPE_NONE:
	case NAND_ECC_ENGINE_TYPE_SOFT:
		/* The core does it all through ->exec_op() */
		return 0;
	default:
		dev_err(nfc->dev, "%s: unsupported ECC engine type\n",
			mtd->name);
		return -EINVAL;
	}

	if (ecc->algo != NAND_ECC_ALGO_UNKNOWN &&
	    ecc->algo != NAND_ECC_ALGO_BCH) {
		dev_err(nfc->dev, "%s: the controller only does BCH\n",
			mtd->name);
		return -EINVAL;
	}

	/*
	 * The device tree's nand-ecc-strength and nand-ecc-step-size if given,
	 * else the chip's requirements. The OOB keeps the bad block marker and
	 * the metadata.
	 */
	ret = nand_ecc_choose_conf(chip, &tango_ecc_caps,
				   mtd->oobsize - TANGO_OOB_ECC);
	if (ret) {
		dev_err(nfc->dev, "%s: no ECC configuration fits: %d\n",
			mtd->name, ret);
		return ret;
	}

	if (mtd->writesize < ecc->size || mtd->writesize % ecc->size ||
	    mtd->writesize / ecc->size > FIELD_MAX(NFC_XFER_CFG_STEPS) ||
	    mtd->writesize > FIELD_MAX(NFC_BB_CFG_OFFSET)) {
		dev_err(nfc->dev, "%s: page size %u not supported\n",
			mtd->name, mtd->writesize);
		return -EINVAL;
	}

	ecc->algo = NAND_ECC_ALGO_BCH;
	ecc->steps = mtd->writesize / ecc->size;
	ecc->read_page = tango_read_page;
	ecc->write_page = tango_write_page;
	ecc->read_page_raw = tango_read_page_raw;
	ecc->write_page_raw = tango_write_page_raw;
	ecc->read_oob = tango_read_oob;
	ecc->write_oob = tango_write_oob_ecc;
	ecc->write_oob_raw = tango_write_oob;
	mtd_set_ooblayout(mtd, &tango_ooblayout_ops);

	/* A flash BBT cannot keep its marker in the OOB: the NFC skips it */
	if (chip->bbt_options & NAND_BBT_USE_FLASH)
		chip->bbt_options |= NAND_BBT_NO_OOB;

	tc->xfer_cfg = FIELD_PREP(NFC_XFER_CFG_CS, tc->cs) |
		       FIELD_PREP(NFC_XFER_CFG_PAGE_COUNT, 1) |
		       FIELD_PREP(NFC_XFER_CFG_STEPS, ecc->steps) |
		       FIELD_PREP(NFC_XFER_CFG_META_SIZE, TANGO_META_SIZE);
	tc->pkt_0_cfg = FIELD_PREP(NFC_PKT_CFG_SIZE,
				   ecc->size + TANGO_META_SIZE) |
			FIELD_PREP(NFC_PKT_CFG_STRENGTH, ecc->strength);
	tc->pkt_n_cfg = FIELD_PREP(NFC_PKT_CFG_SIZE, ecc->size) |
			FIELD_PREP(NFC_PKT_CFG_STRENGTH, ecc->strength);
	tc->bb_cfg = FIELD_PREP(NFC_BB_CFG_OFFSET, mtd->writesize) |
		     FIELD_PREP(NFC_BB_CFG_SIZE, TANGO_BBM_SIZE);

	ret = tango_build_layout(tc);
	if (ret)
		return ret;

	tc->phys_buf = kmalloc(mtd->writesize + mtd->oobsize, GFP_KERNEL);
	tc->view_buf = kmalloc(mtd->writesize + mtd->oobsize, GFP_KERNEL);
	if (!tc->phys_buf || !tc->view_buf) {
		kfree(tc->phys_buf);
		kfree(tc->view_buf);
		kfree(tc->segs);
		return -ENOMEM;
	}

	dev_dbg(nfc->dev, "%s: cs %u, BCH %u bits per %u bytes, %u ECC bytes per step\n",
		mtd->name, tc->cs, ecc->strength, ecc->size, ecc->bytes);

	return 0;
}

static void tango_detach_chip(struct nand_chip *chip)
{
	struct tango_nfc *nfc = to_tango_nfc(chip->controller);
	struct tango_chip *tc = to_tango_chip(chip);

	if (nfc->configured == tc)
		nfc->configured = NULL;

	kfree(tc->view_buf);
	kfree(tc->phys_buf);
	kfree(tc->segs);
	tc->view_buf = NULL;
	tc->phys_buf = NULL;
	tc->segs = NULL;
	tc->nsegs = 0;
}

static const struct nand_controller_ops tango_controller_ops = {
	.attach_chip = tango_attach_chip,
	.detach_chip = tango_detach_chip,
	.exec_op = tango_exec_op,
	.setup_interface = tango_setup_interface,
};

/*
 * Probe and removal
 */

static void tango_chips_cleanup(struct tango_nfc *nfc)
{
	struct tango_chip *tc, *tmp;

	list_for_each_entry_safe(tc, tmp, &nfc->chips, node) {
		if (tc->registered)
			WARN_ON(mtd_device_unregister(nand_to_mtd(&tc->nand)));
		nand_cleanup(&tc->nand);
		list_del(&tc->node);
	}
}

static int tango_chip_init(struct tango_nfc *nfc, struct device_node *np)
{
	struct device *dev = nfc->dev;
	struct tango_chip *tc;
	struct nand_chip *chip;
	struct mtd_info *mtd;
	u32 cs;
	int ret;

	if (of_property_count_u32_elems(np, "reg") != 1 ||
	    of_property_read_u32(np, "reg", &cs)) {
		dev_err(dev, "%pOF: exactly one chip select expected\n", np);
		return -EINVAL;
	}

	if (cs >= TANGO_MAX_CS) {
		dev_err(dev, "%pOF: invalid chip select %u\n", np, cs);
		return -EINVAL;
	}

	if (test_and_set_bit(cs, &nfc->assigned_cs)) {
		dev_err(dev, "%pOF: chip select %u already used\n", np, cs);
		return -EINVAL;
	}

	tc = devm_kzalloc(dev, sizeof(*tc), GFP_KERNEL);
	if (!tc)
		return -ENOMEM;

	tc->cs = cs;
	tc->base = nfc->pbus_base + cs * PBUS_CS_STRIDE;

	chip = &tc->nand;
	chip->controller = &nfc->hw;
	chip->options |= NAND_USES_DMA | NAND_NO_SUBPAGE_WRITE;
	chip->buf_align = dma_get_cache_alignment();
	nand_set_flash_node(chip, np);

	mtd = nand_to_mtd(chip);
	mtd->owner = THIS_MODULE;
	mtd->dev.parent = dev;
	if (of_property_read_string(np, "label", &mtd->name))
		mtd->name = devm_kasprintf(dev, GFP_KERNEL, "tango-nand.%u",
					   cs);
	if (!mtd->name)
		return -ENOMEM;

	ret = nand_scan(chip, 1);
	if (ret)
		return dev_err_probe(dev, ret, "%pOF: cannot scan chip\n", np);

	list_add_tail(&tc->node, &nfc->chips);

	return 0;
}

static int tango_chips_init(struct tango_nfc *nfc)
{
	struct tango_chip *tc;
	int ret;

	if (!of_get_available_child_count(nfc->dev->of_node)) {
		dev_err(nfc->dev, "no NAND chip described\n");
		return -ENODEV;
	}

	for_each_available_child_of_node_scoped(nfc->dev->of_node, np) {
		ret = tango_chip_init(nfc, np);
		if (ret)
			return ret;
	}

	/* Scan every chip before any is used */
	list_for_each_entry(tc, &nfc->chips, node) {
		ret = mtd_device_register(nand_to_mtd(&tc->nand), NULL, 0);
		if (ret)
			return ret;
		tc->registered = true;
	}

	return 0;
}

static int tango_nand_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct dma_slave_caps caps;
	struct tango_nfc *nfc;
	struct clk *clk;
	int ret;

	nfc = devm_kzalloc(dev, sizeof(*nfc), GFP_KERNEL);
	if (!nfc)
		return -ENOMEM;

	nfc->dev = dev;
	INIT_LIST_HEAD(&nfc->chips);
	init_completion(&nfc->dma_done);
	nand_controller_init(&nfc->hw);
	nfc->hw.ops = &tango_controller_ops;

	nfc->reg_base = devm_platform_ioremap_resource(pdev, 0);
	if (IS_ERR(nfc->reg_base))
		return PTR_ERR(nfc->reg_base);

	nfc->mem_base = devm_platform_ioremap_resource(pdev, 1);
	if (IS_ERR(nfc->mem_base))
		return PTR_ERR(nfc->mem_base);

	nfc->pbus_base = devm_platform_ioremap_resource(pdev, 2);
	if (IS_ERR(nfc->pbus_base))
		return PTR_ERR(nfc->pbus_base);

	clk = devm_clk_get_enabled(dev, NULL);
	if (IS_ERR(clk))
		return dev_err_probe(dev, PTR_ERR(clk), "cannot get clock\n");

	nfc->clk_rate = clk_get_rate(clk);
	if (!nfc->clk_rate)
		return dev_err_probe(dev, -EINVAL, "clock rate unknown\n");

	nfc->chan = dma_request_chan(dev, "rxtx");
	if (IS_ERR(nfc->chan))
		return dev_err_probe(dev, PTR_ERR(nfc->chan),
				     "cannot get DMA channel\n");

	/*
	 * Without DMA_PREP_PERIPH_DONE the provider may end a program's
	 * transfer while its data is still on its way to the NFC.
	 */
	ret = dma_get_slave_caps(nfc->chan, &caps);
	if (!ret && !caps.periph_done)
		ret = -EOPNOTSUPP;
	if (ret) {
		dma_release_channel(nfc->chan);
		return dev_err_probe(dev, ret,
				     "DMA channel %s cannot report its peripheral done\n",
				     dma_chan_name(nfc->chan));
	}

	writel(PBUS_PAD_MODE_RAW, nfc->pbus_base + PBUS_PAD_MODE);
	platform_set_drvdata(pdev, nfc);

	ret = tango_chips_init(nfc);
	if (ret) {
		tango_chips_cleanup(nfc);
		dma_release_channel(nfc->chan);
		return ret;
	}

	return 0;
}

static void tango_nand_remove(struct platform_device *pdev)
{
	struct tango_nfc *nfc = platform_get_drvdata(pdev);

	tango_chips_cleanup(nfc);
	dma_release_channel(nfc->chan);
}

static const struct of_device_id tango_nand_ids[] = {
	{ .compatible = "sigma,smp8758-nand" },
	{ /* sentinel */ }
};
MODULE_DEVICE_TABLE(of, tango_nand_ids);

static struct platform_driver tango_nand_driver = {
	.probe = tango_nand_probe,
	.remove = tango_nand_remove,
	.driver = {
		.name = "tango-nand",
		.of_match_table = tango_nand_ids,
	},
};

module_platform_driver(tango_nand_driver);

MODULE_AUTHOR("tangolab developers <tangolab@users.noreply.invalid>");
MODULE_DESCRIPTION("Sigma Designs tango4 NAND flash controller driver");
MODULE_LICENSE("GPL");
