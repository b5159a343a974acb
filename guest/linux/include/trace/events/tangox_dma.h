/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tracepoints of the Sigma Designs SMP8758 switch box DMA driver
 *
 * Every event names the memory channel (-1 before one is taken), the
 * descriptor's cookie, the sbox route as source and destination port, the
 * direction and a byte count.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM tangox_dma

#if !defined(_TRACE_TANGOX_DMA_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_TANGOX_DMA_H

#include <linux/dmaengine.h>
#include <linux/tracepoint.h>

#define tangox_dma_show_dir(dir)					\
	__print_symbolic(dir,						\
			 { DMA_MEM_TO_DEV, "mem_to_dev" },		\
			 { DMA_DEV_TO_MEM, "dev_to_mem" })

/*
 * @mem_port and @periph_port are the sbox ports of the memory channel and
 * of the peripheral; the route's source and destination follow from @dir.
 */
DECLARE_EVENT_CLASS(tangox_dma_xfer,
		    TP_PROTO(int chan, int cookie, u32 mem_port, u32 periph_port,
			     enum dma_transfer_direction dir, size_t bytes),
		    TP_ARGS(chan, cookie, mem_port, periph_port, dir, bytes),
		    TP_STRUCT__entry(__field(int, chan)
				     __field(int, cookie)
				     __field(u32, src)
				     __field(u32, dst)
				     __field(int, dir)
				     __field(size_t, bytes)),
		    TP_fast_assign(__entry->chan = chan;
				   __entry->cookie = cookie;
				   __entry->src = dir == DMA_MEM_TO_DEV ? mem_port : periph_port;
				   __entry->dst = dir == DMA_MEM_TO_DEV ? periph_port : mem_port;
				   __entry->dir = dir;
				   __entry->bytes = bytes;),
		    TP_printk("chan=%d cookie=%d src=%u dst=%u dir=%s bytes=%zu",
			      __entry->chan, __entry->cookie, __entry->src, __entry->dst,
			      tangox_dma_show_dir(__entry->dir), __entry->bytes)
);

/* A client submitted a descriptor: no memory channel yet */
DEFINE_EVENT(tangox_dma_xfer, tangox_dma_submit,
	     TP_PROTO(int chan, int cookie, u32 mem_port, u32 periph_port,
		      enum dma_transfer_direction dir, size_t bytes),
	     TP_ARGS(chan, cookie, mem_port, periph_port, dir, bytes)
);

/* A memory channel took the descriptor and its first command was written */
DEFINE_EVENT(tangox_dma_xfer, tangox_dma_issue,
	     TP_PROTO(int chan, int cookie, u32 mem_port, u32 periph_port,
		      enum dma_transfer_direction dir, size_t bytes),
	     TP_ARGS(chan, cookie, mem_port, periph_port, dir, bytes)
);

/* The client said the peripheral has all the data (dmaengine_periph_done) */
DEFINE_EVENT(tangox_dma_xfer, tangox_dma_peripheral_done,
	     TP_PROTO(int chan, int cookie, u32 mem_port, u32 periph_port,
		      enum dma_transfer_direction dir, size_t bytes),
	     TP_ARGS(chan, cookie, mem_port, periph_port, dir, bytes)
);

/* The sbox route of a memory channel was set */
DEFINE_EVENT(tangox_dma_xfer, tangox_dma_route_setup,
	     TP_PROTO(int chan, int cookie, u32 mem_port, u32 periph_port,
		      enum dma_transfer_direction dir, size_t bytes),
	     TP_ARGS(chan, cookie, mem_port, periph_port, dir, bytes)
);

/* The sbox route of a memory channel was torn down */
DEFINE_EVENT(tangox_dma_xfer, tangox_dma_route_teardown,
	     TP_PROTO(int chan, int cookie, u32 mem_port, u32 periph_port,
		      enum dma_transfer_direction dir, size_t bytes),
	     TP_ARGS(chan, cookie, mem_port, periph_port, dir, bytes)
);

/*
 * The interrupt of a memory channel: command @cmd of @ncmds is done on the
 * memory side, @bytes of the descriptor are done there so far.
 */
TRACE_EVENT(tangox_dma_irq,
	    TP_PROTO(int chan, int cookie, u32 mem_port, u32 periph_port,
		     enum dma_transfer_direction dir, size_t bytes,
		     unsigned int cmd, unsigned int ncmds, u32 status),
	    TP_ARGS(chan, cookie, mem_port, periph_port, dir, bytes, cmd, ncmds,
		    status),
	    TP_STRUCT__entry(__field(int, chan)
			     __field(int, cookie)
			     __field(u32, src)
			     __field(u32, dst)
			     __field(int, dir)
			     __field(size_t, bytes)
			     __field(unsigned int, cmd)
			     __field(unsigned int, ncmds)
			     __field(u32, status)),
	    TP_fast_assign(__entry->chan = chan;
			   __entry->cookie = cookie;
			   __entry->src = dir == DMA_MEM_TO_DEV ? mem_port : periph_port;
			   __entry->dst = dir == DMA_MEM_TO_DEV ? periph_port : mem_port;
			   __entry->dir = dir;
			   __entry->bytes = bytes;
			   __entry->cmd = cmd;
			   __entry->ncmds = ncmds;
			   __entry->status = status;),
	    TP_printk("chan=%d cookie=%d src=%u dst=%u dir=%s bytes=%zu cmd=%u/%u status=%#x",
		      __entry->chan, __entry->cookie, __entry->src, __entry->dst,
		      tangox_dma_show_dir(__entry->dir), __entry->bytes,
		      __entry->cmd, __entry->ncmds, __entry->status)
);

/* The descriptor completed with @result (enum dmaengine_tx_result) */
TRACE_EVENT(tangox_dma_complete,
	    TP_PROTO(int chan, int cookie, u32 mem_port, u32 periph_port,
		     enum dma_transfer_direction dir, size_t bytes, int result),
	    TP_ARGS(chan, cookie, mem_port, periph_port, dir, bytes, result),
	    TP_STRUCT__entry(__field(int, chan)
			     __field(int, cookie)
			     __field(u32, src)
			     __field(u32, dst)
			     __field(int, dir)
			     __field(size_t, bytes)
			     __field(int, result)),
	    TP_fast_assign(__entry->chan = chan;
			   __entry->cookie = cookie;
			   __entry->src = dir == DMA_MEM_TO_DEV ? mem_port : periph_port;
			   __entry->dst = dir == DMA_MEM_TO_DEV ? periph_port : mem_port;
			   __entry->dir = dir;
			   __entry->bytes = bytes;
			   __entry->result = result;),
	    TP_printk("chan=%d cookie=%d src=%u dst=%u dir=%s bytes=%zu result=%d",
		      __entry->chan, __entry->cookie, __entry->src, __entry->dst,
		      tangox_dma_show_dir(__entry->dir), __entry->bytes,
		      __entry->result)
);

#endif /* _TRACE_TANGOX_DMA_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
