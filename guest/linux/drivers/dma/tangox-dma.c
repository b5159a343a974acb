// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sigma Designs SMP8758 (tango4) switch box DMA controller
 *
 * Copyright (c) 2026 tangolab developers
 *
 * A transfer between memory and a peripheral takes two steps: a route is
 * set in the switch box (sbox) between the peripheral's sbox port and the
 * sbox port of a memory channel, then the memory channel is given commands
 * (address, count, mode). A memory channel moves data in one direction
 * only and raises its interrupt when it has finished the memory side of a
 * command. For a memory to device transfer that is before the peripheral
 * has received the data: bytes are still in flight through the sbox, and
 * changing the route loses them.
 *
 * Each virtual channel serves one peripheral (sbox port). Memory channels
 * are taken from the pool of the right direction for each descriptor and
 * given back when the descriptor ends.
 *
 * A descriptor ends when the interrupt of its last command has come, and,
 * if it was prepared with DMA_PREP_PERIPH_DONE, the client has also called
 * dmaengine_periph_done() for it (in either order). Only then is its route
 * torn down, its completion run and its memory channel handed to the next
 * descriptor. A descriptor whose memory side is done but whose client
 * neither reports its peripheral done nor terminates the channel keeps its
 * memory channel: after TANGOX_DMA_PERIPH_WAIT_MS this is reported once
 * per virtual channel, the descriptor is never completed behind the
 * client's back.
 *
 * The sbox is flow controlled: a memory channel only moves data as fast as
 * its route takes it and waits while its route is missing, and a device
 * only sends data into a route that exists, so a client may start its
 * peripheral before or after issuing the transfer.
 *
 * dmaengine_terminate_*() stops the memory channel serving the virtual
 * channel (CMD STOP: a memory to device channel pushes no more data, a
 * device to memory channel takes no more) before it tears the route down.
 * Tearing the route of a device to memory channel down drops what the
 * device had already sent towards it, so the channel starts clean. A
 * command that had already ended when the stop came still raises its
 * interrupt: the channel is draining until then, and
 * dmaengine_synchronize() waits for the channels draining for the virtual
 * channel, so that no memory channel touches the client's buffers after
 * it returns.
 *
 * A register write to a busy memory channel is refused by the channel
 * without affecting the running command (CMD bit REFUSED): it is counted
 * and reported, and does not fail the transfer. Only CMD bit ERROR (the
 * channel could not run its command) does.
 *
 * Locking: td->lock protects the memory channels, the sbox routes and the
 * list of virtual channels waiting for a memory channel. It is the outer
 * lock: a virtual channel's vc.lock is only taken with td->lock held, and
 * never two vc.locks at a time. Every path that may change the state of a
 * memory channel takes td->lock, then the vc.lock of the virtual channel
 * concerned, and in the end calls tangox_dma_dispatch() with td->lock
 * held to hand free memory channels to waiting virtual channels.
 */

#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_dma.h>
#include <linux/of_irq.h>
#include <linux/platform_device.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/wait.h>

#include "dmaengine.h"
#include "virt-dma.h"

#define CREATE_TRACE_POINTS
#include <trace/events/tangox_dma.h>

/* Switch box registers */
#define SBOX_RESET			0x00
#define SBOX_RESET2			0x04
#define SBOX_ROUTE			0x08
#define SBOX_ROUTE2			0x0c

#define SBOX_RESET_ASSERT		0xffffffff
#define SBOX_RESET_RELEASE		0xff00ff00
#define SBOX_ROUTE_ALL_OFF		0xffffffff
#define SBOX_PORTS_PER_REG		8
#define SBOX_NIBBLE			GENMASK(3, 0)
#define SBOX_DISCONNECT			0xf
/* The highest port a route can name as its source; 0xf disconnects. */
#define SBOX_MAX_SRC_PORT		14
#define SBOX_MAX_PORT			16

/* Memory channel registers */
#define MCHAN_ADDR			0x00
#define MCHAN_COUNT			0x04
#define MCHAN_ADDR2			0x08
#define MCHAN_CMD			0x0c

#define MCHAN_CMD_LAST			BIT(0)
#define MCHAN_CMD_MODE			GENMASK(2, 1)
/* Written alone: stop the command in progress */
#define MCHAN_CMD_STOP			BIT(4)
/* Read only */
#define MCHAN_CMD_REFUSED		BIT(27)
#define MCHAN_CMD_STOPPED		BIT(28)
#define MCHAN_CMD_LAST_DONE		BIT(29)
#define MCHAN_CMD_ERROR			BIT(30)
#define MCHAN_CMD_BUSY			BIT(31)

#define MCHAN_MODE_SINGLE		1
#define MCHAN_MODE_DOUBLE		2
#define MCHAN_MODE_RECT			3

/* single: length; double: len0 and len1; rectangle: width and lines */
#define MCHAN_COUNT_X			GENMASK(12, 0)
#define MCHAN_COUNT_X1			GENMASK(28, 16)
#define MCHAN_COUNT_Y			GENMASK(29, 16)
#define MCHAN_MAX_X			8191
#define MCHAN_MAX_LINES			16383

/*
 * Linear pieces end on 4 KiB boundaries, and 4 KiB aligned runs of at
 * least TANGOX_DMA_RECT_MIN_LINES lines go into one rectangle command of
 * 4 KiB lines, whose stride equals its width.
 */
#define TANGOX_DMA_LINE			SZ_4K
#define TANGOX_DMA_RECT_MIN_LINES	3

/* How long a client may take to report its peripheral done, quietly */
#define TANGOX_DMA_PERIPH_WAIT_MS	1000
/* How long dmaengine_synchronize() waits for a draining memory channel */
#define TANGOX_DMA_DRAIN_TIMEOUT_MS	100

struct tangox_dma_cmd {
	u32 mode;
	u32 addr;
	u32 addr2;
	u32 count;
	u32 len;
};

struct tangox_dma_desc {
	struct virt_dma_desc vd;
	enum dma_transfer_direction dir;
	bool periph_done;
	unsigned int next;
	size_t len;
	unsigned int ncmds;
	struct tangox_dma_cmd cmds[] __counted_by(ncmds);
};

enum tangox_dma_pchan_state {
	TANGOX_PCHAN_FREE,
	/* Running the commands of a descriptor. */
	TANGOX_PCHAN_BUSY,
	/* All commands done, waiting for dmaengine_periph_done(). */
	TANGOX_PCHAN_WAIT,
	/* Terminated while its last command's interrupt was pending. */
	TANGOX_PCHAN_DRAINING,
};

static const char * const tangox_dma_pchan_state_names[] = {
	[TANGOX_PCHAN_FREE] = "free",
	[TANGOX_PCHAN_BUSY] = "busy",
	[TANGOX_PCHAN_WAIT] = "wait",
	[TANGOX_PCHAN_DRAINING] = "draining",
};

struct tangox_dma_pchan {
	struct tangox_dma_dev *td;
	void __iomem *base;
	unsigned int id;
	int irq;
	enum dma_transfer_direction dir;
	u32 port;

	/* Protected by td->lock */
	enum tangox_dma_pchan_state state;
	struct tangox_dma_vchan *vchan;
	struct tangox_dma_desc *desc;
	/* A command was written and its interrupt has not come yet. */
	bool hw_busy;
	/* The virtual channel whose terminated descriptor it drains. */
	struct tangox_dma_vchan *drains;
	/* Peripheral port routed to or from this channel, 0 if none. */
	u32 routed;
	/* When the route was set, and the time earlier routes were set. */
	ktime_t routed_at;
	u64 held_ns;
	/* Descriptors started, to recognise one in the watchdog. */
	unsigned long starts;
	/* Reports a client that does not call dmaengine_periph_done(). */
	struct timer_list watchdog;
	unsigned long watched;

	atomic64_t transfers;
	atomic64_t bytes;
	atomic64_t teardowns;
	atomic64_t teardowns_waited;
	atomic64_t errors;
	atomic64_t stops;
	atomic64_t refused;
};

struct tangox_dma_vchan {
	struct virt_dma_chan vc;
	u32 port;

	/* Protected by td->lock and vc.lock */
	struct tangox_dma_pchan *pchan;
	/* In td->waiting; protected by td->lock */
	struct list_head node;
	/* A missing dmaengine_periph_done() was reported; td->lock */
	bool warned;
};

struct tangox_dma_dev {
	struct dma_device ddev;
	struct device *dev;
	void __iomem *sbox;

	/* Protects the memory channels, the sbox routes and waiting. */
	spinlock_t lock;
	/* Virtual channels with work, waiting for a memory channel */
	struct list_head waiting;

	unsigned int nr_pchans;
	struct tangox_dma_pchan *pchans;
	unsigned int nr_vchans;
	struct tangox_dma_vchan *vchans;

	/* Woken when a draining memory channel becomes free */
	wait_queue_head_t drain_wq;
};

static struct tangox_dma_desc *to_tangox_dma_desc(struct virt_dma_desc *vd)
{
	return container_of(vd, struct tangox_dma_desc, vd);
}

static struct tangox_dma_vchan *to_tangox_dma_vchan(struct dma_chan *chan)
{
	return container_of(chan, struct tangox_dma_vchan, vc.chan);
}

static struct tangox_dma_dev *to_tangox_dma_dev(struct dma_device *ddev)
{
	return container_of(ddev, struct tangox_dma_dev, ddev);
}

static const char *tangox_dma_dir_name(enum dma_transfer_direction dir)
{
	return dir == DMA_MEM_TO_DEV ? "mem-to-dev" : "dev-to-mem";
}

static void tangox_dma_desc_free(struct virt_dma_desc *vd)
{
	kfree(to_tangox_dma_desc(vd));
}

/* Route destination port @dst from source port @src (or disconnect it). */
static void tangox_dma_sbox_set(struct tangox_dma_dev *td, u32 dst, u32 src)
{
	unsigned int reg = dst > SBOX_PORTS_PER_REG ? SBOX_ROUTE2 : SBOX_ROUTE;
	unsigned int shift = ((dst - 1) % SBOX_PORTS_PER_REG) * 4;

	/* Nibbles written as 0 leave the other routes unchanged. */
	writel(FIELD_PREP(SBOX_NIBBLE, src) << shift, td->sbox + reg);
}

/* Cookie and length of the descriptor on @pchan, for the tracepoints. */
static int tangox_dma_cookie(struct tangox_dma_pchan *pchan)
{
	return pchan->desc ? pchan->desc->vd.tx.cookie : 0;
}

static size_t tangox_dma_len(struct tangox_dma_pchan *pchan)
{
	return pchan->desc ? pchan->desc->len : 0;
}

static void tangox_dma_route(struct tangox_dma_pchan *pchan, u32 port)
{
	if (pchan->dir == DMA_MEM_TO_DEV)
		tangox_dma_sbox_set(pchan->td, port, pchan->port);
	else
		tangox_dma_sbox_set(pchan->td, pchan->port, port);

	pchan->routed = port;
	pchan->routed_at = ktime_get();
	trace_tangox_dma_route_setup(pchan->id, tangox_dma_cookie(pchan),
				     pchan->port, port, pchan->dir,
				     tangox_dma_len(pchan));
}

/* Time the routes of @pchan have been set, up to now. td->lock held. */
static u64 tangox_dma_held_ns(struct tangox_dma_pchan *pchan)
{
	u64 held = pchan->held_ns;

	if (pchan->routed)
		held += ktime_to_ns(ktime_sub(ktime_get(), pchan->routed_at));

	return held;
}

static void tangox_dma_unroute(struct tangox_dma_pchan *pchan, bool waited)
{
	u32 dst = pchan->dir == DMA_MEM_TO_DEV ? pchan->routed : pchan->port;

	tangox_dma_sbox_set(pchan->td, dst, SBOX_DISCONNECT);
	trace_tangox_dma_route_teardown(pchan->id, tangox_dma_cookie(pchan),
					pchan->port, pchan->routed, pchan->dir,
					tangox_dma_len(pchan));
	pchan->held_ns = tangox_dma_held_ns(pchan);
	pchan->routed = 0;

	atomic64_inc(&pchan->teardowns);
	if (waited)
		atomic64_inc(&pchan->teardowns_waited);
}

static void tangox_dma_write_cmd(struct tangox_dma_pchan *pchan)
{
	struct tangox_dma_desc *desc = pchan->desc;
	struct tangox_dma_cmd *cmd = &desc->cmds[desc->next++];
	u32 val = FIELD_PREP(MCHAN_CMD_MODE, cmd->mode);

	if (desc->next == desc->ncmds)
		val |= MCHAN_CMD_LAST;

	writel(cmd->addr, pchan->base + MCHAN_ADDR);
	writel(cmd->count, pchan->base + MCHAN_COUNT);
	if (cmd->mode != MCHAN_MODE_SINGLE)
		writel(cmd->addr2, pchan->base + MCHAN_ADDR2);
	writel(val, pchan->base + MCHAN_CMD);

	pchan->hw_busy = true;
}

/* A free memory channel of direction @dir, or NULL. td->lock held. */
static struct tangox_dma_pchan *
tangox_dma_find_pchan(struct tangox_dma_dev *td, enum dma_transfer_direction dir)
{
	unsigned int i;

	for (i = 0; i < td->nr_pchans; i++) {
		struct tangox_dma_pchan *pchan = &td->pchans[i];

		if (pchan->dir == dir && pchan->state == TANGOX_PCHAN_FREE)
			return pchan;
	}

	return NULL;
}

static bool tangox_dma_has_dir(struct tangox_dma_dev *td,
			       enum dma_transfer_direction dir)
{
	unsigned int i;

	for (i = 0; i < td->nr_pchans; i++)
		if (td->pchans[i].dir == dir)
			return true;

	return false;
}

/* Start @desc on @pchan. Called with td->lock and vc.lock held. */
static void tangox_dma_start(struct tangox_dma_pchan *pchan,
			     struct tangox_dma_vchan *vchan,
			     struct tangox_dma_desc *desc)
{
	list_del(&desc->vd.node);

	desc->next = 0;

	pchan->state = TANGOX_PCHAN_BUSY;
	pchan->vchan = vchan;
	pchan->desc = desc;
	pchan->starts++;
	vchan->pchan = pchan;
	trace_tangox_dma_issue(pchan->id, desc->vd.tx.cookie, pchan->port,
			       vchan->port, desc->dir, desc->len);

	tangox_dma_route(pchan, vchan->port);
	tangox_dma_write_cmd(pchan);
}

/* Put @vchan in the queue if it has work and no memory channel. */
static void tangox_dma_vchan_queue(struct tangox_dma_dev *td,
				   struct tangox_dma_vchan *vchan)
{
	if (!vchan->pchan && list_empty(&vchan->node) &&
	    vchan_next_desc(&vchan->vc))
		list_add_tail(&vchan->node, &td->waiting);
}

/*
 * Start the next descriptor of a waiting virtual channel if a memory channel
 * is free for it. Called with td->lock and vc.lock held.
 */
static void tangox_dma_vchan_try_start(struct tangox_dma_dev *td,
				       struct tangox_dma_vchan *vchan)
{
	struct tangox_dma_pchan *pchan;
	struct tangox_dma_desc *desc;
	struct virt_dma_desc *vd;

	vd = vchan_next_desc(&vchan->vc);
	if (!vd) {
		list_del_init(&vchan->node);
		return;
	}

	desc = to_tangox_dma_desc(vd);
	pchan = tangox_dma_find_pchan(td, desc->dir);
	if (!pchan)
		return;

	list_del_init(&vchan->node);
	tangox_dma_start(pchan, vchan, desc);
}

/*
 * Hand free memory channels to the waiting virtual channels, in the order
 * they started waiting. Called with td->lock held, no vc.lock held.
 */
static void tangox_dma_dispatch(struct tangox_dma_dev *td)
{
	struct tangox_dma_vchan *vchan, *tmp;

	lockdep_assert_held(&td->lock);

	list_for_each_entry_safe(vchan, tmp, &td->waiting, node) {
		spin_lock(&vchan->vc.lock);
		tangox_dma_vchan_try_start(td, vchan);
		spin_unlock(&vchan->vc.lock);
	}
}

/*
 * The descriptor on @pchan is over: tear the route down, complete the
 * descriptor and free the memory channel. @waited: the tear-down waited
 * for the client after the last interrupt. Called with td->lock and
 * vc.lock held.
 */
static void tangox_dma_finish(struct tangox_dma_pchan *pchan, bool waited)
{
	struct tangox_dma_vchan *vchan = pchan->vchan;
	struct tangox_dma_desc *desc = pchan->desc;
	struct dma_async_tx_descriptor *tx = &desc->vd.tx;

	tangox_dma_unroute(pchan, waited);

	if (desc->vd.tx_result.result == DMA_TRANS_NOERROR) {
		atomic64_inc(&pchan->transfers);
		atomic64_add(desc->len, &pchan->bytes);
	} else {
		atomic64_inc(&pchan->errors);
	}

	/* Run the client's callback only if it asked for one. */
	if (!(tx->flags & DMA_PREP_INTERRUPT)) {
		tx->callback = NULL;
		tx->callback_result = NULL;
	}
	trace_tangox_dma_complete(pchan->id, tx->cookie, pchan->port,
				  vchan->port, desc->dir,
				  desc->len - desc->vd.tx_result.residue,
				  desc->vd.tx_result.result);
	vchan_cookie_complete(&desc->vd);

	pchan->state = TANGOX_PCHAN_FREE;
	pchan->desc = NULL;
	pchan->vchan = NULL;
	vchan->pchan = NULL;

	tangox_dma_vchan_queue(pchan->td, vchan);
}

/*
 * The last command of the descriptor on @pchan is done on the memory side:
 * finish the descriptor, or wait for dmaengine_periph_done() if the client
 * asked for it and has not called it yet. Called with td->lock and vc.lock
 * held.
 */
static void tangox_dma_hw_done(struct tangox_dma_pchan *pchan)
{
	struct tangox_dma_desc *desc = pchan->desc;

	if ((desc->vd.tx.flags & DMA_PREP_PERIPH_DONE) && !desc->periph_done) {
		pchan->state = TANGOX_PCHAN_WAIT;
		pchan->watched = pchan->starts;
		mod_timer(&pchan->watchdog,
			  jiffies + msecs_to_jiffies(TANGOX_DMA_PERIPH_WAIT_MS));
		return;
	}

	tangox_dma_finish(pchan, false);
}

static size_t tangox_dma_cmds_len(struct tangox_dma_desc *desc,
				  unsigned int from)
{
	size_t len = 0;
	unsigned int i;

	for (i = from; i < desc->ncmds; i++)
		len += desc->cmds[i].len;

	return len;
}

static irqreturn_t tangox_dma_irq(int irq, void *data)
{
	struct tangox_dma_pchan *pchan = data;
	struct tangox_dma_dev *td = pchan->td;
	struct tangox_dma_vchan *vchan;
	struct tangox_dma_desc *desc;
	unsigned long flags;
	u32 status;

	spin_lock_irqsave(&td->lock, flags);

	/* The interrupt is a pulse per command: nothing to acknowledge. */
	if (!pchan->hw_busy) {
		spin_unlock_irqrestore(&td->lock, flags);
		return IRQ_NONE;
	}
	pchan->hw_busy = false;

	if (pchan->state == TANGOX_PCHAN_DRAINING) {
		pchan->state = TANGOX_PCHAN_FREE;
		pchan->drains = NULL;
		wake_up_all(&td->drain_wq);
		goto dispatch;
	}

	vchan = pchan->vchan;
	desc = pchan->desc;
	spin_lock(&vchan->vc.lock);

	status = readl(pchan->base + MCHAN_CMD);
	trace_tangox_dma_irq(pchan->id, desc->vd.tx.cookie, pchan->port,
			     vchan->port, desc->dir,
			     desc->len - tangox_dma_cmds_len(desc, desc->next),
			     desc->next, desc->ncmds, status);

	/*
	 * A register write while the channel was busy is ignored by the
	 * channel and does not affect the running command.
	 */
	if (status & MCHAN_CMD_REFUSED) {
		atomic64_inc(&pchan->refused);
		dev_warn_ratelimited(td->dev,
				     "channel %u: a register write was refused while busy (cmd %#x)\n",
				     pchan->id, status);
	}

	if (status & MCHAN_CMD_ERROR) {
		dev_err_ratelimited(td->dev,
				    "channel %u: command %u of %u failed (cmd %#x)\n",
				    pchan->id, desc->next, desc->ncmds, status);
		desc->vd.tx_result.result = desc->dir == DMA_MEM_TO_DEV ?
			DMA_TRANS_READ_FAILED : DMA_TRANS_WRITE_FAILED;
		desc->vd.tx_result.residue =
			tangox_dma_cmds_len(desc, desc->next - 1);
		tangox_dma_finish(pchan, false);
	} else if (desc->next < desc->ncmds) {
		tangox_dma_write_cmd(pchan);
	} else {
		tangox_dma_hw_done(pchan);
	}

	spin_unlock(&vchan->vc.lock);
dispatch:
	tangox_dma_dispatch(td);
	spin_unlock_irqrestore(&td->lock, flags);

	return IRQ_HANDLED;
}

/*
 * The client of the descriptor on a waiting memory channel has not called
 * dmaengine_periph_done() for TANGOX_DMA_PERIPH_WAIT_MS: say so, once per
 * virtual channel. The descriptor keeps waiting; only the client can end
 * it, by the call or by terminating the channel.
 */
static void tangox_dma_watchdog(struct timer_list *t)
{
	struct tangox_dma_pchan *pchan = from_timer(pchan, t, watchdog);
	struct tangox_dma_dev *td = pchan->td;
	struct tangox_dma_vchan *vchan;
	dma_cookie_t cookie;
	unsigned long flags;

	spin_lock_irqsave(&td->lock, flags);
	vchan = pchan->vchan;
	if (pchan->state != TANGOX_PCHAN_WAIT || pchan->watched != pchan->starts ||
	    vchan->warned) {
		spin_unlock_irqrestore(&td->lock, flags);
		return;
	}
	vchan->warned = true;
	cookie = pchan->desc->vd.tx.cookie;
	spin_unlock_irqrestore(&td->lock, flags);

	dev_warn(td->dev,
		 "%s: transfer %d still waits for dmaengine_periph_done() after %u ms\n",
		 dma_chan_name(&vchan->vc.chan), cookie,
		 TANGOX_DMA_PERIPH_WAIT_MS);
}

/*
 * Commands are built in two passes over the scatterlist: the first one
 * (with desc NULL) only counts them.
 */
struct tangox_dma_builder {
	struct tangox_dma_desc *desc;
	unsigned int n;
	/* The last command is a single one that may become a double one. */
	bool open_single;
};

static void tangox_dma_add_linear(struct tangox_dma_builder *b, u32 addr,
				  u32 len)
{
	struct tangox_dma_cmd *cmd;

	if (b->open_single) {
		b->open_single = false;
		if (b->desc) {
			cmd = &b->desc->cmds[b->n - 1];
			cmd->mode = MCHAN_MODE_DOUBLE;
			cmd->addr2 = addr;
			cmd->count |= FIELD_PREP(MCHAN_COUNT_X1, len);
			cmd->len += len;
		}
		return;
	}

	if (b->desc) {
		cmd = &b->desc->cmds[b->n];
		cmd->mode = MCHAN_MODE_SINGLE;
		cmd->addr = addr;
		cmd->count = FIELD_PREP(MCHAN_COUNT_X, len);
		cmd->len = len;
	}
	b->n++;
	b->open_single = true;
}

static void tangox_dma_add_rect(struct tangox_dma_builder *b, u32 addr,
				u32 width, u32 lines)
{
	struct tangox_dma_cmd *cmd;

	if (b->desc) {
		cmd = &b->desc->cmds[b->n];
		cmd->mode = MCHAN_MODE_RECT;
		cmd->addr = addr;
		cmd->addr2 = width;
		cmd->count = FIELD_PREP(MCHAN_COUNT_X, width) |
			     FIELD_PREP(MCHAN_COUNT_Y, lines);
		cmd->len = width * lines;
	}
	b->n++;
	b->open_single = false;
}

static void tangox_dma_build(struct tangox_dma_builder *b,
			     struct scatterlist *sgl, unsigned int sg_len)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sg(sgl, sg, sg_len, i) {
		u32 addr = sg_dma_address(sg);
		u32 len = sg_dma_len(sg);
		u32 chunk, end, lines;

		while (len) {
			lines = len / TANGOX_DMA_LINE;
			if (IS_ALIGNED(addr, TANGOX_DMA_LINE) &&
			    lines >= TANGOX_DMA_RECT_MIN_LINES) {
				lines = min(lines, MCHAN_MAX_LINES);
				tangox_dma_add_rect(b, addr, TANGOX_DMA_LINE,
						    lines);
				chunk = lines * TANGOX_DMA_LINE;
			} else {
				chunk = min(len, MCHAN_MAX_X);
				/* Cut on a 4 KiB boundary if more follows. */
				end = ALIGN_DOWN(addr + chunk, TANGOX_DMA_LINE);
				if (chunk < len && end > addr)
					chunk = end - addr;
				tangox_dma_add_linear(b, addr, chunk);
			}
			addr += chunk;
			len -= chunk;
		}
	}
}

static dma_cookie_t tangox_dma_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct tangox_dma_vchan *vchan = to_tangox_dma_vchan(tx->chan);
	struct tangox_dma_desc *desc =
		container_of(tx, struct tangox_dma_desc, vd.tx);
	enum dma_transfer_direction dir = desc->dir;
	size_t len = desc->len;
	dma_cookie_t cookie;

	/* Once submitted, the descriptor may complete and go at any time. */
	cookie = vchan_tx_submit(tx);
	trace_tangox_dma_submit(-1, cookie, 0, vchan->port, dir, len);

	return cookie;
}

static struct dma_async_tx_descriptor *
tangox_dma_prep_slave_sg(struct dma_chan *chan, struct scatterlist *sgl,
			 unsigned int sg_len, enum dma_transfer_direction dir,
			 unsigned long flags, void *context)
{
	struct tangox_dma_vchan *vchan = to_tangox_dma_vchan(chan);
	struct tangox_dma_dev *td = to_tangox_dma_dev(chan->device);
	struct tangox_dma_builder b = { };
	struct dma_async_tx_descriptor *tx;
	struct tangox_dma_desc *desc;
	struct scatterlist *sg;
	size_t len = 0;
	unsigned int i;

	if (!is_slave_direction(dir)) {
		dev_err(td->dev, "%s: direction %d not supported\n",
			dma_chan_name(chan), dir);
		return NULL;
	}

	if (!tangox_dma_has_dir(td, dir)) {
		dev_err(td->dev, "%s: no %s memory channel\n",
			dma_chan_name(chan), tangox_dma_dir_name(dir));
		return NULL;
	}

	for_each_sg(sgl, sg, sg_len, i) {
		dma_addr_t addr = sg_dma_address(sg);
		unsigned int seg = sg_dma_len(sg);

		if (seg && upper_32_bits(addr + seg - 1)) {
			dev_err(td->dev, "%s: buffer %pad+%#x beyond 4 GiB\n",
				dma_chan_name(chan), &addr, seg);
			return NULL;
		}
		len += seg;
	}

	tangox_dma_build(&b, sgl, sg_len);
	if (!b.n)
		return NULL;

	desc = kzalloc(struct_size(desc, cmds, b.n), GFP_NOWAIT);
	if (!desc)
		return NULL;

	desc->ncmds = b.n;
	desc->dir = dir;
	desc->len = len;

	b = (struct tangox_dma_builder){ .desc = desc };
	tangox_dma_build(&b, sgl, sg_len);

	tx = vchan_tx_prep(&vchan->vc, &desc->vd, flags);
	tx->tx_submit = tangox_dma_tx_submit;

	return tx;
}

static void tangox_dma_issue_pending(struct dma_chan *chan)
{
	struct tangox_dma_vchan *vchan = to_tangox_dma_vchan(chan);
	struct tangox_dma_dev *td = to_tangox_dma_dev(chan->device);
	unsigned long flags;

	spin_lock_irqsave(&td->lock, flags);
	spin_lock(&vchan->vc.lock);
	if (vchan_issue_pending(&vchan->vc))
		tangox_dma_vchan_queue(td, vchan);
	spin_unlock(&vchan->vc.lock);
	tangox_dma_dispatch(td);
	spin_unlock_irqrestore(&td->lock, flags);
}

/* Find a submitted or issued descriptor. Called with vc.lock held. */
static struct tangox_dma_desc *
tangox_dma_find_desc(struct tangox_dma_vchan *vchan, dma_cookie_t cookie)
{
	struct virt_dma_desc *vd;

	list_for_each_entry(vd, &vchan->vc.desc_issued, node)
		if (vd->tx.cookie == cookie)
			return to_tangox_dma_desc(vd);

	list_for_each_entry(vd, &vchan->vc.desc_submitted, node)
		if (vd->tx.cookie == cookie)
			return to_tangox_dma_desc(vd);

	return NULL;
}

/* Called with td->lock held. */
static size_t tangox_dma_residue(struct tangox_dma_pchan *pchan)
{
	struct tangox_dma_desc *desc = pchan->desc;
	struct tangox_dma_cmd *cmd;
	size_t residue;

	if (pchan->state != TANGOX_PCHAN_BUSY)
		return 0;

	residue = tangox_dma_cmds_len(desc, desc->next);
	cmd = &desc->cmds[desc->next - 1];

	/*
	 * A device to memory channel counts down as data arrives in memory.
	 * A memory to device channel counts down as data enters the sbox
	 * route, but the data only reaches the peripheral later: count the
	 * command as remaining until its interrupt.
	 */
	if (desc->dir == DMA_DEV_TO_MEM)
		residue += min(readl(pchan->base + MCHAN_COUNT), cmd->len);
	else
		residue += cmd->len;

	return residue;
}

static enum dma_status tangox_dma_tx_status(struct dma_chan *chan,
					    dma_cookie_t cookie,
					    struct dma_tx_state *state)
{
	struct tangox_dma_vchan *vchan = to_tangox_dma_vchan(chan);
	struct tangox_dma_dev *td = to_tangox_dma_dev(chan->device);
	struct tangox_dma_pchan *pchan;
	struct tangox_dma_desc *desc;
	enum dma_status status;
	unsigned long flags;
	size_t residue = 0;

	status = dma_cookie_status(chan, cookie, state);
	if (status == DMA_COMPLETE || !state)
		return status;

	spin_lock_irqsave(&td->lock, flags);
	spin_lock(&vchan->vc.lock);

	pchan = vchan->pchan;
	if (pchan && pchan->desc->vd.tx.cookie == cookie) {
		residue = tangox_dma_residue(pchan);
	} else {
		desc = tangox_dma_find_desc(vchan, cookie);
		if (desc)
			residue = desc->len;
	}

	spin_unlock(&vchan->vc.lock);
	spin_unlock_irqrestore(&td->lock, flags);

	dma_set_residue(state, residue);

	return status;
}

static int tangox_dma_periph_done(struct dma_chan *chan, dma_cookie_t cookie)
{
	struct tangox_dma_vchan *vchan = to_tangox_dma_vchan(chan);
	struct tangox_dma_dev *td = to_tangox_dma_dev(chan->device);
	struct tangox_dma_pchan *pchan;
	struct tangox_dma_desc *desc;
	dma_cookie_t used, done;
	unsigned long flags;
	int ret = 0;

	if (cookie < DMA_MIN_COOKIE)
		return -EINVAL;

	spin_lock_irqsave(&td->lock, flags);
	spin_lock(&vchan->vc.lock);

	pchan = vchan->pchan;
	if (pchan && pchan->desc->vd.tx.cookie == cookie) {
		trace_tangox_dma_peripheral_done(pchan->id, cookie, pchan->port,
						 vchan->port, pchan->desc->dir,
						 pchan->desc->len);
		pchan->desc->periph_done = true;
		if (pchan->state == TANGOX_PCHAN_WAIT)
			tangox_dma_finish(pchan, true);
	} else {
		desc = tangox_dma_find_desc(vchan, cookie);
		if (desc) {
			/* The peripheral finished before the transfer began. */
			trace_tangox_dma_peripheral_done(-1, cookie, 0,
							 vchan->port,
							 desc->dir, desc->len);
			desc->periph_done = true;
		} else {
			/*
			 * Either the transfer is over, or the cookie was never
			 * handed out or its transfer was terminated.
			 */
			used = chan->cookie;
			done = chan->completed_cookie;
			if (dma_async_is_complete(cookie, done, used) !=
			    DMA_COMPLETE || (done <= used && cookie > used))
				ret = -EINVAL;
		}
	}

	spin_unlock(&vchan->vc.lock);
	tangox_dma_dispatch(td);
	spin_unlock_irqrestore(&td->lock, flags);

	return ret;
}

/*
 * Stop the running command of @pchan. Returns true if the channel stopped:
 * it is idle and raises no interrupt for that command. Returns false if
 * the command had already ended on its own: its interrupt is still to
 * come. Called with td->lock held.
 */
static bool tangox_dma_stop(struct tangox_dma_pchan *pchan)
{
	u32 status;

	/* BUSY stays set until the interrupt of the command is raised. */
	status = readl(pchan->base + MCHAN_CMD);
	if (!(status & MCHAN_CMD_BUSY))
		return false;

	writel(MCHAN_CMD_STOP, pchan->base + MCHAN_CMD);

	/* A stop that came too late does nothing: the interrupt follows. */
	status = readl(pchan->base + MCHAN_CMD);
	if (!(status & MCHAN_CMD_STOPPED) || (status & MCHAN_CMD_BUSY))
		return false;

	atomic64_inc(&pchan->stops);
	dev_dbg(pchan->td->dev, "channel %u: stopped, %u bytes not moved\n",
		pchan->id, readl(pchan->base + MCHAN_COUNT));

	return true;
}

static int tangox_dma_terminate_all(struct dma_chan *chan)
{
	struct tangox_dma_vchan *vchan = to_tangox_dma_vchan(chan);
	struct tangox_dma_dev *td = to_tangox_dma_dev(chan->device);
	struct tangox_dma_pchan *pchan;
	unsigned long flags;
	LIST_HEAD(head);

	spin_lock_irqsave(&td->lock, flags);
	spin_lock(&vchan->vc.lock);

	list_del_init(&vchan->node);

	pchan = vchan->pchan;
	if (pchan) {
		/*
		 * Stop the memory channel before its route goes, so that it
		 * neither pushes more bytes into the sbox nor takes bytes
		 * meant for the next transfer.
		 */
		if (pchan->hw_busy && tangox_dma_stop(pchan))
			pchan->hw_busy = false;

		if (pchan->routed)
			tangox_dma_unroute(pchan, false);

		vchan_terminate_vdesc(&pchan->desc->vd);
		pchan->desc = NULL;
		pchan->vchan = NULL;
		vchan->pchan = NULL;

		/*
		 * A command that ended on its own before the stop still
		 * raises its interrupt: the channel is only reused after it,
		 * and dmaengine_synchronize() waits for it.
		 */
		if (pchan->hw_busy) {
			pchan->state = TANGOX_PCHAN_DRAINING;
			pchan->drains = vchan;
		} else {
			pchan->state = TANGOX_PCHAN_FREE;
		}
	}

	vchan_get_all_descriptors(&vchan->vc, &head);
	spin_unlock(&vchan->vc.lock);
	tangox_dma_dispatch(td);
	spin_unlock_irqrestore(&td->lock, flags);

	vchan_dma_desc_free_list(&vchan->vc, &head);

	return 0;
}

/* Is a memory channel still draining for @vchan? Takes td->lock. */
static bool tangox_dma_draining(struct tangox_dma_dev *td,
				struct tangox_dma_vchan *vchan)
{
	unsigned long flags;
	bool draining = false;
	unsigned int i;

	spin_lock_irqsave(&td->lock, flags);
	for (i = 0; i < td->nr_pchans; i++)
		if (td->pchans[i].state == TANGOX_PCHAN_DRAINING &&
		    td->pchans[i].drains == vchan)
			draining = true;
	spin_unlock_irqrestore(&td->lock, flags);

	return draining;
}

static void tangox_dma_synchronize(struct dma_chan *chan)
{
	struct tangox_dma_vchan *vchan = to_tangox_dma_vchan(chan);
	struct tangox_dma_dev *td = to_tangox_dma_dev(chan->device);

	/*
	 * The interrupt of a command that ended before the stop comes within
	 * microseconds; a channel that is still draining after the bound is
	 * reported, its command has already finished with the buffer.
	 */
	if (!wait_event_timeout(td->drain_wq, !tangox_dma_draining(td, vchan),
				msecs_to_jiffies(TANGOX_DMA_DRAIN_TIMEOUT_MS)))
		dev_warn(td->dev, "%s: a memory channel is still draining\n",
			 dma_chan_name(chan));

	vchan_synchronize(&vchan->vc);
}

static int tangox_dma_config(struct dma_chan *chan,
			     struct dma_slave_config *config)
{
	/*
	 * The data path is the sbox route to the peripheral's port, named in
	 * the DMA specifier: there are no peripheral addresses, widths or
	 * bursts to program, whatever the direction.
	 */
	return 0;
}

static void tangox_dma_free_chan_resources(struct dma_chan *chan)
{
	tangox_dma_terminate_all(chan);
	vchan_free_chan_resources(to_virt_chan(chan));
}

static struct dma_chan *tangox_dma_xlate(struct of_phandle_args *spec,
					 struct of_dma *ofdma)
{
	struct tangox_dma_dev *td = ofdma->of_dma_data;
	unsigned int i;

	if (spec->args_count != 1)
		return NULL;

	for (i = 0; i < td->nr_vchans; i++)
		if (td->vchans[i].port == spec->args[0])
			return dma_get_slave_channel(&td->vchans[i].vc.chan);

	dev_err(td->dev, "%pOF: sbox port %u is not in sigma,slave-ids\n",
		spec->np, spec->args[0]);

	return NULL;
}

#ifdef CONFIG_DEBUG_FS
/* dmaengine's debugfs summary: the virtual channels, then the memory channels */
static void tangox_dma_summary_show(struct seq_file *s, struct dma_device *ddev)
{
	struct tangox_dma_dev *td = to_tangox_dma_dev(ddev);
	unsigned int i;

	for (i = 0; i < td->nr_vchans; i++) {
		struct dma_chan *chan = &td->vchans[i].vc.chan;

		seq_printf(s, " %-13s| port %u", dma_chan_name(chan),
			   td->vchans[i].port);
		if (chan->client_count)
			seq_printf(s, ", %s", chan->dbg_client_name ?: "in-use");
		seq_puts(s, "\n");
	}

	for (i = 0; i < td->nr_pchans; i++) {
		struct tangox_dma_pchan *pchan = &td->pchans[i];
		enum tangox_dma_pchan_state state;
		unsigned long flags;
		u64 held_ns;
		u32 routed;

		spin_lock_irqsave(&td->lock, flags);
		state = pchan->state;
		routed = pchan->routed;
		held_ns = tangox_dma_held_ns(pchan);
		spin_unlock_irqrestore(&td->lock, flags);

		seq_printf(s,
			   " chan%u dir=%s port=%u state=%s routed=%u transfers=%lld bytes=%lld teardowns=%lld teardowns_waited=%lld errors=%lld stops=%lld refused=%lld held_ns=%llu\n",
			   pchan->id, tangox_dma_dir_name(pchan->dir),
			   pchan->port, tangox_dma_pchan_state_names[state],
			   routed, atomic64_read(&pchan->transfers),
			   atomic64_read(&pchan->bytes),
			   atomic64_read(&pchan->teardowns),
			   atomic64_read(&pchan->teardowns_waited),
			   atomic64_read(&pchan->errors),
			   atomic64_read(&pchan->stops),
			   atomic64_read(&pchan->refused), held_ns);
	}
}
#endif

static void tangox_dma_sbox_reset(struct tangox_dma_dev *td)
{
	writel(SBOX_RESET_ASSERT, td->sbox + SBOX_RESET);
	writel(SBOX_RESET_ASSERT, td->sbox + SBOX_RESET2);
	usleep_range(2, 10);
	writel(SBOX_RESET_RELEASE, td->sbox + SBOX_RESET);
	writel(SBOX_RESET_RELEASE, td->sbox + SBOX_RESET2);
	writel(SBOX_ROUTE_ALL_OFF, td->sbox + SBOX_ROUTE);
	writel(SBOX_ROUTE_ALL_OFF, td->sbox + SBOX_ROUTE2);
}

static int tangox_dma_init_pchan(struct tangox_dma_dev *td,
				 struct device_node *np, unsigned int id)
{
	struct tangox_dma_pchan *pchan = &td->pchans[id];
	struct device *dev = td->dev;
	struct resource res;
	unsigned int i;
	u32 max_port;
	int ret;

	pchan->td = td;
	pchan->id = id;

	ret = of_address_to_resource(np, 0, &res);
	if (ret)
		return dev_err_probe(dev, ret, "%pOF: no registers\n", np);

	pchan->base = devm_ioremap_resource(dev, &res);
	if (IS_ERR(pchan->base))
		return PTR_ERR(pchan->base);

	pchan->irq = of_irq_get(np, 0);
	if (pchan->irq < 0)
		return dev_err_probe(dev, pchan->irq, "%pOF: no interrupt\n",
				     np);
	if (!pchan->irq)
		return dev_err_probe(dev, -EINVAL, "%pOF: no interrupt\n", np);

	if (of_property_read_bool(np, "sigma,mem-to-dev")) {
		pchan->dir = DMA_MEM_TO_DEV;
		max_port = SBOX_MAX_SRC_PORT;
	} else {
		pchan->dir = DMA_DEV_TO_MEM;
		max_port = SBOX_MAX_PORT;
	}

	ret = of_property_read_u32(np, "sigma,sbox-id", &pchan->port);
	if (ret)
		return dev_err_probe(dev, ret, "%pOF: no sigma,sbox-id\n", np);
	if (pchan->port < 1 || pchan->port > max_port)
		return dev_err_probe(dev, -EINVAL,
				     "%pOF: sigma,sbox-id %u out of range 1-%u\n",
				     np, pchan->port, max_port);

	for (i = 0; i < id; i++)
		if (td->pchans[i].dir == pchan->dir &&
		    td->pchans[i].port == pchan->port)
			return dev_err_probe(dev, -EINVAL,
					     "%pOF: sbox port %u used by two %s channels\n",
					     np, pchan->port,
					     tangox_dma_dir_name(pchan->dir));

	for (i = 0; i < td->nr_vchans; i++)
		if (td->vchans[i].port == pchan->port)
			return dev_err_probe(dev, -EINVAL,
					     "%pOF: sbox port %u is also a slave id\n",
					     np, pchan->port);

	timer_setup(&pchan->watchdog, tangox_dma_watchdog, 0);

	ret = devm_request_irq(dev, pchan->irq, tangox_dma_irq, 0,
			       dev_name(dev), pchan);
	if (ret)
		return dev_err_probe(dev, ret, "%pOF: cannot request IRQ %d\n",
				     np, pchan->irq);

	return 0;
}

static int tangox_dma_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct device_node *np = dev->of_node;
	struct tangox_dma_dev *td;
	struct dma_device *ddev;
	unsigned int i, j;
	int count, ret;

	td = devm_kzalloc(dev, sizeof(*td), GFP_KERNEL);
	if (!td)
		return -ENOMEM;

	td->dev = dev;
	spin_lock_init(&td->lock);
	INIT_LIST_HEAD(&td->waiting);
	init_waitqueue_head(&td->drain_wq);

	td->sbox = devm_platform_ioremap_resource(pdev, 0);
	if (IS_ERR(td->sbox))
		return PTR_ERR(td->sbox);

	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32));
	if (ret)
		return dev_err_probe(dev, ret, "no usable DMA mask\n");
	dma_set_max_seg_size(dev, UINT_MAX);

	count = of_property_count_u32_elems(np, "sigma,slave-ids");
	if (count <= 0)
		return dev_err_probe(dev, count ? count : -EINVAL,
				     "no sigma,slave-ids\n");

	td->nr_vchans = count;
	td->vchans = devm_kcalloc(dev, count, sizeof(*td->vchans), GFP_KERNEL);
	if (!td->vchans)
		return -ENOMEM;

	ddev = &td->ddev;
	INIT_LIST_HEAD(&ddev->channels);

	for (i = 0; i < td->nr_vchans; i++) {
		struct tangox_dma_vchan *vchan = &td->vchans[i];

		of_property_read_u32_index(np, "sigma,slave-ids", i,
					   &vchan->port);
		if (vchan->port < 1 || vchan->port > SBOX_MAX_SRC_PORT)
			return dev_err_probe(dev, -EINVAL,
					     "slave id %u out of range 1-%u\n",
					     vchan->port, SBOX_MAX_SRC_PORT);
		for (j = 0; j < i; j++)
			if (td->vchans[j].port == vchan->port)
				return dev_err_probe(dev, -EINVAL,
						     "slave id %u listed twice\n",
						     vchan->port);
	}

	count = of_get_available_child_count(np);
	if (!count)
		return dev_err_probe(dev, -EINVAL, "no memory channels\n");

	td->pchans = devm_kcalloc(dev, count, sizeof(*td->pchans), GFP_KERNEL);
	if (!td->pchans)
		return -ENOMEM;

	i = 0;
	for_each_available_child_of_node_scoped(np, child) {
		ret = tangox_dma_init_pchan(td, child, i);
		if (ret)
			return ret;
		td->nr_pchans = ++i;
	}

	tangox_dma_sbox_reset(td);

	dma_cap_set(DMA_SLAVE, ddev->cap_mask);
	dma_cap_set(DMA_PRIVATE, ddev->cap_mask);
	ddev->dev = dev;
	ddev->src_addr_widths = BIT(DMA_SLAVE_BUSWIDTH_1_BYTE) |
				BIT(DMA_SLAVE_BUSWIDTH_2_BYTES) |
				BIT(DMA_SLAVE_BUSWIDTH_4_BYTES);
	ddev->dst_addr_widths = ddev->src_addr_widths;
	ddev->directions = 0;
	if (tangox_dma_has_dir(td, DMA_MEM_TO_DEV))
		ddev->directions |= BIT(DMA_MEM_TO_DEV);
	if (tangox_dma_has_dir(td, DMA_DEV_TO_MEM))
		ddev->directions |= BIT(DMA_DEV_TO_MEM);
	ddev->residue_granularity = DMA_RESIDUE_GRANULARITY_SEGMENT;
	ddev->device_free_chan_resources = tangox_dma_free_chan_resources;
	ddev->device_prep_slave_sg = tangox_dma_prep_slave_sg;
	ddev->device_config = tangox_dma_config;
	ddev->device_terminate_all = tangox_dma_terminate_all;
	ddev->device_synchronize = tangox_dma_synchronize;
	ddev->device_periph_done = tangox_dma_periph_done;
	ddev->device_tx_status = tangox_dma_tx_status;
	ddev->device_issue_pending = tangox_dma_issue_pending;
#ifdef CONFIG_DEBUG_FS
	ddev->dbg_summary_show = tangox_dma_summary_show;
#endif

	for (i = 0; i < td->nr_vchans; i++) {
		struct tangox_dma_vchan *vchan = &td->vchans[i];

		INIT_LIST_HEAD(&vchan->node);
		vchan->vc.desc_free = tangox_dma_desc_free;
		vchan_init(&vchan->vc, ddev);
	}

	ret = dma_async_device_register(ddev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register DMA device\n");

	ret = of_dma_controller_register(np, tangox_dma_xlate, td);
	if (ret) {
		dma_async_device_unregister(ddev);
		return dev_err_probe(dev, ret,
				     "cannot register DMA controller\n");
	}

	platform_set_drvdata(pdev, td);

	dev_info(dev, "%u memory channels, %u slave ports\n", td->nr_pchans,
		 td->nr_vchans);

	return 0;
}

static void tangox_dma_remove(struct platform_device *pdev)
{
	struct tangox_dma_dev *td = platform_get_drvdata(pdev);
	unsigned int i;

	of_dma_controller_free(pdev->dev.of_node);
	dma_async_device_unregister(&td->ddev);

	for (i = 0; i < td->nr_pchans; i++) {
		devm_free_irq(td->dev, td->pchans[i].irq, &td->pchans[i]);
		timer_shutdown_sync(&td->pchans[i].watchdog);
	}

	for (i = 0; i < td->nr_vchans; i++)
		tasklet_kill(&td->vchans[i].vc.task);
}

static const struct of_device_id tangox_dma_of_match[] = {
	{ .compatible = "sigma,smp8758-dma" },
	{ }
};
MODULE_DEVICE_TABLE(of, tangox_dma_of_match);

static struct platform_driver tangox_dma_driver = {
	.probe = tangox_dma_probe,
	.remove = tangox_dma_remove,
	.driver = {
		.name = "tangox-dma",
		.of_match_table = tangox_dma_of_match,
	},
};

module_platform_driver(tangox_dma_driver);

MODULE_AUTHOR("tangolab developers <tangolab@users.noreply.invalid>");
MODULE_DESCRIPTION("Sigma Designs SMP8758 (tango4) switch box DMA driver");
MODULE_LICENSE("GPL");
